"""Chinchilla and Kaplan laws: forms, published constants (exact), registry."""

import pytest
import sympy as sp

from scaling_theory.theory.empirical_laws import LAWS, chinchilla, kaplan
from scaling_theory.errors import UserInputError
from scaling_theory.theory.registry import get_law, law_names


def test_registered():
    assert {"chinchilla", "kaplan"} <= set(law_names())
    assert get_law("chinchilla") is chinchilla and get_law("kaplan") is kaplan
    assert [law.name for law in LAWS] == ["chinchilla", "kaplan"]


@pytest.mark.parametrize("law, set_name, expected", [
    (chinchilla, "hoffmann2022", {"E": "1.69", "A": "406.4", "B": "410.7", "alpha": "0.34", "beta": "0.28"}),
    (chinchilla, "besiroglu2024", {"E": "1.8172", "A": "482.01", "B": "2085.43", "alpha": "0.3478",
                                   "beta": "0.3658"}),
    (kaplan, "kaplan2020", {"alpha_N": "0.076", "alpha_D": "0.095", "N_c": "8.8e13", "D_c": "5.4e13"}),
])
def test_parameter_sets_are_exact(law, set_name, expected):
    values = law.parameters(set_name)
    assert {s.name: v for s, v in values.items()} == {k: sp.Rational(v) for k, v in expected.items()}
    assert all(isinstance(v, sp.Rational) for v in values.values())


def test_forms_and_cost():
    N, D = chinchilla.model, chinchilla.data
    s = chinchilla.symbols
    assert chinchilla.expr == s["E"] + s["A"] / N ** s["alpha"] + s["B"] / D ** s["beta"]
    k = kaplan.symbols
    assert kaplan.expr == ((k["N_c"] / N) ** (k["alpha_N"] / k["alpha_D"]) + k["D_c"] / D) ** k["alpha_D"]
    assert chinchilla.cost == kaplan.cost == 6 * N * D
    assert chinchilla.default_set == "hoffmann2022" and kaplan.default_set == "kaplan2020"


def test_citations_and_latex_names():
    assert "2203.15556" in chinchilla.citation and "2404.10102" in chinchilla.citation
    assert "2001.08361" in kaplan.citation and "1.5" in kaplan.citation
    assert kaplan.latex_names["alpha_N"] == r"\alpha_N"


@pytest.mark.parametrize("overrides, message", [
    ({"alpha": "-1"}, "outside the domain"),
    ({"gamma": "1"}, "no constant 'gamma'"),
    ({"E": "-0.5"}, "outside the domain"),
])
def test_bad_parameters(overrides, message):
    with pytest.raises(UserInputError, match=message):
        chinchilla.parameters(None, overrides)


def test_E_may_be_zero():
    assert chinchilla.parameters(None, {"E": "0"})[chinchilla.symbols["E"]] == 0
