"""Numba CPU trainer against the NumPy reference (numeric/train_cpu.py)."""

import numpy as np

from scaling_theory.numeric.sim.error import reducible_error
from scaling_theory.numeric.sim.teacher import sample_teacher
from scaling_theory.numeric.sim.students import StudentConfig
from scaling_theory.numeric.sim.training import train

# tolerance for Numba vs NumPy: same algorithm, different summation order (fast-math reassociation)
RTOL, ATOL = 1e-9, 1e-11

CONFIGS = [
    StudentConfig(4, lr=0.05),                                            # online SGD
    StudentConfig(6, lr=0.02, batch_size=5, init_seed=1),                 # minibatch across chunks
    StudentConfig(3, lr=0.01, optimizer="adam", batch_size=3, schedule="inverse", t0=100),
    StudentConfig(5, lr=0.1, schedule="inverse_sqrt", t0=50, init_seed=2),
    StudentConfig(2, lr=0.01, optimizer="adam", init_seed=3),             # online Adam
    StudentConfig(4, lr=1e7, init_seed=4),                                # diverges
    StudentConfig(4, lr=0.05, max_loss=0.01, init_seed=4),                # loss rule trips
    StudentConfig(3, lr=0.5, batch_size=600, init_seed=5),                # batch > scratch rows
]
BUDGETS = [1500, 1300, 1500, 700, 1000, 1500, 1500, 1500]


def test_cpu_matches_numpy_reference():
    t = sample_teacher(8, 3, seed=0)
    cpu = train(t, CONFIGS, BUDGETS, data_seed=3, device="cpu", chunk_size=256)
    ref = train(t, CONFIGS, BUDGETS, data_seed=3, device="numpy", chunk_size=256)
    for a, b in zip(cpu, ref):
        assert (a.status, a.reason, a.samples_seen) == (b.status, b.reason, b.samples_seen)
        if a.status == "done":
            assert np.allclose(a.W, b.W, rtol=RTOL, atol=ATOL)
            assert np.allclose(a.v, b.v, rtol=RTOL, atol=ATOL)
            assert np.isclose(a.mean_loss, b.mean_loss, rtol=1e-10)
            ea, eb = (reducible_error(t, r.W, r.v, n_samples=2000) for r in (a, b))
            assert np.allclose(ea, eb, rtol=1e-8, atol=1e-12)
    assert [r.status for r in cpu] == ["done"] * 5 + ["diverged"] * 2 + ["done"]


def test_seeded_cpu_run_is_bit_for_bit_reproducible():
    t = sample_teacher(8, 3, seed=1)
    runs = [train(t, CONFIGS[:5], BUDGETS[:5], data_seed=7, device="cpu", chunk_size=256)
            for _ in range(2)]
    alone = train(t, [CONFIGS[2]], BUDGETS[2], data_seed=7, device="cpu", chunk_size=256)[0]
    for a, b in zip(*runs):
        assert np.array_equal(a.W, b.W) and np.array_equal(a.v, b.v) and a.mean_loss == b.mean_loss
    # a student's result does not depend on who else was trained in the same call
    assert np.array_equal(alone.W, runs[0][2].W)


def test_student_initialised_at_teacher_stays_near_zero_error():
    t = sample_teacher(6, 3, seed=2)
    at_teacher = StudentConfig(3, lr=0.002, init_W=t.W, init_v=t.a)
    wider = StudentConfig(5, lr=0.002, init_W=np.vstack([t.W, np.zeros((2, 6))]),
                          init_v=np.concatenate([t.a, np.zeros(2)]))
    random = StudentConfig(3, lr=0.002)
    rs = train(t, [at_teacher, wider, random], 4000, data_seed=0, device="cpu", chunk_size=1024)
    errs = [reducible_error(t, r.W, r.v, n_samples=4000)[0] for r in rs]
    assert errs[0] < 0.01 and errs[1] < 0.01
    assert errs[0] < errs[2] / 20


def test_training_reduces_error():
    t = sample_teacher(4, 2, seed=3)
    [r] = train(t, [StudentConfig(8, lr=0.05, batch_size=4)], 20000, data_seed=1, device="cpu")
    before = reducible_error(t, *_init(StudentConfig(8, lr=0.05, batch_size=4), 4), n_samples=4000)[0]
    after = reducible_error(t, r.W, r.v, n_samples=4000)[0]
    assert after < before / 3


def _init(cfg, d):
    from scaling_theory.numeric.sim.students import init_params
    return init_params(cfg, d)


def test_all_students_diverging_stops_the_stream_early():
    t = sample_teacher(4, 2, seed=0)
    cfgs = [StudentConfig(3, lr=1e9), StudentConfig(2, max_loss=1e-6)]
    rs = train(t, cfgs, 10**9, data_seed=0, device="cpu", chunk_size=512)  # would take hours
    assert [r.status for r in rs] == ["diverged", "diverged"]
    assert all(r.samples_seen <= 1024 for r in rs)


def test_students_of_different_teachers_in_one_call_match_separate_calls():
    from scaling_theory.numeric.sim.training import train_many
    t1, t2 = sample_teacher(5, 2, seed=1), sample_teacher(5, 3.0, kind="dp", seed=2)
    a, b = StudentConfig(3, lr=0.05, batch_size=4), StudentConfig(6, lr=0.02, init_seed=3)
    tasks = [(t1, a, 900, 0), (t2, b, 1300, 5), (t1, b, 400, 7), (t2, a, 1000, 5)]
    many = train_many(tasks, chunk_size=256)
    for (teacher, cfg, T, seed), got in zip(tasks, many):
        [alone] = train(teacher, [cfg], T, data_seed=seed, device="cpu", chunk_size=256)
        assert got.samples_seen == T and np.array_equal(got.W, alone.W)
    ref = train_many(tasks, device="numpy", chunk_size=256)
    assert all(np.allclose(m.W, r.W, rtol=RTOL, atol=ATOL) for m, r in zip(many, ref))
