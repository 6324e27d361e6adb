"""The compiled approach-3 objective agrees with its NumPy reference, and a large fit with either."""

import numpy as np
import pytest

from scaling_theory.numeric.analysis import approach3
from scaling_theory.numeric.analysis.approach3 import _lse_objective
from scaling_theory.numeric.analysis.approach3_kernel import lse_objective
from scaling_theory.numeric.analysis.fit import fit, synthetic


def _points(n, seed, spread):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(10, 25, n), rng.uniform(15, 30, n)
    logL = np.log(1.7 + np.exp(6 - 0.34 * x) + np.exp(6 - 0.28 * y)) + spread * rng.standard_normal(n)
    return x, y, logL, rng


@pytest.mark.parametrize("kind", ["huber", "mse", "mae", "log-cosh"])
@pytest.mark.parametrize("with_e", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("delta", [1e-3, 0.3, 1e9])
def test_kernel_matches_the_numpy_reference(kind, with_e, weighted, delta):
    x, y, logL, rng = _points(3000, 11, 0.5)   # residuals from 1e-4 to ~2: both Huber regimes
    w = rng.uniform(0, 3, x.size) if weighted else None
    for theta in ([6.0, 0.34, 6.0, 0.28, 0.53], [2.0, 0.1, 9.0, 0.9, -3.0], [40.0, 3.0, -5.0, 0.01, 1.0]):
        theta = np.array(theta[:5 if with_e else 4])
        v, g = lse_objective(theta, x, y, logL, with_e, delta, kind, w, 0.7)
        v0, g0 = _lse_objective(theta, x, y, logL, with_e, delta, kind, w, 0.7)
        assert v == pytest.approx(v0, rel=1e-11)
        assert np.allclose(g, g0, rtol=1e-9, atol=1e-12 * np.abs(g0).max())


def test_a_large_fit_is_the_same_with_the_kernel_or_the_reference(monkeypatch):
    data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21], per_budget=6000,
                     noise=0.02, seed=3)
    assert len(data) > approach3.KERNEL_POINTS
    fast = fit(data, approach=3, bootstrap=2, seed=1).approaches[3]
    monkeypatch.setattr(approach3, "KERNEL_POINTS", 10 ** 9)   # the NumPy reference throughout
    slow = fit(data, approach=3, bootstrap=2, seed=1).approaches[3]
    for k in ("E", "A", "B", "alpha", "beta"):
        assert fast.params[k] == pytest.approx(slow.params[k], rel=1e-6), k
    again = fit(data, approach=3, bootstrap=2, seed=1).approaches[3]
    assert again.params == slow.params   # seeded runs reproduce


def test_small_fits_use_the_reference():
    assert approach3._objective_for(approach3.KERNEL_POINTS) is _lse_objective
    assert approach3._objective_for(approach3.KERNEL_POINTS + 1) is lse_objective
