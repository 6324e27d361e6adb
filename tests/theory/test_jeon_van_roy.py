"""The registered jeon-van-roy laws: symbols, cost, domains, values, validity of the relaxation."""

import pytest
import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.jeon_van_roy import (K, K_dp, T, VALIDITY_T, d, dp_bound, exact_bound, first_moment,
                                                large_T_bound, p, second_moment)
from scaling_theory.theory.registry import get_law, law_names


def test_registered_with_model_p_and_cost_pT():
    assert {"jeon-van-roy-finite", "jeon-van-roy"} <= set(law_names())
    for name in ("jeon-van-roy-finite", "jeon-van-roy"):
        law = get_law(name)
        assert law.model.name == "p" and law.data.name == "T" and law.cost == law.model * law.data
        assert [c.name for c in law.constants] == ["d", "K"]
        assert law.parameters() == {law.symbols["d"]: 16, law.symbols["K"]: 4}


BAD = {  # (law, constant, value): must be refused with a one-line domain error
    ("jeon-van-roy-finite", "d", 0), ("jeon-van-roy-finite", "d", "1/2"), ("jeon-van-roy-finite", "K", 0), ("jeon-van-roy-finite", "K", -3),
    ("jeon-van-roy-finite", "K", "1.5"), ("jeon-van-roy", "K", 0), ("jeon-van-roy", "K", -1),
    ("jeon-van-roy", "d", 0),
}


@pytest.mark.parametrize("name,key,value", sorted(BAD, key=str))
def test_parameters_outside_domain_are_refused(name, key, value):
    with pytest.raises(UserInputError, match="outside the domain") as exc:
        get_law(name).parameters(None, {key: value})
    assert "\n" not in str(exc.value)


def test_dp_accepts_real_concentration():
    assert get_law("jeon-van-roy").parameters(None, {"K": "0.5"})[K_dp] == sp.Rational(1, 2)


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
    law = get_law("jeon-van-roy-finite")
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

    law = LAWS[1]
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

    law = LAWS[1]
    full = compute_optimal_allocation(law, {"d": 16, "K": 4})
    assert full.abbreviations == {} and not full.model_optimal.free_symbols - {full.compute}
    assert full.model_exponent == sp.Rational(1, 2)
    part = compute_optimal_allocation(law, {"d": 16})
    assert set(part.abbreviations) == {A, B, beta} and part.abbreviations[beta] == 8 * K + sp.Rational(1, 2)
    assert d not in part.model_optimal.free_symbols and part.data_exponent == sp.Rational(1, 2)


def test_old_dp_name_is_an_alias_of_the_infinite_width_law():
    from scaling_theory.theory.registry import alias_note

    assert get_law("jeon-van-roy-dp") is get_law("jeon-van-roy")
    assert "infinite-width" in alias_note("jeon-van-roy-dp") and "\n" not in alias_note("jeon-van-roy-dp")


@pytest.mark.parametrize("teacher,scale", [("tree", "barron"), ("dp", "unit"), ("finite", "")])
def test_unknown_teacher_kind_or_scale_is_one_line_error(teacher, scale):
    from scaling_theory.theory.jeon_van_roy import law_name, scale_variances

    for call in (lambda: law_name(teacher, scale), lambda: scale_variances(scale, teacher)):
        with pytest.raises(UserInputError, match="unknown teacher") as exc:
            call()
        assert "\n" not in str(exc.value)


def test_normalised_scale_gives_the_same_output_variance_for_every_d_K():
    """E[F^2] = K s_a s_w d/2 (finite) and s_a s_w d/(2(K+1)) (DP) equal 1/2 on the normalised scale."""
    from scaling_theory.theory.jeon_van_roy import scale_variances

    for dv, Kv in ((1, 1), (8, 32), (64, 3)):
        sa, sw = scale_variances("normalised", "finite", sp.Integer(dv), sp.Integer(Kv))
        assert Kv * sa * sw * dv / 2 == sp.Rational(1, 2)
        sa, sw = scale_variances("normalised", "dp", sp.Integer(dv), sp.Integer(Kv))
        assert sa * sw * dv / (2 * (Kv + 1)) == sp.Rational(1, 2)


def test_direct_route_has_no_width_term_and_beats_maurey_at_large_T():
    from scaling_theory.theory.jeon_van_roy import direct_bound, finite_bound

    assert p not in direct_bound().free_symbols
    vals = {d: 16, K: 4}
    # at n = K the finite bound is the direct route, below K it is the Maurey route
    at_K = finite_bound().subs(vals).subs({p: 4 * 17, T: 10**10})
    assert sp.N(at_K - direct_bound().subs(vals).subs(T, 10**10), 30) == 0
    below = finite_bound().subs(vals).subs({p: 3 * 17, T: 10**10})
    assert sp.N(below - large_T_bound().subs(vals).subs({p: 51, T: 10**10}), 30) == 0


def test_dp_law_uses_its_own_moments_not_the_finite_ones():
    from scaling_theory.theory.jeon_van_roy import dp_scale_moments, dp_second_moment

    s2, _ = dp_scale_moments(sp.Integer(8), sp.Integer(32))
    assert s2 == 8 * 32**2                 # E[(K a)^2 ||w||^2] = K^2 d: Barron-scale DP atoms carry K pi_k a_k
    tilted = dp_second_moment(sp.Integer(8), sp.Integer(32))
    assert sp.N(tilted, 20) < s2                       # the tilted route's constant is the smaller one
    assert tilted != second_moment(sp.Integer(8), sp.Integer(32))   # its own E[V^2], not the finite one


def test_dp_large_T_form_dominates_its_exact_bound():
    import mpmath

    from scaling_theory.theory.jeon_van_roy import dp_exact_bound, validity_T

    for scale in ("barron", "normalised"):
        for dv, Kv in ((1, sp.Rational(1, 2)), (16, sp.Integer(4)), (8, sp.Integer(32))):
            Tmin = float(sp.N(validity_T("dp", scale, sp.Integer(dv), Kv)))
            args = (p, T, sp.Integer(dv), Kv, scale)
            gap = sp.lambdify((p, T), dp_bound(*args) - dp_exact_bound(*args), modules="mpmath")
            with mpmath.workdps(30):
                for n_ in (max(1, float(Kv)), 1e3, 1e9):
                    for T_ in (Tmin, 1e5, 1e15):
                        assert gap(mpmath.mpf(n_) * (dv + 1), mpmath.mpf(T_)) >= 0
