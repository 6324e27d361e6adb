"""The Pitman-Yor teacher's laws: registration, domains, the stick's closed forms and bounds, the limit sigma -> 0."""

import mpmath
import pytest
import sympy as sp
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.theory import jeon_van_roy as jvr
from scaling_theory.theory import pitman_yor as py
from scaling_theory.theory import teachers as spec
from scaling_theory.theory.registry import get_law, law_names
from scaling_theory.theory.routes import route_allocations

n = sp.Symbol("n", positive=True, integer=True)


def test_registered_with_constants_d_K_sigma_and_both_routes():
    assert {"jeon-van-roy-pitman-yor", "jeon-van-roy-pitman-yor-normalised"} <= set(law_names())
    law = get_law("jeon-van-roy-pitman-yor")
    assert [c.name for c in law.constants] == ["d", "K", "sigma"] and law.cost == law.model * law.data
    assert [r.name for r in law.routes] == ["maurey", "truncation"] and law.teacher.kind == "pitman-yor"
    assert law.parameters() == {py.d: 8, py.K: 32, py.sigma: sp.Rational(1, 2)}
    assert [r.model_exponent for r in law.routes] == [1 / (2 + py.sigma), py.sigma / (2 + py.sigma)]


@pytest.mark.parametrize("value", [0, 1, "1.5", -0.25])
def test_sigma_outside_the_open_unit_interval_is_one_line(value):
    with pytest.raises(UserInputError, match="outside the domain") as exc:
        get_law("jeon-van-roy-pitman-yor").parameters(None, {"sigma": value})
    assert "\n" not in str(exc.value)


def test_law_name_maps_sigma_zero_to_the_dp_law():
    assert jvr.law_name("pitman-yor", sigma=0) == "jeon-van-roy"
    assert jvr.law_name("pitman-yor", "normalised", sigma=0.25) == "jeon-van-roy-pitman-yor-normalised"
    with pytest.raises(UserInputError, match=r"\[0, 1\)"):
        jvr.law_name("pitman-yor", sigma=1.0)


def _f(expr, *syms):
    return sp.lambdify(syms, expr, "mpmath")


def test_squared_tail_closed_form_is_the_sum_of_its_terms_and_below_its_bound():
    tail = _f(spec.py_stick_square_tail(n), n, py.K, py.sigma)
    term = _f(spec.py_stick_square_mean(n), n, py.K, py.sigma)
    bound = _f(spec.py_stick_square_tail_bound(n), n, py.K, py.sigma)
    with mp.workdps(40):
        for Kv, sv in ((mpmath.mpf(2), mpmath.mpf("0.5")), (mpmath.mpf("0.3"), mpmath.mpf("0.9"))):
            # t(n) - t(n+1) = E pi_{n+1}^2: the closed form telescopes term by term
            for nv in (0, 1, 5, 40):
                assert abs(tail(nv, Kv, sv) - tail(nv + 1, Kv, sv) - term(nv + 1, Kv, sv)) < mpmath.mpf(10) ** -35
                assert tail(nv, Kv, sv) <= bound(nv, Kv, sv) <= 1.05 * tail(nv, Kv, sv)
        # the power n^(1 - 2/sigma): one decade of n divides t by 10^(2/sigma - 1) = 1000 at sigma = 1/2
        assert abs(tail(10**7, 2, mpmath.mpf("0.5")) / tail(10**6, 2, mpmath.mpf("0.5")) * 1000 - 1) < 1e-4


def test_moments_at_sigma_zero_are_the_dp_ones():
    K = sp.Rational(3, 2)
    for k in (1, 2, 7):
        k = sp.Integer(k)
        assert spec.py_stick_mean(k, K, 0) == spec.stick_mean(k, K)
        assert spec.py_stick_square_tail(k, K, 0) == spec.stick_square_tail(k, K)
    assert spec.output_second_moment("pitman-yor", "normalised") == sp.Rational(1, 2)
    assert spec.scale_variances("normalised", "pitman-yor", spec.d, K, 0) == spec.scale_variances("normalised", "dp",
                                                                                               spec.d, K)


def test_urn_count_solves_its_recursion_and_is_below_wendels_bound():
    count = _f(py.expected_atoms(n), n, py.K, py.sigma)
    upper = _f(py.atoms_upper(n), n, py.K, py.sigma)
    with mp.workdps(30):
        Kv, sv = mpmath.mpf(3), mpmath.mpf("0.4")
        EN = mpmath.mpf(1)
        for i in range(1, 60):
            assert abs(count(i, Kv, sv) - EN) < mpmath.mpf(10) ** -25
            assert EN <= upper(i, Kv, sv)
            EN += (Kv + sv * EN) / (Kv + i)


@pytest.mark.parametrize("route", ["maurey", "truncation"])
def test_routes_tend_to_the_dp_laws_routes_as_sigma_goes_to_zero(route):
    pyl, dpl = get_law("jeon-van-roy-pitman-yor").route(route), get_law("jeon-van-roy").route(route)
    f = _f(pyl.expr, py.p, py.T, py.d, py.K, py.sigma)
    g = _f(dpl.expr, jvr.p, jvr.T, jvr.d, jvr.K_dp)
    with mp.workdps(40):
        gaps = [abs(f(9 * 400, 10**9, 8, 32, s) / g(9 * 400, 10**9, 8, 32) - 1) for s in (mpmath.mpf("1e-4"),
                                                                                          mpmath.mpf("1e-8"))]
    assert gaps[1] < gaps[0] < 1e-2 and gaps[1] < 1e-6


def test_route_allocations_give_the_exponents_of_the_map():
    routes = {r.name: r for r in route_allocations(get_law("jeon-van-roy-pitman-yor"))}
    assert routes["maurey"].model_exponent == 1 / (2 + py.sigma)
    assert routes["truncation"].model_exponent == py.sigma / (2 + py.sigma) and not routes["truncation"].closed_form
