"""Narrow online-SGD students trained as lanes of one kernel (numeric/sim/train_cpu.py).

Students of one width, sample count and precision on one data stream are grouped by
``_lane_groups`` and trained side by side by ``_online_sgd_lanes``.  Each lane performs the
per-student kernel's operations, so a lane must equal the student trained alone (lanes off:
``LANES_MAX_WIDTH = 0``) up to the rounding of reordered sums, and both must match the NumPy
reference (numeric/sim/reference.py), which is the algorithm's definition.
"""

import numpy as np
import pytest
from scaling_theory.numeric.sim import train_cpu
from scaling_theory.numeric.sim.kernels import _teacher_parts
from scaling_theory.numeric.sim.students import StudentConfig
from scaling_theory.numeric.sim.teacher import chunk, sample_teacher
from scaling_theory.numeric.sim.training import train, train_many

EPS32 = float(np.finfo(np.float32).eps)
# per-lane settings that differ: rate, schedule, t0, parametrisation (layer factors), init
LANE_CONFIGS = [{"lr": 0.1, "init_seed": 1},
                {"lr": 0.3, "schedule": "inverse", "t0": 200.0, "init_seed": 2},
                {"lr": 0.05, "schedule": "inverse_sqrt", "t0": 50.0, "init_seed": 3, "parametrisation": "mup"},
                {"lr": 0.2, "init_seed": 4, "parametrisation": "mup"}]


@pytest.fixture
def small_groups(monkeypatch):
    """Lane groups of any size (the default trains groups of fewer than 3 alone)."""
    monkeypatch.setattr(train_cpu, "LANES_MIN_MEMBERS", 1)


def _alone(run):
    """``run()`` with lanes off: every student by the per-student kernel."""
    old = train_cpu.LANES_MAX_WIDTH
    train_cpu.LANES_MAX_WIDTH = 0
    try:
        return run()
    finally:
        train_cpu.LANES_MAX_WIDTH = old


def _tolerances(precision):
    # float64: reordered sums only; float32: a few hundred single-precision ulps after ~2500 steps
    return (1e-12, 1e-13) if precision == "float64" else (1e3 * EPS32, 1e3 * EPS32)


def _assert_same(a, b, precision):
    rtol, atol = _tolerances(precision)
    assert (a.status, a.reason, a.samples_seen) == (b.status, b.reason, b.samples_seen)
    np.testing.assert_allclose(a.W, b.W, rtol=rtol, atol=atol)
    np.testing.assert_allclose(a.v, b.v, rtol=rtol, atol=atol)
    assert a.mean_loss == pytest.approx(b.mean_loss, rel=rtol)
    assert a.online_kl == pytest.approx(b.online_kl, rel=max(rtol, 1e-11))


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("d", [8, 5])   # d = 8: the fused lanes step; d = 5: the general one
@pytest.mark.parametrize("members", [1, 2, 3, 4])
def test_lanes_equal_students_trained_alone(small_groups, d, members, precision):
    t = sample_teacher(d, 6, seed=members)
    cfgs = [StudentConfig(3, precision=precision, **kw) for kw in LANE_CONFIGS[:members]]
    cfgs.append(StudentConfig(20, lr=0.1, precision=precision))    # wider than LANES_MAX_WIDTH: alone
    Ts = [2500] * members + [2000]                                   # not a multiple of the chunk
    group, gmem = train_cpu._lane_groups(cfgs, Ts, np.ones(len(cfgs), bool),
                                         np.full(len(cfgs), precision == "float32"), np.zeros(len(cfgs), np.int64))
    assert gmem.tolist() == [list(range(members)) + [-1] * (4 - members)]   # padded with inert lanes
    assert group.tolist() == [0] * members + [-1]
    lanes = train(t, cfgs, Ts, data_seed=7, device="cpu", chunk_size=1024)
    alone = _alone(lambda: train(t, cfgs, Ts, data_seed=7, device="cpu", chunk_size=1024))
    for a, b in zip(lanes, alone):
        assert a.status == "done"
        _assert_same(a, b, precision)
    assert [r.samples_seen for r in lanes] == Ts


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_lanes_match_the_numpy_reference(small_groups, precision):
    t = sample_teacher(8, 4, seed=3)
    cfgs = [StudentConfig(2, precision=precision, **kw) for kw in LANE_CONFIGS]
    cfgs += [StudentConfig(2, lr=0.15, init_seed=9, precision=precision)]   # a second group, 3 lanes padding
    Ts = 1300
    cpu = train(t, cfgs, Ts, data_seed=2, device="cpu", chunk_size=512)
    ref = train(t, cfgs, Ts, data_seed=2, device="numpy", chunk_size=512)
    rtol = 1e-9 if precision == "float64" else 1e3 * EPS32    # the tolerances of the trainer tests
    for a, b in zip(cpu, ref):
        assert (a.status, a.samples_seen) == (b.status, b.samples_seen) == ("done", 1300)
        np.testing.assert_allclose(a.W, b.W, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(a.v, b.v, rtol=rtol, atol=rtol)
        assert a.online_kl == pytest.approx(b.online_kl, rel=max(rtol, 1e-10))


@pytest.mark.parametrize("diverging", [0, 2])   # the group's first member (which carries it), a later one
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_a_diverging_lane_stops_alone(diverging, precision):
    t = sample_teacher(8, 6, seed=1)
    kws = [dict(LANE_CONFIGS[i]) for i in range(4)]
    kws[diverging]["lr"] = 50.0
    cfgs = [StudentConfig(4, precision=precision, **kw) for kw in kws]
    Ts = 3000
    lanes = train(t, cfgs, Ts, data_seed=5, device="cpu", chunk_size=512)
    alone = _alone(lambda: train(t, cfgs, Ts, data_seed=5, device="cpu", chunk_size=512))
    assert [r.status for r in lanes] == ["diverged" if i == diverging else "done" for i in range(4)]
    for i, (a, b) in enumerate(zip(lanes, alone)):
        assert (a.status, a.reason, a.samples_seen) == (b.status, b.reason, b.samples_seen)
        if i != diverging:
            _assert_same(a, b, precision)
        else:   # an exploding run's last weights depend on rounding (which value overflows first),
            # but the reported ones are those the rule saw, not the lane's later (zeroed) state
            assert a.samples_seen < Ts
            assert not np.all(a.W == 0.0) and not np.all(a.v == 0.0)


def test_groups_per_stream_in_many_teachers_call():
    t1, t2 = sample_teacher(8, 3, seed=1), sample_teacher(8, 5, seed=2)
    tasks = [(t, StudentConfig(2, **kw), 1500, seed) for t, seed in ((t1, 0), (t2, 4)) for kw in LANE_CONFIGS]
    tasks += [(t1, StudentConfig(2, lr=0.1), 900, 0)]   # other T: alone
    many = train_many(tasks, chunk_size=512)
    alone = _alone(lambda: train_many(tasks, chunk_size=512))
    for a, b in zip(many, alone):
        _assert_same(a, b, "float64")


def test_padding_lanes_stay_exactly_zero():
    """The kernel alone: lanes with zero weights and zero rate stay zero; the live lane is the
    per-student kernel's result."""
    t = sample_teacher(8, 4, seed=0)
    X, y, F = chunk(t, 0, seed=0, chunk_size=700, with_logits=True)
    P = np.empty((3, F.size))
    P[0] = F
    _teacher_parts(F, P[1], P[2])
    rng = np.random.default_rng(0)
    n, d = 3, 8
    Wt1 = rng.standard_normal((d, n)) / np.sqrt(d)
    v1 = rng.standard_normal(n) / n
    Wt = np.zeros((d, n, 4))
    v = np.zeros((n, 4))
    Wt[:, :, 1] = Wt1
    v[:, 1] = v1
    Wt, v = Wt.reshape(d, 4 * n), v.reshape(4 * n)
    zeros = lambda: np.zeros(4 * n)
    out = np.zeros((4, 3))
    lr0 = np.array([0.0, 0.2, 0.0, 0.0])
    train_cpu._online_sgd_lanes(Wt, v, zeros(), zeros(), zeros(), X, y, P, 700, 0, np.zeros(4, np.int64), lr0,
                                np.ones(4), np.array([0.0, 1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0, 0.0]), out)
    Wt, v = Wt.reshape(d, n, 4), v.reshape(n, 4)
    pad = [0, 2, 3]
    assert not Wt[:, :, pad].any() and not v[:, pad].any() and np.all(np.isfinite(out))
    loss, kls, kl2 = train_cpu._online_sgd(Wt1, v1, np.zeros(n), np.zeros(n), X, y, P, 700, 0, 0, 0.2, 1.0, 1.0, 1.0)
    np.testing.assert_allclose(Wt[:, :, 1], Wt1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(v[:, 1], v1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out[1], [loss, kls, kl2], rtol=1e-12)


def test_lane_groups_rules():
    cfgs = [StudentConfig(2, lr=r) for r in (0.1, 0.2, 0.3, 0.4, 0.5)]          # 4 + 1 alone
    cfgs += [StudentConfig(3, lr=r) for r in (0.1, 0.2, 0.3)]                     # 3: padded group
    cfgs += [StudentConfig(2, lr=0.1, batch_size=2), StudentConfig(40, lr=0.1)]   # minibatch, too wide
    cfgs += [StudentConfig(2, lr=r, precision="float32") for r in (0.1, 0.2, 0.3)]  # own group
    S = len(cfgs)
    online = np.array([c.batch_size == 1 for c in cfgs])
    single = np.array([c.precision == "float32" for c in cfgs])
    group, gmem = train_cpu._lane_groups(cfgs, [100] * S, online, single, np.zeros(S, np.int64))
    assert gmem.tolist() == [[0, 1, 2, 3], [5, 6, 7, -1], [10, 11, 12, -1]]
    assert group.tolist() == [0, 0, 0, 0, -1, 1, 1, 1, -1, -1, 2, 2, 2]
    # different streams or sample counts never share a group
    group, gmem = train_cpu._lane_groups(cfgs[:4], [100, 100, 100, 200], online[:4], single[:4],
                                         np.zeros(4, np.int64))
    assert gmem.tolist() == [[0, 1, 2, -1]]
    group, _ = train_cpu._lane_groups(cfgs[:4], [100] * 4, online[:4], single[:4], np.array([0, 1, 0, 1]))
    assert group.tolist() == [-1] * 4


@pytest.mark.parametrize("d", [8, 5])
def test_a_one_row_last_chunk(d):
    """T = 2 chunks + 1 row: the last chunk's single sample takes the update-only branch."""
    t = sample_teacher(d, 3, seed=4)
    cfgs = [StudentConfig(2, **kw) for kw in LANE_CONFIGS]
    lanes = train(t, cfgs, 1025, data_seed=1, device="cpu", chunk_size=512)
    alone = _alone(lambda: train(t, cfgs, 1025, data_seed=1, device="cpu", chunk_size=512))
    for a, b in zip(lanes, alone):
        assert a.samples_seen == 1025
        _assert_same(a, b, "float64")


def test_a_seeded_call_with_lanes_reproduces_exactly():
    t = sample_teacher(8, 3, seed=6)
    cfgs = [StudentConfig(3, **kw) for kw in LANE_CONFIGS] + [StudentConfig(30, lr=0.05)]
    a, b = (train(t, cfgs, 1500, data_seed=2, device="cpu", chunk_size=512) for _ in range(2))
    for x, y in zip(a, b):
        assert np.array_equal(x.W, y.W) and np.array_equal(x.v, y.v) and x.online_kl == y.online_kl
