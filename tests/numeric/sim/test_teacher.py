"""Teachers and the seeded data stream (numeric/teacher.py)."""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.teacher import (EVAL_STREAM, TRAIN_STREAM, data_chunks, expected_distinct_atoms,
                                                input_chunks, sample_teacher, sigmoid, teacher_logits)


def test_finite_teacher_shapes_and_seed():
    for (d, K), shapes in {(3, 1): ((1,), (1, 3)), (16, 8): ((8,), (8, 16))}.items():
        t = sample_teacher(d, K, seed=4)
        assert (t.a.shape, t.W.shape) == shapes
        again = sample_teacher(d, K, seed=4)
        assert np.array_equal(t.W, again.W) and np.array_equal(t.a, again.a)
        assert not np.array_equal(t.W, sample_teacher(d, K, seed=5).W)


def test_finite_teacher_weights_are_standard_normal():
    t = sample_teacher(50, 400, seed=0)
    assert abs(t.W.mean()) < 0.02 and abs(t.W.std() - 1) < 0.02
    assert abs(t.a.mean()) < 0.15 and abs(t.a.std() - 1) < 0.1


def test_teacher_logits_match_definition():
    t = sample_teacher(5, 3, seed=1)
    X = np.random.default_rng(0).standard_normal((7, 5))
    direct = [sum(t.a[k] * max(t.W[k] @ x, 0.0) for k in range(3)) for x in X]
    assert np.allclose(teacher_logits(t, X), direct, rtol=1e-13, atol=1e-13)


def test_stream_is_a_seeded_prefix_and_chunked():
    t = sample_teacher(4, 2, seed=0)
    long = list(data_chunks(t, 25, seed=3, chunk_size=8))
    short = list(data_chunks(t, 11, seed=3, chunk_size=8))
    assert [X.shape[0] for X, _ in long] == [8, 8, 8, 1]
    Xl = np.concatenate([X for X, _ in long])
    Xs = np.concatenate([X for X, _ in short])
    assert np.array_equal(Xl[:11], Xs)
    assert all(X.flags.c_contiguous and X.dtype == np.float64 for X, _ in long)
    other = np.concatenate([X for X, _ in data_chunks(t, 25, seed=4, chunk_size=8)])
    assert not np.array_equal(Xl, other)
    ev = np.concatenate(list(input_chunks(4, 25, seed=3, chunk_size=8, stream=EVAL_STREAM)))
    assert not np.array_equal(Xl, ev)  # evaluation inputs are fresh
    tr = np.concatenate(list(input_chunks(4, 25, seed=3, chunk_size=8, stream=TRAIN_STREAM)))
    assert np.array_equal(Xl, tr)


def test_labels_follow_sigmoid_of_teacher():
    t = sample_teacher(3, 2, seed=2)
    X, y = next(data_chunks(t, 40000, seed=0, chunk_size=40000))
    p = sigmoid(teacher_logits(t, X))
    assert set(np.unique(y)) <= {0.0, 1.0}
    # E[y] = E[sigma(F)], also within slices of the predicted probability (calibration)
    assert abs(y.mean() - p.mean()) < 4 * np.sqrt(0.25 / len(y))
    for lo, hi in [(0.0, 0.5), (0.5, 0.8), (0.8, 1.0)]:
        sel = (p >= lo) & (p < hi)
        assert sel.sum() > 500
        assert abs(np.mean(y[sel]) - np.mean(p[sel])) < 4 * np.sqrt(0.25 / sel.sum())


def test_dirichlet_teacher_stick_breaking():
    K = 3.0
    t = sample_teacher(6, K, kind="dp", seed=0, tol=1e-10)
    assert t.leftover < 1e-10
    assert np.isclose(t.pi.sum() + t.leftover, 1.0, atol=1e-12)
    assert np.allclose(t.a, 0.0) is False and t.W.shape == (t.m, 6)
    # E[pi_1] = 1/(1+K) over teacher seeds
    first = [sample_teacher(2, K, kind="dp", seed=s).pi[0] for s in range(800)]
    assert abs(np.mean(first) - 1 / (1 + K)) < 0.03
    # atoms needed ~ K ln(1/tol), well above K
    assert K < t.m < 10 * K * np.log(1e10)


def test_dirichlet_distinct_atoms_match_expectation():
    K, n = 4.0, 50
    rng = np.random.default_rng(0)
    counts = []
    for s in range(200):
        t = sample_teacher(2, K, kind="dp", seed=s)
        draws = rng.choice(t.m, size=n, p=t.pi / t.pi.sum())
        counts.append(len(np.unique(draws)))
    expected = expected_distinct_atoms(K, n)
    assert abs(np.mean(counts) - expected) < 0.08 * expected
    assert abs(expected - K * np.log(1 + n / K)) < 0.15 * expected


def test_equal_weight_dirichlet_form_reduces_to_finite():
    # F = K * sum pi_j a_j ReLU(w_j x) with pi_j = 1/K is the finite teacher
    t = sample_teacher(4, 5, seed=0)
    X = np.random.default_rng(1).standard_normal((10, 4))
    F = 5 * (np.maximum(X @ t.W.T, 0) @ (t.a / 5))
    assert np.allclose(F, teacher_logits(t, X))


def test_bad_teacher_arguments_are_user_errors():
    cases = {("finite", 2.5): "integer K", ("finite", 0): "integer K", ("dp", -1.0): "K > 0",
             ("weird", 2): "unknown teacher kind"}
    for (kind, K), text in cases.items():
        with pytest.raises(UserInputError, match=text):
            sample_teacher(3, K, kind=kind)
    with pytest.raises(UserInputError, match="input dimension"):
        sample_teacher(0, 2)
    with pytest.raises(UserInputError, match="T must be"):
        list(data_chunks(sample_teacher(2, 1), -1, seed=0))
