"""The entropy count of the quantised proxy and the choice of the quantisation scales (ours).

The proxy ``F~`` is fixed by the K quantised directions (a delta-net of the sphere has at most
``(1 + 2/delta)^d`` points), the K signs, the n-draw counts of each atom (each in ``0..n``) and the
stochastically rounded scale ``V^ in rho Z`` (unbiased, variance ``<= rho^2/4``; entropy at most that
of a geometric law with the same mean).  Hence ``I(F; F~) <= H(F~) <= K[d ln(1 + 2/delta) + ln 2 +
ln(n+1)] + ln(1 + E[V]/rho) + 1``.  Balancing against the distortions ``E[V^2] delta^2/16`` and
``rho^2/64`` gives ``delta^2 = 8Kd/(E[V^2] T)`` and ``rho^2 = 32/T``.  All constants here are ours.

References
----------
docs/paper-setting.md "Ours"; Vershynin, High-Dimensional Probability, Cor. 4.2.13 (covering numbers);
Cover & Thomas, Thm 12.1.1 (maximum entropy).
"""

from __future__ import annotations

import mpmath
import sympy as sp

from scaling_theory.derivations.core import Derivation, identity, inequality, numeric_values, value_inequalities
from scaling_theory.numeric.precision.verify import Box

__all__ = ["derivation", "delta_star", "rho_star"]

delta, rho, n, T, S, mu, Kr, dr, M = sp.symbols("delta rho n T S mu K d M", positive=True)
frac = sp.Symbol("f", real=True)


def delta_star(K_=Kr, d_=dr, S_=S, T_=T):
    """``delta* = sqrt(8 K d/(S T))`` (ours)."""
    return sp.sqrt(8 * K_ * d_ / (S_ * T_))


def rho_star(T_=T):
    """``rho* = sqrt(32/T)`` (ours)."""
    return sp.sqrt(32 / T_)


def _geometric_pairs(dps):
    out = []
    for m in (mpmath.mpf("0.37"), mpmath.mpf(3), mpmath.mpf(41) / 7):
        pk = lambda k: m**k / (m + 1) ** (k + 1)
        H = mpmath.nsum(lambda k: -pk(k) * mpmath.log(pk(k)), [0, mpmath.inf])
        out.append((H, (m + 1) * mpmath.log(m + 1) - m * mpmath.log(m)))
    return out


def _circle_net_pairs(dps):
    # on the circle S^1 an optimal delta-net has ceil(pi / (2 asin(delta/2))) points
    out = []
    for i in range(1, 40):
        dl = mpmath.mpf(2) * i / 40
        out.append((mpmath.ceil(mpmath.pi / (2 * mpmath.asin(dl / 2))), (1 + 2 / dl) ** 2))
    return out


def derivation() -> Derivation:
    """The entropy count ``I(F; F~) <= K[d ln(1 + 2/delta) + ln 2 + ln(n+1)] + ln(1 + E[V]/rho) + 1`` of
    the quantised proxy and the balancing choices ``delta^2 = 8Kd/(E[V^2] T)``, ``rho^2 = 32/T``
    (ours; docs/paper-setting.md "Ours"; Vershynin, Cor. 4.2.13; Cover & Thomas, Thm 12.1.1).

    Returns
    -------
    Derivation
        ``entropy-count``: 8 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('entropy-count', 8, 5)
    >>> [s.name for s in der.steps][:2]
    ['covering-number-circle', 'configuration-count']
    """
    dom = {Kr: Box(1, 64), dr: Box(1, 500), S: Box(1, 1e5, log=True), T: Box(1, 1e15, log=True),
           delta: Box(1e-6, 2, log=True), n: Box(1, 1e9, log=True)}
    distortion = S * delta**2 / 16 + Kr * dr * sp.log(1 / delta) / T
    steps = (
        value_inequalities("covering-number-circle", sp.Symbol("N_delta(S^1)"), (1 + 2 / delta) ** 2,
                           "Volumetric bound N_delta(S^{d-1}) <= (1 + 2/delta)^d (standard); checked exactly on "
                           "the circle, where the optimal net size is known, for 39 radii in (0, 2).",
                           pairs=_circle_net_pairs, method="exact"),
        identity("configuration-count",
                 sp.log((1 + 2 / delta) ** (dr * Kr) * 2**Kr * (n + 1) ** Kr),
                 Kr * (dr * sp.log(1 + 2 / delta) + sp.log(2) + sp.log(n + 1)),
                 {Kr: Box(1, 64, integer=True), dr: Box(1, 500, integer=True), delta: Box(1e-6, 2, log=True),
                  n: Box(1, 1e9, log=True, integer=True)},
                 "H(F~ | V^) <= ln(#configurations): K net points, K signs, K counts in 0..n (ours).", ours=True),
        numeric_values("geometric-entropy", "identity", sp.Symbol("H(Geom(mu))"),
                       (mu + 1) * sp.log(mu + 1) - mu * sp.log(mu),
                       "Entropy of the geometric law on {0,1,...} with mean mu (maximal among such laws with "
                       "that mean); series summed at working precision.", pairs=_geometric_pairs, method="series"),
        inequality("geometric-entropy-bound", (mu + 1) * sp.log(mu + 1) - mu * sp.log(mu), sp.log(1 + mu) + 1,
                   {mu: Box(1e-8, 1e8, log=True)},
                   "mu ln(1 + 1/mu) <= 1 since ln(1 + x) <= x; with mu = E[V]/rho this is the scale's entropy "
                   "ln(1 + E[V]/rho) + 1 (ours)."),
        inequality("stochastic-rounding-variance", rho**2 * frac * (1 - frac), rho**2 / 4,
                   {rho: Box(1e-6, 10, log=True), frac: Box(0, 1)},
                   "Unbiased rounding of V to rho*floor or rho*ceil with the fractional part f: variance "
                   "rho^2 f(1-f) <= rho^2/4; times E[(mean of atoms)^2] <= 1/2 and the KL factor 1/8 gives "
                   "rho^2/64 (ours).", certificate=rho**2 * (frac - sp.Rational(1, 2)) ** 2, ours=True),
        identity("delta-stationary", sp.diff(distortion, delta).subs(delta, delta_star()), 0,
                 {Kr: Box(1, 64), dr: Box(1, 500), S: Box(1, 1e5, log=True), T: Box(1, 1e15, log=True)},
                 "delta* = sqrt(8Kd/(S T)) makes d/d delta [S delta^2/16 + K d ln(1/delta)/T] vanish (ours).",
                 ours=True),
        identity("delta-balance", S * delta_star() ** 2 / 16 + Kr * dr * sp.log(1 + 2 / delta_star()) / T,
                 Kr * dr / (2 * T) + Kr * dr * sp.log(1 + sp.sqrt(S * T / (2 * Kr * dr))) / T,
                 {Kr: Box(1, 64), dr: Box(1, 500), S: Box(1, 1e5, log=True), T: Box(1, 1e15, log=True)},
                 "At delta*: S delta*^2/16 = K d/(2T) and 2/delta* = sqrt(S T/(2 K d)) (ours).", ours=True),
        identity("rho-balance", rho_star() ** 2 / 64 + sp.log(1 + M / rho_star()) / T,
                 1 / (2 * T) + sp.log(1 + M * sp.sqrt(T / 32)) / T, {M: Box(0.1, 100), T: Box(1, 1e15, log=True)},
                 "rho* = sqrt(32/T) (stationary for rho^2/64 + ln(1/rho)/T): rho^2/64 = 1/(2T) (ours).", ours=True),
    )
    _ = dom
    return Derivation("entropy-count", "Entropy of the quantised proxy",
                      "I(F; F~) <= K[d ln(1+2/delta) + ln 2 + ln(n+1)] + ln(1 + E[V]/rho) + 1, with delta and "
                      "rho chosen to balance the distortion.", steps,
                      conclusion={"entropy": sp.Le(sp.Symbol("I(F;F~)"), Kr * (dr * sp.log(1 + 2 / delta) + sp.log(2)
                                                    + sp.log(n + 1)) + sp.log(1 + M / rho) + 1)})
