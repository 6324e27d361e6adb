"""The paper's claims as derived: exponents 1/2, log corrections, signs of the d- and K-sensitivity."""

import mpmath
import pytest
import sympy as sp

from scaling_theory.derivations.allocation import dp_optimum, optimal_allocation
from scaling_theory.derivations.registry import get_derivation
from scaling_theory.derivations.sensitivity import share_table
from scaling_theory.errors import UserInputError


@pytest.mark.parametrize("dv,Kv", [(16, 4), (1, 3), (1, 1), (64, 16)])
def test_exponents_tend_to_one_half(dv, Kv):
    with mpmath.workdps(30):
        a = [optimal_allocation(dv, Kv, mpmath.mpf(10) ** k, 30)["a"] for k in (12, 100, 1000, 10000)]
    assert all(x < 0.5 for x in a)                       # finite-C model exponent below 1/2 ...
    assert all(x < y for x, y in zip(a, a[1:]))          # ... increasing to it
    assert abs(a[-1] - 0.5) < 1e-3


def test_leading_order_log_corrections():
    # p* sqrt(ln C / C) and T* / sqrt(C ln C) tend to constants: p* ~ C^(1/2) (ln C)^(-1/2)
    with mpmath.workdps(30):
        r = [optimal_allocation(16, 4, mpmath.mpf(10) ** k, 30) for k in (1000, 4000)]
        lnC = [mpmath.log(mpmath.mpf(10) ** k) for k in (1000, 4000)]
        pa = [x["p"] * mpmath.sqrt(l) / mpmath.sqrt(x["p"] * x["T"]) for x, l in zip(r, lnC)]
        ta = [x["T"] / mpmath.sqrt(l * x["p"] * x["T"]) for x, l in zip(r, lnC)]
    assert abs(pa[0] / pa[1] - 1) < 2e-3 and abs(ta[0] / ta[1] - 1) < 2e-3


def test_closed_form_pinned_value():
    r = optimal_allocation(16, 4, 10**12, dps=30)
    assert mpmath.nstr(r["p"], 12) == "580065.697428"
    assert abs(r["p"] * r["T"] - 10**12) < 1e-12 * 10**12


def test_share_increases_with_d_and_K():
    tab = share_table(compute_exponents=(12, 24), d_grid=(1, 4, 16, 64), K_grid=(1, 2, 8, 32), dps=20)
    for e in (12, 24):
        for K in (1, 2, 8, 32):
            col = [tab[e, d, K][0] for d in (1, 4, 16, 64)]
            assert col == sorted(col) and len(set(col)) == 4
        for d in (1, 4, 16, 64):
            row = [tab[e, d, K][1] for K in (1, 2, 8, 32)]     # ln p*/ln C too
            assert row == sorted(row) and len(set(row)) == 4


def test_sensitivity_signs_are_proved_symbolically():
    der = get_derivation("d-K-sensitivity")
    for name in ("d-sensitivity-positive", "K-sensitivity-positive"):
        step = der.step(name)
        result = step.verify(20)
        assert result.ok and "certificate >= 0 proved: True" in result.detail
        assert step.relation == "<" and step.lhs == 0


def test_dp_variant_exponent_half():
    with mpmath.workdps(30):
        p1 = dp_optimum(16, 4, mpmath.mpf(10) ** 200, 30)[0]
        p2 = dp_optimum(16, 4, mpmath.mpf(10) ** 400, 30)[0]
        slope = mpmath.log(p2 / p1) / mpmath.log(mpmath.mpf(10) ** 200)
    assert abs(slope - 0.5) < 0.01


@pytest.mark.parametrize("dv,Kv", [(0, 4), (16, 0), (16, -2), (2.5, 4), (16, 1.5)])
def test_parameters_outside_domain(dv, Kv):
    with pytest.raises(UserInputError, match="outside the domain"):
        optimal_allocation(dv, Kv, 10**12)


def test_engine_agrees_with_derivation():
    allocation = pytest.importorskip("scaling_theory.theory.allocation")
    from scaling_theory.theory.jeon_van_roy import K, d
    from scaling_theory.theory.registry import get_law

    law = get_law("jeon-van-roy-finite")
    alloc = allocation.compute_optimal_allocation(law, {d: 16, K: 4})
    assert alloc.model_exponent == sp.Rational(1, 2) and alloc.data_exponent == sp.Rational(1, 2)
    C = alloc.compute
    with mpmath.workdps(30):
        mine = optimal_allocation(16, 4, 10**12, 30)
        engine_p = mpmath.mpf(str(sp.N(alloc.model_optimal.subs(C, 10**12), 30)))
        lead_ratio = sp.N((alloc.asymptotic_model / sp.sqrt(2 * 0 + C / sp.log(C))).subs(C, 10**12), 30)
        A, beta = mine["A"], mine["beta"]
        mine_lead = mpmath.sqrt(2 * A / (beta + 4))
    assert abs(engine_p / mine["p"] - 1) < 1e-20
    assert abs(mpmath.mpf(str(lead_ratio)) / mine_lead - 1) < 1e-20


def test_engine_dp_leading_order_matches_derivation():
    allocation = pytest.importorskip("scaling_theory.theory.allocation")
    from scaling_theory.theory.jeon_van_roy import K_dp, d
    from scaling_theory.theory.registry import get_law

    alloc = allocation.compute_optimal_allocation(get_law("jeon-van-roy"), {d: 16, K_dp: 4})
    assert alloc.model_exponent == sp.Rational(1, 2) and alloc.data_exponent == sp.Rational(1, 2)
    C = alloc.compute
    mine = get_derivation("jeon-van-roy-allocation").conclusion["DP p* leading"].rhs
    A = sp.Symbol("A", positive=True)
    from scaling_theory.theory.jeon_van_roy import dp_scale_moments
    s2 = dp_scale_moments(sp.Integer(16), sp.Integer(4))[0]
    mine = mine.subs({A: 17 * s2 / 16, sp.Symbol("K", positive=True, integer=True): 4, d: 16})
    assert abs(float(sp.N((alloc.asymptotic_model / mine).subs(C, 10**30), 30)) - 1) < 1e-20
