"""Shared checks of the simulator's tests."""

import pytest


@pytest.fixture
def sweep_axis_runs_as_trained(tmp_path):
    """Check that a sweep crossing ``axis`` over ``values`` trains each run as a direct ``train`` call.

    Returns a function ``check(axis, values, d=4)``: it runs the sweep (one width, one rate, one
    seed) into a fresh store, retrains each run with ``StudentConfig(**{axis: value})`` on the
    run's own seeds, asserts the stored online KL equals the direct call's to 1e-12, and that the
    values give different results (the axis is really applied).
    """
    from scaling_theory.numeric.sim.students import StudentConfig
    from scaling_theory.numeric.sim.teacher import sample_teacher
    from scaling_theory.numeric.sim.training import train
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import run_sweep
    from scaling_theory.numeric.sweep.store import Store

    def check(axis, values, d=4):
        cfg = SweepConfig.from_dict({"d": d, "K": 2, "budgets": [2e4], "widths": [8], "lr": [0.1],
                                     axis: list(values), "eval_samples": 500})
        run_sweep(cfg, tmp_path / f"{axis}.sqlite", executor="serial", progress=False)
        with Store(tmp_path / f"{axis}.sqlite") as store:
            rows = {r[axis]: r for r in store.rows()}
        spec = {getattr(r, axis): r for r in cfg.expand()[0]}
        teacher = sample_teacher(d, 2, seed=spec[values[0]].teacher_seed)
        for value in values:
            run = spec[value]
            [res] = train(teacher, [StudentConfig(8, lr=0.1, init_seed=run.init_seed, schedule=run.schedule,
                                                  t0=run.t0, **{axis: value})],
                          run.samples, data_seed=run.data_seed)
            assert rows[value]["status"] == "done"
            assert rows[value]["metrics"]["online_kl"] == pytest.approx(res.online_kl, rel=1e-12)
        kls = [rows[value]["metrics"]["online_kl"] for value in values]
        assert len(set(kls)) == len(kls)

    return check
