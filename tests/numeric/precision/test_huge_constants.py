"""Issue 27: the numeric layer at huge constants (d, K up to 1e400): closed forms and dimension-free sampling.

- the constants' parts of an expression keep their digits (``gamma((d+1)/2)/gamma(d/2)`` at ``d = 1e100``) and are
  never evaluated exactly by SymPy (``gamma(5e8)`` is an integer of billions of digits);
- the trivial error's sampler is chosen from an estimate made before any array exists, and its dimension-free
  branch draws the same law of ``F(X)`` as the unit-by-unit sampler, without ``d``-vectors or ``K`` units.
"""

from __future__ import annotations

import math
import tracemalloc

import mpmath
import numpy as np
import pytest
import sympy as sp
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision import routes
from scaling_theory.numeric.precision import teacher_bounds as tb
from scaling_theory.numeric.precision.mpeval import bind_constants, compile_expr, constant_value
from scaling_theory.theory.registry import get_law
from scaling_theory.theory.routes import leading_exponent
from scaling_theory.theory.teachers import d as d_sym, m_d


def _chi_mean_series(d: int) -> mpmath.mpf:
    """``m_d = sqrt(d) (1 - 1/(4d) + 1/(32 d^2) + 5/(128 d^3) - 21/(2048 d^4))``: the chi mean's expansion, an
    evaluation that shares nothing with the gamma ratio."""
    x = mpmath.mpf(d)
    return mp.sqrt(x) * (1 - 1 / (4 * x) + 1 / (32 * x**2) + 5 / (128 * x**3) - mpmath.mpf(21) / (2048 * x**4))


@pytest.mark.parametrize("d", [10**9, 10**100, 10**400])
def test_chi_mean_keeps_its_digits_at_huge_d(d):
    with mp.workdps(40):
        value = constant_value(m_d(d_sym), {d_sym: d}, 30)
        assert abs(value / _chi_mean_series(d) - 1) < mpmath.mpf(10) ** -28


def test_constants_part_of_a_compiled_expression_is_exact_at_huge_d():
    # before: (d + 1)/2 rounded to d/2 at 30 digits, so the ratio came out as sqrt(2) instead of sqrt(2 d)
    x = sp.Symbol("x", positive=True)
    f = compile_expr(x * m_d(d_sym), x, {d_sym: sp.Integer(10) ** 100})
    with mp.workdps(30):
        assert abs(f(mpmath.mpf(2)) / (2 * _chi_mean_series(10**100)) - 1) < mpmath.mpf(10) ** -25


def test_bind_constants_folds_to_floats_that_keep_the_magnitude():
    x = sp.Symbol("x", positive=True)
    folded = bind_constants(x / m_d(d_sym), {x}, {d_sym: 10**20}, 20)
    assert folded.free_symbols == {x}
    assert abs(float(folded.subs(x, 1)) * 1e10 - 1) < 1e-12


def test_validity_window_at_huge_constants_needs_no_exact_gamma():
    law = get_law("jeon-van-roy-finite")
    values = law.parameters(None, {"d": 10**9, "K": 4})
    assert float(routes.smallest_budget(law, values)) == 4 * (10**9 + 1)      # the direct route's K (d + 1)
    maurey = law.route("maurey")
    with mp.workdps(20):
        assert constant_value(maurey.min_data, values, 20) == pytest.approx(8 * math.pi**2)


def test_double_precision_scan_agrees_with_mpmath_at_huge_d():
    law = get_law("jeon-van-roy")
    values = law.parameters(None, {"d": 10**9, "K": 4})
    for route in law.routes:
        exact = routes.route_optimum(law, route, values, 10**13, digits=15)
        fast = routes.scan_optimum(law, route, values, 10**13)
        assert exact.valid and fast.valid
        assert abs(float(fast.loss) / float(exact.loss) - 1) < 1e-7


def test_second_root_finder_verifies_where_the_slope_spans_hundreds_of_decades():
    # d = 1e400, C = 1e500: dL/dln p runs from -1e385 to +1e309 across the sign-scan bracket and Ridders stalled
    law = get_law("jeon-van-roy")
    opt = routes.route_optimum(law, law.route("truncation"), law.parameters(None, {"d": "1e400"}),
                               sp.Integer(10) ** 500, digits=50)
    assert opt.verified and opt.agreement_digits == 50 and opt.boundary is None


def test_tiny_discount_is_refused_not_evaluated_wrongly():
    law = get_law("jeon-van-roy-pitman-yor")
    values = law.parameters(None, {"sigma": "1e-20"})   # the truncation route returned nan, the Maurey route 2e-8 off
    with pytest.raises(UserInputError, match="below 1e-6") as err:
        routes.route_optima(law, values, 10**12, digits=15)
    assert "\n" not in str(err.value)
    ok = routes.route_optima(law, law.parameters(None, {"sigma": "1e-6"}), 10**12, digits=15)
    dp = routes.route_optima(get_law("jeon-van-roy"), {d_sym: 8, sp.Symbol("K", positive=True): 32}, 10**12, digits=15)
    for a, b in zip(ok, dp):   # sigma -> 0 is the DP law
        assert a.verified and abs(float(a.loss) / float(b.loss) - 1) < 1e-4


def test_trivial_error_cost_is_estimated_without_allocating():
    tracemalloc.start()
    try:
        cost = tb.trivial_error_cost("finite", 10**9, 10**9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    assert cost.sampler == "marginal" and cost.explicit_work > 1e20 and cost.memory_bytes < 2**28
    assert tb.trivial_error_cost("finite", 10**400, 10**300).sampler == "marginal"   # no float overflow either
    assert tb.trivial_error_cost("dp", 8, 32).sampler == "explicit"          # the default laws' numbers stay
    assert tb.trivial_error_cost("pitman-yor", 8, 32, sigma=0.5).sampler == "marginal"


@pytest.mark.parametrize("teacher,d,K,sigma", [("dp", 10**9, 4, None), ("finite", 16, 10**9, None),
                                               ("pitman-yor", 10**9, 10**9, 0.5), ("dp", 10**400, 10**400, None)])
def test_trivial_error_at_huge_constants_stays_small(teacher, d, K, sigma):
    tracemalloc.start()
    try:
        te = tb.trivial_error(teacher, "normalised", d, K, teachers=64, inputs=32, sigma=sigma)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20
    # E[F^2] = 1/2 on the normalised scale: the trivial error of a near-Gaussian F of that variance
    assert 0.03 < te.value < 0.08 and abs(te.q - 0.5) < 0.02


def _estimate(F: np.ndarray) -> tuple[float, float]:
    prob = 1 / (1 + np.exp(-F))
    q = prob.mean()
    kl = prob * np.log(prob / q) + (1 - prob) * np.log((1 - prob) / (1 - q))
    per = kl.mean(axis=1)
    return float(per.mean()), float(per.std(ddof=1) / math.sqrt(len(per)))


@pytest.mark.parametrize("teacher,scale,d,K", [("finite", "barron", 4, 3), ("dp", "barron", 4, 2),
                                               ("dp", "normalised", 6, 50)])
def test_dimension_free_sampler_matches_the_unit_by_unit_teacher(teacher, scale, d, K):
    rng = np.random.default_rng(11)
    explicit = np.stack([tb.sample_teacher_outputs(teacher, scale, d, K, rng, 16) for _ in range(6000)])
    marginal = tb.sample_outputs_marginal(teacher, scale, d, K, np.random.default_rng(12), 2000, 48)
    (a, sa), (b, sb) = _estimate(explicit), _estimate(marginal)
    assert abs(a - b) < 4 * math.hypot(sa, sb), (a, sa, b, sb)
    # the second moment too: E F^2 = K d/2 (finite, Barron), K^2 d/(2(K+1)) (dp, Barron), 1/2 (normalised)
    target = {"finite": K * d / 2, "dp": K * K * d / (2 * (K + 1))}[teacher] if scale == "barron" else 0.5
    assert abs(marginal.var() / target - 1) < 0.08


def test_dimension_free_pitman_yor_keeps_the_normalised_signal():
    # sigma = 3/4: the unit-by-unit sampler's last stick takes the leftover mass whole and E[F^2] comes out ~10x
    F = tb.sample_outputs_marginal("pitman-yor", "normalised", 8, 32, np.random.default_rng(0), 1000, 64, 0.75)
    assert abs(F.var() / 0.5 - 1) < 0.08


def test_dimension_free_sampler_is_seeded():
    a = tb.sample_outputs_marginal("dp", "barron", 10**9, 3, np.random.default_rng(5), 16, 8)
    b = tb.sample_outputs_marginal("dp", "barron", 10**9, 3, np.random.default_rng(5), 16, 8)
    assert np.array_equal(a, b) and np.all(np.isfinite(a))


@pytest.mark.slow
def test_leading_exponent_at_large_constants():
    # K = 1e9 made SymPy build 2**(10**9) (MemoryError); d = 1000 made the limit give up
    C = sp.Symbol("C", positive=True)
    from scaling_theory.theory.routes import route_allocations

    law = get_law("jeon-van-roy-finite")
    sub = {law.symbols["d"]: sp.Integer(16), law.symbols["K"]: sp.Integer(10**9)}
    [maurey] = [r for r in route_allocations(law) if r.name == "maurey"]
    model = maurey.leading["model"].subs(sub)
    loss = maurey.law.expr.subs(sub).subs({law.model: model, law.data: maurey.leading["data"].subs(sub)})
    assert leading_exponent(model, C) == sp.Rational(1, 2)
    assert leading_exponent(loss, C) == -sp.Rational(1, 2)
