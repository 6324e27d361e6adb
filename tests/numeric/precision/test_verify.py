"""scaling_theory.numeric.precision.verify: identities with precision escalation, inequalities, Monte Carlo, limits, the minimiser."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from scaling_theory.numeric.precision.verify import (Box, check_expectation, check_identity, check_inequality,
                                                     check_limit, check_values, sample_points)
from scaling_theory.numeric.precision.budget import optimum_on_budget

x, y = sp.symbols("x y", positive=True)


IDENTITIES = {  # (lhs, rhs): holds exactly?
    (sp.log(x * y), sp.log(x) + sp.log(y)): True,
    (sp.gamma(x + 1), x * sp.gamma(x)): True,
    (sp.sqrt(x**2 + 2 * x * y + y**2), x + y): True,
    (sp.log(x * y), sp.log(x) + sp.log(y) + sp.Rational(1, 10**12)): False,
    (sp.gamma(x + 1), x * sp.gamma(x) * (1 + sp.Rational(1, 10**40))): False,   # caught only at 100 digits
}


@pytest.mark.parametrize("pair", list(IDENTITIES))
def test_identity_table(pair):
    assert check_identity(*pair, {x: Box(0.1, 50), y: Box(0.1, 50)}, symbolic=False).ok is IDENTITIES[pair]


def test_escalation_catches_what_50_digits_accepts():
    res = check_identity(x, x * (1 + sp.Rational(1, 10**40)), {x: Box(1, 2)}, digits=50, symbolic=False)
    assert not res.ok
    low, high = res.detail.split("rel err ")[1].split(", ")
    assert float(low.split(" at")[0]) < 1e-30 < float(high.split(" at")[0]) * 1e22


def test_symbolic_part_can_fail_alone():
    # numerically indistinguishable at these points is impossible here, but the symbolic flag is reported
    res = check_identity(sp.sin(x) ** 2 + sp.cos(x) ** 2, 1, {x: Box(-3, 3)})
    assert res.ok and "simplify(lhs-rhs)==0: True" in res.detail


def test_inequality_with_certificate_and_edges():
    res = check_inequality(2 * x * y, x**2 + y**2, {x: Box(0.01, 10), y: Box(0.01, 10)}, certificate=(x - y) ** 2)
    assert res.ok and "certificate >= 0 proved: True" in res.detail
    assert not check_inequality(x, 2 * x - 1, {x: Box(0.5, 3)}).ok       # fails at the x = 0.5 edge


def test_wrong_certificate_fails():
    assert not check_inequality(2 * x * y, x**2 + y**2, {x: Box(1, 2), y: Box(1, 2)}, certificate=(x + y) ** 2).ok


def test_points_are_exact_and_seeded():
    a = sample_points({x: Box(0.1, 10, log=True)}, 5, seed=3)
    assert a == sample_points({x: Box(0.1, 10, log=True)}, 5, seed=3)
    assert a[0][x] == 0.1 or float(a[0][x]) == pytest.approx(0.1)


def test_monte_carlo_relu_second_moment_and_reproducibility():
    sampler = lambda rng, m: np.maximum(rng.standard_normal(m), 0) ** 2
    r1 = check_expectation(sampler, 0.5, samples=50_000, seed=9)
    r2 = check_expectation(sampler, 0.5, samples=50_000, seed=9)
    assert r1.ok and r1.detail == r2.detail
    assert not check_expectation(sampler, 0.56, samples=50_000, seed=9).ok
    assert check_expectation(sampler, 0.56, samples=50_000, seed=9, relation="<=").ok


def test_limit_requires_convergence_and_monotone_tail():
    assert check_limit(lambda C: C + mpmath.log(C), lambda C: C, [2, 4, 8, 16, 32]).ok
    assert not check_limit(lambda C: 2 * C, lambda C: C, [2, 4, 8, 16]).ok                    # limit 2, not 1
    wiggle = lambda C: C * (1 + mpmath.sin(mpmath.log(C)) / mpmath.log(C) ** 2)
    assert not check_limit(wiggle, lambda C: C, [10, 11, 12, 13, 14, 15], tolerance=1.0).ok  # not monotone


def test_values_at_two_precisions():
    assert check_values(lambda dps: [(mpmath.zeta(2), mpmath.pi**2 / 6)]).ok
    assert not check_values(lambda dps: [(mpmath.mpf("3.14159265358979323846264338327950288"), mpmath.pi)]).ok


def test_optimum_on_budget_power_law():
    N, D = sp.symbols("N D", positive=True)
    n, t, loss = optimum_on_budget(2 / N + 8 / D, N, D, 10**6, dps=40)
    with mpmath.workdps(40):
        assert abs(n - 500) < mpmath.mpf(10) ** -30 and abs(t - 2000) < mpmath.mpf(10) ** -30
    with pytest.raises(ValueError, match="no interior minimum"):
        optimum_on_budget(1 / N + 0 * D, N, D, 100)
