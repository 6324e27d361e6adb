"""How the compute-optimal model share depends on the input dimension d and the latent complexity K.

The abstract states that as d or K grows "a larger fraction of the compute budget should be
allocated to growing the learning model".  With the ``jeon-van-roy`` law (constants ours) the
share is ``p*/T* = p*^2/C = A/y*``; at leading order ``y* ~ (beta + K)/2 ln C`` so

    R = p*/T* ~ (d+1) E[V^2] / (4 (K d + 2K + 1) ln C),   ln p*/ln C = 1/2 + ln(p*/T*)/(2 ln C).

We prove ``dR/dd > 0`` and ``dR/dK > 0`` on ``d >= 1, K >= 1`` (symbolic numerators with positivity
certificates; ``m_d^2`` increasing via the digamma function), and check the exact finite-C optimum on
a grid of d and K.  Agreement with the abstract: yes, in direction.  Nuance: the share also falls like
``1/ln C``, so "linear" holds only up to that logarithm.

References
----------
Jeon & Van Roy, arXiv:2212.01365, abstract; docs/paper-setting.md "Ours".
"""

from __future__ import annotations

import mpmath
import sympy as sp

from scaling_theory.derivations.allocation import optimal_allocation
from scaling_theory.derivations.core import Derivation, identity, inequality, value_inequalities
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import K, d, large_T_coefficients, m_d

__all__ = ["derivation", "share_table", "D_GRID", "K_GRID", "C_GRID"]

C = sp.Symbol("C", positive=True)
mu = sp.Function("mu")          # mu(d) = m_d^2, increasing in d
S_, Sd, k, mu0, mup = sp.symbols("S S_d k mu mu'", positive=True)
share = sp.Symbol("s", positive=True)   # p*/T*
D_GRID = (1, 2, 4, 8, 16, 32, 64, 128)
K_GRID = (1, 2, 4, 8, 16, 32)
C_GRID = (12, 18, 24)


def share_leading(d_=d, K_=K, mu_=None):
    """Leading-order ``p*/T*`` with ``m_d^2`` given by ``mu_`` (default: the function ``mu(d)``)."""
    mu_ = mu(d_) if mu_ is None else mu_
    S = K_ * d_ + 2 / sp.pi * K_ * (K_ - 1) * mu_
    return (d_ + 1) * S / (4 * (K_ * d_ + 2 * K_ + 1) * sp.log(C))


def share_table(compute_exponents=C_GRID, d_grid=D_GRID, K_grid=K_GRID, dps: int = 30) -> dict:
    """``{(C exponent, d, K): (p*/T*, ln p*/ln C)}`` at the exact optimum (mpmath floats)."""
    out = {}
    with mpmath.workdps(dps):
        for e in compute_exponents:
            for dv in d_grid:
                for Kv in K_grid:
                    r = optimal_allocation(dv, Kv, mpmath.mpf(10) ** e, dps)
                    out[e, dv, Kv] = (r["share"], mpmath.log(r["p"]) / mpmath.log(mpmath.mpf(10) ** e))
    return out


def _monotone_pairs(axis):
    def pairs(dps):
        tab = share_table(dps=dps)
        out = []
        for e in C_GRID:
            if axis == "d":
                for Kv in K_GRID:
                    for lo, hi in zip(D_GRID, D_GRID[1:]):
                        out.append((tab[e, lo, Kv][0], tab[e, hi, Kv][0]))
                        out.append((tab[e, lo, Kv][1], tab[e, hi, Kv][1]))
            else:
                for dv in D_GRID:
                    for lo, hi in zip(K_GRID, K_GRID[1:]):
                        out.append((tab[e, dv, lo][0], tab[e, dv, hi][0]))
                        out.append((tab[e, dv, lo][1], tab[e, dv, hi][1]))
        return out
    return pairs


def derivation() -> Derivation:
    """How the compute-optimal share ``p*/T*`` depends on ``d`` and ``K``: the leading-order share
    ``(d+1) E[V^2]/(4 (Kd + 2K + 1) ln C)`` and proofs that it increases in ``d`` and in ``K``
    (the abstract's claim, Jeon & Van Roy, arXiv:2212.01365), plus the exact optimum on a d/K grid
    (constants ours, docs/paper-setting.md "Ours").

    Returns
    -------
    Derivation
        ``d-K-sensitivity``: 10 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('d-K-sensitivity', 10, 2)
    >>> [s.name for s in der.steps][:2]
    ['share-leading', 'log-share']
    """
    c = large_T_coefficients()
    R = share_leading()
    Q = K * d + 2 * K + 1
    dom = {d: Box(1, 500), K: Box(1, 64, integer=True), C: Box(1e6, 1e300, log=True)}
    mu_dom = {d: Box(1, 500), K: Box(1, 64, integer=True), C: Box(1e6, 1e300, log=True), mu0: Box(0, 500)}
    dK_num = d + 2 / sp.pi * mu0 * (K**2 * (d + 2) + 2 * K - 1)
    steps = (
        identity("share-leading", 2 * c["A"] / ((c["beta"] + K) * sp.log(C)), share_leading(mu_=m_d(d) ** 2),
                 {d: Box(1, 500, integer=True), K: Box(1, 64, integer=True), C: Box(1e6, 1e300, log=True)},
                 "p*/T* = A/y* with y* ~ (beta + K)/2 ln C (allocation derivation): R = (d+1) E[V^2]/(4(Kd+2K+1) "
                 "ln C) (ours)."),
        identity("log-share", sp.log(sp.sqrt(share * C)) / sp.log(C),
                 sp.Rational(1, 2) + sp.log(share) / (2 * sp.log(C)),
                 {share: Box(1e-4, 1e4, log=True), C: Box(1e6, 1e300, log=True)},
                 "With p*/T* = s and p* T* = C, p* = sqrt(s C): ln p*/ln C = 1/2 + ln s/(2 ln C), increasing in s."),
        identity("chi-mean-derivative", sp.diff(m_d(d) ** 2, d),
                 m_d(d) ** 2 * (sp.digamma((d + 1) / 2) - sp.digamma(d / 2)), {d: Box(1, 1000, log=True)},
                 "d/dd [2 Gamma((d+1)/2)^2/Gamma(d/2)^2] = m_d^2 (psi((d+1)/2) - psi(d/2))."),
        inequality("chi-mean-increasing", sp.digamma(d / 2), sp.digamma((d + 1) / 2), {d: Box(1, 1e4, log=True)},
                   "The digamma function is increasing (psi' = sum 1/(x+k)^2 > 0), so m_d^2 increases with d and "
                   "dS/dd = K + (2/pi) K (K-1) (m_d^2)' >= K > 0.", relation="<"),
        identity("d-derivative", sp.diff(R, d).subs(sp.Derivative(mu(d), d), mup).subs(mu(d), mu0),
                 ((K * d + 2 / sp.pi * K * (K - 1) * mu0) * (K + 1)
                  + (d + 1) * (K + 2 / sp.pi * K * (K - 1) * mup) * Q) / (4 * sp.log(C) * Q**2),
                 {**mu_dom, mup: Box(0, 10)},
                 "Quotient rule with mu = m_d^2: dR/dd = [S (K+1) + (d+1) S'(d) (Kd+2K+1)]/(4 ln C "
                 "(Kd+2K+1)^2)."),
        inequality("d-sensitivity-positive", 0, S_ * (K + 1) + (d + 1) * Sd * Q,
                   {S_: Box(1, 1e5, log=True), Sd: Box(1, 1e3, log=True), d: Box(1, 500), K: Box(1, 64)},
                   "S > 0 and S'(d) >= K > 0 (previous steps), all other factors positive: dR/dd > 0 on d >= 1, "
                   "K >= 1 -- a larger d moves compute to the model (agrees with the abstract).",
                   certificate=S_ * (K + 1) + (d + 1) * Sd * Q, relation="<"),
        identity("K-derivative", sp.diff(R.subs(mu(d), mu0), K),
                 (d + 1) * dK_num / (4 * sp.log(C) * Q**2), mu_dom,
                 "Quotient rule: dR/dK = (d+1)[d + (2/pi) m_d^2 (K^2 (d+2) + 2K - 1)]/(4 ln C (Kd+2K+1)^2)."),
        inequality("K-sensitivity-positive", 0, dK_num.subs(K, 1 + k),
                   {d: Box(1, 500), k: Box(0, 63), mu0: Box(0, 500)},
                   "With K = 1 + k, k >= 0, every term is nonnegative and d > 0: dR/dK > 0 -- a larger K moves "
                   "compute to the model (agrees with the abstract).", certificate=dK_num.subs(K, 1 + k),
                   relation="<"),
        value_inequalities("d-monotone-exact", sp.Symbol("(p*/T*, ln p*/ln C)(d)"),
                           sp.Symbol("(p*/T*, ln p*/ln C)(d')"),
                           "Exact finite-C optimum (Lambert W): both p*/T* and ln p*/ln C increase along "
                           "d = 1, 2, 4, ..., 128 for every K in 1..32, C = 1e12, 1e18, 1e24 (ours).",
                           pairs=_monotone_pairs("d"), relation="<", ours=True, method="grid"),
        value_inequalities("K-monotone-exact", sp.Symbol("(p*/T*, ln p*/ln C)(K)"),
                           sp.Symbol("(p*/T*, ln p*/ln C)(K')"),
                           "Same grid along K = 1, 2, 4, ..., 32 for every d (ours).", pairs=_monotone_pairs("K"),
                           relation="<", ours=True, method="grid"),
    )
    return Derivation(
        "d-K-sensitivity", "Sensitivity of the compute-optimal share to d and K",
        "p*/T* ~ (d+1) E[V^2]/(4(Kd+2K+1) ln C) increases with d and with K: more compute to the model.",
        steps, conclusion={"share (leading)": sp.Eq(sp.Symbol("p^*/T^*"), share_leading(mu_=m_d(d) ** 2)),
                           "dR/dd": sp.Gt(sp.Symbol(r"\partial_d (p^*/T^*)"), 0),
                           "dR/dK": sp.Gt(sp.Symbol(r"\partial_K (p^*/T^*)"), 0)})
