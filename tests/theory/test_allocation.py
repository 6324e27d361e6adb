"""compute_optimal_allocation: closed forms, Lambert W, implicit + asymptotics, refusals."""

import mpmath
import pytest
import sympy as sp
from mpmath import mp

from scaling_theory.theory.allocation import compute_optimal_allocation
from scaling_theory.errors import UserInputError
from scaling_theory.theory.laws import Law
from scaling_theory.theory.registry import get_law

N, D, A, B, E = sp.symbols("N D A B E", positive=True)
alpha, beta = sp.symbols("alpha beta", positive=True)


def _same(x, y) -> bool:
    """Symbolic equality of positive expressions, via their logarithms."""
    diff = sp.expand_log(sp.log(x) - sp.log(y), force=True)
    return sp.simplify(diff) == 0


def test_chinchilla_exponents_and_G_factor_match_hoffmann_closed_form():
    law = get_law("chinchilla")
    al, be = (law.symbols[s] for s in ("alpha", "beta"))
    A_, B_ = law.symbols["A"], law.symbols["B"]
    res = compute_optimal_allocation(law)
    C = res.compute
    a, b = be / (al + be), al / (al + be)
    G = (al * A_ / (be * B_)) ** (1 / (al + be))
    assert sp.simplify(res.model_exponent - a) == 0
    assert sp.simplify(res.data_exponent - b) == 0
    assert res.closed_form and res.is_minimum and res.method == "power-law balance"
    assert _same(res.model_optimal, G * (C / 6) ** a)
    assert _same(res.data_optimal, G**-1 * (C / 6) ** b)
    assert _same(res.ratio, G**2 * (C / 6) ** (a - b))


def test_kaplan_outer_power_is_reduced_and_exponents_follow():
    law = get_law("kaplan")
    res = compute_optimal_allocation(law)
    aN, aD = law.symbols["alpha_N"], law.symbols["alpha_D"]
    assert sp.simplify(res.model_exponent - aD / (aN + aD)) == 0
    assert sp.simplify(res.data_exponent - aN / (aN + aD)) == 0
    assert any("increasing in u" in d for d, _ in res.steps)
    assert _same(6 * res.model_optimal * res.data_optimal, res.compute)   # on the budget curve
    assert res.closed_form and res.is_minimum
    # published constants: a = 0.095/0.171 = 5/9
    num = compute_optimal_allocation(law, law.parameters())
    assert num.model_exponent == sp.Rational(5, 9)


@pytest.mark.parametrize("loss, cost, method, a, b", [
    (A / N + B / D, N * D, "power-law balance", sp.Rational(1, 2), sp.Rational(1, 2)),
    (A / N**2 + B / D, N * D, "power-law balance", sp.Rational(1, 3), sp.Rational(2, 3)),
    (E + A / N**alpha + B / D**beta, 6 * N * D, "power-law balance", beta / (alpha + beta), alpha / (alpha + beta)),
    (A / N + B * sp.log(D) / D, 6 * N * D, "Lambert W", sp.Rational(1, 2), sp.Rational(1, 2)),
    (A * sp.log(N) / N + B / D, 6 * N * D, "Lambert W", sp.Rational(1, 2), sp.Rational(1, 2)),
    (A / N + B * sp.log(N + 1) / D, N * D, "implicit", sp.Rational(1, 2), sp.Rational(1, 2)),
    (sp.sqrt(A / N + B / D), N * D, "power-law balance", sp.Rational(1, 2), sp.Rational(1, 2)),
    (A / N + B / D, N + D, "sympy solve", sp.Integer(1), sp.Integer(1)),         # additive cost
    (A / N + B / D, 6 * N * D + 2 * N, "sympy solve", sp.Rational(1, 2), sp.Rational(1, 2)),
])
def test_table_of_laws(loss, cost, method, a, b):
    consts = tuple(sorted(loss.free_symbols - {N, D}, key=str))
    res = compute_optimal_allocation(Law("t", loss, N, D, cost, consts))
    assert res.method.startswith(method)
    assert sp.simplify(res.model_exponent - a) == 0 and sp.simplify(res.data_exponent - b) == 0
    assert res.is_minimum
    assert res.closed_form == (method != "implicit")


def test_implicit_law_has_equation_and_log_corrected_asymptotics():
    law = Law("implicit", A / N + B * sp.log(N + 1) / D, N, D, N * D, (A, B))
    res = compute_optimal_allocation(law)
    C = res.compute
    assert res.implicit_equation is not None and res.implicit_equation.rhs == 0
    # N*^2 log N* ~ A C / B with log N* ~ (1/2) log C
    assert _same(res.asymptotic_model, sp.sqrt(2 * A * C / (B * sp.log(C))))


def test_lambert_w_optimum_matches_numerical_optimum_to_50_digits():
    law = Law("lw", A / N + B * sp.log(D) / D, N, D, 6 * N * D, (A, B))
    res = compute_optimal_allocation(law)
    C = res.compute
    vals = {A: sp.Rational("406.4"), B: sp.Rational("410.7"), C: sp.Integer(10) ** 24}
    assert res.model_optimal.has(sp.LambertW)
    with mp.workdps(70):
        closed = mpmath.mpf(str(sp.N(res.model_optimal.subs(vals), 70)))
        full = law.expr.subs(D, C / (6 * N)).subs(vals)
        # independent: root of dL/dN of the full law, by a bracketing solver around a wide interval
        dfull = sp.lambdify(N, sp.diff(full, N), "mpmath")
        root = mp.findroot(dfull, (mpmath.mpf(10) ** 9, mpmath.mpf(10) ** 13), solver="anderson")
        assert abs(root - closed) / closed < mpmath.mpf(10) ** -50
        # and it is the minimum: the loss is higher on both sides
        f = sp.lambdify(N, full, "mpmath")
        assert f(root * 0.999) > f(root) < f(root * 1.001)


@pytest.mark.parametrize("loss, cost, words", [
    (A / N + B * D, N * D, "decreases"),          # no trade-off: both decrease in N
    (A / N + 0 * D + B / N**2, N * D, "decreases"),  # one side only (data absent)
    (A * N + B / D, N * D, "increases"),
    (A / N + B * D**2, 6 * N * D, "decreases"),
])
def test_no_interior_optimum_is_refused_clearly(loss, cost, words):
    consts = tuple(sorted(loss.free_symbols - {N, D}, key=str))
    with pytest.raises(UserInputError, match=f"no interior compute-optimal point.*{words}"):
        compute_optimal_allocation(Law("flat", loss, N, D, cost, consts))


def test_params_substitution_and_json():
    law = get_law("chinchilla")
    res = compute_optimal_allocation(law, {"alpha": "0.34", "beta": "0.28"})
    assert res.model_exponent == sp.Rational(14, 31) and res.data_exponent == sp.Rational(17, 31)
    j = res.to_json()
    for key in ("bound", "cost", "model_optimal", "data_optimal", "model_exponent", "data_exponent",
                "optimal_loss", "ratio", "steps", "closed_form", "is_minimum"):
        assert key in j
    assert j["model_exponent"] == "14/31"
    with pytest.raises(UserInputError, match="no constant 'gamma'"):
        compute_optimal_allocation(law, {"gamma": 1})


def test_result_is_cached_per_law_and_params():
    law = get_law("chinchilla")
    assert compute_optimal_allocation(law) is compute_optimal_allocation(law)


def test_jeon_van_roy_laws_scale_linearly():
    for name in ("jeon-van-roy", "jeon-van-roy-dp"):
        res = compute_optimal_allocation(get_law(name))
        assert res.model_exponent == sp.Rational(1, 2) and res.data_exponent == sp.Rational(1, 2)
        assert res.is_minimum


@pytest.mark.parametrize("loss, cost", [
    (A * sp.exp(-N) + B / D, N * D),
    (A / N + B / D, sp.exp(N) * D),
    (A / N**2 + B / D, N * D + N**2),
])
def test_unusual_laws_give_a_result_or_a_user_error(loss, cost):
    consts = tuple(sorted(loss.free_symbols - {N, D}, key=str))
    try:
        res = compute_optimal_allocation(Law("odd", loss, N, D, cost, consts))
    except UserInputError as err:
        assert "\n" not in str(err)
    else:
        assert res.is_minimum


def test_long_exact_numbers_derive_without_evaluating_them():
    # (3392187463/10**10)**(1/x): SymPy factored numerator and denominator for minutes
    from scaling_theory.theory.user_law import law_from_formula
    law = law_from_formula("A/N**(3392187463/10**10) + B/D", "N", "D", "6*N*D")
    res = compute_optimal_allocation(law)
    assert res.closed_form and res.method == "power-law balance"
    assert not any(isinstance(s, sp.Dummy) for f in (res.model_optimal, res.data_optimal, res.optimal_loss,
                                                     res.model_exponent) for s in f.free_symbols)
    a = sp.Rational(3392187463, 10**10)
    assert abs(sp.N(res.model_exponent, 30) - sp.N(1 / (1 + a), 30)) < 1e-25
    assert abs(sp.N(res.data_exponent, 30) - sp.N(a / (1 + a), 30)) < 1e-25


@pytest.mark.parametrize("formula", ["A/N**(10**999) + B/D", "A/N**(1/10**999) + B/D",
                                     "A*exp(-10**999*N) + B/D"])
def test_absurd_exact_numbers_are_refused_before_deriving(formula):
    from scaling_theory.theory.user_law import law_from_formula
    with pytest.raises(UserInputError, match="about 1000 digits") as info:
        law_from_formula(formula, "N", "D", "6*N*D")
    assert "\n" not in str(info.value)
