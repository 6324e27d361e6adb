"""The time-averaged online KL recorded by every trainer (TrainResult.online_kl).

``online_kl = (1/T) sum_t KL(Bern(sigma(F(x_t))) || Bern(sigma(f_{t-1}(x_t))))``, each sample's student
logit taken with the weights before the step that uses it.  Checked against an independent replay
of SGD written here from the formulas (own gradient, own KL as p log(p/q) + (1-p) log((1-p)/(1-q))),
across the NumPy reference and the Numba kernels, and on properties that hold exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scaling_theory.numeric.sim.students import StudentConfig, init_params
from scaling_theory.numeric.sim.teacher import data_chunks, sample_teacher, teacher_logits
from scaling_theory.numeric.sim.training import train, train_many

# per-sample terms are O(0.1) and agree to ~1e-16 relative; sums of a few thousand of them in
# another order (fast-math reassociation) move the mean by ~1e-15 relative
RTOL = 1e-11


def _stream(t, T, seed, chunk_size):
    parts = list(data_chunks(t, T, seed=seed, chunk_size=chunk_size))
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])


def _kl_probabilities(F, G):
    """Bernoulli KL written from probabilities (independent of the trainers' logit form)."""
    p = 1.0 / (1.0 + np.exp(-F))
    q = 1.0 / (1.0 + np.exp(-G))
    return p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q))


def _replay(t, cfg, T, seed, chunk_size):
    """Plain SGD (constant lr, batch B) sample by sample; the KL of each sample before its step."""
    X, y = _stream(t, T, seed, chunk_size)
    F = teacher_logits(t, X)
    W, v = init_params(cfg, t.d)
    B = cfg.batch_size
    kls = []
    for start in range(0, T, B):
        Xb, yb = X[start:start + B], y[start:start + B]
        gW = np.zeros_like(W)
        gv = np.zeros_like(v)
        for x, yt, Ft in zip(Xb, yb, F[start:start + B]):
            h = W @ x
            f = float(v @ np.maximum(h, 0.0))
            kls.append(_kl_probabilities(Ft, f))
            g = 1.0 / (1.0 + math.exp(-f)) - yt
            gv += g * np.maximum(h, 0.0)
            gW += np.outer(g * v * (h > 0), x)
        W = W - cfg.lr * gW / len(Xb)
        v = v - cfg.lr * gv / len(Xb)
    kls = np.array(kls)
    return kls.mean(), kls.std(ddof=1) / math.sqrt(T), W, v


@pytest.mark.parametrize("device", ["numpy", "cpu"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("d,n", [(5, 4), (8, 13), (17, 6)])  # the kernels take d in blocks of 8
def test_online_kl_matches_an_independent_replay(device, batch, d, n):
    t = sample_teacher(d, 3, seed=4)
    cfg = StudentConfig(n, lr=0.05, batch_size=batch, init_seed=2)
    T = 700  # several chunks, minibatches straddling chunk edges (100 is not a multiple of 3)
    [r] = train(t, [cfg], T, data_seed=6, device=device, chunk_size=100)
    mean, se, W, v = _replay(t, cfg, T, seed=6, chunk_size=100)
    assert np.allclose(r.W, W, rtol=1e-9, atol=1e-12)   # the replay really is the same trajectory
    assert r.online_kl == pytest.approx(mean, rel=1e-9)
    assert r.online_kl_se == pytest.approx(se, rel=1e-6)


def test_frozen_student_online_kl_is_the_monte_carlo_kl_of_its_initial_weights():
    # lr = 1e-300: every update is far below one ulp of the O(0.1) weights, so they never move and
    # the online KL is the plain Monte Carlo KL of the initial weights over the training inputs
    t = sample_teacher(6, 4, seed=1)
    cfgs = [StudentConfig(5, lr=1e-300, init_seed=3), StudentConfig(5, lr=1e-300, init_seed=3, batch_size=7)]
    T = 3000
    X, _ = _stream(t, T, seed=2, chunk_size=512)
    W, v = init_params(cfgs[0], 6)
    expected = _kl_probabilities(teacher_logits(t, X), np.maximum(X @ W.T, 0.0) @ v)
    for device in ("numpy", "cpu"):
        for r in train(t, cfgs, T, data_seed=2, device=device, chunk_size=512):
            assert np.array_equal(r.W, W)
            assert r.online_kl == pytest.approx(expected.mean(), rel=1e-10)
            assert r.online_kl_se == pytest.approx(expected.std(ddof=1) / math.sqrt(T), rel=1e-6)


def test_student_at_the_teacher_has_zero_online_kl_while_a_random_one_does_not():
    t = sample_teacher(4, 3, seed=2)
    at = StudentConfig(3, lr=1e-300, init_W=t.W, init_v=t.a)
    rnd = StudentConfig(3, lr=0.05)
    a, b = train(t, [at, rnd], 2000, data_seed=0, device="cpu")
    # zero up to rounding: the logits differ in the order of a few sums, and the KL formula is a
    # difference of O(1) softplus values (a few ulps, ~1e-16, per sample)
    assert 0.0 <= a.online_kl < 1e-14
    assert b.online_kl > 10 * b.online_kl_se > 0


MIXED = [
    StudentConfig(4, lr=0.05),
    StudentConfig(6, lr=0.02, batch_size=5, init_seed=1),
    StudentConfig(3, lr=0.01, optimizer="adam", batch_size=3, schedule="inverse", t0=100),
    StudentConfig(5, lr=0.1, schedule="inverse_sqrt", t0=50, init_seed=2),
    StudentConfig(2, lr=0.01, optimizer="adam", init_seed=3),
    StudentConfig(3, lr=0.5, batch_size=600, init_seed=5),
    StudentConfig(4, lr=1e7, init_seed=4),                                # diverges
]
MIXED_T = [1500, 1300, 1500, 700, 1000, 1500, 1500]


def test_numba_and_reference_agree_and_runs_reproduce():
    t = sample_teacher(8, 3, seed=0)
    kw = dict(data_seed=3, chunk_size=256)
    cpu = train(t, MIXED, MIXED_T, device="cpu", **kw)
    ref = train(t, MIXED, MIXED_T, device="numpy", **kw)
    again = train(t, MIXED, MIXED_T, device="cpu", **kw)
    for a, b, c in zip(cpu, ref, again):
        assert a.status == b.status
        if a.status == "done":
            assert a.online_kl == pytest.approx(b.online_kl, rel=RTOL)
            assert a.online_kl_se == pytest.approx(b.online_kl_se, rel=1e-8)
        else:
            assert math.isnan(a.online_kl) and math.isnan(b.online_kl)
        assert (a.online_kl == c.online_kl) or (math.isnan(a.online_kl) and math.isnan(c.online_kl))
    assert [r.status for r in cpu] == ["done"] * 6 + ["diverged"]


def test_train_many_records_each_streams_own_online_kl():
    t1, t2 = sample_teacher(3, 2, seed=1), sample_teacher(3, 4, seed=2)
    c1, c2 = StudentConfig(2, lr=0.05), StudentConfig(4, lr=0.05, batch_size=2)
    many = train_many([(t1, c1, 500, 0), (t2, c2, 800, 1)], chunk_size=128)
    alone = [train(t1, [c1], 500, data_seed=0, chunk_size=128)[0],
             train(t2, [c2], 800, data_seed=1, chunk_size=128)[0]]
    for a, b in zip(many, alone):
        assert a.online_kl == b.online_kl and np.isfinite(a.online_kl)


def test_chunks_without_logits_train_the_same_but_have_no_online_kl():
    from scaling_theory.numeric.sim import reference, train_cpu
    t = sample_teacher(3, 2, seed=0)
    pairs = list(data_chunks(t, 300, seed=1, chunk_size=64))
    triples = list(data_chunks(t, 300, seed=1, chunk_size=64, with_logits=True))
    cfg = [StudentConfig(3, lr=0.1)]
    for trainer in (train_cpu.train_chunks, reference.train_chunks_reference):
        [a] = trainer(3, cfg, [300], pairs)
        [b] = trainer(3, cfg, [300], triples)
        assert np.array_equal(a.W, b.W) and math.isnan(a.online_kl) and np.isfinite(b.online_kl)
