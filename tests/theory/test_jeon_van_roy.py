"""The registered jeon-van-roy laws: symbols, cost, domains, values, validity of the relaxation."""

import pytest
import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.jeon_van_roy import (K, K_dp, T, VALIDITY_T, d, dp_bound, exact_bound, first_moment,
                                                large_T_bound, p, second_moment)
from scaling_theory.theory.registry import get_law, law_names


def test_registered_with_model_p_and_cost_pT():
    assert {"jeon-van-roy", "jeon-van-roy-dp"} <= set(law_names())
    for name in ("jeon-van-roy", "jeon-van-roy-dp"):
        law = get_law(name)
        assert law.model.name == "p" and law.data.name == "T" and law.cost == law.model * law.data
        assert [c.name for c in law.constants] == ["d", "K"]
        assert law.parameters() == {law.symbols["d"]: 16, law.symbols["K"]: 4}


BAD = {  # (law, constant, value): must be refused with a one-line domain error
    ("jeon-van-roy", "d", 0), ("jeon-van-roy", "d", "1/2"), ("jeon-van-roy", "K", 0), ("jeon-van-roy", "K", -3),
    ("jeon-van-roy", "K", "1.5"), ("jeon-van-roy-dp", "K", 0), ("jeon-van-roy-dp", "K", -1),
    ("jeon-van-roy-dp", "d", 0),
}


@pytest.mark.parametrize("name,key,value", sorted(BAD, key=str))
def test_parameters_outside_domain_are_refused(name, key, value):
    with pytest.raises(UserInputError, match="outside the domain") as exc:
        get_law(name).parameters(None, {key: value})
    assert "\n" not in str(exc.value)


def test_dp_accepts_real_concentration():
    assert get_law("jeon-van-roy-dp").parameters(None, {"K": "0.5"})[K_dp] == sp.Rational(1, 2)


MOMENTS = {  # (d, K): (E[V^2], E[V]) in closed form
    (1, 1): (1, 2 / sp.pi),
    (2, 1): (2, sp.sqrt(sp.pi / 2) * sp.sqrt(2 / sp.pi)),
    (3, 2): (6 + 2 * 2 / sp.pi * 8 / sp.pi, 2 * sp.sqrt(2 / sp.pi) * 2 * sp.sqrt(2 / sp.pi)),
}


@pytest.mark.parametrize("dk", list(MOMENTS))
def test_moments_closed_form(dk):
    S, M = MOMENTS[dk]
    vals = {d: dk[0], K: dk[1]}
    assert sp.simplify(second_moment().subs(vals) - S) == 0
    assert sp.simplify(first_moment().subs(vals) - M) == 0


def test_large_T_form_dominates_exact_bound_in_validity_region():
    for dv, Kv in ((1, 1), (16, 4), (200, 50)):
        for n_ in (1, 10**3, 10**9):
            for T_ in (VALIDITY_T, 10**4, 10**15):
                vals = {d: dv, K: Kv, p: n_ * (dv + 1), T: T_}
                assert sp.N(large_T_bound().subs(vals) - exact_bound().subs(vals), 30) >= 0


def test_pinned_value_and_shape():
    law = get_law("jeon-van-roy")
    value = law.expr.subs(law.parameters()).subs({p: 10**6, T: 10**6})
    assert abs(float(value) - 7.83054887618741e-4) < 1e-15
    # misspecification term E[V^2](d+1)/(16 p) and estimation logs with coefficients (Kd+1)/2 and K
    expr = sp.expand(law.expr * T)
    assert sp.simplify(expr.coeff(sp.log(T)) - (K * d + 1) / 2) == 0
    assert expr.coeff(sp.log(p)) == K


def test_dp_law_depends_on_atoms_not_K_linearly():
    vals = {d: 8, K_dp: 2, T: 10**6}
    small, big = (sp.N(dp_bound().subs(vals).subs(p, 9 * n_), 20) for n_ in (10, 10**6))
    assert small > big > 0


def test_registered_law_abbreviates_A_B_beta():
    from scaling_theory.theory.allocation import compute_optimal_allocation
    from scaling_theory.theory.jeon_van_roy import (A, B, LAWS, beta, d, K, large_T_bound, large_T_coefficients,
                                                    p, T)

    law = LAWS[0]
    assert law.display_expr == A / p + (B + beta * sp.log(T) + K * sp.log(p)) / T
    assert law.display_expr.xreplace(dict(law.abbreviations)) == large_T_bound() == law.expr
    assert {s.name: v for s, v in law.abbreviations.items()} == large_T_coefficients()
    assert A.is_positive and B.is_positive and beta.is_positive
    # B > 0 on the whole domain (the assumption the derivation relies on)
    for dv, Kv in [(1, 1), (1, 7), (2, 1), (5, 3), (64, 16), (1000, 1)]:
        assert sp.N(large_T_coefficients(sp.Integer(dv), sp.Integer(Kv))["B"], 20) > 0
    alloc = compute_optimal_allocation(law)
    assert alloc.model_optimal.free_symbols == {A, B, beta, K, alloc.compute}
    assert (alloc.model_exponent, alloc.data_exponent) == (sp.Rational(1, 2), sp.Rational(1, 2))
    assert alloc.to_json()["abbreviations"] == {k: sp.sstr(v) for k, v in large_T_coefficients().items()}
    # expanded at d=16, K=4, C=1e12: the recorded optimum (scaling_theory.numeric.precision.allocate, 50 digits)
    p_star = alloc.expanded(alloc.model_optimal).subs({d: 16, K: 4, alloc.compute: 10**12})
    assert abs(sp.N(p_star, 40) / sp.Float("580065.69742803013441852916533646672750304428671547", 50) - 1) < 1e-35


def test_params_substitute_the_abbreviations():
    from scaling_theory.theory.allocation import compute_optimal_allocation
    from scaling_theory.theory.jeon_van_roy import A, B, LAWS, beta, d, K

    law = LAWS[0]
    full = compute_optimal_allocation(law, {"d": 16, "K": 4})
    assert full.abbreviations == {} and not full.model_optimal.free_symbols - {full.compute}
    assert full.model_exponent == sp.Rational(1, 2)
    part = compute_optimal_allocation(law, {"d": 16})
    assert set(part.abbreviations) == {A, B, beta} and part.abbreviations[beta] == 8 * K + sp.Rational(1, 2)
    assert d not in part.model_optimal.free_symbols and part.data_exponent == sp.Rational(1, 2)
