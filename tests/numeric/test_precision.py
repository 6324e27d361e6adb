"""numeric.precision.allocate: 50-digit optimum, independent verification, exact inputs, refusals."""

import mpmath
import pytest
import sympy as sp
from mpmath import mp

from numeric.precision import allocate, exact_number
from theory.errors import UserInputError
from theory.laws import Law
from theory.user_law import law_from_formula


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
    from theory.laws import get_law
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


@pytest.mark.parametrize("name, compute, method", [
    ("kaplan", "1e30", "closed form"),
    ("jeon-van-roy", "1e20", "closed form (Lambert W)"),
])
def test_other_builtin_laws_verify(name, compute, method):
    res = allocate(name, compute, digits=30)
    assert res.verified and res.method.startswith(method)


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
