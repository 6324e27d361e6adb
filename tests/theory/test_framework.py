"""Framework objects: Bernoulli KL, ProxyBound -> Law -> engine, rate-distortion form."""

import pytest
import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.framework import (ProxyBound, RateDistortionBound, bayes_identity, bernoulli_kl,
                                             kl_quadratic_bound, reducible_error)

f, g = sp.symbols("f g", real=True)
n, T, k = sp.symbols("n T k", positive=True)


@pytest.mark.parametrize("fv,gv", [(0, 0), (1, -1), (3, 2.5), (-4, 6), (10, -10)])
def test_bernoulli_kl_nonnegative_and_below_quadratic(fv, gv):
    kl = float(bernoulli_kl(f, g).subs({f: fv, g: gv}))
    assert -1e-15 <= kl <= float(kl_quadratic_bound(f, g).subs({f: fv, g: gv})) + 1e-15


def test_reducible_error_and_bayes_identity():
    a, b, c = sp.symbols("a b c", positive=True)
    assert reducible_error([a, b, c]) == (a + b + c) / 3
    with pytest.raises(UserInputError):
        reducible_error([])
    assert bayes_identity(sp.Symbol("I", positive=True), T).rhs == sp.Symbol("I", positive=True) / T


def test_proxy_bound_to_law_feeds_the_engine():
    bound = ProxyBound(estimation_error=k * n / T, misspecification_error=1 / n, model=n, data=T, cost=n * T,
                       constants=(k,))
    assert bound.bound == k * n / T + 1 / n
    law = bound.to_law("user-proxy", parameter_sets={"one": {"k": 2}}, default_set="one")
    assert law.model is n and law.cost == n * T and law.parameters() == {k: 2}
    allocation = pytest.importorskip("scaling_theory.theory.allocation")
    alloc = allocation.compute_optimal_allocation(law)
    assert alloc.model_exponent == sp.Rational(1, 3) and alloc.data_exponent == sp.Rational(2, 3)


def test_proxy_bound_rejects_stray_symbols():
    stray = sp.Symbol("z", positive=True)
    with pytest.raises(UserInputError, match="z"):
        ProxyBound(estimation_error=stray / T, misspecification_error=1 / n, model=n, data=T, cost=n * T)


def test_rate_distortion_optimum():
    eps = sp.Symbol("epsilon", positive=True)
    rd = RateDistortionBound(k * sp.log(1 / eps), eps, T)
    assert rd.optimal_eps() == k / T
    assert sp.simplify(rd.optimized() - (k * sp.log(T / k) + k) / T) == 0
