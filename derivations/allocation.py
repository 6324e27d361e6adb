"""Compute-optimal allocation of the finite law's Maurey route (and of the DP law ``jeon-van-roy``), checked.

Finite law, Maurey route: ``L(p, T) = A/p + (B + beta ln T + K ln p)/T`` (constants ours, see :mod:`scaling_theory.theory.jeon_van_roy`)
with budget ``p T = C``.  Along the budget ``dL/dp = -A/p^2 + (c + (K - beta) ln p)/C`` with
``c = B + K - beta + beta ln C``.  With ``y = A C/p^2`` the stationarity condition is
``y - lambda ln y = c'`` where ``lambda = (beta - K)/2`` and ``c' = c - lambda ln(A C)``, solved by

    y* = -lambda W_k(-exp(-c'/lambda)/lambda),   k = -1 if lambda > 0 (d >= 2), k = 0 if lambda < 0,

(``y* = c'`` when ``lambda = 0``); ``p* = sqrt(A C/y*)``, ``T* = C/p* = sqrt(C y*/A)``.  Since
``y* > lambda`` on that branch, ``L''(p*) = 2(y* - lambda)/(C p*) > 0``: a minimum.  As ``C -> oo``,
``y* ~ (beta + K)/2 ln C``, so

    p* ~ sqrt(2 A C/((beta + K) ln C)),   T* ~ sqrt((beta + K) C ln C/(2 A)),

exponents ``a = b = 1/2`` (the paper's "linear" compute-optimal scaling), with log corrections
``(ln C)^(-1/2)`` for the model and ``(ln C)^(+1/2)`` for the data (ours).  The local exponent is
``a(C) = 1/2 - (beta - lambda)/(2 (y* - lambda))``.  For the DP law ``p*^2 ~ 8 A C/(K (d+3) ln^2 C)``
with ``A = (d+1) s2/16``.

References
----------
Jeon & Van Roy, arXiv:2212.01365 (claim: linear allocation up to logs); docs/paper-setting.md "Ours".
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp
from mpmath import mp

from scaling_theory.derivations.core import (Derivation, asymptotic, identity, inequality, numeric_values,
                                             value_inequalities)
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.numeric.precision.budget import optimum_on_budget
from scaling_theory.theory.jeon_van_roy import (K, K_dp, T, VALIDITY_T, d, direct_bound, dp_scale_moments,
                                                large_T_coefficients, p, second_moment, unit_scale_mean,
                                                validity_T)
from scaling_theory.errors import UserInputError
from scaling_theory.theory.registry import get_law

__all__ = ["derivation", "optimal_allocation", "dp_optimum", "closed_form", "C", "GRID_SETS"]

C = sp.Symbol("C", positive=True)
A_, B_, beta_, y_, lam_ = sp.symbols("A B beta y lambda", positive=True)
GRID_SETS = ((16, 4), (4, 1), (1, 3), (1, 1), (64, 16), (8, 2))
_BUDGETS = (10, 12, 20, 40)


@functools.lru_cache(maxsize=512)
def _coefficients(dv: int, Kv: int, dps: int) -> tuple:
    c = large_T_coefficients(sp.Integer(dv), sp.Integer(Kv))
    with mp.workdps(dps):
        return tuple(mpmath.mpf(str(sp.N(c[k], dps + 15))) for k in ("A", "B", "beta"))


def optimal_allocation(dv: int, Kv: int, compute, dps: int = 50) -> dict:
    """Closed-form optimum of ``jeon-van-roy-finite`` (Maurey route) at ``d = dv``, ``K = Kv``, budget ``compute`` (mpf values).

    Raises :class:`UserInputError` for ``d``/``K`` outside the law's domain or a non-positive budget.
    Returns ``p``, ``T``, ``n`` (= p/(d+1)), ``y``, ``lam``, ``A``, ``beta``, ``share`` (= p/T) and the
    local exponents ``a``, ``b``.  Raises ``ValueError`` if the budget is too small for an interior minimum.

    Examples
    --------
    >>> r = optimal_allocation(16, 4, 10**12, dps=30)
    >>> mpmath.nstr(r["p"], 8), mpmath.nstr(r["a"], 4)
    ('580065.7', '0.4838')
    """
    get_law("jeon-van-roy-finite").parameters(None, {"d": dv, "K": Kv})  # UserInputError outside d >= 1, K >= 1
    with mp.workdps(dps + 10):
        A, B, beta = _coefficients(int(dv), int(Kv), dps + 10)
        Cm = mpmath.mpf(compute)
        if not (mpmath.isfinite(Cm) and Cm > 0):
            raise UserInputError(f"compute must be a positive finite number, got {compute}")
        lam = (beta - Kv) / 2
        cprime = B + Kv - beta + beta * mpmath.log(Cm) - lam * mpmath.log(A * Cm)
        if lam == 0:
            y = cprime
        else:
            arg = -mpmath.exp(-cprime / lam) / lam
            if lam > 0 and arg < -1 / mpmath.e:
                raise ValueError("budget too small: no interior minimum of the jeon-van-roy law")
            y = mpmath.re(-lam * mpmath.lambertw(arg, -1 if lam > 0 else 0))
        if y <= 0:
            raise ValueError("budget too small: no interior minimum of the jeon-van-roy law")
        pstar = mpmath.sqrt(A * Cm / y)
        a = mpmath.mpf(1) / 2 - (beta - lam) / (2 * (y - lam))
        out = {"p": pstar, "T": Cm / pstar, "n": pstar / (dv + 1), "y": y, "lam": lam, "A": A, "beta": beta,
               "share": A / y, "a": a, "b": 1 - a}
    with mp.workdps(dps):
        return {k: +v for k, v in out.items()}


def dp_optimum(dv: int, Kv, compute, dps: int = 50):
    """Numerical optimum ``(p, T, L)`` of the DP law ``jeon-van-roy`` inside its validity region (mpmath)."""
    law = get_law("jeon-van-roy")
    Kq = sp.nsimplify(Kv, rational=True)
    expr = law.expr.subs({d: dv, K_dp: Kq})
    t0 = mpmath.mpf(str(sp.N(validity_T("dp", "barron", sp.Integer(dv), Kq), 30)))
    lo = (dv + 1) * max(1, mpmath.mpf(Kv))   # validity: n >= max(1, K)
    return optimum_on_budget(expr, p, T, compute, lo=lo, hi=mpmath.mpf(compute) / t0, dps=dps)


def closed_form() -> dict[str, sp.Expr]:
    """Symbolic ``y*, p*, T*`` (branch ``W_{-1}``, i.e. ``lambda > 0``) and leading-order forms."""
    lam = (beta_ - K) / 2
    cprime = B_ + K - beta_ + beta_ * sp.log(C) - lam * sp.log(A_ * C)
    ystar = -lam * sp.LambertW(-sp.exp(-cprime / lam) / lam, -1)
    return {"y*": ystar, "p*": sp.sqrt(A_ * C / ystar), "T*": sp.sqrt(C * ystar / A_),
            "p* (leading)": sp.sqrt(2 * A_ * C / ((beta_ + K) * sp.log(C))),
            "T* (leading)": sp.sqrt((beta_ + K) * C * sp.log(C) / (2 * A_))}


def _lambert_pairs(dps):
    out = []
    for dv, Kv in GRID_SETS:
        for k in _BUDGETS:
            r = optimal_allocation(dv, Kv, mpmath.mpf(10) ** k, dps)
            A, B, beta = _coefficients(dv, Kv, dps + 10)
            Cm = mpmath.mpf(10) ** k
            cprime = B + Kv - beta + beta * mpmath.log(Cm) - r["lam"] * mpmath.log(A * Cm)
            out.append((r["y"] - r["lam"] * mpmath.log(r["y"]), cprime))
    return out


def _minimiser_pairs(dps):
    law = get_law("jeon-van-roy-finite")
    out = []
    for dv, Kv in GRID_SETS[:4]:
        expr = law.expr.subs({d: dv, K: Kv})
        for k in (10, 20):
            Cm = mpmath.mpf(10) ** k
            pn, _, _ = optimum_on_budget(expr, p, T, Cm, lo=dv + 1, hi=Cm / VALIDITY_T.evalf(20), dps=dps)
            out.append((optimal_allocation(dv, Kv, Cm, dps)["p"], pn))
    return out


def _second_order_pairs(dps):
    optima = (optimal_allocation(dv, Kv, mpmath.mpf(10) ** k, dps) for dv, Kv in GRID_SETS for k in _BUDGETS)
    return [(r["lam"], r["y"]) for r in optima]


def _validity_pairs(dps):
    out = []
    for dv, Kv in GRID_SETS:
        for k in _BUDGETS:
            r = optimal_allocation(dv, Kv, mpmath.mpf(10) ** k, dps)
            out += [(8 * mpmath.pi**2, r["T"]), (1, r["n"])]
    return out


def _exponent_pairs(dps):
    out = []
    for dv, Kv in ((16, 4), (1, 3), (1, 1)):
        for k in (12, 30):
            x0 = mpmath.log(mpmath.mpf(10) ** k)
            slope = mpmath.diff(lambda x: mpmath.log(optimal_allocation(dv, Kv, mpmath.exp(x), mp.dps)["p"]), x0)
            out.append((slope, optimal_allocation(dv, Kv, mpmath.exp(x0), dps)["a"]))
    return out


_TAIL = (10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120)


def _lead_p(dv, Kv):
    def f(Cm):
        A, _, beta = _coefficients(dv, Kv, mp.dps)
        return mpmath.sqrt(2 * A * Cm / ((beta + Kv) * mpmath.log(Cm)))
    return f


def _lead_T(dv, Kv):
    def f(Cm):
        A, _, beta = _coefficients(dv, Kv, mp.dps)
        return mpmath.sqrt((beta + Kv) * Cm * mpmath.log(Cm) / (2 * A))
    return f


def _dp_lead(dv, Kv):
    def f(Cm):
        s2 = dp_scale_moments(sp.Integer(dv), sp.Integer(Kv))[0]
        A = (dv + 1) * mpmath.mpf(str(sp.N(s2, mp.dps + 10))) / 16
        return mpmath.sqrt(8 * A * Cm / (Kv * (dv + 3) * mpmath.log(Cm) ** 2))
    return f


_S, _MU = sp.symbols("S mu_b", positive=True)


def _direct_numerator():
    """``N(T) = T * direct_bound(T)`` of the finite teacher's direct route, for any ``S = E[V^2]`` and
    ``mu_b = E|a| ||w||`` (the claim holds for every positive value of both)."""
    return (K * d / 2 + K / 2 + K * d * sp.log(1 + sp.sqrt(_S * T / (2 * K * d))) + K * sp.log(2)
            + K * sp.log(1 + _MU * sp.sqrt(T / 32)) + K)


def _direct_loss(dv, Kv):
    expr = direct_bound(T, sp.Integer(dv), sp.Integer(Kv))
    f = sp.lambdify(T, expr, modules="mpmath")
    return lambda Cm: f(Cm / (Kv * (dv + 1)))


def derivation() -> Derivation:
    """The compute-optimal allocation of the ``jeon-van-roy`` law under ``p T = C``: the Lambert-W root
    ``y*``, ``p* = sqrt(A C/y*)``, that it is a minimum, and the leading orders
    ``p* ~ sqrt(2AC/((beta+K) ln C))``, ``T* ~ sqrt((beta+K) C ln C/(2A))`` -- exponents 1/2 up to logs
    (the paper's "linear" scaling, Jeon & Van Roy, arXiv:2212.01365; log corrections ours, docs/paper-setting.md "Ours").

    Returns
    -------
    Derivation
        ``jeon-van-roy-allocation``: 16 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('jeon-van-roy-allocation', 16, 8)
    >>> [s.name for s in der.steps][:2]
    ['budget-derivative', 'stationarity-in-y']
    """
    law_form = A_ / p + (B_ + beta_ * sp.log(T) + K * sp.log(p)) / T
    along = law_form.subs(T, C / p)
    generic = {A_: Box(0.1, 1e6, log=True), B_: Box(0.1, 1e4, log=True), beta_: Box(1, 1e4, log=True),
               K: Box(1, 64, integer=True), p: Box(1, 1e15, log=True), C: Box(1e6, 1e40, log=True)}
    lam = (beta_ - K) / 2
    cprime = B_ + K - beta_ + beta_ * sp.log(C) - lam * sp.log(A_ * C)
    p_of_y = sp.sqrt(A_ * C / y_)
    reduced_dom = {A_: Box(0.1, 1e6, log=True), B_: Box(0.1, 1e4, log=True), beta_: Box(1, 1e4, log=True),
                   K: Box(1, 64, integer=True), y_: Box(0.5, 1e5, log=True), C: Box(1e6, 1e40, log=True)}
    cf = closed_form()
    lead_p = cf["p* (leading)"]
    steps = (
        identity("budget-derivative", sp.diff(along, p),
                 -A_ / p**2 + (B_ + K - beta_ + beta_ * sp.log(C) + (K - beta_) * sp.log(p)) / C, generic,
                 "Substitute T = C/p (cost p*T) and differentiate in p."),
        identity("stationarity-in-y", (C * p**2 * sp.diff(along, p)).subs(p, p_of_y),
                 A_ * C / y_ * (cprime - y_ + lam * sp.log(y_)), reduced_dom,
                 "With y = A C/p^2 the condition dL/dp = 0 reads y - lambda ln y = c', lambda = (beta - K)/2."),
        numeric_values("lambert-w-root", "identity", y_ - lam * sp.log(y_), cprime,
                       "y* = -lambda W_{-1}(-exp(-c'/lambda)/lambda) solves it for lambda > 0; W_0 in its place "
                       "for lambda < 0; y* = c' for lambda = 0. Checked for 6 (d, K) pairs covering the three "
                       "cases and C = 1e10 .. 1e40.", pairs=_lambert_pairs, method="lambert-w"),
        numeric_values("closed-form-is-optimum", "identity", sp.Symbol("p*"), sp.Symbol(r"\arg\min_p L(p, C/p)"),
                       "The closed form equals an independent mpmath minimisation of L along the budget inside the "
                       "validity region (n >= 1, T >= 8 pi^2), at C = 1e10 and 1e20 for 4 (d, K) pairs.",
                       pairs=_minimiser_pairs, method="minimiser", ours=True),
        identity("second-derivative", (C * p * sp.diff(along, p, 2)).subs(p, p_of_y), 2 * (y_ - lam), reduced_dom,
                 "C p L''(p) = 2 (y - lambda) at p = sqrt(A C/y)."),
        value_inequalities("minimum", lam, y_,
                           "On the chosen branch y* > lambda: W_{-1} < -1, and W_0 > -1 with lambda < 0. So "
                           "L''(p*) > 0, a minimum; checked for the grid.", pairs=_second_order_pairs,
                           relation="<"),
        value_inequalities("optimum-in-validity-region", sp.Symbol(r"(8\pi^2, 1)"), sp.Symbol("(T*, n*)"),
                           "At C >= 1e10 the optimum has T* >= 8 pi^2 and n* >= 1, where the law is a valid "
                           "bound (ours).", pairs=_validity_pairs, ours=True),
        numeric_values("local-exponent", "identity", sp.Symbol(r"\frac{d \ln p^*}{d \ln C}"),
                       sp.Rational(1, 2) - (beta_ - lam) / (2 * (y_ - lam)),
                       "Implicit differentiation of y - lambda ln y = c' (dc'/d ln C = beta - lambda); checked "
                       "against numerical differentiation of ln p*(C).", pairs=_exponent_pairs,
                       method="numerical-derivative"),
        identity("leading-exponent", C * sp.diff(sp.log(lead_p), C), sp.Rational(1, 2) - 1 / (2 * sp.log(C)),
                 {A_: Box(0.1, 1e6, log=True), beta_: Box(1, 1e4, log=True), K: Box(1, 64, integer=True),
                  C: Box(10, 1e300, log=True)},
                 "The leading-order p* ~ sqrt(2AC/((beta+K) ln C)) has local exponent 1/2 - 1/(2 ln C) -> 1/2."),
        asymptotic("model-asymptotic", sp.Symbol("p*"), lead_p,
                   "y* = c' + lambda ln y* and c' ~ (beta + K)/2 ln C give p* ~ sqrt(2 A C/((beta+K) ln C)) "
                   "(d = 16, K = 4; C = 1e10 .. 1e5120) (ours).",
                   exact=lambda Cm: optimal_allocation(16, 4, Cm, mp.dps)["p"], leading=_lead_p(16, 4),
                   exponents=_TAIL, tolerance=1e-3, ours=True),
        asymptotic("data-asymptotic", sp.Symbol("T*"), cf["T* (leading)"],
                   "T* = C/p* ~ sqrt((beta+K) C ln C/(2A)) (d = 16, K = 4) (ours).",
                   exact=lambda Cm: optimal_allocation(16, 4, Cm, mp.dps)["T"], leading=_lead_T(16, 4),
                   exponents=_TAIL, tolerance=1e-3, ours=True),
        asymptotic("exponents-limit", sp.Symbol("a(C)"), sp.Rational(1, 2),
                   "a(C) = 1/2 - (beta - lambda)/(2(y* - lambda)) -> 1/2 and b(C) = 1 - a(C) -> 1/2: linear "
                   "compute-optimal scaling p* ~ T* ~ sqrt(C) up to logs, as the abstract states (d = 16, K = 4).",
                   exact=lambda Cm: optimal_allocation(16, 4, Cm, mp.dps)["a"], leading=lambda Cm: mpmath.mpf(1) / 2,
                   exponents=_TAIL, tolerance=1e-3),
        asymptotic("dp-model-asymptotic", sp.Symbol("p*_DP"),
                   sp.sqrt(8 * A_ * C / (K * (d + 3) * sp.log(C) ** 2)),
                   "DP law (A = (d+1) s2/16, s2 = E[a^2 ||w||^2] = d): the atom count K ln n multiplies "
                   "((d+1)/2) ln T + ln n, so the estimation term is ~ K (d+3) ln^2 C/(8T) and "
                   "p*^2 ~ 8 A C/(K (d+3) ln^2 C): exponents 1/2 again, log correction 1/ln C (ours). Numerical "
                   "optimum (mpmath) for d = 16, K = 4.",
                   exact=lambda Cm: dp_optimum(16, 4, Cm, mp.dps)[0], leading=_dp_lead(16, 4),
                   exponents=_TAIL, tolerance=1e-3, ours=True),
        identity("direct-numerator", T * direct_bound(), _direct_numerator().subs(
                     {_S: second_moment(), _MU: unit_scale_mean()}),
                 {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True), T: Box(1, 1e15, log=True)},
                 "The direct route is N(T)/T with N(T) = K d/2 + K/2 + K d ln(1 + sqrt(S T/(2Kd))) + K ln 2 + "
                 "K ln(1 + mu_b sqrt(T/32)) + K, S = E[V^2], mu_b = E|a| ||w|| (ours).", ours=True),
        inequality("direct-decreasing-in-T", T * sp.diff(_direct_numerator(), T), _direct_numerator(),
                   {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True), T: Box(1e-6, 1e15, log=True),
                    _S: Box(1e-3, 1e8, log=True), _MU: Box(1e-3, 1e4, log=True)},
                   "The direct width-K route is N(T)/T with T N'(T) <= N(T) (each ln(1 + c sqrt T) contributes at "
                   "most 1/2 per unit of its coefficient to T N', and N carries K d/2 + K/2 + K ln 2 + K besides): "
                   "it falls with T at every T > 0, so under p T = C its optimum is the smallest model that "
                   "represents the teacher, p* = K(d+1), T* = C/(K(d+1)) (model exponent 0) (ours).", ours=True,
                   points=40),
        asymptotic("direct-leading-loss", sp.Symbol("L*_direct"),
                   K**2 * (d + 1)**2 * sp.log(C) / (2 * C),
                   "At p* = K(d+1): L* = N(T*)/T* with N(T) ~ K(d+1) ln(T)/2, so L* ~ K^2 (d+1)^2 ln C/(2C) "
                   "(d = 16, K = 4; C = 1e10 .. 1e5120) (ours).",
                   exact=_direct_loss(16, 4), leading=lambda Cm: 16 * 17**2 * mpmath.log(Cm) / (2 * Cm),
                   exponents=_TAIL, tolerance=0.02, ours=True),
    )
    return Derivation(
        "jeon-van-roy-allocation", "Compute-optimal allocation of the Jeon-Van Roy bound",
        "p* and T* in closed form via Lambert W; both ~ sqrt(C) up to (ln C)^(-/+1/2); exponents 1/2.",
        steps,
        conclusion={"p*": sp.Eq(sp.Symbol("p^*"), cf["p*"]), "T*": sp.Eq(sp.Symbol("T^*"), cf["T*"]),
                    "y*": sp.Eq(sp.Symbol("y^*"), cf["y*"]),
                    "p* leading": sp.Eq(sp.Symbol("p^*"), lead_p),
                    "T* leading": sp.Eq(sp.Symbol("T^*"), cf["T* (leading)"]),
                    "model exponent": sp.Eq(sp.Symbol("a"), sp.Rational(1, 2)),
                    "data exponent": sp.Eq(sp.Symbol("b"), sp.Rational(1, 2)),
                    "DP p* leading": sp.Eq(sp.Symbol("p^*_{DP}"),
                                           sp.sqrt(8 * A_ * C / (K * (d + 3) * sp.log(C) ** 2)))},
        notes=("A, B, beta are the registered law's coefficients: A = (d+1) E[V^2]/16, beta = (Kd+1)/2 (ours).",
               "Branch: lambda = (beta - K)/2 = (K(d-2) + 1)/4 > 0 whenever d >= 2 (W_{-1}); d = 1 gives "
               "lambda = (1 - K)/4 <= 0 (W_0, or y* = c' at K = 1)."))
