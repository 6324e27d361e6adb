"""The NumPy reference trainer: the algorithm's specification (numeric/reference.py)."""

import numpy as np

from scaling_theory.numeric.sim.reference import log_loss, loss_gradients
from scaling_theory.numeric.sim.teacher import data_chunks, sample_teacher
from scaling_theory.numeric.sim.students import StudentConfig, divergence_reason, init_params, learning_rate
from scaling_theory.numeric.sim.training import train


def _stream(t, T, seed, chunk_size):
    parts = list(data_chunks(t, T, seed=seed, chunk_size=chunk_size))
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    W, v = rng.standard_normal((4, 3)), rng.standard_normal(4)
    X, y = rng.standard_normal((6, 3)), (rng.random(6) < 0.5).astype(float)
    GW, Gv, loss = loss_gradients(W, v, X, y)
    assert np.isclose(loss, log_loss(W, v, X, y), rtol=1e-14)
    eps = 1e-6
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        fd = (log_loss(Wp, v, X, y) - log_loss(Wm, v, X, y)) / (2 * eps)
        assert abs(fd - GW[idx]) < 1e-7
    for i in range(4):
        vp, vm = v.copy(), v.copy()
        vp[i] += eps
        vm[i] -= eps
        fd = (log_loss(W, vp, X, y) - log_loss(W, vm, X, y)) / (2 * eps)
        assert abs(fd - Gv[i]) < 1e-7


def test_online_sgd_is_the_documented_update():
    t = sample_teacher(3, 2, seed=0)
    cfg = StudentConfig(2, lr=0.3, schedule="inverse", t0=2.0, init_seed=5)
    X, y = _stream(t, 5, seed=1, chunk_size=2)
    W, v = init_params(cfg, 3)
    for k in range(5):
        GW, Gv, _ = loss_gradients(W, v, X[k:k + 1], y[k:k + 1])
        lr = 0.3 / (1 + k / 2.0)
        W, v = W - lr * GW, v - lr * Gv
    [r] = train(t, [cfg], 5, data_seed=1, device="numpy", chunk_size=2)
    assert np.allclose(r.W, W, rtol=0, atol=1e-15) and np.allclose(r.v, v, rtol=0, atol=1e-15)


def test_minibatch_straddling_chunks_is_one_mean_gradient_step():
    # B = T = 7 samples over chunks of 3: a single step with the mean gradient of all 7
    t = sample_teacher(4, 3, seed=2)
    cfg = StudentConfig(3, lr=0.5, batch_size=7)
    X, y = _stream(t, 7, seed=0, chunk_size=3)
    W, v = init_params(cfg, 4)
    GW, Gv, _ = loss_gradients(W, v, X, y)
    [r] = train(t, [cfg], 7, data_seed=0, device="numpy", chunk_size=3)
    assert np.allclose(r.W, W - 0.5 * GW / 7, atol=1e-14)
    assert np.allclose(r.v, v - 0.5 * Gv / 7, atol=1e-14)
    # and a last short batch: T = 10, B = 7 -> steps of 7 then 3 samples
    [r2] = train(t, [cfg], 10, data_seed=0, device="numpy", chunk_size=3)
    X, y = _stream(t, 10, seed=0, chunk_size=3)
    W1, v1 = W - 0.5 * GW / 7, v - 0.5 * Gv / 7
    GW, Gv, _ = loss_gradients(W1, v1, X[7:], y[7:])
    assert np.allclose(r2.W, W1 - 0.5 * GW / 3, atol=1e-14)


def test_adam_first_step_moves_each_weight_by_about_lr():
    t = sample_teacher(3, 2, seed=0)
    cfg = StudentConfig(2, lr=0.01, optimizer="adam", batch_size=4)
    W0, v0 = init_params(cfg, 3)
    X, y = _stream(t, 4, seed=0, chunk_size=8)
    GW, _, _ = loss_gradients(W0, v0, X, y)
    [r] = train(t, [cfg], 4, data_seed=0, device="numpy", chunk_size=8)
    moved = W0 - r.W
    active = np.abs(GW) > 1e-6
    assert np.allclose(moved[active], 0.01 * np.sign(GW[active]), rtol=1e-4)


def test_learning_rate_schedules():
    table = {("constant", 0): 0.2, ("constant", 99): 0.2, ("inverse", 10): 0.1,
             ("inverse_sqrt", 30): 0.1}
    for (sched, t), lr in table.items():
        assert np.isclose(learning_rate(StudentConfig(1, lr=0.2, schedule=sched, t0=10), t), lr)


def test_divergence_stops_only_that_student():
    t = sample_teacher(4, 2, seed=0)
    cfgs = [StudentConfig(3, lr=0.05), StudentConfig(3, lr=1e8), StudentConfig(3, max_loss=1e-3)]
    rs = train(t, cfgs, 40, data_seed=0, device="numpy", chunk_size=16)
    assert [r.status for r in rs] == ["done", "diverged", "diverged"]
    assert rs[0].samples_seen == 40 and rs[0].reason is None
    assert "non-finite" in rs[1].reason or "mean log-loss" in rs[1].reason
    assert rs[2].reason.startswith("mean log-loss") and rs[2].samples_seen == 16


def test_divergence_reason_table():
    ok = (np.zeros((1, 1)), np.zeros(1))
    cases = {(1.0, 2, 10): None, (float("inf"), 2, 10): "non-finite weights or loss after 10 samples",
             (3000.0, 2, 10): "mean log-loss 1.5e+03 > max_loss 1000 over samples [8, 10)"}
    for (loss, rows, seen), expected in cases.items():
        assert divergence_reason(*ok, loss, rows, seen, 1000.0) == expected
