"""The compute-optimal allocation in numbers, at high precision (mpmath), verified independently.

:func:`allocate` evaluates the symbolic optimum of :func:`theory.allocation.compute_optimal_allocation`
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
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

import mpmath
import sympy as sp
from mpmath import mp

from theory.allocation import Allocation, compute_optimal_allocation
from theory.errors import UserInputError
from theory.laws import Law, get_law

__all__ = ["NumericAllocation", "allocate", "MIN_DIGITS", "MAX_DIGITS", "exact_number"]

MIN_DIGITS, MAX_DIGITS = 15, 4000   # Python prints ints of at most 4300 digits
_GUARD = 15             # extra decimal digits carried internally
_MAX_EXPONENT = 4000    # |decimal exponent| (and digits) accepted in a budget or constant
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


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
    params: Mapping[str, str] = field(default_factory=dict)

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
            "closed_form": self.closed_form, "param_set": self.param_set, "params": dict(self.params),
        }


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
    return _decimal(_mpf(r), digits, strip_zeros=True)


def exact_number(value, what: str = "compute") -> sp.Rational:
    """An exact rational from a decimal string, int, finite float or SymPy number.

    >>> exact_number("1e300") == 10**300, exact_number(0.1)
    (True, 1/10)
    >>> exact_number("nan")
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: compute must be a finite number, got 'nan'
    """
    if isinstance(value, bool):
        raise UserInputError(f"{what} must be a number, got {value!r}")
    if isinstance(value, sp.Basic):
        if not (value.is_number and value.is_finite and value.is_real):
            raise UserInputError(f"{what} must be a finite real number, got {value}")
        return sp.nsimplify(value, rational=True) if not value.is_Rational else value
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UserInputError(f"{what} must be a finite number, got {value!r}")
        return sp.Rational(repr(value))
    if isinstance(value, mpmath.mpf):
        if not mpmath.isfinite(value):
            raise UserInputError(f"{what} must be a finite number, got {value}")
        m, e = value.man_exp
        return sp.Integer(m) * sp.Integer(2) ** e
    text = str(value).strip()
    match = _DECIMAL.match(text)
    if not match:
        raise UserInputError(f"{what} must be a finite number, got {text!r}")
    if match.group(2) and abs(int(match.group(2)[1:])) > _MAX_EXPONENT:
        raise UserInputError(f"{what} {text!r} is out of range (|exponent| <= {_MAX_EXPONENT})")
    if len(text) > _MAX_EXPONENT:
        raise UserInputError(f"{what} has {len(text)} characters: out of range (at most {_MAX_EXPONENT})")
    value = sp.Rational(text)
    # numbers beyond this cannot even be printed (Python's int-to-str limit is 4300 digits)
    if abs(value.p) >= 10 ** _MAX_EXPONENT or value.q >= 10 ** _MAX_EXPONENT:
        raise UserInputError(f"{what} {text[:40]!r} is out of range (at most {_MAX_EXPONENT} digits)")
    return value


def allocate(law: Law | str, compute, *, param_set: str | None = None,
             params: Mapping[str, object] | None = None, digits: int = 50) -> NumericAllocation:
    """Compute-optimal model and data size for a budget, at ``digits`` significant digits.

    Parameters
    ----------
    law : a :class:`~theory.laws.Law` or a registered law name.
    compute : the budget ``C`` (decimal string such as ``"5.76e23"``, int, float or SymPy number).
    param_set : a named parameter set of the law (default: the law's default set).
    params : ``{constant name: value}`` overrides (values as exact decimal strings or numbers).
    digits : significant digits of the result, ``15 <= digits <= 4000``.

    Returns
    -------
    NumericAllocation

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
    if isinstance(law, str):
        law = get_law(law)
    if isinstance(digits, bool) or not isinstance(digits, int) or not MIN_DIGITS <= digits <= MAX_DIGITS:
        raise UserInputError(f"digits must be an integer in [{MIN_DIGITS}, {MAX_DIGITS}], got {digits!r}")
    C_exact = exact_number(compute)
    if not C_exact > 0:
        raise UserInputError(f"compute must be positive, got {compute}")
    values = law.parameters(param_set, {k: _as_param(k, v) for k, v in (params or {}).items()})
    used = (law.expr.free_symbols | law.cost.free_symbols) - {law.model, law.data}
    missing = sorted(s.name for s in used if s not in values)
    if missing:
        raise UserInputError(f"law {law.name!r} needs a value for {', '.join(missing)} "
                             f"(give --param NAME=VALUE or a parameter set)")
    alloc = _derivation(law, values)
    with mp.workdps(digits + _GUARD):
        return _evaluate(law, alloc, values, C_exact, digits, param_set or law.default_set)


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


def _as_param(name, value):
    if isinstance(value, str):
        return str(exact_number(value, what=str(name)))
    return value


class _Failed(Exception):
    """The symbolic optimum does not give a verified minimum at these constants."""


def _evaluate(law, alloc: Allocation, values, C_exact, digits, param_set) -> NumericAllocation:
    try:
        return _evaluate_with(law, alloc, values, C_exact, digits, param_set)
    except _Failed as failure:
        if alloc.params or not _tame(values):
            raise UserInputError(f"law {law.name!r}: {failure}") from None
    # the general closed form fails at these constants (e.g. 0/0 at A = B): derive at them
    try:
        exact = compute_optimal_allocation(law, values)
        return _evaluate_with(law, exact, values, C_exact, digits, param_set)
    except _Failed as failure:
        raise UserInputError(f"law {law.name!r}: {failure}") from None


def _evaluate_with(law, alloc: Allocation, values, C_exact, digits, param_set) -> NumericAllocation:
    N, D = law.model, law.data
    # abbreviations (A, B, beta of jeon-van-roy) are bound to their expressions of the constants
    env = {**alloc.abbreviations, **values, alloc.compute: C_exact}
    C = _mpf(C_exact)
    # the full law along the budget curve, in x = ln N (independent of the symbolic solution)
    x = sp.Dummy("x", real=True)
    full = law.expr.xreplace({D: alloc.data_on_budget})
    L_of_N = _compile(full, N, env)
    dL_dx = _compile(sp.diff(full.xreplace({N: sp.exp(x)}), x), x, env)
    D_of_N = _compile(alloc.data_on_budget, N, env)
    F = _compile(alloc.stationarity, N, env)

    x_check = _independent_minimum(lambda t: L_of_N(mp.exp(t)), dL_dx, C, values, digits, N.name)
    N_check = mp.exp(x_check)

    if alloc.closed_form:
        N_val = _adaptive(lambda: _closed_form_value(alloc, env, N), digits)
        method = f"closed form ({alloc.method})"
    else:
        N_val = _adaptive(lambda: mp.exp(_implicit_root(lambda t: _real(F(mp.exp(t))), x_check)), digits)
        method = "root of the implicit equation"
    if N_val is None or not mpmath.isfinite(N_val) or N_val <= 0:
        raise _Failed("the optimum is not real and positive at these constants (no interior optimum)")
    rel = abs(N_val - N_check) / abs(N_val)
    D_val = D_of_N(N_val)
    loss = _real(L_of_N(N_val))
    loss_check = _real(L_of_N(N_check))
    # a minimum: dL/dx changes sign from - to + across the optimum
    h = mpmath.mpf(10) ** (-(digits // 3)) * max(1, abs(mp.log(N_val)))
    with mp.workdps(2 * mp.dps):
        is_min = _real(dL_dx(mp.log(N_val) - h)) < 0 < _real(dL_dx(mp.log(N_val) + h))
    agree = int(min(digits + _GUARD, math.floor(-mpmath.log10(rel)))) if rel > 0 else digits + _GUARD
    if alloc.params == {} and not (is_min and agree >= digits) and _tame(values) and values:
        raise _Failed("the general closed form does not verify at these constants")
    verified = bool(is_min and alloc.is_minimum and agree >= digits)
    return NumericAllocation(
        law=law.name, model_symbol=N.name, data_symbol=D.name, compute=C, model=N_val, data=_real(D_val),
        loss=loss, ratio=N_val / _real(D_val), digits=digits, verified=verified, model_check=N_check,
        loss_check=loss_check, relative_agreement=rel, agreement_digits=agree, method=method,
        closed_form=alloc.closed_form, param_set=param_set,
        params={k.name: _exact_str(v, digits) for k, v in sorted(values.items(), key=lambda kv: kv[0].name)})


def _adaptive(compute: Callable, digits: int, log_scale: bool = False):
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


def _closed_form_value(alloc, env, N):
    """The closed form at the constants; for Lambert W both real branches, keep the minimum."""
    expr = alloc.model_optimal
    cands = [expr]
    if expr.has(sp.LambertW):
        def swap(w):
            branch = w.args[1] if len(w.args) > 1 else 0
            return sp.LambertW(w.args[0], -1 if branch == 0 else 0)
        cands.append(expr.replace(lambda e: isinstance(e, sp.LambertW), swap))
    F = _compile(sp.diff(alloc.stationarity, N), N, env)
    best = None
    for cand in cands:
        val = _compile(cand, N, env)(mpmath.mpf(1))
        if isinstance(val, mpmath.mpc):
            if abs(val.imag) > abs(val) * mpmath.mpf(10) ** (-mp.dps + 5):
                continue
            val = val.real
        if not mpmath.isfinite(val):
            continue
        if val > 0 and _real(F(val)) > 0:
            return val
        best = best if best is not None else val
    if best is None or best <= 0:
        raise _Failed("the closed form is not real and positive at these constants (no interior optimum)")
    return best


def _real(v):
    return v.real if isinstance(v, mpmath.mpc) else v


def _sign(f: Callable, t) -> int:
    try:
        g = _real(f(t))
    except (ValueError, ZeroDivisionError, OverflowError):
        return 0
    if mpmath.isnan(g):
        return 0
    return 1 if g > 0 else (-1 if g < 0 else 0)


def _grid(C, values) -> list:
    """Points in ``x = ln N`` to scan: uniform over where the optimum can be, geometric beyond."""
    # the optimum moves with the budget and with every constant's magnitude (1e-300 * N ...)
    span = abs(mp.log(C)) + sum(abs(mp.log(abs(_mpf(v)))) for v in values.values() if v != 0) + 100
    span = min(span, mpmath.mpf(10) ** 5)
    n = int(min(4000, max(400, 2 * span)))
    xs = [-span + 2 * span * i / n for i in range(n + 1)]
    far = [span * 2 ** k for k in range(1, 40) if span * 2 ** k < 10 ** 7]
    return [-t for t in reversed(far)] + xs + far


def _independent_minimum(L_x, dL_dx, C, values, digits, name: str = "N") -> mpmath.mpf:
    """Minimiser of ``L(x)`` in ``x = ln N``: sign scan of ``dL/dx``, then a bracketing root.

    The scan and the root run at the working precision, and again higher until the root is stable.
    """
    xs = _grid(C, values)
    brackets = []
    # signs first at a modest precision (the scan is hundreds of points), then with many more
    # digits than the working precision if cancellation hid them (very flat laws)
    for dps in (min(mp.dps, 60), mp.dps + 60):
        with mp.workdps(dps):
            signs = [_sign(dL_dx, t) for t in xs]
        brackets = [(xs[i], xs[i + 1]) for i in range(len(xs) - 1) if signs[i] < 0 and signs[i + 1] > 0]
        if brackets:
            break
    if not brackets:
        raise UserInputError("no interior minimum of the loss along the budget curve "
                             f"for {name} in [e^-{int(-xs[0])}, e^{int(xs[-1])}]")

    def best():
        f = lambda t: _real(dL_dx(t))  # noqa: E731
        # a bracket from the low-precision scan must still change sign at this precision
        good = [(a, b) for a, b in brackets if _sign(f, a) < 0 < _sign(f, b)]
        if not good:
            return None
        roots = [_bracketed_root(f, a, b) for a, b in good]
        return min(roots, key=lambda t: _real(L_x(t))) if len(roots) > 1 else roots[0]
    root = _adaptive(best, digits + 3, log_scale=True)
    if root is None:
        raise UserInputError("could not locate the minimum of the loss numerically")
    return root


def _implicit_root(f: Callable, x_hint) -> mpmath.mpf:
    """Root of the implicit equation near the independent minimum ``x_hint`` (bracket widened)."""
    for width in (1, 4, 16, 64, 256):
        a, b = x_hint - width, x_hint + width
        sa, sb = _sign(f, a), _sign(f, b)
        if sa * sb < 0:
            return _bracketed_root(f, a, b)
    raise _Failed("could not bracket the root of the implicit equation")


def _bracketed_root(f: Callable, a, b) -> mpmath.mpf:
    """Root of ``f`` in ``[a, b]`` (sign change) to full precision in ``e^x``.

    Illinois steps safeguarded by bisection; stops on the bracket width relative to ``|x|``,
    never on ``|f|`` (which is tiny at large budgets: ``|dL/dx| ~ 1e-147`` at ``C = 1e300``).
    """
    fa, fb = _real(f(a)), _real(f(b))
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
                if _sign(f, end - 4 * tol) * _sign(f, end + 4 * tol) < 0:
                    return end
            m = (a + b) / 2
        if i % 16 == 15:
            # safeguard: the bracket must at least halve every 16 steps, else bisect once
            if b - a > width / 2:
                m = (a + b) / 2
            width = b - a
        if prev is not None and abs(m - prev) <= 4 * tol:
            # the iterates have converged: accept once the sign change is confirmed around m
            if _sign(f, m - 4 * tol) * _sign(f, m + 4 * tol) < 0:
                return m
        prev = m
        fm = _real(f(m))
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


# -- a small SymPy -> mpmath evaluator (no lambdify/eval: a compiled closure tree) ---------------

def _mpf(r) -> mpmath.mpf:
    if isinstance(r, sp.Integer):
        return mpmath.mpf(int(r))
    if isinstance(r, sp.Rational):
        return mpmath.mpf(int(r.p)) / int(r.q)
    return mpmath.mpf(r)


_EXP_LIMIT = mpmath.mpf(10) ** 15   # |argument| beyond which exp is taken as 0 or inf


def _exp(x):
    """``exp(x)``; beyond ``|x| = 1e15`` mpmath would first compute ln 2 to that many bits."""
    if isinstance(x, mpmath.mpf) and abs(x) > _EXP_LIMIT:
        return mpmath.mpf(0) if x < 0 else mpmath.inf
    return mp.exp(x)


_FUNCS = {sp.exp: _exp, sp.log: mp.log, sp.gamma: mp.gamma, sp.digamma: mp.digamma,
          sp.loggamma: mp.loggamma, sp.Abs: abs, sp.sqrt: mp.sqrt, sp.erf: mp.erf}


def _compile(expr: sp.Expr, var: sp.Symbol, env: Mapping | None = None) -> Callable:
    """``f(value)`` evaluating ``expr`` at ``var = value`` at the current mpmath precision.

    ``env`` binds the constants (exact SymPy numbers) as ``mpf`` at evaluation time, so SymPy never
    works on their exact rationals (``(3392187463/10**10)**(1/x)`` or ``gamma(500)**k`` hang it).
    """
    return _node(expr, var, dict(env or {}))


def _node(e: sp.Expr, var, env):
    if not e.has(var):
        cache: dict = {}
        inner = _tree(e, var, env) if (e.free_symbols or not e.is_number) else None

        def const(_v):
            key = mp.prec
            if key not in cache:
                with mp.workprec(mp.prec + 20):
                    cache[key] = inner(None) if inner is not None else _const_value(e)
            return cache[key]
        return const
    return _tree(e, var, env)


def _tree(e: sp.Expr, var, env):
    if e == var:
        return lambda v: v
    if e.is_Symbol:
        if e not in env:
            raise UserInputError(f"no value for {e.name}")
        value = env[e]
        if isinstance(value, sp.Basic) and not value.is_Number:
            # an abbreviation: its expression of the constants, evaluated at the working precision
            return _node(value, var, env)
        return lambda v: _mpf(value)
    if e.is_Number or e in (sp.pi, sp.E, sp.EulerGamma):
        return lambda v: _const_value(e)
    args = [_node(a, var, env) for a in e.args]
    if e.is_Add:
        return lambda v: mpmath.fsum(f(v) for f in args)
    if e.is_Mul:
        def mul(v):
            out = mpmath.mpf(1)
            for f in args:
                out *= f(v)
            return out
        return mul
    if e.is_Pow:
        base, ex = args
        if e.exp == sp.Rational(1, 2):
            return lambda v: mp.sqrt(base(v))
        if e.exp.is_Integer and abs(e.exp) < 64:
            k = int(e.exp)
            return lambda v: base(v) ** k
        return lambda v: _power(base(v), ex(v))
    if isinstance(e, sp.LambertW):
        k = int(e.args[1]) if len(e.args) > 1 else 0
        return lambda v: mp.lambertw(args[0](v), k)
    for cls, fn in _FUNCS.items():
        if isinstance(e, cls):
            return lambda v, fn=fn: fn(*(a(v) for a in args))
    raise UserInputError(f"cannot evaluate {type(e).__name__} numerically")


def _power(b, x):
    """``b**x``; for a positive base through ``exp(x log b)`` (an exponent like ``10**400`` would
    otherwise be done by repeated squaring)."""
    if isinstance(b, mpmath.mpf) and isinstance(x, mpmath.mpf) and b > 0 and abs(x) > 64:
        return _exp(x * mp.log(b))
    return mp.power(b, x)


def _const_value(e: sp.Expr):
    """A variable-free SymPy expression at the current precision (exact numbers stay exact)."""
    if e.is_Integer or e.is_Rational:
        return _mpf(e)
    if e == sp.pi:
        return +mp.pi
    if e == sp.E:
        return mp.e
    if e == sp.EulerGamma:
        return +mp.euler
    if e.is_Float:
        return mpmath.mpf(e._mpf_)
    val = sp.N(e, mpmath.libmp.prec_to_dps(mp.prec))
    if val.is_real:
        return val._to_mpmath(mp.prec)
    re_, im_ = val.as_real_imag()
    return mpmath.mpc(re_._to_mpmath(mp.prec), im_._to_mpmath(mp.prec))
