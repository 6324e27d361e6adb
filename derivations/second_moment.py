"""``E[V^2]`` and ``E[V]`` of the teacher's Maurey scale ``V = sum_k |a_k| ||w_k||`` in closed form (ours).

With ``a_k ~ N(0,1)`` and ``w_k ~ N(0, I_d)`` independent: ``E|a| = sqrt(2/pi)``, ``E a^2 = 1``,
``E||w||^2 = d`` and ``E||w|| = m_d = sqrt(2) Gamma((d+1)/2)/Gamma(d/2)`` (chi mean), so
``E[V^2] = K d + K (K-1) (2/pi) m_d^2`` and ``E[V] = K sqrt(2/pi) m_d``.  Also ``d - 1 <= m_d^2 <= d``.

References
----------
docs/paper-setting.md "Ours"; Gautschi's inequality for the Gamma ratio.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from scaling_theory.derivations.core import (Derivation, expectation, inequality, monte_carlo_cases,
                                             numeric_values)
from scaling_theory.numeric.precision.verify import Box, check_identity
from scaling_theory.theory.jeon_van_roy import (K, K_dp, d, dp_scale_moments, dp_second_moment, first_moment, m_d,
                                                scale_variances, second_moment)

__all__ = ["derivation"]

a = sp.Symbol("a", real=True)
_DK = {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True)}


def _abs_normal_exact(step, digits):
    integral = 2 * sp.integrate(a * sp.exp(-a**2 / 2) / sp.sqrt(2 * sp.pi), (a, 0, sp.oo))
    return check_identity(integral, sp.sqrt(2 / sp.pi), {}, digits=digits)


def _chi_mean_pairs(dps):
    r = sp.Symbol("r", positive=True)
    out = []
    for dim in (1, 2, 3, 7):
        density = r ** (dim - 1) * sp.exp(-r**2 / 2) / (2 ** (sp.Rational(dim, 2) - 1) * sp.gamma(sp.Rational(dim, 2)))
        exact = sp.integrate(r * density, (r, 0, sp.oo))  # SymPy's own integral of the chi density
        out.append((sp.N(exact, dps), sp.N(m_d(sp.Integer(dim)), dps)))
    return out


def _V_sampler(dim, k, power, scale="barron"):
    sa2, sw2 = (float(v) for v in scale_variances(scale, "finite", sp.Integer(dim), sp.Integer(k)))

    def sample(rng, m):
        a_ = rng.standard_normal((m, k)) * np.sqrt(sa2)
        w = np.linalg.norm(rng.standard_normal((m, k, dim)), axis=2) * np.sqrt(sw2)
        return np.sum(np.abs(a_) * w, axis=1) ** power
    return sample


def _stick_weights(rng, m, Kv):
    """``(m, L)`` stick-breaking weights of a DP(K), truncated where the expected leftover is e^-30."""
    L = int(30 * (Kv + 1)) + 1
    b = rng.beta(1.0, Kv, size=(m, L))
    left = np.cumprod(1.0 - b, axis=1)
    pi = b * np.concatenate([np.ones((m, 1)), left[:, :-1]], axis=1)
    pi[:, -1] += left[:, -1]            # the leftover mass on the last stick: weights sum to one
    return pi


def _dp_sampler(dim, Kv, scale, tilted):
    sa2, sw2 = (float(v) for v in scale_variances(scale, "dp", sp.Integer(dim), sp.Rational(Kv)))

    def sample(rng, m):
        pi = _stick_weights(rng, m, Kv)
        L = pi.shape[1]
        b = np.abs(rng.standard_normal((m, L))) * np.sqrt(sa2) * np.sqrt(rng.chisquare(dim, size=(m, L)) * sw2)
        return np.sum(pi * b, axis=1) ** 2 if tilted else np.sum(pi * b**2, axis=1)
    return sample


def _output_sampler(teacher, dim, Kv, scale):
    sa2, sw2 = (float(v) for v in scale_variances(scale, teacher, sp.Integer(dim), sp.Rational(Kv)))

    def sample(rng, m):
        X = rng.standard_normal((m, dim))
        if teacher == "finite":
            pi = np.ones((m, Kv))
        else:
            pi = _stick_weights(rng, m, Kv)
        L = pi.shape[1]
        a = rng.standard_normal((m, L)) * np.sqrt(sa2)
        w = rng.standard_normal((m, L, dim)) * np.sqrt(sw2)
        return np.sum(pi * a * np.maximum(np.einsum("mld,md->ml", w, X), 0), axis=1) ** 2
    return sample


def _output_cases():
    return [(f"{teacher} d={dv} K={Kv}", _output_sampler(teacher, dv, Kv, "normalised"), lambda: 0.5, 20_000)
            for teacher in ("finite", "dp") for dv, Kv in ((1, 1), (3, 2), (16, 4))]


def _dp_mu_sampler(dim, Kv, scale):
    sa2, sw2 = (float(v) for v in scale_variances(scale, "dp", sp.Integer(dim), sp.Rational(Kv)))

    def sample(rng, m):
        return np.abs(rng.standard_normal(m)) * np.sqrt(sa2 * sw2) * np.linalg.norm(rng.standard_normal((m, dim)), axis=1)
    return sample


def _dp_mu_cases():
    return [(f"{scale} d={dv} K={Kv}", _dp_mu_sampler(dv, Kv, scale), _value(dp_scale_moments(scale=scale)[1], dv, Kv,
                                                                             K_dp), 50_000)
            for scale in ("barron", "normalised") for dv, Kv in ((1, 1), (16, 4), (8, 32))]


_GRID = ((1, 1), (3, 2), (16, 4), (8, 32))
_DP_GRID = ((1, 1), (3, 2), (16, 4), (8, 32))


def _value(expr, dv, Kv, Ksym=K):
    return lambda: float(sp.N(expr.subs({d: dv, Ksym: Kv}), 30))


def _finite_cases():
    return [(f"{scale} d={dv} K={Kv}", _V_sampler(dv, Kv, 2, scale), _value(second_moment(scale=scale), dv, Kv),
             40_000) for scale in ("barron", "normalised") for dv, Kv in _GRID]


def _dp_cases(tilted):
    out = []
    for scale in ("barron", "normalised"):
        for dv, Kv in _DP_GRID:
            expr = dp_second_moment(scale=scale) if tilted else dp_scale_moments(scale=scale)[0]
            out.append((f"{scale} d={dv} K={Kv}", _dp_sampler(dv, Kv, scale, tilted), _value(expr, dv, Kv, K_dp),
                        4_000 if Kv > 8 else 20_000))
    return out


def _num(expr, **vals):
    return float(expr.subs({d: vals["d"], K: vals["K"]}).evalf(30))


def derivation() -> Derivation:
    """Closed forms of the Maurey scale's moments ``E[V^2] = K d + K (K-1) (2/pi) m_d^2`` and
    ``E[V] = K sqrt(2/pi) m_d`` (chi mean ``m_d``), with ``d - 1 <= m_d^2 <= d`` (ours; docs/paper-setting.md "Ours",
    the constants of :func:`scaling_theory.theory.jeon_van_roy.second_moment`).

    Returns
    -------
    Derivation
        ``second-moment``: 12 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('second-moment', 12, 8)
    >>> [s.name for s in der.steps][:2]
    ['abs-normal-mean', 'chi-mean']
    """
    md = m_d(d)
    steps = (
        expectation("abs-normal-mean", sp.Symbol("E|a|"), sp.sqrt(2 / sp.pi),
                    "2 int_0^oo a phi(a) da = sqrt(2/pi): exact integral plus Monte Carlo.",
                    sampler=lambda rng, m: np.abs(rng.standard_normal(m)), value=lambda: float(np.sqrt(2 / np.pi)),
                    exact=_abs_normal_exact),
        numeric_values("chi-mean", "identity", sp.Symbol("E||w||"), md,
                       "||w|| is chi-distributed with d degrees of freedom; its mean is sqrt(2) Gamma((d+1)/2)/"
                       "Gamma(d/2). Checked against SymPy's exact integral of the chi density, d in {1, 2, 3, 7}.",
                       pairs=_chi_mean_pairs, method="exact-integral"),
        monte_carlo_cases("second-moment-mc-grid", sp.Symbol("E[V^2]"), second_moment(),
                          "E[V^2] = sum_k E[a_k^2] E||w_k||^2 + sum_{k != l} E|a_k| E||w_k|| E|a_l| E||w_l|| "
                          "(independence) = sigma^2 (K d + K(K-1)(2/pi) m_d^2) (ours): Monte Carlo of V^2 on a grid of "
                          "(d, K) for the Barron and the normalised scale.", cases=_finite_cases(), ours=True, seed=40),
        monte_carlo_cases("dp-second-moment-mc-grid", sp.Symbol("E[V_DP^2]"), dp_second_moment(),
                          "DP teacher, V = sum_k pi_k |a_k| ||w_k||: E[sum pi_k^2] = 1/(K+1) (stick weights), so "
                          "E[V^2] = sigma^2 (d/(K+1) + K/(K+1) (2/pi) m_d^2) (ours): Monte Carlo over stick-breaking "
                          "draws on a grid of (d, K), both scales.", cases=_dp_cases(True), ours=True, seed=60),
        monte_carlo_cases("dp-untilted-moment-mc-grid", sp.Symbol("E[sum_k pi_k a_k^2 ||w_k||^2]"),
                          dp_scale_moments()[0],
                          "The DP law's misspecification constant (draws from pi): E[sum pi_k a_k^2 ||w_k||^2] = "
                          "sigma^2 d since sum pi_k = 1 and the atoms are independent of the weights (ours): Monte "
                          "Carlo on the same grid, both scales.", cases=_dp_cases(False), ours=True, seed=80),
        monte_carlo_cases("dp-unit-mean-mc-grid", sp.Symbol("E|a| ||w|| (DP atom)"), dp_scale_moments()[1],
                          "mu_b = E|a| E||w|| = sigma sqrt(2/pi) m_d, the mean size of one atom's weight (ours): Monte "
                          "Carlo, both scales.", cases=_dp_mu_cases(), ours=True, seed=95),
        monte_carlo_cases("normalised-output-variance", sp.Symbol("E[F(X)^2]"), sp.Rational(1, 2),
                          "The normalised scale gives E[F^2] = 1/2 for every d and K (finite: a ~ N(0, 1/K), "
                          "DP: a ~ N(0, K+1); w ~ N(0, I/d)): Monte Carlo of the teacher's output itself.",
                          cases=_output_cases(), ours=True, seed=97),
        inequality("dp-tilted-below-untilted", dp_second_moment(), dp_scale_moments()[0],
                   {d: Box(1, 2000, integer=True, log=True), K_dp: Box(0.01, 1000, log=True)},
                   "s2 - E[V^2] = sigma^2 K/(K+1) (d - (2/pi) m_d^2) >= 0 (Jensen): the tilted Maurey route would "
                   "have the smaller constant E[V^2]; the law pays s2 for a proved atom count (ours).", ours=True),
        expectation("first-moment-mc", sp.Symbol("E[V]"), first_moment().subs({d: 16, K: 4}),
                    "E[V] = K E|a| E||w|| = K sqrt(2/pi) m_d; Monte Carlo for d = 16, K = 4 (ours).",
                    sampler=_V_sampler(16, 4, 1), value=lambda: _num(first_moment(), d=16, K=4), ours=True,
                    samples=100_000, seed=5),
        inequality("chi-mean-upper", md**2, d, {d: Box(1, 2000, integer=True, log=True)},
                   "Jensen: (E||w||)^2 <= E||w||^2 = d."),
        inequality("chi-mean-lower", d - 1, md**2, {d: Box(1, 2000, integer=True, log=True)},
                   "Gautschi: x^(1/2) <= Gamma(x+1)/Gamma(x+1/2) with x = (d-1)/2 gives m_d^2 >= d - 1."),
        inequality("variance-nonnegative", first_moment() ** 2, second_moment(), _DK,
                   "S - M^2 = K (d - (2/pi) m_d^2) >= 0 by the upper chi bound: the moments are consistent.",
                   ours=True),
    )
    return Derivation("second-moment", "Closed-form moments of the Maurey scale V",
                      "E[V^2] = K d + K(K-1)(2/pi) m_d^2 and E[V] = K sqrt(2/pi) m_d with m_d the chi mean.",
                      steps, conclusion={"E[V^2]": sp.Eq(sp.Symbol("E[V^2]"), second_moment()),
                                         "E[V]": sp.Eq(sp.Symbol("E[V]"), first_moment())})
