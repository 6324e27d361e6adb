"""The width-aware (muP) parametrisation: trainers agree on it, and it does what it is for.

``layer_lr_factors`` and ``init_params`` (numeric/sim/students.py) define it; the reference applies
the per-layer rates (numeric/sim/reference.py), the Numba trainer must match it.  The property that
justifies it (Yang et al. 2022, Table 3): one SGD step moves the logit by an amount that does not
grow with the width, where the standard parametrisation's grows like n.
"""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.students import StudentConfig, init_params, layer_lr_factors
from scaling_theory.numeric.sim.teacher import data_chunks, sample_teacher
from scaling_theory.numeric.sim.training import train

MUP = [
    StudentConfig(7, lr=0.05, parametrisation="mup", init_seed=1),                       # online SGD
    StudentConfig(7, lr=0.05, parametrisation="mup", base_width=3, init_seed=2),
    StudentConfig(12, lr=0.02, batch_size=5, parametrisation="mup", init_seed=3),        # minibatch SGD
    StudentConfig(5, lr=0.01, optimizer="adam", parametrisation="mup", init_seed=4),     # online Adam
    StudentConfig(9, lr=0.01, optimizer="adam", batch_size=4, parametrisation="mup", base_width=2,
                  schedule="inverse", t0=100, init_seed=5),
]


@pytest.mark.parametrize("d", [5, 8])  # d = 8 runs the fused online kernel
def test_cpu_matches_reference_under_mup(d):
    t = sample_teacher(d, 3, seed=2)
    Ts = [900, 700, 800, 600, 900]
    cpu = train(t, MUP, Ts, data_seed=4, device="cpu", chunk_size=256)
    ref = train(t, MUP, Ts, data_seed=4, device="numpy", chunk_size=256)
    for a, b in zip(cpu, ref):
        assert a.status == b.status == "done"
        np.testing.assert_allclose(a.W, b.W, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(a.v, b.v, rtol=1e-9, atol=1e-11)
        assert np.isclose(a.online_kl, b.online_kl, rtol=1e-10)


def test_mup_is_standard_at_the_base_width():
    t = sample_teacher(8, 3, seed=3)
    cfgs = [StudentConfig(4, lr=0.05, init_seed=1),
            StudentConfig(4, lr=0.05, init_seed=1, parametrisation="mup", base_width=4)]
    a, b = train(t, cfgs, 500, data_seed=1, device="cpu")
    assert np.array_equal(a.W, b.W) and np.array_equal(a.v, b.v)


def test_mup_changes_the_training_away_from_the_base_width():
    t = sample_teacher(8, 3, seed=3)
    cfgs = [StudentConfig(16, lr=0.05, init_seed=1), StudentConfig(16, lr=0.05, init_seed=1, parametrisation="mup")]
    a, b = train(t, cfgs, 500, data_seed=1, device="cpu")
    assert not np.allclose(a.v, b.v)


def _logit_change(cfg, d=8, samples=64, seed=0):
    """Mean |f_after(x) - f_before(x)| over the sample's own inputs after one SGD step per sample."""
    t = sample_teacher(d, 4, seed=seed)
    X, y, *_ = next(iter(data_chunks(t, samples, seed=seed + 1, chunk_size=samples)))
    W, v = init_params(cfg, d)
    cW, cv = layer_lr_factors(cfg)
    changes = []
    for x, label in zip(X, y):
        h = W @ x
        f = np.maximum(h, 0) @ v
        g = 1 / (1 + np.exp(-f)) - label
        W2 = W - cfg.lr * cW * g * np.outer(v * (h > 0), x)
        v2 = v - cfg.lr * cv * g * np.maximum(h, 0)
        changes.append(abs(np.maximum(W2 @ x, 0) @ v2 - f))
    return float(np.mean(changes))


def test_one_step_moves_the_logit_independently_of_width_under_mup_only():
    widths = [8, 128, 2048]
    mup = [_logit_change(StudentConfig(n, lr=0.01, parametrisation="mup")) for n in widths]
    std = [_logit_change(StudentConfig(n, lr=0.01)) for n in widths]
    # muP: within a factor 2 over a 256x range of widths; standard: grows about like n
    assert max(mup) / min(mup) < 2.0
    assert std[2] / std[0] > 100


def test_hidden_units_move_alike_at_every_width_under_mup():
    # per-unit weight motion ~ c_W |v_i|: O(1) under muP, O(1/sqrt(n)) under the standard one
    for n in (16, 1024):
        W, v = init_params(StudentConfig(n, parametrisation="mup", init_seed=2), 8)
        cW, _ = layer_lr_factors(StudentConfig(n, parametrisation="mup"))
        assert 0.5 < cW * np.sqrt(np.mean(v ** 2)) < 2.0


def test_bad_parametrisation_is_one_line_error():
    with pytest.raises(UserInputError, match="unknown parametrisation 'ntk'"):
        StudentConfig(4, parametrisation="ntk")
    with pytest.raises(UserInputError, match="base width must be a positive integer"):
        StudentConfig(4, parametrisation="mup", base_width=0)


# ------------------------------------------------------------------------------ sweep configuration

def test_sweep_runs_carry_the_parametrisation_and_standard_keeps_old_hashes():
    from scaling_theory.numeric.sweep import config as sweep_config
    from scaling_theory.numeric.sim import students

    assert sweep_config.PARAMETRISATIONS == students.PARAMETRISATIONS
    base = {"d": 4, "K": 2, "budgets": [1e4], "widths": [2]}
    std, = sweep_config.SweepConfig.from_dict(base).expand()[0]
    explicit, = sweep_config.SweepConfig.from_dict({**base, "parametrisation": "standard"}).expand()[0]
    mup, = sweep_config.SweepConfig.from_dict({**base, "parametrisation": "mup"}).expand()[0]
    assert "parametrisation" not in std.to_config() and std.config_hash == explicit.config_hash
    assert mup.parametrisation == "mup" and mup.to_config()["parametrisation"] == "mup"
    assert mup.config_hash != std.config_hash
    both = sweep_config.SweepConfig.from_dict({**base, "parametrisation": ["standard", "mup"]})
    assert both.size() == 2 and len(both.expand()[0]) == 2
    assert sweep_config.SweepConfig.from_dict(both.to_dict()).config_hash == both.config_hash
    with pytest.raises(UserInputError, match="field 'parametrisation' must be one of standard, mup"):
        sweep_config.SweepConfig.from_dict({**base, "parametrisation": "ntk"})


def test_sweep_trains_mup_runs_as_the_trainer_does(sweep_axis_runs_as_trained):
    sweep_axis_runs_as_trained("parametrisation", ["standard", "mup"])
