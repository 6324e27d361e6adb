"""law_from_formula: user formulas become laws through the parser; bad input is refused."""

import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from scaling_theory.theory.allocation import compute_optimal_allocation
from scaling_theory.errors import UserInputError
from scaling_theory.theory.user_law import law_from_formula


@pytest.mark.parametrize("expr, model, data, cost, constants", [
    ("E + A/N**alpha + B/D**beta", "N", "D", "6*N*D", ["A", "B", "E", "alpha", "beta"]),
    ("((N_c/N)^(aN/aD) + D_c/D)^aD", "N", "D", "6*N*D", ["D_c", "N_c", "aD", "aN"]),
    ("a/p + b*log(T)/T", "p", "T", "c*p*T", ["a", "b", "c"]),
])
def test_valid_formulas(expr, model, data, cost, constants):
    law = law_from_formula(expr, model, data, cost, name="mine")
    assert law.name == "mine" and law.model.name == model and law.data.name == data
    assert [c.name for c in law.constants] == constants
    assert all(s.is_positive for s in law.expr.free_symbols)
    assert law.cost.has(law.model) and law.cost.has(law.data)


def test_user_chinchilla_gives_the_same_exponents():
    law = law_from_formula("E + A/N**alpha + B/D**beta", "N", "D", "6*N*D")
    res = compute_optimal_allocation(law)
    a, b = (law.symbols[s] for s in ("alpha", "beta"))
    assert sp.simplify(res.model_exponent - b / (a + b)) == 0


@pytest.mark.parametrize("expr, model, data, cost, message", [
    ("A/N + B/D", "P", "D", "N*D", "model symbol 'P' does not appear"),
    ("A/N + B/D", "N", "T", "N*D", "data symbol 'T' does not appear"),
    ("A/N + B/D", "N", "N", "N*D", "must differ"),
    ("A/N + B/D", "N", "D", "6*N", "must involve both"),
    ("A/N + B/D", "N;", "D", "N*D", "not a valid name"),
    ("A/N + B/D", "N", "D", "__import__('os')", "formula error"),
    ("__import__('os').system('ls')", "N", "D", "N*D", "formula error"),
    ("(lambda: 1)()", "N", "D", "N*D", "formula error"),
    ("A.__class__", "N", "D", "N*D", "formula error"),
    ("[x for x in N]", "N", "D", "N*D", "formula error"),
    ("2 + 3", "N", "D", "N*D", "no symbols"),
])
def test_refused(expr, model, data, cost, message):
    with pytest.raises(UserInputError, match=message):
        law_from_formula(expr, model, data, cost)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_is_a_law_or_a_user_error(text):
    try:
        law = law_from_formula(text, "N", "D", "N*D")
    except UserInputError:
        return
    assert law.expr.has(law.model) and law.expr.has(law.data)
