"""float32 students: the Numba kernel matches the float32 reference, and both track float64.

``StudentConfig(precision="float32")`` keeps the weights and the forward and update arithmetic in
single precision (online SGD on the CPU engine); the per-sample loss, online KL and learning rate
stay float64 (numeric/sim/train_cpu.py, numeric/sim/reference.py).  Single precision carries about
7 digits, so the tolerances here are tied to float32's epsilon, not to float64's.
"""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.error import reducible_error
from scaling_theory.numeric.sim.students import StudentConfig
from scaling_theory.numeric.sim.teacher import sample_teacher
from scaling_theory.numeric.sim.training import train

EPS32 = float(np.finfo(np.float32).eps)  # 1.19e-7


def _students(precision):
    return [StudentConfig(3, lr=0.1, schedule="inverse", t0=100.0, init_seed=1, precision=precision),
            StudentConfig(40, lr=0.1, schedule="inverse", t0=100.0, init_seed=2, parametrisation="mup",
                          precision=precision),
            StudentConfig(13, lr=0.05, init_seed=3, precision=precision)]


@pytest.mark.parametrize("d", [5, 8])  # d = 8 runs the fused online kernel, d = 5 the general one
def test_float32_kernel_matches_the_float32_reference(d):
    t = sample_teacher(d, 4, seed=2)
    Ts = [900, 700, 800]
    cpu = train(t, _students("float32"), Ts, data_seed=4, device="cpu", chunk_size=256)
    ref = train(t, _students("float32"), Ts, data_seed=4, device="numpy", chunk_size=256)
    for a, b in zip(cpu, ref):
        assert a.status == b.status == "done" and a.samples_seen == b.samples_seen
        assert a.W.dtype == b.W.dtype == np.float64  # reported in float64 by every trainer
        # the two differ only in the order of float32 roundings: a few hundred ulps after 900 steps
        np.testing.assert_allclose(a.W, b.W, rtol=1e3 * EPS32, atol=1e3 * EPS32)
        np.testing.assert_allclose(a.v, b.v, rtol=1e3 * EPS32, atol=1e3 * EPS32)
        assert a.online_kl == pytest.approx(b.online_kl, rel=100 * EPS32)


def test_float32_tracks_float64_to_single_precision_and_is_really_single():
    t = sample_teacher(8, 32, kind="dp", seed=0)
    cfgs = _students("float64") + _students("float32")
    res = train(t, cfgs, 5000, data_seed=1, device="cpu")   # both precisions in one call
    for a, b in zip(res[:3], res[3:]):
        assert a.status == b.status == "done"
        rel = abs(a.online_kl - b.online_kl) / a.online_kl
        assert rel < 1e3 * EPS32
        # not a float64 run in disguise: the weights differ at single precision's scale
        assert 1e-3 * EPS32 < np.max(np.abs(a.W - b.W)) / np.max(np.abs(a.W)) < 1e4 * EPS32
        ea, _ = reducible_error(t, a.W, a.v, n_samples=2000, seed=5)
        eb, _ = reducible_error(t, b.W, b.v, n_samples=2000, seed=5)
        assert abs(ea - eb) / ea < 1e3 * EPS32


def test_float32_refused_where_it_is_not_implemented():
    with pytest.raises(UserInputError, match="unknown precision 'float16'"):
        StudentConfig(4, precision="float16")
    with pytest.raises(UserInputError, match="online SGD only"):
        StudentConfig(4, batch_size=2, precision="float32")
    with pytest.raises(UserInputError, match="online SGD only"):
        StudentConfig(4, optimizer="adam", precision="float32")
    t = sample_teacher(3, 2, seed=0)
    with pytest.raises(UserInputError, match="CPU engine only"):
        train(t, [StudentConfig(4, precision="float32")], 10, data_seed=0, device="cuda")
    assert "precision" not in StudentConfig(4).to_json()
    assert StudentConfig(4, precision="float32").to_json()["precision"] == "float32"


# ------------------------------------------------------------------------------ sweep configuration

def test_sweep_runs_carry_the_precision_and_float64_keeps_old_hashes():
    from scaling_theory.numeric.sim import students
    from scaling_theory.numeric.sweep import config as sweep_config

    assert sweep_config.PRECISIONS == students.PRECISIONS
    base = {"d": 4, "K": 2, "budgets": [1e4], "widths": [2]}
    old, = sweep_config.SweepConfig.from_dict(base).expand()[0]
    explicit, = sweep_config.SweepConfig.from_dict({**base, "precision": "float64"}).expand()[0]
    single, = sweep_config.SweepConfig.from_dict({**base, "precision": "float32"}).expand()[0]
    assert "precision" not in old.to_config() and old.config_hash == explicit.config_hash
    assert single.to_config()["precision"] == "float32" and single.config_hash != old.config_hash
    both = sweep_config.SweepConfig.from_dict({**base, "precision": ["float64", "float32"]})
    assert both.size() == 2 and len(both.expand()[0]) == 2
    assert sweep_config.SweepConfig.from_dict(both.to_dict()).config_hash == both.config_hash
    with pytest.raises(UserInputError, match="field 'precision' must be one of float64, float32"):
        sweep_config.SweepConfig.from_dict({**base, "precision": "half"})
    with pytest.raises(UserInputError, match="online SGD only"):
        sweep_config.SweepConfig.from_dict({**base, "precision": "float32", "optimizer": ["sgd", "adam"]})
    with pytest.raises(UserInputError, match="not device 'cuda'"):
        sweep_config.SweepConfig.from_dict({**base, "precision": "float32", "device": "cuda"})


def test_sweep_trains_float32_runs_as_the_trainer_does(sweep_axis_runs_as_trained):
    sweep_axis_runs_as_trained("precision", ["float64", "float32"], d=8)  # d = 8: the fused kernel
