"""How the infinite-width (Dirichlet-process) law's optimum depends on d and K, on both teacher scales (ours).

The registered ``jeon-van-roy`` law (constants ours, :func:`scaling_theory.theory.jeon_van_roy.dp_bound`) is
``L = s2/(16n) + [d/2 + 1/2 + (1 + K ln(2n/K)) c_atom + ln n]/T`` with ``n = p/(d+1)`` and a per-atom
cost ``c_atom = ((d+1)/2) ln T + ln n + O(1)``.  Along ``p T = C`` with ``ln p, ln T ~ (1/2) ln C``
the estimation term is ``~ K (d+3) ln^2 C/(8T)``, so balancing it against ``A/p`` (``A = (d+1) s2/16``)
gives the leading-order share and width

    R = p*/T* ~ (d+1) s2/(2 K (d+3) ln^2 C),    n*^2 = R C/(d+1)^2 ~ s2 C/(2 K (d+1)(d+3) ln^2 C),

with ``s2 = K^2 d`` (Barron scale: atoms weighted ``K pi_k a_k``) or ``s2 = K + 1`` (normalised scale).
Signs (proved below, leading order):

=============  ==================  ==========================================
scale          d (K fixed)         K (d fixed)
=============  ==================  ==========================================
barron         R up, n* down       R up, n* up
               (n* up only 1->2)
normalised     R up, n* down       R down, n* down
=============  ==================  ==========================================

At finite budgets the exact optimum (a numerical optimum, mpmath) follows these signs on the grids
checked, except one: on the normalised scale ``p*/T*`` and ``n*`` fall with ``K`` only up to a
``K`` of about 8 (C = 1e12) to 32 (C = 1e24) and rise again beyond it, because ``ln(2n/K)`` in the atom
count makes ``K`` matter at sub-leading order; the leading-order decrease is the ``C -> oo`` limit
(step ``normalised-share-asymptotic``).  So the abstract's "larger K moves compute to the model"
holds for the DP law on the Barron scale, not on the normalised scale; "larger d" moves compute to the
model on both scales, while the optimal *width* falls with d: the rise of ``p*/T*`` with d is the
bookkeeping ``p = n (d+1)``.

References
----------
Jeon & Van Roy, arXiv:2212.01365 and arXiv:2407.01456 (abstract: d and K move compute to the model);
docs/paper-setting.md "Ours".
"""

from __future__ import annotations

import dataclasses
import functools

import mpmath
import sympy as sp
from mpmath import mp

from scaling_theory.derivations.core import (Derivation, asymptotic, consistency, identity, inequality,
                                             numeric_values, value_inequalities)
from scaling_theory.numeric.precision.budget import optimum_on_budget
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import K_dp as K, T, d, dp_scale_moments, law_name, p, validity_T
from scaling_theory.theory.registry import get_law

__all__ = ["derivation", "share_leading", "width_leading", "dp_allocation", "trend_table", "K_GRID", "D_GRID",
           "C_GRID"]

C = sp.Symbol("C", positive=True)
u = sp.Symbol("u", real=True)                 # u = ln p = ln T on the diagonal (1/2 ln C)
e = sp.Symbol("e", nonnegative=True)          # d = 2 + e
A_, E_ = sp.symbols("A E", positive=True)
ell = sp.Symbol("ell", positive=True)        # ln C (> 0 for C > 1): the sign steps divide by it
K_GRID = (sp.Rational(1, 2), 1, 2, 4, 8, 16, 32, 64)      # at d = 8
D_GRID = (1, 2, 4, 8, 16, 32, 64)                          # at K = 32
C_GRID = (12, 24)
_SCALES = ("barron", "normalised")


def share_leading(scale: str = "barron", d_=d, K_=K) -> sp.Expr:
    """Leading-order ``p*/T* = (d+1) s2/(2 K (d+3) ln^2 C)`` of the DP law on ``scale`` (ours).

    Examples
    --------
    >>> share_leading("barron")
    K*d*(d + 1)/(2*(d + 3)*log(C)**2)
    >>> share_leading("normalised")
    (K + 1)*(d + 1)/(2*K*(d + 3)*log(C)**2)
    """
    s2 = dp_scale_moments(d_, K_, scale)[0]
    return (d_ + 1) * s2 / (2 * K_ * (d_ + 3) * sp.log(C) ** 2)


def width_leading(scale: str = "barron", d_=d, K_=K) -> sp.Expr:
    """Leading-order ``ln n*`` with ``n*^2 = R C/(d+1)^2`` (ours).

    Examples
    --------
    >>> sp.simplify(sp.exp(2 * width_leading("normalised")))
    C*(K + 1)/(2*K*(d + 1)*(d + 3)*log(C)**2)
    """
    return sp.log(share_leading(scale, d_, K_) * C / (d_ + 1) ** 2) / 2


@functools.lru_cache(maxsize=8)
def _compiled(dv: int, Kv: sp.Rational, scale: str):
    law = get_law(law_name("dp", scale))
    x = sp.Symbol("x", real=True)
    along = law.expr.subs({d: dv, K: Kv}).subs({T: C * sp.exp(-x)}).subs(p, sp.exp(x))
    f1 = sp.diff(along, x)
    f2 = sp.diff(f1, x)
    return (sp.lambdify([x, C], along, modules="mpmath"), sp.lambdify([x, C], f1, modules="mpmath"),
            sp.lambdify([x, C], f2, modules="mpmath"))


@functools.lru_cache(maxsize=4096)
def _coarse(dv: int, Kv: sp.Rational, scale: str, exponent: int) -> str:
    """An independent 20-digit minimiser (grid scan + bracketed root) inside the validity window."""
    law = get_law(law_name("dp", scale))
    expr = law.expr.subs({d: dv, K: Kv})
    with mp.workdps(30):
        Cm = mpmath.mpf(10) ** exponent
        t0 = mpmath.mpf(str(sp.N(validity_T("dp", scale, sp.Integer(dv), Kv), 30)))
        lo = (dv + 1) * max(1, mpmath.mpf(Kv.p) / Kv.q)
        pc, _, _ = optimum_on_budget(expr, p, T, Cm, lo=lo, hi=Cm / t0, dps=20, grid=60)
        return mpmath.nstr(pc, 25)


def dp_allocation(dv: int, Kv, exponent: int, scale: str = "barron", dps: int = 50) -> dict:
    """Exact optimum of the DP law at ``C = 10**exponent`` (mpf): ``p``, ``T``, ``n``, ``share`` = p/T, ``loss``.

    The stationarity ``dL/d ln p = 0`` along ``p T = C`` is solved by Newton's method at ``dps`` digits,
    started from an independent 20-digit grid minimiser; a minimum (``L'' > 0``) inside the validity
    window is required (``ValueError`` otherwise).

    Examples
    --------
    >>> r = dp_allocation(8, 32, 12, "barron", dps=30)
    >>> mpmath.nstr(r["p"], 6), mpmath.nstr(r["share"], 4)
    ('382828.0', '0.1466')
    """
    Kq = sp.nsimplify(Kv, rational=True)
    L, f1, f2 = _compiled(int(dv), Kq, scale)
    with mp.workdps(dps + 10):
        Cm = mpmath.mpf(10) ** exponent
        x0 = mpmath.log(mpmath.mpf(_coarse(int(dv), Kq, scale, int(exponent))))
        x = mpmath.findroot(lambda t: f1(t, Cm), x0, solver="newton", df=lambda t: f2(t, Cm))
        pv = mpmath.exp(x)
        lo = (dv + 1) * max(1, mpmath.mpf(Kq.p) / Kq.q)
        t0 = mpmath.mpf(str(sp.N(validity_T("dp", scale, sp.Integer(dv), Kq), dps + 10)))
        if not (f2(x, Cm) > 0 and lo <= pv <= Cm / t0 and abs(x - x0) < mpmath.mpf(10) ** -12 * max(1, abs(x0))):
            raise ValueError(f"no verified interior minimum at d={dv}, K={Kv}, C=1e{exponent} ({scale})")
        out = {"p": pv, "T": Cm / pv, "n": pv / (dv + 1), "share": pv * pv / Cm, "loss": L(x, Cm)}
    with mp.workdps(dps):
        return {k: +v for k, v in out.items()}


def trend_table(dps: int = 50) -> dict:
    """``{(scale, exponent, d, K): dp_allocation(...)}`` on the K grid (d = 8) and the d grid (K = 32)."""
    return _trend_table(int(dps))


@functools.lru_cache(maxsize=4)
def _trend_table(dps: int) -> dict:
    out = {}
    for scale in _SCALES:
        for ex in C_GRID:
            for Kv in K_GRID:
                out[scale, ex, 8, sp.Rational(Kv)] = dp_allocation(8, Kv, ex, scale, dps)
            for dv in D_GRID:
                out[scale, ex, dv, sp.Rational(32)] = dp_allocation(dv, 32, ex, scale, dps)
    return out


def _along(scale, axis, key, grid, up, start=None, stop=None):
    """Pairs (smaller, larger) for a quantity that increases (``up``) or decreases along the grid."""
    def pairs(dps):
        tab = trend_table(dps)
        out = []
        for ex in C_GRID:
            vals = [tab[scale, ex, 8, sp.Rational(g)] if axis == "K" else tab[scale, ex, g, sp.Rational(32)]
                    for g in grid]
            seq = [v[key] for v in vals][start:stop]
            for a, b in zip(seq, seq[1:]):
                out.append((a, b) if up else (b, a))
        return out
    return pairs


def _reversal_pairs(dps):
    tab = trend_table(dps)
    out = []
    for ex in C_GRID:
        for key in ("share", "n"):
            # falls from K = 1/2 to 4, rises from 32 to 64 (finite-C, normalised scale)
            at = {Kv: tab["normalised", ex, 8, sp.Rational(Kv)][key] for Kv in (sp.Rational(1, 2), 4, 32, 64)}
            out.append((at[4], at[sp.Rational(1, 2)]))
            out.append((at[32], at[64]))
    return out


def _agreement_pairs(dps):
    out = []
    for scale, dv, Kv, ex in (("barron", 8, 32, 12), ("normalised", 16, 4, 24), ("barron", 1, sp.Rational(1, 2), 12)):
        r = dp_allocation(dv, Kv, ex, scale, dps)
        law = get_law(law_name("dp", scale))
        expr = law.expr.subs({d: dv, K: sp.Rational(Kv)})
        Cm = mpmath.mpf(10) ** ex
        t0 = mpmath.mpf(str(sp.N(validity_T("dp", scale, sp.Integer(dv), sp.Rational(Kv)), dps)))
        pn, _, _ = optimum_on_budget(expr, p, T, Cm, lo=(dv + 1) * max(1, mpmath.mpf(sp.Rational(Kv))),
                                     hi=Cm / t0, dps=dps - 10)
        out.append((r["p"], pn))
    return out


def _share_limit(dv, Kv):
    Kq = sp.Rational(Kv)
    lead = sp.lambdify([C], share_leading("normalised", sp.Integer(dv), Kq) * sp.log(C) ** 2, modules="mpmath")

    def exact(Cm):
        ex = int(mpmath.nint(mpmath.log10(Cm)))
        return dp_allocation(dv, Kq, ex, "normalised", mp.dps)["share"] * mpmath.log(Cm) ** 2
    return exact, (lambda Cm: lead(Cm))


def _optimum(step):
    """Label a grid of finite-budget optima as numerical-optimum evidence (not a sampled inequality)."""
    return dataclasses.replace(step, evidence="numerical-optimum")


_TAIL = (12, 24, 48, 96, 192, 384, 768, 1536)


def derivation() -> Derivation:
    """Signs of the d- and K-derivatives of ``p*/T*`` and of the optimal width ``n*`` for the DP law
    ``jeon-van-roy`` on both teacher scales: leading order (symbolic, with certificates) and the exact
    finite-budget optimum on a grid (numerical optimum) (Jeon & Van Roy, arXiv:2212.01365, abstract;
    constants ours, docs/paper-setting.md "Ours").

    Returns
    -------
    Derivation
        ``dp-sensitivity``: 17 checked steps (one of them consistency only) (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps)
    ('dp-sensitivity', 17)
    >>> [s.name for s in der.steps][:2]
    ['estimation-leading', 'leading-balance']
    """
    law = get_law("jeon-van-roy")
    s2b = dp_scale_moments()[0]
    n_ = p / (d + 1)
    est_T = (law.expr - s2b / (16 * n_)) * T        # T times the estimation term, as the law writes it
    diag = est_T.subs({p: sp.exp(u), T: sp.exp(u)})
    E_lead = K * (d + 3) * sp.log(C) ** 2 / 8
    p_lead = sp.sqrt(A_ * C / E_)
    gen = {d: Box(1, 300, integer=True), K: Box(0.05, 64, log=True), C: Box(1e6, 1e300, log=True)}
    sgn = {d: Box(1, 300, integer=True), K: Box(0.05, 64, log=True), ell: Box(13, 700)}
    d2 = {e: Box(0, 300), K: Box(0.05, 64, log=True), ell: Box(13, 700)}
    Rb, Rn = share_leading("barron"), share_leading("normalised")
    Wb, Wn = (sp.expand_log(width_leading(sc), force=True) for sc in _SCALES)
    L2 = sp.log(C) ** 2
    Rb_, Rn_ = Rb.subs(sp.log(C), ell), Rn.subs(sp.log(C), ell)
    steps = (
        identity("estimation-leading", diag,
                 K * (d + 3) / 2 * u**2 + sp.diff(diag, u).subs(u, 0) * u + diag.subs(u, 0),
                 {d: Box(1, 300, integer=True), K: Box(0.05, 64, log=True), u: Box(1, 700)},
                 "T times the law's estimation term, at ln p = ln T = u, is a polynomial of degree 2 in u (every "
                 "log in it is affine in ln p and ln T) with u^2 coefficient K(d+3)/2: the atom count "
                 "K ln(2n/K) ~ K u times the per-atom cost ((d+1)/2) ln T + ln n ~ (d+3) u/2. With u = (1/2) ln C "
                 "the estimation term is ~ K (d+3) ln^2 C/(8T) (ln p and ln T differ from (1/2) ln C by "
                 "O(ln ln C)) (ours)."),
        identity("leading-balance", sp.diff(A_ / p + E_ * p / C, p), E_ * (p**2 - A_ * C / E_) / (C * p**2),
                 {A_: Box(0.01, 1e6, log=True), E_: Box(0.01, 1e6, log=True), C: Box(1e6, 1e300, log=True),
                  p: Box(1, 1e20, log=True)},
                 "d/dp (A/p + E p/C) with E = K(d+3) ln^2 C/8 is negative below p* = sqrt(A C/E) and positive "
                 "above: the minimum, with p*/T* = p*^2/C = A/E."),
        consistency(identity("share-leading", (d + 1) * dp_scale_moments(scale="barron")[0] / 16 / E_lead,
                             (d + 1) * s2b / (2 * K * (d + 3) * L2), gen,
                             "With A = (d+1) s2/16: R = A/E = (d+1) s2/(2K(d+3) ln^2 C) on any scale (the "
                             "definition of share_leading; ours).")),
        identity("barron-share", Rb, K * d * (d + 1) / (2 * (d + 3) * L2), gen,
                 "Barron scale: s2 = sigma_a^2 sigma_w^2 d = K^2 d (atoms weighted K pi_k a_k), so "
                 "R = K d (d+1)/(2(d+3) ln^2 C) (ours)."),
        identity("normalised-share", Rn, (K + 1) * (d + 1) / (2 * K * (d + 3) * L2), gen,
                 "Normalised scale: s2 = (K+1)(1/d) d = K + 1, so R = (K+1)(d+1)/(2K(d+3) ln^2 C) (ours)."),
        inequality("barron-share-K", 0, sp.diff(Rb_, K), sgn,
                   "dR/dK = d(d+1)/(2(d+3) ln^2 C) > 0: on the Barron scale a larger K moves compute to the model "
                   "(agrees with the abstract).", certificate=d * (d + 1) / (2 * (d + 3) * ell**2), relation="<"),
        inequality("barron-share-d", 0, sp.diff(Rb_, d), sgn,
                   "dR/dd = K (d^2 + 6d + 3)/(2 (d+3)^2 ln^2 C) > 0: a larger d moves compute to the model.",
                   certificate=K * (d**2 + 6 * d + 3) / (2 * (d + 3) ** 2 * ell**2), relation="<"),
        inequality("barron-width-K", 0, sp.diff(Wb, K), gen,
                   "d ln n*/dK = 1/(2K) > 0: the optimal width grows with K (Barron scale).",
                   certificate=1 / (2 * K), relation="<"),
        inequality("barron-width-d", sp.diff(Wb, d).subs(d, 2 + e), 0, d2,
                   "d ln n*/dd = (3 - d^2)/(2 d (d+1)(d+3)) < 0 for d >= 2 (write d = 2 + e: d^2 - 3 = e^2 + 4e + 1): "
                   "the optimal width falls with d; the rise of p*/T* with d is the bookkeeping p = n(d+1).",
                   certificate=(e**2 + 4 * e + 1) / (2 * (2 + e) * (3 + e) * (5 + e)), relation="<"),
        inequality("normalised-share-K", sp.diff(Rn_, K), 0, sgn,
                   "dR/dK = -(d+1)/(2 K^2 (d+3) ln^2 C) < 0: on the normalised scale a larger K moves compute "
                   "to the data at leading order (against the abstract).",
                   certificate=(d + 1) / (2 * K**2 * (d + 3) * ell**2), relation="<"),
        inequality("normalised-share-d", 0, sp.diff(Rn_, d), sgn,
                   "dR/dd = (K+1)/(K (d+3)^2 ln^2 C) > 0: a larger d moves compute to the model.",
                   certificate=(K + 1) / (K * (d + 3) ** 2 * ell**2), relation="<"),
        inequality("normalised-width", sp.diff(Wn, K) + sp.diff(Wn, d), 0, gen,
                   "d ln n*/dK = -1/(2K(K+1)) < 0 and d ln n*/dd = -1/(2(d+1)) - 1/(2(d+3)) < 0: the optimal "
                   "width falls with both K and d on the normalised scale (their sum is checked; each has "
                   "the certificate's sign).",
                   certificate=1 / (2 * K * (K + 1)) + 1 / (2 * (d + 1)) + 1 / (2 * (d + 3)), relation="<"),
        numeric_values("optimum-agrees", "identity", sp.Symbol("p*"), sp.Symbol(r"\arg\min_p L(p, C/p)"),
                       "The Newton optimum used below (from the stationarity dL/d ln p = 0, L'' > 0, inside the "
                       "validity window) equals an independent grid-and-bracket minimisation of the law along "
                       "the budget, at 3 (scale, d, K, C) points.", pairs=_agreement_pairs, method="minimiser"),
        _optimum(value_inequalities("barron-exact-trends", sp.Symbol("(p*/T*, n*)(x)"),
                                    sp.Symbol("(p*/T*, n*)(x')"),
                           "Exact finite-C optimum, Barron scale, C = 1e12 and 1e24: p*/T* and n* increase along "
                           "K = 1/2, 1, ..., 64 (d = 8); p*/T* increases along d = 1, 2, ..., 64 (K = 32) and n* "
                           "decreases along d = 2, ..., 64 (numerical optimum, ours).",
                           pairs=lambda dps: (_along("barron", "K", "share", K_GRID, True)(dps)
                                              + _along("barron", "K", "n", K_GRID, True)(dps)
                                              + _along("barron", "d", "share", D_GRID, True)(dps)
                                              + _along("barron", "d", "n", D_GRID, False, start=1)(dps)),
                           relation="<", ours=True, method="minimiser")),
        _optimum(value_inequalities("normalised-exact-d-trend", sp.Symbol("(p*/T*, n*)(d)"),
                                    sp.Symbol("(p*/T*, n*)(d')"),
                           "Normalised scale, same budgets: p*/T* increases and n* decreases along d = 1, ..., 64 "
                           "(K = 32) (numerical optimum, ours).",
                           pairs=lambda dps: (_along("normalised", "d", "share", D_GRID, True)(dps)
                                              + _along("normalised", "d", "n", D_GRID, False)(dps)),
                           relation="<", ours=True, method="minimiser")),
        _optimum(value_inequalities("normalised-exact-K-reversal", sp.Symbol("(p*/T*, n*)(K)"),
                                    sp.Symbol("(p*/T*, n*)(K')"),
                           "Normalised scale, d = 8: p*/T* and n* fall from K = 1/2 to K = 4 but rise again from "
                           "K = 32 to 64 at both C = 1e12 and 1e24: the leading-order decrease in K is not yet "
                           "reached at these budgets (numerical optimum, ours).", pairs=_reversal_pairs,
                           relation="<", ours=True, method="minimiser")),
        asymptotic("normalised-share-asymptotic", sp.Symbol("p*/T*"), Rn,
                   "The exact normalised-scale share times ln^2 C tends to (K+1)(d+1)/(2K(d+3)) (d = 8, K = 64; "
                   "C = 1e12 .. 1e1536), so the decrease in K is the large-budget limit (ours).",
                   exact=_share_limit(8, 64)[0], leading=_share_limit(8, 64)[1], exponents=_TAIL, tolerance=0.01,
                   ours=True),
    )
    return Derivation(
        "dp-sensitivity", "Sensitivity of the infinite-width law's optimum to d and K, on both scales",
        "p*/T* ~ (d+1) s2/(2K(d+3) ln^2 C) and n*^2 ~ s2 C/(2K(d+1)(d+3) ln^2 C), s2 = K^2 d (Barron) or "
        "K + 1 (normalised): d moves compute to the model on both scales, K only on the Barron scale; the "
        "optimal width falls with d.", steps,
        conclusion={"share (leading)": sp.Eq(sp.Symbol("p^*/T^*"), (d + 1) * sp.Symbol("s_2")
                                             / (2 * K * (d + 3) * L2)),
                    "Barron": sp.Eq(sp.Symbol("p^*/T^*_{B}"), Rb),
                    "normalised": sp.Eq(sp.Symbol("p^*/T^*_{N}"), Rn)},
        notes=("Signs at leading order: Barron scale dR/dK > 0, dR/dd > 0, dn*/dK > 0, dn*/dd < 0 for d >= 2; "
               "normalised scale dR/dK < 0, dR/dd > 0, dn*/dK < 0, dn*/dd < 0.",
               "At C = 1e12 .. 1e24 the normalised-scale share is not monotone in K: it falls up to K of about "
               "8-32 and rises beyond (numerical optimum)."))
