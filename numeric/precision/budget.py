"""The one minimiser along a budget curve: the optimum of ``L(N, D)`` subject to ``cost(N, D) = C``.

In ``x = ln N`` the derivative ``d/dx L(e^x, g(e^x, C))`` of the full law (``g`` solves the budget
for ``D``) is sign-scanned on a grid, and each ``-`` to ``+`` change is refined by a bracketing
solver that stops on the bracket width, never on ``|f|`` (tiny at ``C = 1e300``); the lowest minimum
is kept, and the whole is repeated at rising precision until stable.  Every caller that needs a
budget optimum numerically uses it: the high-precision allocation's independent check
(:mod:`scaling_theory.numeric.precision.allocate`), the derivations' minimiser steps and the
study's theory curves.

Examples
--------
>>> import sympy as sp
>>> N, D = sp.symbols("N D", positive=True)
>>> n, t, loss = optimum_on_budget(1/N + 4/D, N, D, 100, dps=30)
>>> mpmath.nstr(n, 10), mpmath.nstr(t, 10), mpmath.nstr(loss, 10)
('5.0', '20.0', '0.4')
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import mpmath
import sympy as sp
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision.mpeval import compile_expr, exact_number, real, sign, to_mpf

__all__ = ["BudgetCurve", "optimum_on_budget", "minimum_in_log", "bracketed_root", "adaptive", "log_grid"]

_GUARD = 15   # extra decimal digits carried internally


class BudgetCurve:
    """A law along its budget curve, prepared once (SymPy work) and minimised at any budget.

    Parameters
    ----------
    loss : sympy.Expr
        The loss in ``model``, ``data`` and constants bound by ``env`` (or substituted).
    model, data : sympy.Symbol
        Model- and data-size symbols.
    cost : sympy.Expr, optional
        Compute as an expression of ``model`` and ``data`` (default ``model * data``).
    env : Mapping, optional
        ``{constant symbol: exact number or mpf, or an expression of other constants}``.

    Examples
    --------
    >>> N, D = sp.symbols("N D", positive=True)
    >>> curve = BudgetCurve(1/N + 4/D, N, D, cost=6*N*D)
    >>> n, t, _ = curve.optimum(600, dps=20)
    >>> mpmath.nstr(n, 8), mpmath.nstr(t, 8)
    ('5.0', '20.0')
    """

    def __init__(self, loss: sp.Expr, model: sp.Symbol, data: sp.Symbol, *, cost: sp.Expr | None = None,
                 env: Mapping | None = None):
        self.model, self.data = model, data
        self.budget = sp.Dummy("C", positive=True)
        cost = model * data if cost is None else cost
        solutions = sp.solve(sp.Eq(cost, self.budget), data)
        if len(solutions) != 1:
            raise UserInputError(f"the budget {sp.sstr(cost)} = C does not give one data size")
        self.data_on_budget = solutions[0]
        x = sp.Dummy("x", real=True)
        along = loss.xreplace({data: self.data_on_budget}).xreplace({model: sp.exp(x)})
        self._x, self._along, self._slope = x, along, sp.diff(along, x)
        self._env = dict(env or {})

    def _compiled(self, compute):
        env = {**self._env, self.budget: exact_number(compute)}
        return (compile_expr(self._along, self._x, env), compile_expr(self._slope, self._x, env),
                compile_expr(self.data_on_budget, self.model, env))

    def optimum(self, compute, *, lo=None, hi=None, dps: int = 50, grid: int = 200
                ) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
        """``(model, data, loss)`` at the minimum for budget ``compute``, to ``dps`` digits.

        ``lo``/``hi`` bound the model size searched (default: a window that follows the budget);
        ``grid`` is the number of scan points inside a given window.  Raises ``ValueError`` when
        there is no interior minimum there.
        """
        L_x, dL_dx, data_of = self._compiled(compute)
        with mp.workdps(dps + _GUARD):
            C = to_mpf(exact_number(compute))
            if lo is None and hi is None:
                xs = log_grid(C, {k: v for k, v in self._env.items() if not isinstance(v, sp.Basic)
                                  or v.is_Number})
            else:
                a = mp.log(mpmath.mpf(lo)) if lo is not None else mpmath.mpf(0)
                b = mp.log(mpmath.mpf(hi)) if hi is not None else mp.log(C)
                xs = [a + (b - a) * i / grid for i in range(grid + 1)]
            try:
                x = minimum_in_log(L_x, dL_dx, xs, dps, self.model.name)
            except UserInputError as err:
                raise ValueError(str(err)) from None
            N = mp.exp(x)
            out = (N, real(data_of(N)), real(L_x(x)))
        with mp.workdps(dps):
            return tuple(+v for v in out)


def optimum_on_budget(loss: sp.Expr, model: sp.Symbol, data: sp.Symbol, compute, *,
                      cost: sp.Expr | None = None, env: Mapping | None = None, lo=None, hi=None,
                      dps: int = 50, grid: int = 200) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """``(model, data, loss)`` minimising ``loss`` on ``cost = compute`` (see :class:`BudgetCurve`).

    Examples
    --------
    >>> N, D = sp.symbols("N D", positive=True)
    >>> n, t, l = optimum_on_budget(2/N + 8/D, N, D, 10**6, dps=40)
    >>> mpmath.nstr(n, 12), mpmath.nstr(l, 12)
    ('500.0', '0.008')
    """
    return BudgetCurve(loss, model, data, cost=cost, env=env).optimum(compute, lo=lo, hi=hi, dps=dps, grid=grid)


def adaptive(compute: Callable, digits: int, log_scale: bool = False):
    """``compute()`` at rising precision until two runs agree to ``digits + 5`` digits.

    Cancellation (a very flat law, constants far from 1) can eat the guard digits: the extra
    precision is found by doing it again, not guessed. ``log_scale``: the value is ``x = ln N``, whose
    absolute error is the relative error of ``N``.
    """
    prev = None
    base = mp.dps
    for extra in (0, 20, 60, 150, 400, 1000):
        with mp.workdps(base + extra):
            try:
                val = compute()
            except (ValueError, ZeroDivisionError, OverflowError):
                val = None
            if val is not None and isinstance(val, mpmath.mpc):
                val = val.real if abs(val.imag) <= abs(val) * mpmath.mpf(10) ** (-mp.dps + 5) else None
            if val is None or not mpmath.isfinite(val):
                return None
            scale = max(abs(val), 1) if log_scale else abs(val)
            if prev is not None and (val == prev or abs(val - prev) <= scale * mpmath.mpf(10) ** -(digits + 5)):
                return +val
            prev = val
    return prev


def log_grid(C, values) -> list:
    """Points in ``x = ln N`` to scan: uniform over where the optimum can be, geometric beyond."""
    # the optimum moves with the budget and with every constant's magnitude (1e-300 * N ...)
    span = abs(mp.log(C)) + sum(abs(mp.log(abs(to_mpf(v)))) for v in values.values() if v != 0) + 100
    span = min(span, mpmath.mpf(10) ** 5)
    n = int(min(4000, max(400, 2 * span)))
    xs = [-span + 2 * span * i / n for i in range(n + 1)]
    far = [span * 2 ** k for k in range(1, 40) if span * 2 ** k < 10 ** 7]
    return [-t for t in reversed(far)] + xs + far


def minimum_in_log(L_x: Callable, dL_dx: Callable, xs: Sequence, digits: int, name: str = "N") -> mpmath.mpf:
    """Minimiser of ``L(x)`` in ``x = ln N``: sign scan of ``dL/dx``, then a bracketing root.

    The scan and the root run at the working precision, and again higher until the root is stable.
    """
    brackets = []
    # signs first at a modest precision (the scan is hundreds of points), then with many more
    # digits than the working precision if cancellation hid them (very flat laws)
    for dps in (min(mp.dps, 60), mp.dps + 60):
        with mp.workdps(dps):
            signs = [sign(dL_dx, t) for t in xs]
        brackets = [(xs[i], xs[i + 1]) for i in range(len(xs) - 1) if signs[i] < 0 and signs[i + 1] > 0]
        if brackets:
            break
    if not brackets:
        raise UserInputError("no interior minimum of the loss along the budget curve "
                             f"for {name} in [e^-{int(-xs[0])}, e^{int(xs[-1])}]")

    def best():
        f = lambda t: real(dL_dx(t))  # noqa: E731
        # a bracket from the low-precision scan must still change sign at this precision
        good = [(a, b) for a, b in brackets if sign(f, a) < 0 < sign(f, b)]
        if not good:
            return None
        roots = [bracketed_root(f, a, b) for a, b in good]
        return min(roots, key=lambda t: real(L_x(t))) if len(roots) > 1 else roots[0]
    root = adaptive(best, digits + 3, log_scale=True)
    if root is None:
        raise UserInputError("could not locate the minimum of the loss numerically")
    return root


def bracketed_root(f: Callable, a, b) -> mpmath.mpf:
    """Root of ``f`` in ``[a, b]`` (sign change) to full precision in ``e^x``.

    Illinois steps safeguarded by bisection; stops on the bracket width relative to ``|x|``,
    never on ``|f|`` (which is tiny at large budgets: ``|dL/dx| ~ 1e-147`` at ``C = 1e300``).
    """
    fa, fb = real(f(a)), real(f(b))
    if fa == 0:
        return a
    if fb == 0:
        return b
    if fa * fb > 0:
        raise UserInputError("could not bracket the optimum numerically")
    # ten bits short of the precision: f's own rounding noise must not keep the iterates moving
    eps = mpmath.mpf(2) ** (-mp.prec + 10)
    side, width, prev = 0, b - a, None
    for i in range(4 * int(mp.prec) + 200):
        # N = e^x: the relative error of N is the absolute error of x
        tol = eps * max(abs(a), abs(b), 1)
        if b - a <= tol:
            break
        m = a - fa * (b - a) / (fb - fa)              # regula falsi, Illinois-modified below
        if not a < m < b:
            # a step below the resolution: converged at an endpoint if f changes sign around it
            for end in ((a, b) if side == -1 else (b, a)):
                if sign(f, end - 4 * tol) * sign(f, end + 4 * tol) < 0:
                    return end
            m = (a + b) / 2
        if i % 16 == 15:
            # safeguard: the bracket must at least halve every 16 steps, else bisect once
            if b - a > width / 2:
                m = (a + b) / 2
            width = b - a
        if prev is not None and abs(m - prev) <= 4 * tol:
            # the iterates have converged: accept once the sign change is confirmed around m
            if sign(f, m - 4 * tol) * sign(f, m + 4 * tol) < 0:
                return m
        prev = m
        fm = real(f(m))
        if fm == 0:
            return m
        if (fm < 0) == (fa < 0):
            a, fa = m, fm
            if side == -1:
                fb /= 2
            side = -1
        else:
            b, fb = m, fm
            if side == 1:
                fa /= 2
            side = 1
    return (a + b) / 2
