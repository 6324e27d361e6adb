"""The compute-optimal allocation in numbers, at high precision (mpmath), verified independently.

:func:`allocate` evaluates the symbolic optimum of :func:`scaling_theory.theory.allocation.compute_optimal_allocation`
(the closed form, or the root of its implicit equation) for concrete constants and a budget ``C``,
and cross-checks it against an *independent* numerical minimisation of the original law along the
budget curve: in ``x = ln N`` the derivative ``d/dx L(e^x, g(e^x, C))`` of the full law (no
reduction, no closed form) is bracketed on a grid (its window follows the budget and the
constants' magnitudes) and its root refined by a bracketing solver that stops on the bracket
width, never on ``|f|`` (tiny at ``C = 1e300``). Both values, their relative agreement and the
digits used are reported.

The symbolic optimum stays general in the constants (derived once, cached); the constants are
bound as ``mpf`` when evaluating, so SymPy never raises exact rationals such as
``3392187463/10**10`` to symbolic powers. All arithmetic runs inside ``mp.workdps(...)`` with guard
digits, and is repeated at higher precision until stable (cancellation in very flat laws);
budgets and constants are converted from exact decimals, so ``1e300`` or ``1e-30`` lose nothing.

Examples
--------
>>> res = allocate("chinchilla", "5.76e23", digits=30)
>>> res.verified, res.digits
(True, 30)
>>> res.to_json()["model"]
'32189859151.3681902489913229397'

References
----------
.. [1] J. Hoffmann et al., arXiv:2203.15556 (2022), Eq. (4) (the closed form being checked).
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import mpmath
import sympy as sp
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision.budget import adaptive, bracketed_root, log_grid, minimum_in_log
from scaling_theory.numeric.precision.mpeval import compile_expr, exact_number, real, sign, to_mpf
from scaling_theory.theory.allocation import Allocation, compute_optimal_allocation
from scaling_theory.theory.laws import Law
from scaling_theory.theory.registry import Resolved, resolve

__all__ = ["NumericAllocation", "allocate", "MIN_DIGITS", "MAX_DIGITS", "exact_number"]

MIN_DIGITS, MAX_DIGITS = 15, 4000   # Python prints ints of at most 4300 digits
_GUARD = 15             # extra decimal digits carried internally


@dataclass(frozen=True)
class NumericAllocation:
    """The optimum at concrete constants and budget (``mpf`` values at ``digits`` precision).

    ``model``/``data``/``loss`` come from the symbolic result (closed form or implicit root);
    ``model_check``/``loss_check`` from the independent minimisation; ``relative_agreement`` is
    ``|model - model_check| / model`` and ``verified`` says it is below ``10**-digits`` and the
    point is a minimum.

    Examples
    --------
    >>> res = allocate("chinchilla", "5.76e23", digits=20)
    >>> res.verified, res.to_json()["model"]   # decimal strings at the full working precision
    (True, '32189859151.368190249')
    """

    law: str
    model_symbol: str
    data_symbol: str
    compute: mpmath.mpf
    model: mpmath.mpf
    data: mpmath.mpf
    loss: mpmath.mpf
    ratio: mpmath.mpf
    digits: int
    verified: bool
    model_check: mpmath.mpf
    loss_check: mpmath.mpf
    relative_agreement: mpmath.mpf
    agreement_digits: int
    method: str
    closed_form: bool
    param_set: str | None = None
    overridden: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)
    # laws with routes (scaling_theory.numeric.precision.routes): the headline above is the route's called
    # ``route``; ``routes`` holds every route's optimum at this budget
    route: str | None = None
    routes: tuple = ()
    # laws that bound a teacher (scaling_theory.numeric.precision.teacher_bounds), None otherwise
    trivial_error: float | None = None
    trivial_error_stderr: float | None = None
    informative: bool | None = None

    def _rows(self) -> list[tuple[str, str]]:
        j = self.to_json()
        return [("compute C", j["compute"]), (f"{self.model_symbol}*", j["model"]), (f"{self.data_symbol}*", j["data"]),
                ("loss L*", j["loss"]), (f"{self.model_symbol}*/{self.data_symbol}*", j["ratio"]),
                ("independent check", j["model_check"]),
                ("agreement", f"{self.agreement_digits} digits ({'verified' if self.verified else 'NOT verified'})"),
                ("parameter set", str(self.param_set)), ("method", self.method)]

    def _repr_markdown_(self) -> str:
        """A two-column table (Jupyter), values at the full working precision.

        Examples
        --------
        >>> print(allocate("chinchilla", "5.76e23", digits=20)._repr_markdown_().splitlines()[5])
        | N* | 32189859151.368190249 |
        """
        head = [f"**{self.law}** at {self.digits} digits", "", "| quantity | value |", "|---|---|"]
        return "\n".join(head + [f"| {k} | {v} |" for k, v in self._rows()])

    def _repr_html_(self) -> str:
        """The same table in HTML."""
        import html

        rows = "".join(f"<tr><td>{html.escape(k)}</td><td><code>{html.escape(v)}</code></td></tr>"
                       for k, v in self._rows())
        return (f"<p><b>{html.escape(self.law)}</b> at {self.digits} digits</p>"
                f"<table><tr><th>quantity</th><th>value</th></tr>{rows}</table>")

    def to_json(self) -> dict:
        """Decimal strings with ``digits`` significant digits; booleans and ints as such."""
        def s(x):
            return _decimal(x, self.digits)
        return {
            "law": self.law, "model_symbol": self.model_symbol, "data_symbol": self.data_symbol,
            "compute": _decimal(self.compute, self.digits, strip_zeros=True), "model": s(self.model), "data": s(self.data),
            "loss": s(self.loss), "ratio": s(self.ratio), "digits": self.digits,
            "verified": self.verified, "model_check": s(self.model_check),
            "loss_check": s(self.loss_check),
            "relative_agreement": mpmath.nstr(self.relative_agreement, 5),
            "agreement_digits": self.agreement_digits, "method": self.method,
            "closed_form": self.closed_form, "param_set": self.param_set, "overridden": list(self.overridden),
            "params": dict(self.params),
        } | self._family_json()

    def _family_json(self) -> dict:
        out = {}
        if self.routes:
            # the headline under the names every law with routes shares: the best valid route's optimum
            out.update(p_star=_decimal(self.model, self.digits), T_star=_decimal(self.data, self.digits),
                       L_star=_decimal(self.loss, self.digits))
            out["route"] = self.route
            out["routes"] = [_route_json(o, self.digits) for o in self.routes]
        if self.trivial_error is not None:
            out.update(trivial_error=f"{self.trivial_error:.6g}", trivial_error_stderr=f"{self.trivial_error_stderr:.2g}",
                       informative=self.informative)
        return out


def _route_json(o, digits: int) -> dict:
    def s(x):
        return None if x is None else _decimal(x, digits)
    return {"name": o.name, "p_star": s(o.model), "T_star": s(o.data), "L_star": s(o.loss), "valid": o.valid,
            "boundary": o.boundary, "verified": o.verified, "method": o.method}


def _decimal(x, digits: int, strip_zeros: bool = False) -> str:
    with mp.workdps(digits + _GUARD):
        return mpmath.nstr(x, digits, strip_zeros=strip_zeros, min_fixed=-4, max_fixed=16)


def _exact_str(r, digits: int) -> str:
    """An exact rational as a plain decimal when it has one (``406.4``, ``88000000000000``)."""
    r = sp.Rational(r)
    q = int(r.q)
    while q % 2 == 0:
        q //= 2
    while q % 5 == 0:
        q //= 5
    if q == 1:
        with decimal.localcontext() as ctx:
            ctx.prec = max(len(str(r.p)) + len(str(r.q)) + 5, 28)
            text = format(decimal.Decimal(int(r.p)) / decimal.Decimal(int(r.q)), "f")
        text = text.rstrip("0").rstrip(".") if "." in text else text
        if len(text) <= 24:
            return text
    return _decimal(to_mpf(r), digits, strip_zeros=True)


def allocate(law: Law | str, compute, *, param_set: str | None = None,
             params: Mapping[str, object] | None = None, digits: int = 50, route: str | None = None
             ) -> NumericAllocation:
    """Compute-optimal model and data size for a budget, at ``digits`` significant digits.

    Parameters
    ----------
    law : a :class:`~scaling_theory.theory.laws.Law` or a registered law name.
    compute : the budget ``C`` (decimal string such as ``"5.76e23"``, int, float or SymPy number).
    param_set : a named parameter set of the law (default: the law's default set).
    params : ``{constant name: value}`` overrides (values as exact decimal strings or numbers).
    digits : significant digits of the result, ``15 <= digits <= 4000``.
    route : for a law with proof routes, the one route to report (default: the best valid route at this
        budget; every route's optimum is listed in ``routes`` either way).

    Returns
    -------
    NumericAllocation
        For a law with routes (:attr:`scaling_theory.theory.laws.Law.routes`) the headline ``model``,
        ``data``, ``loss`` are the best valid route's (``route`` names it): a route with a symbolic optimum
        is checked closed form against an independent minimisation, a numeric one by two root finders
        (:mod:`scaling_theory.numeric.precision.routes`); for a law that bounds a teacher, ``trivial_error``
        and ``informative`` say whether the bound says something at this budget.

    Raises
    ------
    UserInputError
        non-positive or non-finite budget, unknown set or constant, missing or out-of-domain
        parameter, digits out of range, or a law without interior optimum.

    Examples
    --------
    >>> r = allocate("kaplan", 10**30, digits=20)
    >>> r.verified, r.agreement_digits >= 20
    (True, True)
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise UserInputError(f"digits must be an integer in [{MIN_DIGITS}, {MAX_DIGITS}], got {digits!r}")
    C_exact = exact_number(compute)
    if not C_exact > 0:
        raise UserInputError(f"compute must be positive, got {compute}")
    resolved = resolve(law, params, param_set)
    law, values = resolved.law, resolved.values
    used = (law.expr.free_symbols | law.cost.free_symbols) - {law.model, law.data}
    missing = sorted(s.name for s in used if s not in values)
    if missing:
        raise UserInputError(f"law {law.name!r} needs a value for {', '.join(missing)} "
                             f"(give --param NAME=VALUE or a parameter set)")
    if law.routes:
        return _allocate_routes(law, values, C_exact, compute, digits, resolved, route)
    if route is not None:
        law.route(route)   # one-line error: this law is one formula
    alloc = _derivation(law, values)
    with mp.workdps(digits + _GUARD):
        return _evaluate(law, alloc, values, C_exact, digits, resolved)


def _allocate_routes(law: Law, values, C_exact, compute, digits: int, resolved: Resolved,
                     route: str | None) -> NumericAllocation:
    """The headline of a law with routes: the best valid route's optimum (or the named route's), verified.

    Every route is minimised inside its own validity window
    (:func:`scaling_theory.numeric.precision.routes.route_optimum`).  When the headline route has a symbolic
    optimum inside its window, that closed form is evaluated and checked against the independent
    minimisation at the full precision (:func:`_evaluate`), as for any law.
    """
    import dataclasses

    from scaling_theory.numeric.precision import routes as rt
    from scaling_theory.numeric.precision import teacher_bounds

    chosen = {r.name for r in rt.select_route(law, route)}
    optima = rt.route_optima(law, values, C_exact, digits=digits)
    best = rt.best_route([o for o in optima if o.name in chosen])
    if best is None:
        floor = rt.smallest_budget(law, values, [law.route(n) for n in chosen])
        which = f"route {route!r} of law {law.name!r}" if route else f"law {law.name!r}"
        raise UserInputError(f"compute {compute} is below the smallest budget {which} covers at these constants "
                             f"({sp.N(floor, 6)}: smallest model times smallest valid T)")
    view = law.route_law(best.name)
    result = None
    if view.routes == () and law.route(best.name).symbolic and best.boundary is None:
        try:
            with mp.workdps(digits + _GUARD):
                result = _evaluate(view, _derivation(view, values), values, C_exact, digits, resolved)
            if abs(result.model - best.model) > abs(best.model) * mpmath.mpf(10) ** (-(digits // 2)):
                result = None   # the closed form's stationary point is another one than the window's optimum
        except UserInputError:
            result = None
    if result is None:
        result = _from_route(view, best, values, C_exact, digits, resolved)
    fields = {"law": law.name, "route": best.name, "routes": tuple(optima)}
    if law.teacher is not None:
        te = teacher_bounds.law_trivial_error(law, values)
        fields.update(trivial_error=te.value, trivial_error_stderr=te.stderr, informative=te.beaten_by(result.loss))
    return dataclasses.replace(result, **fields)


def _from_route(view: Law, best, values, C_exact, digits: int, resolved: Resolved) -> NumericAllocation:
    """A :class:`NumericAllocation` from a route optimum found numerically (interior or at a window edge)."""
    with mp.workdps(digits + _GUARD):
        C = to_mpf(C_exact)
        rel = mpmath.mpf(10) ** (-best.agreement_digits)
        return NumericAllocation(
            law=view.name, model_symbol=view.model.name, data_symbol=view.data.name, compute=C, model=best.model,
            data=best.data, loss=best.loss, ratio=best.model / best.data, digits=digits, verified=best.verified,
            model_check=best.model, loss_check=best.loss, relative_agreement=rel,
            agreement_digits=best.agreement_digits, method=best.method, closed_form=False,
            param_set=resolved.param_set, overridden=resolved.overridden,
            params={k.name: _exact_str(v, digits) for k, v in sorted(values.items(), key=lambda kv: kv[0].name)})


# re-derive at the constants only when they are short exact numbers: substituting them is then
# cheap (``gamma(d/2)`` at a large ``d`` is an exact integer SymPy computes digit by digit)
_TAME_DIGITS = 6


def _derivation(law: Law, values) -> Allocation:
    """The symbolic optimum, general in the constants (cached; its constants are later bound as mpf).

    Deriving with the exact constants substituted makes SymPy work on their exact rationals
    (``alpha = 0.3392187463`` or ``d = 1000`` hang it), so the constants stay symbolic; only when
    the general derivation refuses (a sign it cannot decide) are small exact constants substituted.
    """
    try:
        return compute_optimal_allocation(law)
    except UserInputError:
        if not _tame(values):
            raise
        return compute_optimal_allocation(law, values)


def _tame(values) -> bool:
    return all(abs(v.p) < 10 ** _TAME_DIGITS and v.q < 10 ** _TAME_DIGITS
               for v in values.values() if isinstance(v, sp.Rational))




class _Failed(Exception):
    """The symbolic optimum does not give a verified minimum at these constants."""


def _evaluate(law, alloc: Allocation, values, C_exact, digits, resolved: Resolved) -> NumericAllocation:
    try:
        return _evaluate_with(law, alloc, values, C_exact, digits, resolved)
    except _Failed as failure:
        if alloc.params or not _tame(values):
            raise UserInputError(f"law {law.name!r}: {failure}") from None
    # the general closed form fails at these constants (e.g. 0/0 at A = B): derive at them
    try:
        exact = compute_optimal_allocation(law, values)
        return _evaluate_with(law, exact, values, C_exact, digits, resolved)
    except _Failed as failure:
        raise UserInputError(f"law {law.name!r}: {failure}") from None


def _evaluate_with(law, alloc: Allocation, values, C_exact, digits, resolved: Resolved) -> NumericAllocation:
    N, D = law.model, law.data
    if alloc.compute in values or alloc.compute in (N, D):   # the budget must never stand for a constant
        raise UserInputError(f"law {law.name!r}: the budget symbol {alloc.compute.name} is also a "
                             "symbol of the law; rename that constant")
    # abbreviations (A, B, beta of jeon-van-roy) are bound to their expressions of the constants
    env = {**alloc.abbreviations, **values, alloc.compute: C_exact}
    C = to_mpf(C_exact)
    # the full law along the budget curve, in x = ln N (independent of the symbolic solution)
    x = sp.Dummy("x", real=True)
    full = law.expr.xreplace({D: alloc.data_on_budget})
    L_of_N = compile_expr(full, N, env)
    dL_dx = compile_expr(sp.diff(full.xreplace({N: sp.exp(x)}), x), x, env)
    D_of_N = compile_expr(alloc.data_on_budget, N, env)
    F = compile_expr(alloc.stationarity, N, env)

    x_check = minimum_in_log(lambda t: L_of_N(mp.exp(t)), dL_dx, log_grid(C, values), digits, N.name)
    N_check = mp.exp(x_check)

    if alloc.closed_form:
        N_val = adaptive(lambda: _closed_form_value(alloc, env, N), digits)
        method = f"closed form ({alloc.method})"
    else:
        N_val = adaptive(lambda: mp.exp(_implicit_root(lambda t: real(F(mp.exp(t))), x_check)), digits)
        method = "root of the implicit equation"
    if N_val is None or not mpmath.isfinite(N_val) or N_val <= 0:
        raise _Failed("the optimum is not real and positive at these constants (no interior optimum)")
    rel = abs(N_val - N_check) / abs(N_val)
    D_val = D_of_N(N_val)
    loss = real(L_of_N(N_val))
    loss_check = real(L_of_N(N_check))
    # a minimum: dL/dx changes sign from - to + across the optimum
    h = mpmath.mpf(10) ** (-(digits // 3)) * max(1, abs(mp.log(N_val)))
    with mp.workdps(2 * mp.dps):
        is_min = real(dL_dx(mp.log(N_val) - h)) < 0 < real(dL_dx(mp.log(N_val) + h))
    agree = int(min(digits + _GUARD, math.floor(-mpmath.log10(rel)))) if rel > 0 else digits + _GUARD
    _on_own_law(law, alloc, values, N_val, real(D_val), loss, C, digits)
    if alloc.params == {} and not (is_min and agree >= digits) and _tame(values) and values:
        raise _Failed("the general closed form does not verify at these constants")
    verified = bool(is_min and alloc.is_minimum and agree >= digits)
    return NumericAllocation(
        law=law.name, model_symbol=N.name, data_symbol=D.name, compute=C, model=N_val, data=real(D_val),
        loss=loss, ratio=N_val / real(D_val), digits=digits, verified=verified, model_check=N_check,
        loss_check=loss_check, relative_agreement=rel, agreement_digits=agree, method=method,
        closed_form=alloc.closed_form, param_set=resolved.param_set, overridden=resolved.overridden,
        params={k.name: _exact_str(v, digits) for k, v in sorted(values.items(), key=lambda kv: kv[0].name)})


def _on_own_law(law, alloc, values, N_val, D_val, loss, C, digits) -> None:
    """The optimum checked against the law's own cost and loss with only its constants bound.

    No toolkit symbol (the budget, its renamed forms) is bound here, so a symbol that had captured a
    constant's name would give another loss or cost and fail this check.
    """
    own = {**alloc.abbreviations, **values, law.data: D_val}
    cost_here = real(compile_expr(law.cost, law.model, own)(N_val))
    loss_here = real(compile_expr(law.expr, law.model, own)(N_val))
    tol = mpmath.mpf(10) ** (-(digits // 2))
    if not abs(cost_here - C) <= tol * abs(C):
        raise _Failed(f"the optimum is not on the budget curve {sp.sstr(law.cost)} = C at these constants")
    if not abs(loss_here - loss) <= tol * abs(loss):
        raise _Failed("the optimum's loss differs from the law's own loss at these constants")


def _closed_form_value(alloc, env, N):
    """The closed form at the constants; for Lambert W both real branches, keep the minimum."""
    expr = alloc.model_optimal
    cands = [expr]
    if expr.has(sp.LambertW):
        def swap(w):
            branch = w.args[1] if len(w.args) > 1 else 0
            return sp.LambertW(w.args[0], -1 if branch == 0 else 0)
        cands.append(expr.replace(lambda e: isinstance(e, sp.LambertW), swap))
    F = compile_expr(sp.diff(alloc.stationarity, N), N, env)
    best = None
    for cand in cands:
        val = compile_expr(cand, N, env)(mpmath.mpf(1))
        if isinstance(val, mpmath.mpc):
            if abs(val.imag) > abs(val) * mpmath.mpf(10) ** (-mp.dps + 5):
                continue
            val = val.real
        if not mpmath.isfinite(val):
            continue
        if val > 0 and real(F(val)) > 0:
            return val
        best = best if best is not None else val
    if best is None or best <= 0:
        raise _Failed("the closed form is not real and positive at these constants (no interior optimum)")
    return best


def _implicit_root(f: Callable, x_hint) -> mpmath.mpf:
    """Root of the implicit equation near the independent minimum ``x_hint`` (bracket widened)."""
    for width in (1, 4, 16, 64, 256):
        a, b = x_hint - width, x_hint + width
        sa, sb = sign(f, a), sign(f, b)
        if sa * sb < 0:
            return bracketed_root(f, a, b)
    raise _Failed("could not bracket the root of the implicit equation")
