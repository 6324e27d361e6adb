"""scaling_theory.numeric.precision.allocate.allocate: 50-digit optimum, independent verification, exact inputs, refusals."""

import mpmath
import pytest
import sympy as sp
from mpmath import mp

from scaling_theory.numeric.precision.allocate import MAX_DIGITS, allocate
from scaling_theory.theory.numbers import exact_number
from scaling_theory.errors import UserInputError
from scaling_theory.theory.laws import Law
from scaling_theory.theory.user_law import law_from_formula


def _chinchilla_closed_form(C, E, A, B, a, b):
    """Hoffmann et al. (2022) Eq. (4), written out independently with mpmath."""
    G = (a * A / (b * B)) ** (1 / (a + b))
    N = G * (C / 6) ** (b / (a + b))
    D = (C / 6) ** (a / (a + b)) / G
    return N, D, E + A / N**a + B / D**b


@pytest.mark.parametrize("compute, set_name", [
    ("5.76e23", "hoffmann2022"), ("1e30", "besiroglu2024"), ("1e300", "hoffmann2022"), ("1e-3", "hoffmann2022"),
])
def test_chinchilla_matches_hoffmann_eq4_to_50_digits(compute, set_name):
    res = allocate("chinchilla", compute, param_set=set_name)
    assert res.verified and res.digits == 50 and res.agreement_digits >= 50
    from scaling_theory.theory.registry import get_law
    vals = {s.name: v for s, v in get_law("chinchilla").parameters(set_name).items()}
    with mp.workdps(70):
        mpv = {k: mpmath.mpf(v.p) / v.q for k, v in vals.items()}
        N, D, L = _chinchilla_closed_form(mpmath.mpf(compute), mpv["E"], mpv["A"], mpv["B"], mpv["alpha"], mpv["beta"])
        for ours, ref in ((res.model, N), (res.data, D), (res.loss, L)):
            assert abs(ours - ref) / ref < mpmath.mpf(10) ** -50


def test_json_is_decimal_strings_at_full_precision():
    j = allocate("chinchilla", "5.76e23").to_json()
    for key in ("compute", "model", "data", "loss"):
        assert isinstance(j[key], str)
    assert j["model"].startswith("32189859151.36819024899132293973409229617817278036")
    assert len(j["model"].replace(".", "")) == 50
    assert j["verified"] is True and j["digits"] == 50


@pytest.mark.parametrize("name, compute, route, method", [
    ("kaplan", "1e30", None, "closed form"),
    ("jeon-van-roy-finite", "1e20", "maurey", "closed form (Lambert W)"),
    ("jeon-van-roy-finite", "1e20", None, "window edge"),
    ("jeon-van-roy", "1e8", "maurey", "root of the implicit equation"),
    ("jeon-van-roy", "1e8", None, "interior"),
])
def test_other_builtin_laws_verify(name, compute, route, method):
    res = allocate(name, compute, digits=30, route=route)
    assert res.verified and res.method.startswith(method)


def test_headline_follows_the_best_valid_route():
    # the finite teacher at 1e12: the direct width-K route stops the model at p = K(d+1) = 288
    res = allocate("jeon-van-roy-finite", "1e12", params={"d": 8, "K": 32}, digits=30)
    j = res.to_json()
    assert j["route"] == "direct" and float(j["p_star"]) == 288.0
    by = {r["name"]: r for r in j["routes"]}
    assert set(by) == {"maurey", "direct"} and all(r["valid"] for r in by.values())
    assert float(j["L_star"]) == min(float(r["L_star"]) for r in by.values())
    # the DP teacher at 1e8: the truncation route is informative where the Maurey route is vacuous
    dp = allocate("jeon-van-roy", "1e8", params={"d": 8, "K": 32}, digits=30).to_json()
    by = {r["name"]: r for r in dp["routes"]}
    assert dp["route"] == "truncation" and float(dp["L_star"]) < 0.2 < float(by["maurey"]["L_star"])
    assert dp["informative"] is True and float(dp["L_star"]) == float(by["truncation"]["L_star"])
    # --route picks one route; the others are still listed
    forced = allocate("jeon-van-roy", "1e8", params={"d": 8, "K": 32}, digits=30, route="maurey").to_json()
    assert forced["route"] == "maurey" and float(forced["L_star"]) > 1 and len(forced["routes"]) == 2


def test_unknown_route_is_a_one_line_error():
    with pytest.raises(UserInputError, match=r"has no route 'tilted' \(routes: maurey, truncation\)"):
        allocate("jeon-van-roy", "1e8", route="tilted")
    with pytest.raises(UserInputError, match="one formula"):
        allocate("chinchilla", "1e20", route="maurey")


def test_lambert_w_and_implicit_user_laws_verify():
    lw = law_from_formula("A/N + B*log(D)/D", "N", "D", "6*N*D")
    res = allocate(lw, "1e24", params={"A": "406.4", "B": "410.7"})
    assert res.verified and "Lambert W" in res.method
    imp = Law("imp", *(lambda N, D, A, B: (A / N + B * sp.log(N + 1) / D, N, D, N * D, (A, B)))(
        *sp.symbols("N D A B", positive=True)))
    res = allocate(imp, 10**18, params={"A": 2, "B": 3}, digits=40)
    assert res.verified and res.method == "root of the implicit equation" and res.agreement_digits >= 40


def test_tiny_constants_and_huge_budgets_keep_precision():
    res = allocate("chinchilla", "1e30", params={"A": "1e-30", "E": "0"})
    assert res.verified and res.model < 1e-30
    big = allocate("chinchilla", "1e300")
    assert big.verified and mpmath.log10(big.model) > 100
    # the loss differs from E only in the 54th digit: still resolved
    assert big.loss - mpmath.mpf("1.69") > 0


@pytest.mark.parametrize("value, expected", [
    ("1e300", sp.Integer(10) ** 300), ("5.76e23", sp.Integer(576) * 10**21), (0.1, sp.Rational(1, 10)),
    (3, sp.Integer(3)), ("1e-30", sp.Rational(1, 10**30)), (sp.Rational(1, 3), sp.Rational(1, 3)),
])
def test_exact_number(value, expected):
    assert exact_number(value) == expected


@pytest.mark.parametrize("kwargs, message", [
    ({"compute": "0"}, "must be positive"),
    ({"compute": "-1e20"}, "must be positive"),
    ({"compute": "nan"}, "finite"),
    ({"compute": "inf"}, "finite"),
    ({"compute": float("inf")}, "finite"),
    ({"compute": "1e99999999"}, "out of range"),
    ({"compute": "ten"}, "finite number"),
    ({"compute": "1e20", "digits": 5}, "digits"),
    ({"compute": "1e20", "digits": 100000}, "digits"),
    ({"compute": "1e20", "param_set": "nope"}, "no parameter set 'nope'"),
    ({"compute": "1e20", "params": {"alpha": "-0.3"}}, "outside the domain"),
    ({"compute": "1e20", "params": {"alpha": "abc"}}, "finite number"),
])
def test_refusals(kwargs, message):
    with pytest.raises(UserInputError, match=message):
        allocate("chinchilla", **kwargs)


def test_missing_parameter_is_named():
    law = law_from_formula("A/N + B/D", "N", "D", "N*D")
    with pytest.raises(UserInputError, match="needs a value for B"):
        allocate(law, "1e20", params={"A": 1})


def test_no_interior_optimum():
    law = law_from_formula("A/N + B*D", "N", "D", "N*D")
    with pytest.raises(UserInputError, match="no interior"):
        allocate(law, "1e20", params={"A": 1, "B": 1})


def test_global_precision_untouched():
    before = mp.dps
    allocate("kaplan", "1e25", digits=80)
    assert mp.dps == before


# -- regressions (robustness table) --------------------------------------------------------

def _rel(x, y):
    return abs(mpmath.mpf(x) - mpmath.mpf(y)) / abs(mpmath.mpf(y))


@pytest.mark.parametrize("override", [
    {"alpha": "0.3392187463"},   # SymPy factored the 10-digit rational's powers: hung
    {"beta": "1e-30"},           # hung; optimum far outside the old |ln C| + 100 search window
    {"alpha": "1e400"},          # SymPy power evaluation hung; now N* = 1 + O(1e-400)
])
def test_ordinary_and_extreme_constants_match_hoffmann_eq4(override):
    from scaling_theory.theory.registry import get_law
    res = allocate("chinchilla", "1e20", params=override, digits=30)
    assert res.verified and res.agreement_digits >= 30
    vals = {s.name: v for s, v in get_law("chinchilla").parameters(None, override).items()}
    with mp.workdps(60):
        mpv = {k: mpmath.mpf(v.p) / v.q for k, v in vals.items()}
        N, D, L = _chinchilla_closed_form(mpmath.mpf("1e20"), mpv["E"], mpv["A"], mpv["B"], mpv["alpha"], mpv["beta"])
        assert _rel(res.model, N) < mpmath.mpf(10) ** -29 and _rel(res.data, D) < mpmath.mpf(10) ** -29


def test_jeon_van_roy_with_many_dimensions_is_closed_form_and_verified():
    # d = 1000 made SymPy expand exact gamma(500) powers (hung)
    res = allocate("jeon-van-roy-finite", "1e20", params={"d": "1000"}, digits=30, route="maurey")
    assert res.verified and res.method == "closed form (Lambert W)"


@pytest.mark.parametrize("name, prefix", [
    ("jeon-van-roy-finite", "1.2344516120288857217507304923234736440325302271840e+149"),
    # the infinite-width law, Barron scale = the simulated K pi_k a_k teacher (the old jeon-van-roy-dp
    # root was once wrong here: findroot stopped on an absolute |f| ~ 1e-147)
    ("jeon-van-roy", "7.7591540050207362974622304698842022511671414586683e+147"),
])
def test_jeon_van_roy_at_1e300_is_verified_to_50_digits(name, prefix):
    res = allocate(name, "1e300", digits=50, route="maurey")
    assert res.verified and res.agreement_digits >= 50
    assert res.to_json()["model"] == prefix


@pytest.mark.parametrize("expr, cost, params, C, want", [
    # constants far from 1: the scan window follows them (was [e^-100, e^100])
    ("A/N + B/D", "N*D", {"A": "1e-300", "B": "1e300"}, "1", "1e-300"),
    # a very flat law: signs need more than 30 digits (found by raising the precision)
    ("A/N**a + B/D**b", "N*D", {"A": "1", "B": "1", "a": "1e-30", "b": "1e-30"}, "1e20", "1e10"),
    # the general closed form at A = B is 0/0: derived again at the constants
    ("A/log(N) + B/log(D)", "N*D", {"A": "1", "B": "1"}, "1e6", "1000"),
    ("A/N + B/D", "N + D", {"A": "1", "B": "1"}, "1e6", "500000"),
    # an implicit law (refused since deriving at the constants; 2x wrong root at 1e300 before that)
    ("A/N**a + B/D**b + E*log(D)/D", "N*D", {"A": "1", "B": "1", "E": "1", "a": "0.3", "b": "0.4"},
     "1e10", "321556.2764025842769354611337356820359896"),
    ("A/N**a + B/D**b + E*log(D)/D", "N*D", {"A": "1", "B": "1", "E": "1", "a": "0.3", "b": "0.4"},
     "1e300", "1.778637805454541987193893418389679241213e171"),
])
def test_hard_user_laws_are_verified(expr, cost, params, C, want):
    res = allocate(law_from_formula(expr, "N", "D", cost), C, params=params, digits=30)
    assert res.verified and res.agreement_digits >= 30
    with mp.workdps(60):
        assert _rel(res.model, want) < mpmath.mpf(10) ** -28


def test_bracketed_root_stops_on_the_bracket_not_on_a_tiny_f():
    from scaling_theory.numeric.precision.budget import bracketed_root
    with mp.workdps(60):
        # |f| <= 1e-300 everywhere: an absolute tolerance on f accepts any point
        root = bracketed_root(lambda t: mpmath.mpf(10) ** -300 * (t - mpmath.mpf(1) / 3), 0, 700)
        assert abs(root - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -57


@pytest.mark.parametrize("value", ["1e5000", "1e-5000", "1" + "0" * 5000, "0." + "0" * 4100 + "1"])
def test_numbers_beyond_4000_digits_are_refused_in_one_line(value):
    with pytest.raises(UserInputError, match="out of range") as info:
        allocate("chinchilla", "1e20", params={"alpha": value})
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_double_exponential_law_answers():
    # exp(-k e^x) at x = ln N up to 1e7 made mpmath compute ln 2 to millions of digits (hung)
    law = law_from_formula("A*exp(-12345678*N) + B/D", "N", "D", "6*N*D")
    res = allocate(law, "1e20", params={"A": 1, "B": 1}, digits=20)
    assert res.verified
    with mp.workdps(40):
        # stationarity along D = C/(6N): k A e^{-kN} = 6B/C, i.e. N* = ln(k C/6)/k
        k = mpmath.mpf(12345678)
        assert abs(res.model - mpmath.log(k * mpmath.mpf("1e20") / 6) / k) < res.model * mpmath.mpf(10) ** -19


def test_thousands_of_digits_are_printed_and_verified():
    # the root solver used to fall back to bisection once converged (72 s at 3000 digits);
    # 10000 digits crashed in printing (Python's 4300-digit int-to-str limit): now refused
    res = allocate("chinchilla", "1e20", digits=MAX_DIGITS)
    assert res.verified and len(res.to_json()["model"].replace(".", "")) == MAX_DIGITS
    with pytest.raises(UserInputError, match="digits"):
        allocate("chinchilla", "1e20", digits=MAX_DIGITS + 1)
