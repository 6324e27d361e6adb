"""The compute-optimal allocation in numbers, at high precision (mpmath), verified independently.

:func:`allocate` evaluates the symbolic optimum of :func:`theory.allocation.compute_optimal_allocation`
(the closed form, or the root of its implicit equation) for concrete constants and a budget ``C``,
and cross-checks it against an *independent* numerical minimisation of the original law along the
budget curve: in ``x = ln N`` the derivative ``d/dx L(e^x, g(e^x, C))`` of the full law (no
reduction, no closed form) is bracketed on a grid and its root refined by a bracketing solver.
Both values, their relative agreement and the digits used are reported.

All arithmetic runs inside ``mp.workdps(...)`` with guard digits; budgets and constants are
converted from exact decimals, so ``1e300`` or ``1e-30`` lose nothing.

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

MIN_DIGITS, MAX_DIGITS = 15, 10_000
_GUARD = 15             # extra decimal digits carried internally
_MAX_EXPONENT = 10**6   # |decimal exponent| accepted in a budget or constant string
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


@dataclass(frozen=True)
class NumericAllocation:
    """The optimum at concrete constants and budget (``mpf`` values at ``digits`` precision).

    ``model``/``data``/``loss`` come from the symbolic result (closed form or implicit root);
    ``model_check``/``loss_check`` from the independent minimisation; ``relative_agreement`` is
    ``|model - model_check| / model`` and ``verified`` says it is below ``10**-digits`` and the
    point is a minimum.
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
    return sp.Rational(text)


def allocate(law: Law | str, compute, *, param_set: str | None = None,
             params: Mapping[str, object] | None = None, digits: int = 50) -> NumericAllocation:
    """Compute-optimal model and data size for a budget, at ``digits`` significant digits.

    Parameters
    ----------
    law : a :class:`~theory.laws.Law` or a registered law name.
    compute : the budget ``C`` (decimal string such as ``"5.76e23"``, int, float or SymPy number).
    param_set : a named parameter set of the law (default: the law's default set).
    params : ``{constant name: value}`` overrides (values as exact decimal strings or numbers).
    digits : significant digits of the result, ``15 <= digits <= 10000``.

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
    # derive at the actual constants: every sign, branch and exponent comparison is then exact
    alloc = compute_optimal_allocation(law, values)
    env = dict(values)
    env[alloc.compute] = C_exact
    with mp.workdps(digits + _GUARD):
        return _evaluate(law, alloc, env, C_exact, digits, param_set or law.default_set, values)


def _as_param(name, value):
    if isinstance(value, str):
        return str(exact_number(value, what=str(name)))
    return value


def _evaluate(law, alloc: Allocation, env, C_exact, digits, param_set, values) -> NumericAllocation:
    N, D = law.model, law.data
    consts = {k: v for k, v in env.items()}
    C = _mpf(C_exact)
    # the full law along the budget curve, in x = ln N (independent of the symbolic solution)
    x = sp.Dummy("x", real=True)
    data_expr = alloc.data_on_budget.xreplace(consts)
    full = law.expr.xreplace(consts).xreplace({D: data_expr})
    L_of_N = _compile(full, N)
    dL_dx = _compile(sp.diff(full.xreplace({N: sp.exp(x)}), x), x)
    D_of_N = _compile(data_expr, N)

    def L_x(t):
        return L_of_N(mp.exp(t))

    x_check = _independent_minimum(L_x, dL_dx, C)
    N_check = mp.exp(x_check)

    if alloc.closed_form:
        N_val = _closed_form_value(alloc, consts, N, L_of_N)
        method = f"closed form ({alloc.method})"
    else:
        F = _compile(alloc.stationarity.xreplace(consts), N)
        N_val = _bracketed_root(lambda t: F(mp.exp(t)), x_check - 1, x_check + 1)
        N_val = mp.exp(N_val)
        method = "root of the implicit equation"
    rel = abs(N_val - N_check) / abs(N_val)
    D_val = D_of_N(N_val)
    loss = L_of_N(N_val)
    loss_check = L_of_N(N_check)
    # a minimum: dL/dx changes sign from - to + across the optimum
    h = mpmath.mpf(10) ** (-(digits // 3))
    is_min = _real(dL_dx(mp.log(N_val) - h)) < 0 < _real(dL_dx(mp.log(N_val) + h))
    agree = int(min(digits + _GUARD, math.floor(-mpmath.log10(rel)))) if rel > 0 else digits + _GUARD
    verified = bool(is_min and alloc.is_minimum and agree >= digits)
    return NumericAllocation(
        law=law.name, model_symbol=N.name, data_symbol=D.name, compute=C, model=N_val, data=D_val,
        loss=loss, ratio=N_val / D_val, digits=digits, verified=verified, model_check=N_check,
        loss_check=loss_check, relative_agreement=rel, agreement_digits=agree, method=method,
        closed_form=alloc.closed_form, param_set=param_set,
        params={k.name: _exact_str(v, digits) for k, v in sorted(values.items(), key=lambda kv: kv[0].name)})


def _closed_form_value(alloc, consts, N, L_of_N):
    """The closed form at the constants; for Lambert W both real branches, keep the minimum."""
    expr = alloc.model_optimal.xreplace(consts)
    cands = [expr]
    if expr.has(sp.LambertW):
        def swap(w):
            branch = w.args[1] if len(w.args) > 1 else 0
            return sp.LambertW(w.args[0], -1 if branch == 0 else 0)
        cands.append(expr.replace(lambda e: isinstance(e, sp.LambertW), swap))
    F = _compile(sp.diff(alloc.stationarity.xreplace(consts), N), N)
    best = None
    for cand in cands:
        val = _compile(cand, N)(mpmath.mpf(1))
        if isinstance(val, mpmath.mpc):
            if abs(val.imag) > abs(val) * mpmath.mpf(10) ** (-mp.dps + 5):
                continue
            val = val.real
        if val > 0 and _real(F(val)) > 0:
            return val
        best = best if best is not None else val
    if best is None or best <= 0:
        raise UserInputError(f"law {alloc.law_name!r}: the closed form is not real and positive at "
                             f"these constants (no interior optimum)")
    return best


def _real(v):
    return v.real if isinstance(v, mpmath.mpc) else v


def _independent_minimum(L_x, dL_dx, C) -> mpmath.mpf:
    """Minimiser of ``L(x)`` in ``x = ln N``: grid scan, then a bracketing root of ``dL/dx``."""
    # wide enough for tiny constants: the optimum may lie far below N = 1
    span = abs(mp.log(C)) + 100
    lo, hi = -span, span
    n = int(min(8000, max(400, 4 * (hi - lo))))
    xs = [lo + (hi - lo) * i / n for i in range(n + 1)]
    # signs of dL/dx (no cancellation against constant terms such as E, even at C = 1e300)
    with mp.workdps(30):
        signs = []
        for t in xs:
            try:
                g = _real(dL_dx(t))
                signs.append(0 if not mpmath.isfinite(g) else (1 if g > 0 else (-1 if g < 0 else 0)))
            except (ValueError, ZeroDivisionError, OverflowError):
                signs.append(0)
    brackets = [(xs[i], xs[i + 1]) for i in range(n) if signs[i] < 0 and signs[i + 1] > 0]
    if not brackets:
        raise UserInputError("no interior minimum of the loss along the budget curve "
                             f"for N in [e^{int(lo)}, e^{int(hi)}]")
    roots = [_bracketed_root(lambda t: _real(dL_dx(t)), a, b) for a, b in brackets]
    return min(roots, key=lambda t: _real(L_x(t)))


def _bracketed_root(f: Callable, a, b) -> mpmath.mpf:
    """Root of ``f`` in ``[a, b]`` (sign change): Illinois solver, bisection as fallback."""
    fa, fb = f(a), f(b)
    if fa == 0:
        return a
    if fb == 0:
        return b
    if fa * fb > 0:
        # widen once: the grid minimum may sit next to the sign change
        a, b = a - (b - a), b + (b - a)
        fa, fb = f(a), f(b)
        if fa * fb > 0:
            raise UserInputError("could not bracket the optimum numerically")
    try:
        root = mp.findroot(f, (a, b), solver="illinois", tol=mpmath.mpf(2) ** (-2 * mp.prec),
                           maxsteps=400)
        if a <= root <= b:
            return root
    except (ValueError, ZeroDivisionError):
        pass
    for _ in range(int(mp.prec) + 64):   # bisection: one bit per step
        m = (a + b) / 2
        fm = f(m)
        if fm == 0 or b - a < abs(m) * mpmath.mpf(2) ** (-mp.prec):
            return m
        if fa * fm < 0:
            b = m
        else:
            a, fa = m, fm
    return (a + b) / 2


# -- a small SymPy -> mpmath evaluator (no lambdify/eval: a compiled closure tree) ---------------

def _mpf(r) -> mpmath.mpf:
    if isinstance(r, sp.Integer):
        return mpmath.mpf(int(r))
    if isinstance(r, sp.Rational):
        return mpmath.mpf(int(r.p)) / int(r.q)
    return mpmath.mpf(r)


_FUNCS = {sp.exp: mp.exp, sp.log: mp.log, sp.gamma: mp.gamma, sp.digamma: mp.digamma,
          sp.loggamma: mp.loggamma, sp.Abs: abs, sp.sqrt: mp.sqrt, sp.erf: mp.erf}


def _compile(expr: sp.Expr, var: sp.Symbol) -> Callable:
    """``f(value)`` evaluating ``expr`` at ``var = value`` at the current mpmath precision."""
    node = _node(expr, var)
    return node


def _node(e: sp.Expr, var):
    if not e.has(var):
        cache: dict = {}

        def const(_v, e=e):
            key = mp.prec
            if key not in cache:
                with mp.workprec(mp.prec + 20):
                    cache[key] = _const_value(e)
            return cache[key]
        return const
    if e == var:
        return lambda v: v
    args = [_node(a, var) for a in e.args]
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
        return lambda v: mp.power(base(v), ex(v))
    if isinstance(e, sp.LambertW):
        k = int(e.args[1]) if len(e.args) > 1 else 0
        return lambda v: mp.lambertw(args[0](v), k)
    for cls, fn in _FUNCS.items():
        if isinstance(e, cls):
            return lambda v, fn=fn: fn(*(a(v) for a in args))
    raise UserInputError(f"cannot evaluate {type(e).__name__} numerically")


def _const_value(e: sp.Expr):
    """A variable-free SymPy expression at the current precision (exact numbers stay exact)."""
    if e.is_Integer or e.is_Rational:
        return _mpf(e)
    val = sp.N(e, mpmath.libmp.prec_to_dps(mp.prec))
    if val.is_real:
        return val._to_mpmath(mp.prec)
    re_, im_ = val.as_real_imag()
    return mpmath.mpc(re_._to_mpmath(mp.prec), im_._to_mpmath(mp.prec))
