"""Reducible-error estimator (numeric/error.py)."""

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.error import bernoulli_kl, reducible_error, reducible_error_reference
from scaling_theory.numeric.sim.teacher import sample_teacher


def test_kl_matches_direct_formula():
    table = {(0.5, -0.3): None, (3.0, 2.0): None, (-4.0, 1.0): None, (0.0, 0.0): 0.0}
    for (f, g), expected in table.items():
        p, q = 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-g))
        direct = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
        got = bernoulli_kl(np.array([f]), np.array([g]))[0]
        assert np.isclose(got, direct if expected is None else expected, rtol=1e-12, atol=1e-15)


def test_kl_is_stable_and_bounded_by_squared_logit_gap():
    rng = np.random.default_rng(0)
    F, G = rng.normal(0, 30, 10000), rng.normal(0, 30, 10000)
    kl = bernoulli_kl(F, G)
    assert np.all(np.isfinite(kl)) and np.all(kl >= 0)
    assert np.all(kl <= (F - G) ** 2 / 8 + 1e-12)   # docs/paper-setting.md, framework item 3
    assert np.isfinite(bernoulli_kl(np.array([1e4]), np.array([-1e4]))[0])


def test_numba_matches_numpy_reference():
    t = sample_teacher(7, 4, seed=0)
    rng = np.random.default_rng(1)
    for n in (1, 5, 12):
        W, v = rng.standard_normal((n, 7)) / 3, rng.standard_normal(n)
        a = reducible_error(t, W, v, n_samples=3000, seed=2, chunk_size=1000)
        b = reducible_error_reference(t, W, v, n_samples=3000, seed=2, chunk_size=1000)
        assert np.allclose(a, b, rtol=1e-10, atol=0)


def test_dirichlet_teacher_error_and_zero_at_teacher():
    t = sample_teacher(5, 2.0, kind="dp", seed=3)
    assert reducible_error(t, t.W, t.a, n_samples=1000) == (0.0, 0.0)
    m, se = reducible_error(t, np.zeros((1, 5)), np.zeros(1), n_samples=4000)
    assert m > 0 and se > 0


def test_standard_error_shrinks_like_inverse_sqrt():
    t = sample_teacher(4, 2, seed=0)
    W, v = np.zeros((1, 4)), np.zeros(1)
    _, se1 = reducible_error(t, W, v, n_samples=1000)
    m4, se4 = reducible_error(t, W, v, n_samples=16000)
    assert 2.5 < se1 / se4 < 6.5
    # the estimate at 16000 samples agrees with an independent seed within a few standard errors
    m_other, se_other = reducible_error(t, W, v, n_samples=16000, seed=9)
    assert abs(m4 - m_other) < 5 * np.hypot(se4, se_other)


def test_bad_shapes_are_user_errors():
    t = sample_teacher(4, 2, seed=0)
    with pytest.raises(UserInputError, match="student weights"):
        reducible_error(t, np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(UserInputError, match="n_samples"):
        reducible_error(t, np.zeros((2, 4)), np.zeros(2), n_samples=1)
