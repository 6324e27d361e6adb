"""A law's proof routes in numbers: each route's optimum inside its validity window, and the best of them.

A law with routes (:class:`scaling_theory.theory.laws.Route`) is the minimum over them (docs/paper-setting.md,
"One bound is one proof"): at a budget ``C`` each route is minimised along ``cost = C`` inside its own window
``p >= min_model``, ``T >= min_data`` (so ``p <= C/min_data``), and the law's value there is the smallest
route optimum.  Every caller (``allocate``, ``derive``, ``latex``, ``reproduce``, ``bayes``) goes through
:func:`route_optima` and :func:`best_route`; none asks which law it has.

Each optimum is verified: an interior one by two root finders on ``dL/d ln p`` (the Illinois steps of
:func:`~scaling_theory.numeric.precision.budget.bracketed_root` after a sign scan, and mpmath's Ridders method
on a bracket around the result) that must agree to the working digits, plus the sign change of the derivative
(a minimum); an optimum at a window edge by the derivative's sign over the whole window (the route is monotone
there, so the edge is its minimum).

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> law = get_law("jeon-van-roy")
>>> opts = route_optima(law, law.parameters(None, {"d": 8, "K": 32}), 10**8)
>>> [(o.name, o.valid) for o in opts]
[('maurey', True), ('truncation', True)]
>>> best = best_route(opts)
>>> best.name, round(float(best.loss), 4), round(float(best.model / 9))
('truncation', 0.0746, 114)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import mpmath
import sympy as sp
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision.budget import BudgetCurve, minimum_in_log
from scaling_theory.numeric.precision.mpeval import (bind_constants, compile_expr, constant_value, exact_number, real,
                                                     sign, to_mpf)
from scaling_theory.theory.laws import Law, Route

__all__ = ["RouteOptimum", "route_optimum", "route_optima", "best_route", "smallest_budget", "route_switches",
           "informative_budget", "select_route", "route_value", "minimum_over_model", "scan_optimum",
           "check_evaluable", "MIN_DISCOUNT"]

_GUARD = 10
_GRID = 120
_SCAN_GRID = 60   # scans over many budgets (route switches, informative budget): a coarser sign scan


@dataclass(frozen=True)
class RouteOptimum:
    """The compute-optimal point of one route at one budget (``mpf`` values, ``None`` when not valid).

    Parameters
    ----------
    name : the route's name.
    valid : the route covers this budget (``C >= min_model * min_data``).
    model, data, loss : ``p*``, ``T* = C/p*`` and the route's bound there.
    boundary : ``None`` for an interior optimum, ``"lower"`` (at ``min_model``) or ``"upper"`` (at
        ``C/min_data``) when the route is monotone in its window.
    verified : the checks of the module docstring passed.
    agreement_digits : digits to which the two root finders agree (the working digits for an edge).
    method : how the optimum was found and checked, in words.
    """

    name: str
    valid: bool
    model: mpmath.mpf | None = None
    data: mpmath.mpf | None = None
    loss: mpmath.mpf | None = None
    boundary: str | None = None
    verified: bool = False
    agreement_digits: int = 0
    method: str = ""

    def to_json(self, digits: int = 12) -> dict:
        """``{name, p_star, T_star, L_star, valid, boundary, verified, method}`` (decimal strings)."""
        def s(x):
            return None if x is None else mpmath.nstr(x, digits, min_fixed=-4, max_fixed=16)
        return {"name": self.name, "p_star": s(self.model), "T_star": s(self.data), "L_star": s(self.loss),
                "valid": self.valid, "boundary": self.boundary, "verified": self.verified,
                "agreement_digits": self.agreement_digits, "method": self.method}


def smallest_budget(law: Law, values: Mapping, routes: Sequence[Route] | None = None) -> sp.Float:
    """The smallest budget any route of ``law`` (or of ``routes``) covers: ``min_model * min_data`` at the
    constants, smallest over the routes, as a 15-digit ``Float`` (evaluated in mpmath, so a huge constant
    such as ``d = 1e9`` costs nothing: :func:`~scaling_theory.numeric.precision.mpeval.constant_value`).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy-finite")
    >>> smallest_budget(law, law.parameters())
    68.0000000000000
    >>> float(smallest_budget(law, law.parameters(None, {"d": 10**9})))    # the direct route's K (d + 1) * 1
    4000000004.0
    """
    routes = law.routes if routes is None else tuple(routes)
    if not routes:
        raise UserInputError(f"law {law.name!r} has no routes")
    with mp.workdps(30):
        return sp.Float(min(lo * t_min for lo, t_min in (_window(r, values, 30) for r in routes)), 15)


MIN_DISCOUNT = sp.Rational(1, 10**6)
"""Smallest Pitman-Yor discount ``sigma`` the routes are evaluated at.  Their bounds hold Gamma functions of
``K/sigma`` and powers ``2/sigma``: the Maurey route's atom count ``kappa p^sigma - K/sigma`` cancels about
``log10(K/sigma)`` digits of the working precision, and the truncation route's tail bound takes exponentials of
about ``(2/sigma) ln(K/sigma)``, beyond the evaluator's ``1e15`` near ``sigma = 1e-14``.  Measured at ``d = 8``,
``K = 32``, ``C = 1e12``: the truncation route came out ``1.2e-9`` instead of ``5.1e-5`` at ``sigma = 1e-15``
(marked verified) and nan at ``1e-20``, the Maurey route ``2e-8`` off at ``1e-20`` and ``0.004`` instead of
``0.023`` at ``1e-300``.  The floor
keeps eight decades of margin; at ``sigma = 1e-6`` the law is within ``1e-5`` of its ``sigma -> 0`` limit, the
DP law ``jeon-van-roy``."""


def check_evaluable(law: Law, values: Mapping) -> None:
    """One-line :class:`UserInputError` when the constants are beyond what the routes can be evaluated at
    (:data:`MIN_DISCOUNT`).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy-pitman-yor")
    >>> check_evaluable(law, law.parameters(None, {"sigma": "1e-9"}))
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: sigma=1.0e-9 is below 1e-6, where the Pitman-Yor routes (Gamma functions of K/sigma, powers 2/sigma) lose more digits than the evaluation carries; sigma -> 0 is the DP law jeon-van-roy
    """
    sigma = law.symbols.get("sigma")
    value = values.get(sigma) if sigma is not None else None
    if value is not None and 0 < value < MIN_DISCOUNT:
        raise UserInputError(f"sigma={mpmath.nstr(to_mpf(value), 6)} is below 1e-6, where the Pitman-Yor routes (Gamma functions of K/sigma, "
                             "powers 2/sigma) lose more digits than the evaluation carries; sigma -> 0 is the DP law "
                             "jeon-van-roy")


def _window(route: Route, values: Mapping, dps: int) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``(min_model, min_data)`` of the route at the constants, as ``mpf`` at ``dps`` digits."""
    return constant_value(route.min_model, values, dps), constant_value(route.min_data, values, dps)


@functools.lru_cache(maxsize=64)
def _curve(expr: sp.Expr, model: sp.Symbol, data: sp.Symbol, cost: sp.Expr, key: tuple) -> BudgetCurve:
    return BudgetCurve(expr, model, data, cost=cost, env=dict(key))


def _key(values: Mapping) -> tuple:
    return tuple(sorted(values.items(), key=lambda kv: kv[0].name))


def route_optimum(law: Law, route: Route, values: Mapping, compute, *, digits: int = 20,
                  grid: int = _GRID) -> RouteOptimum:
    """One route's optimum at budget ``compute`` inside its validity window, verified (module docstring).

    Parameters
    ----------
    law : Law
        The law the route belongs to (its model, data and cost).
    route : Route
        One of ``law.routes``.
    values : Mapping
        ``{constant: exact value}`` for every constant of the route.
    compute : budget ``C`` (exact decimal string, int, float or SymPy number).
    digits : working significant digits.
    grid : points of the sign scan of ``dL/d ln p`` over the window (scans over many budgets use fewer).

    Returns
    -------
    RouteOptimum

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy-finite")
    >>> opt = route_optimum(law, law.route("direct"), law.parameters(), 10**12)
    >>> opt.boundary, mpmath.nstr(opt.model, 6), opt.verified
    ('lower', '68.0', True)
    """
    check_evaluable(law, values)
    C_exact = exact_number(compute)
    dps = digits + _GUARD
    with mp.workdps(dps):
        C = to_mpf(C_exact)
        lo, t_min = _window(route, values, dps)
        hi = C / t_min
        if not lo <= hi:
            return RouteOptimum(route.name, False, method=f"the route covers budgets from {mpmath.nstr(lo * t_min, 6)}")
        curve = _curve(route.expr, law.model, law.data, law.cost, _key(values))
        L_x, dL_dx, data_of = curve._compiled(C_exact)
        a, b = mp.log(lo), mp.log(hi)
        xs = [a + (b - a) * i / grid for i in range(grid + 1)] if b > a else [a]
        with mp.workdps(min(dps, 30)):
            signs = [sign(dL_dx, x) for x in xs]
        brackets = [(xs[i], xs[i + 1]) for i in range(len(xs) - 1) if signs[i] < 0 < signs[i + 1]]
        ends = sorted(((real(L_x(x)), x, "lower" if x == a else "upper") for x in {a, b}), key=lambda t: t[0])
        if brackets:
            x1 = minimum_in_log(L_x, dL_dx, xs, digits, law.model.name)
            L1 = real(L_x(x1))
            if L1 <= ends[0][0]:
                # an independent second root: Ridders' method on a bracket around x1
                step = (b - a) / grid
                near = (x1 - step, x1 + step)
                if not sign(dL_dx, near[0]) < 0 < sign(dL_dx, near[1]):
                    near = min(brackets, key=lambda ab: abs((ab[0] + ab[1]) / 2 - x1))
                x2 = _second_root(dL_dx, near)
                for shrink in (2**-8, 2**-16, 2**-32):
                    # Ridders stalls where dL/dln p spans hundreds of decades across the bracket (d = 1e400):
                    # again on a narrower sign-changing bracket around x1
                    if x2 is not None and abs(x1 - x2) < mpmath.mpf(10) ** (-digits) * max(1, abs(x1)):
                        break
                    tight = (x1 - step * shrink, x1 + step * shrink)
                    if sign(dL_dx, tight[0]) < 0 < sign(dL_dx, tight[1]):
                        x2 = _second_root(dL_dx, tight)
                rel = abs(x1 - x2) if x2 is not None else mpmath.mpf(1)
                agree = int(min(digits, math.floor(-mpmath.log10(rel)))) if rel > 0 else digits
                h = mpmath.mpf(10) ** (-(digits // 3)) * max(1, abs(x1))
                with mp.workdps(2 * dps):
                    is_min = real(dL_dx(x1 - h)) < 0 < real(dL_dx(x1 + h))
                p_star = mp.exp(x1)
                return RouteOptimum(route.name, True, +p_star, +real(data_of(p_star)), +L1, None,
                                    bool(is_min and agree >= digits - 2), agree,
                                    "interior: bracketed root of dL/dln p, checked by Ridders' method")
        L_end, x_end, side = ends[0]
        monotone = set(signs) - {0} <= ({1} if side == "lower" else {-1})
        p_star = mp.exp(x_end) if side == "upper" else lo
        T_star = real(data_of(p_star))
        return RouteOptimum(route.name, True, +p_star, +T_star, +real(L_end), side, bool(monotone), digits,
                            f"window edge ({'smallest model' if side == 'lower' else 'smallest valid T'}): "
                            "dL/dln p keeps one sign over the window")


def _second_root(dL_dx, bracket) -> mpmath.mpf | None:
    """A second root of ``dL/dx`` in ``bracket``, by mpmath's Ridders iteration (not the Illinois steps)."""
    try:
        with mp.workdps(mp.dps + 20):   # its own stopping rule: carry digits beyond the ones compared
            return +mpmath.findroot(lambda x: real(dL_dx(x)), bracket, solver="ridder", verify=False,
                                    tol=mpmath.mpf(2) ** (-mp.prec + 12), maxsteps=400)
    except (ValueError, ZeroDivisionError):
        return None


def route_optima(law: Law, values: Mapping, compute, *, digits: int = 20, grid: int = _GRID) -> list[RouteOptimum]:
    """Every route's optimum at ``compute`` (an empty list for a law without routes).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy-finite")
    >>> [o.name for o in route_optima(law, law.parameters(), 10**6)]
    ['maurey', 'direct']
    >>> route_optima(get_law("chinchilla"), {}, 10**20)
    []
    """
    return [route_optimum(law, r, values, compute, digits=digits, grid=grid) for r in law.routes]


def best_route(optima: Sequence[RouteOptimum]) -> RouteOptimum | None:
    """The valid route optimum with the smallest bound (the law's value at that budget); ``None`` if none."""
    valid = [o for o in optima if o.valid]
    return min(valid, key=lambda o: o.loss) if valid else None


def select_route(law: Law, name: str | None) -> tuple[Route, ...]:
    """``law.routes``, or only the route called ``name`` (one-line error listing the routes otherwise)."""
    if name is None:
        return law.routes
    return (law.route(name),)


def _log10_floor(law: Law, values: Mapping) -> float:
    return float(mpmath.log10(to_mpf(smallest_budget(law, values)))) + 1e-9


@functools.lru_cache(maxsize=64)
def _float_along(expr: sp.Expr, model: sp.Symbol, data: sp.Symbol, cost: sp.Expr, key: tuple):
    """``(f(x, C), T(x, C))``: the route along its budget in ``x = ln p`` with the constants bound, in floats."""
    C_, x_ = sp.Dummy("C", positive=True), sp.Dummy("x", real=True)
    [data_on_budget] = sp.solve(sp.Eq(cost, C_), data)
    env = dict(key)
    # the constants' parts folded to floats in mpmath (never SymPy's exact gamma at a huge d)
    along = bind_constants(expr.xreplace({data: data_on_budget}).xreplace({model: sp.exp(x_)}), {x_, C_}, env, 20)
    data_along = bind_constants(data_on_budget.xreplace({model: sp.exp(x_)}), {x_, C_}, env, 20)
    return sp.lambdify((x_, C_), along, modules="math"), sp.lambdify((x_, C_), data_along, modules="math")


def scan_optimum(law: Law, route: Route, values: Mapping, compute, *, grid: int = 160) -> RouteOptimum:
    """A route's optimum in double precision, for scans over many budgets (:func:`route_switches`,
    :func:`informative_budget`): a grid in ``ln p`` over the window, then Brent's method around the grid's
    best point (scipy); about 1e-8 relative in ``L*``.  Falls back to :func:`route_optimum` where floats
    overflow.

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy")
    >>> v = law.parameters(None, {"d": 8, "K": 32})
    >>> exact = route_optimum(law, law.route("truncation"), v, 10**8)
    >>> fast = scan_optimum(law, law.route("truncation"), v, 10**8)
    >>> abs(float(fast.loss) / float(exact.loss) - 1) < 1e-8
    True
    """
    from scipy.optimize import minimize_scalar

    check_evaluable(law, values)
    C = float(compute)
    lo, t_min = (float(v) for v in _window(route, values, 20))
    if not (math.isfinite(C) and math.isfinite(lo) and 0 < t_min < math.inf and C / t_min >= lo):
        return route_optimum(law, route, values, compute, digits=15)
    try:
        f, data_of = _float_along(route.expr, law.model, law.data, law.cost, _key(values))
        a, b = math.log(lo), math.log(C / t_min)
        xs = [a + (b - a) * i / grid for i in range(grid + 1)] if b > a else [a]
        Ls = [f(x, C) for x in xs]
        if not all(math.isfinite(v) for v in Ls):
            raise OverflowError
        i = min(range(len(xs)), key=Ls.__getitem__)
        x_best, L_best, side = xs[i], Ls[i], ("lower" if i == 0 else "upper" if i == len(xs) - 1 else None)
        if side is None:
            res = minimize_scalar(lambda x: f(x, C), bounds=(xs[i - 1], xs[i + 1]), method="bounded",
                                  options={"xatol": 1e-12 * max(1.0, abs(xs[i]))})
            if res.fun <= L_best:
                x_best, L_best = float(res.x), float(res.fun)
        p = math.exp(x_best)
        return RouteOptimum(route.name, True, mpmath.mpf(p), mpmath.mpf(data_of(x_best, C)), mpmath.mpf(L_best),
                            side, True, 8, "double precision: grid in ln p, then Brent's method")
    except (OverflowError, ValueError, ZeroDivisionError, TypeError):
        return route_optimum(law, route, values, compute, digits=15)


def _scan_optima(law: Law, values: Mapping, x: float) -> list[RouteOptimum]:
    C = _budget(x)
    if x < 300:
        return [scan_optimum(law, r, values, C) for r in law.routes]
    return route_optima(law, values, C, digits=15, grid=_SCAN_GRID)


def route_switches(law: Law, values: Mapping, *, top: float = 1e60, digits: int = 15,
                   points: int = 30) -> list[dict]:
    """Budgets where the best route changes, from the smallest budget the law covers up to ``top``.

    A scan over ``points`` budgets evenly spaced in ``log10 C``, each change refined by bisection.

    Returns
    -------
    list of ``{"C": float, "from": name, "to": name}`` (``from`` is ``None`` at the first budget covered).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy")
    >>> sw = route_switches(law, law.parameters(None, {"d": 8, "K": 32}), top=1e30)
    >>> [(s["from"], s["to"]) for s in sw]
    [(None, 'truncation')]
    """
    lo, hi = _log10_floor(law, values), math.log10(top)

    def who(x):
        b = best_route(_scan_optima(law, values, x))
        return b.name if b is not None else None

    xs = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    names = [who(x) for x in xs]
    out = [{"C": 10 ** lo, "from": None, "to": names[0]}]
    for i in range(1, len(xs)):
        if names[i] != names[i - 1]:
            a, b = xs[i - 1], xs[i]
            for _ in range(40):
                m = (a + b) / 2
                a, b = (m, b) if who(m) == names[i - 1] else (a, m)
                if b - a < 1e-3:
                    break
            out.append({"C": 10 ** b, "from": names[i - 1], "to": names[i]})
    return out


def _budget(x: float):
    return sp.Float(10 ** x, 30) if x < 300 else sp.Integer(10) ** int(x)


def informative_budget(law: Law, values: Mapping, trivial: float, *, top: float = 1e60,
                       digits: int = 15) -> float | None:
    """Smallest budget at which the law (its best route) falls below ``trivial``; ``None`` above ``top``.

    Bisection in ``log10 C`` on the best route's optimal bound (which falls with ``C``).

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy")
    >>> c = informative_budget(law, law.parameters(None, {"d": 8, "K": 32}), 0.5)
    >>> 1e6 < c < 1e8
    True
    """
    lo, hi = _log10_floor(law, values), math.log10(top)

    def L(x):
        return float(best_route(_scan_optima(law, values, x)).loss)

    if L(lo) <= trivial:
        return 10 ** lo
    if L(hi) > trivial:
        return None
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if L(mid) <= trivial else (mid, hi)
        if hi - lo < 1e-3:
            break
    return 10 ** hi


def route_value(law: Law, route: Route, values: Mapping, model, data, *, dps: int = 30) -> float | None:
    """The route's bound at one cell ``(model, data)``, or ``None`` outside its validity window.

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy-finite")
    >>> v = law.parameters(None, {"d": 2, "K": 2})
    >>> route_value(law, law.route("direct"), v, 3, 1000) is None      # n = 1 < K: not the direct route's
    True
    >>> 0 < route_value(law, law.route("direct"), v, 6, 1000) < route_value(law, law.route("maurey"), v, 6, 1000)
    True
    """
    check_evaluable(law, values)
    with mp.workdps(dps):
        p_lo, t_lo = _window(route, values, dps)
        if not (mpmath.mpf(model) >= p_lo * (1 - mpmath.mpf(10) ** (-dps + 5)) and mpmath.mpf(data) >= t_lo):
            return None
        L = compile_expr(route.expr, law.model, {**values, law.data: exact_number(data)})
        return float(real(L(mpmath.mpf(model))))


def minimum_over_model(law: Law, route: Route, values: Mapping, data, *, dps: int = 30
                       ) -> tuple[float, float] | None:
    """``(min_p L(p, T), argmin)`` of one route at a fixed sample count ``T = data``, over its window
    ``p >= min_model`` (a sign scan of ``dL/dp`` over 70 e-folds of ``p``, then a bracketed root; the window's
    lower end when ``L`` rises there, its far end when ``L`` keeps falling); ``None`` when ``T`` is below the
    route's ``min_data``.

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> law = get_law("jeon-van-roy")
    >>> v = law.parameters(None, {"d": 2, "K": 2})
    >>> L, p = minimum_over_model(law, law.route("truncation"), v, 1000)
    >>> bool(0 < L < 1 and p >= 3)
    True
    """
    from scaling_theory.numeric.precision.budget import bracketed_root

    check_evaluable(law, values)
    with mp.workdps(dps):
        p_min, t_lo = _window(route, values, dps)
        if not mpmath.mpf(data) >= t_lo:
            return None
        env = {**values, law.data: exact_number(data)}
        L = compile_expr(route.expr, law.model, env)
        dL = compile_expr(sp.diff(route.expr, law.model), law.model, env)
        u0 = mp.log(p_min)
        us = [u0 + mpmath.mpf(i) / 10 for i in range(0, 701)]

        def g(u):
            return dL(mp.exp(u))

        signs = [sign(g, u) for u in us]
        if signs[0] >= 0 and all(s >= 0 for s in signs):
            p_star = p_min
        else:
            i = next((k for k in range(len(us) - 1) if signs[k] < 0 <= signs[k + 1]), None)
            p_star = mp.exp(us[-1]) if i is None else mp.exp(bracketed_root(lambda u: real(g(u)), us[i], us[i + 1]))
            if signs[0] >= 0 and real(L(p_min)) < real(L(p_star)):
                p_star = p_min
        return float(real(L(p_star))), float(p_star)
