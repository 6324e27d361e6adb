"""The shared compiled primitives (numeric/sim/kernels.py) against their NumPy references."""

import numpy as np
import pytest

from scaling_theory.numeric.sim.error import reducible_error, reducible_error_reference, reducible_errors
from scaling_theory.numeric.sim.kernels import relu_logits, relu_logits_reference
from scaling_theory.numeric.sim.teacher import sample_teacher


# d around the blocks of 8 input coordinates (none, one, one plus leftovers, two); n around the
# vector width (1, 3, 4, 5) and wide
@pytest.mark.parametrize("d", [1, 3, 8, 13, 16, 21])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 37, 300, 600])  # 600: blocks of 256 units and a rest
def test_unit_major_logits_agree_with_numpy(d, n):
    rng = np.random.default_rng(d * 1000 + n)
    X, W, a = rng.standard_normal((97, d)), rng.standard_normal((n, d)), rng.standard_normal(n)
    got, ref = relu_logits(X, W, a), relu_logits_reference(X, W, a)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12 * np.abs(a).sum() * np.sqrt(d))


def test_non_finite_weights_propagate():
    X = np.ones((2, 8))
    W = np.ones((3, 8))
    W[1, 4] = np.nan
    assert np.isnan(relu_logits(X, W, np.ones(3))).all()


@pytest.mark.parametrize("d", [8, 17])
def test_batched_evaluation_agrees_with_the_reference_on_blocked_inputs(d):
    t = sample_teacher(d, 6, seed=1)
    rng = np.random.default_rng(2)
    pairs = [(rng.standard_normal((n, d)) / np.sqrt(d), rng.standard_normal(n)) for n in (1, 6, 50)]
    many = reducible_errors(t, pairs, n_samples=900, seed=4, chunk_size=400)
    for (W, v), got in zip(pairs, many):
        ref = reducible_error_reference(t, W, v, n_samples=900, seed=4, chunk_size=400)
        np.testing.assert_allclose(got, ref, rtol=1e-9)
        np.testing.assert_allclose(reducible_error(t, W, v, n_samples=900, seed=4, chunk_size=400), ref,
                                   rtol=1e-9)
