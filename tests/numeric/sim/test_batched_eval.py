"""The stream's compiled labels and the one-pass evaluation agree with their NumPy references."""

import numpy as np
import pytest

from scaling_theory.numeric.sim.error import reducible_error, reducible_error_reference, reducible_errors
from scaling_theory.numeric.sim.teacher import (chunk, sample_teacher, sigmoid, teacher_logits,
                                                teacher_logits_fast)


@pytest.mark.parametrize("kind,K", [("finite", 5), ("dp", 3.0)])
def test_compiled_teacher_logits_agree_with_numpy(kind, K):
    t = sample_teacher(7, K, kind=kind, seed=3)
    X = np.random.default_rng(1).standard_normal((1000, 7))
    np.testing.assert_allclose(teacher_logits_fast(t, X), teacher_logits(t, X), rtol=1e-12, atol=1e-12)


def test_stream_labels_are_those_of_the_numpy_teacher():
    t = sample_teacher(6, 9, seed=2)
    X, y = chunk(t, 3, seed=5, chunk_size=4096)
    u = np.random.default_rng([5, 0, 3])
    u.standard_normal((4096, 6))
    np.testing.assert_array_equal(y, (u.random(4096) < sigmoid(teacher_logits(t, X))).astype(float))


def test_one_pass_evaluation_equals_each_student_alone():
    t = sample_teacher(5, 4, kind="dp", seed=1)
    rng = np.random.default_rng(0)
    # widths around the 4-unit blocking and the 256-row blocks (n_samples not a multiple of either)
    pairs = [(rng.standard_normal((n, 5)) / 2, rng.standard_normal(n)) for n in (1, 3, 4, 7, 33)]
    many = reducible_errors(t, pairs, n_samples=1234, seed=9, chunk_size=500)
    for (W, v), got in zip(pairs, many):
        ref = reducible_error_reference(t, W, v, n_samples=1234, seed=9, chunk_size=500)
        np.testing.assert_allclose(got, ref, rtol=1e-9)
        np.testing.assert_allclose(got, reducible_error(t, W, v, n_samples=1234, seed=9, chunk_size=500),
                                   rtol=1e-9)
    assert reducible_errors(t, [], n_samples=10) == []


def test_sweep_rows_are_reproducible_and_carry_an_independent_validation_error():
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import _group, train_runs

    runs, _ = SweepConfig.protocol(quick=True).expand()
    row = _group([r for r in runs if r.compute == 1e4 and r.seed == 0 and r.kind == "finite"])[0]
    a, b = train_runs(row), train_runs(row)
    assert [x["error"] for x in a] == [x["error"] for x in b]
    done = [x for x in a if x["status"] == "done"]
    assert done and all("val_error" in x["metrics"] for x in done)
    # different inputs: the validation estimate is not the reported one
    assert any(x["metrics"]["val_error"] != x["error"] for x in done)
    # batched and per-run evaluation give the same numbers
    c = train_runs(row, batched_eval=False)
    np.testing.assert_allclose([x["error"] or 0 for x in a], [x["error"] or 0 for x in c], rtol=1e-9)


def test_row_vectorised_forward_pass_agrees_with_numpy():
    from scaling_theory.numeric.sim.error import _relu_logits_rows8
    from scaling_theory.numeric.sim.kernels import relu_logits_reference

    rng = np.random.default_rng(5)
    X = rng.standard_normal((2500, 8))     # two full 1024-row blocks and a partial one
    for n in (1, 2, 5, 64):                # odd widths take the single-unit tail
        W, v = rng.standard_normal((n, 8)), rng.standard_normal(n)
        g = np.empty(2500)
        _relu_logits_rows8(np.ascontiguousarray(X.T), np.ascontiguousarray(W.T), v, g)
        np.testing.assert_allclose(g, relu_logits_reference(X, W, v), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind,K", [("finite", 32), ("dp", 32.0)])
def test_evaluation_of_narrow_and_wide_students_agrees_with_the_reference(kind, K):
    # d = 8: widths below 256 take the row-vectorised pass, the others the unit-vectorised one
    from scaling_theory.numeric.sim import error

    t = sample_teacher(8, K, kind=kind, seed=4)
    rng = np.random.default_rng(3)
    pairs = [(rng.standard_normal((n, 8)) / 3, rng.standard_normal(n) / np.sqrt(n)) for n in (1, 7, 255, 256, 300)]
    error._EVAL_CACHE.clear()
    first = reducible_errors(t, pairs, n_samples=3000, seed=11, chunk_size=1200)
    again = reducible_errors(t, pairs, n_samples=3000, seed=11, chunk_size=1200)   # from the cache
    assert again == first
    for (W, v), got in zip(pairs, first):
        np.testing.assert_allclose(got, reducible_error_reference(t, W, v, n_samples=3000, seed=11,
                                                                  chunk_size=1200), rtol=1e-9)


def test_evaluation_cache_is_keyed_by_teacher_and_stream():
    from scaling_theory.numeric.sim import error

    error._EVAL_CACHE.clear()
    a, b = sample_teacher(8, 5, seed=1), sample_teacher(8, 5, seed=2)
    W, v = np.ones((3, 8)) / 8, np.ones(3)
    for t, seed in ((a, 1), (b, 1), (a, 2)):
        got = reducible_errors(t, [(W, v)], n_samples=500, seed=seed)[0]
        np.testing.assert_allclose(got, reducible_error_reference(t, W, v, n_samples=500, seed=seed), rtol=1e-9)
    assert len(error._EVAL_CACHE) == 3
    # a re-sampled identical teacher reuses its stream; the cached arrays cannot be changed
    reducible_errors(sample_teacher(8, 5, seed=1), [(W, v)], n_samples=500, seed=1)
    assert len(error._EVAL_CACHE) == 3
    X, Xt, P = next(iter(error._EVAL_CACHE.values()))[0]
    assert not (X.flags.writeable or Xt.flags.writeable or P.flags.writeable)


def test_non_finite_students_give_non_finite_errors():
    t = sample_teacher(8, 4, seed=0)
    W = np.ones((3, 8))
    W[1, 2] = np.nan
    [(m, _)] = reducible_errors(t, [(W, np.ones(3))], n_samples=100, seed=0)
    assert np.isnan(m)


def test_evaluation_cache_stays_within_its_byte_budget(monkeypatch):
    from scaling_theory.numeric.sim import error

    error._EVAL_CACHE.clear()
    t = sample_teacher(8, 5, seed=1)
    W, v = np.ones((2, 8)) / 8, np.ones(2)
    one = 400 * (2 * 8 + 3) * 8                 # bytes of one stream of 400 inputs
    monkeypatch.setattr(error, "_EVAL_CACHE_BYTES", 2 * one)
    for seed in range(4):
        reducible_errors(t, [(W, v)], n_samples=400, seed=seed)
    assert [key[2] for key in error._EVAL_CACHE] == [2, 3]   # the two most recent streams
    error._EVAL_CACHE.clear()
