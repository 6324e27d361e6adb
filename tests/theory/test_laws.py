"""Law: abbreviations (short names of long coefficients) and their checks."""

import pytest
import sympy as sp

from scaling_theory.theory.laws import Law

N, D, x = sp.symbols("N D x", positive=True)
a = sp.Symbol("a", positive=True)


def test_abbreviated_law_keeps_the_full_expression():
    law = Law("short", (x + 1) / N + 1 / D, N, D, N * D, (x,), abbreviations={a: x + 1},
              abbreviated_expr=a / N + 1 / D)
    assert law.display_expr == a / N + 1 / D
    assert law.expanded_expr == law.expr == (x + 1) / N + 1 / D
    assert law.display_expr.xreplace(dict(law.abbreviations)) == law.expr
    assert law.abbreviation_values({x: sp.Rational(1, 2)}) == {a: sp.Rational(3, 2)}


def test_plain_law_displays_its_expression():
    law = Law("plain", x / N + 1 / D, N, D, N * D, (x,))
    assert law.display_expr == law.expr and law.abbreviations == {} and law.abbreviated_expr is None


@pytest.mark.parametrize("kwargs", [
    {"abbreviations": {a: x + 1}},                                   # no abbreviated expression
    {"abbreviated_expr": a / N + 1 / D},                             # no abbreviations
    {"abbreviations": {a: x + 1}, "abbreviated_expr": a / N + sp.Symbol("y") / D},   # stray symbol
    {"abbreviations": {a: sp.Symbol("z") + 1}, "abbreviated_expr": a / N + 1 / D},    # not a constant
])
def test_inconsistent_abbreviations_are_refused(kwargs):
    with pytest.raises(ValueError, match="abbreviat"):
        Law("bad", (x + 1) / N + 1 / D, N, D, N * D, (x,), **kwargs)
