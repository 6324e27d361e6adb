"""SymPy expressions evaluated with mpmath at any precision, and exact numbers from user text.

:func:`compile_expr` turns a trusted SymPy expression into a closure tree evaluated at the current
``mp`` precision (no ``lambdify``, no ``eval``); constants are bound from an environment as ``mpf``
at evaluation time, so SymPy never works on their exact rationals (``(3392187463/10**10)**(1/x)`` or
``gamma(500)**k`` hang it).  :func:`exact_number` reads a budget or constant as an exact rational.

Constants can be huge (an input dimension ``d = 1e9`` or ``1e300``): the parts of an expression that hold
only constants are evaluated with as many extra bits as the largest constant has (:func:`magnitude_bits`),
so ``gamma((d+1)/2)/gamma(d/2)`` keeps its ``+1`` and its digits; :func:`constant_value` evaluates such a
part alone (a validity window's edge at the constants) and :func:`bind_constants` folds every such part to a
float for the double-precision scans.  None of them lets SymPy evaluate ``gamma`` at a large exact
argument (an exact integer of billions of digits at ``d = 1e9``).
"""

from __future__ import annotations

from typing import Callable, Mapping

import mpmath
import sympy as sp
from mpmath import mp
from sympy.codegen.cfunctions import log1p

from scaling_theory.errors import UserInputError
from scaling_theory.theory.numbers import MAX_EXPONENT, exact_number

__all__ = ["compile_expr", "constant_value", "bind_constants", "magnitude_bits", "exact_number", "to_mpf", "real",
           "sign", "MAX_EXPONENT"]



def real(v):
    return v.real if isinstance(v, mpmath.mpc) else v


def sign(f: Callable, t) -> int:
    try:
        g = real(f(t))
    except (ValueError, ZeroDivisionError, OverflowError):
        return 0
    if mpmath.isnan(g):
        return 0
    return 1 if g > 0 else (-1 if g < 0 else 0)


def to_mpf(r) -> mpmath.mpf:
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


# log1p keeps ln(1 + x) exact for tiny x (the Pitman-Yor stick's tail bound at large n, theory/teachers.py)
_FUNCS = {sp.exp: _exp, sp.log: mp.log, log1p: mp.log1p, sp.gamma: mp.gamma, sp.digamma: mp.digamma,
          sp.loggamma: mp.loggamma, sp.Abs: abs, sp.erf: mp.erf, sp.Max: max, sp.Min: min}


def magnitude_bits(env: Mapping | None) -> int:
    """Extra bits that keep the constants of ``env`` exact: the bit length of the largest numerator or
    denominator among its exact values, plus the bits of that length (the condition number of a difference
    such as ``ln Gamma(d + 1/2) - ln Gamma(d)`` grows like ``d ln d``); 0 for short numbers.

    Examples
    --------
    >>> magnitude_bits({}), magnitude_bits({sp.Symbol("d"): sp.Integer(16)})
    (0, 0)
    >>> magnitude_bits({sp.Symbol("d"): sp.Integer(10)**100})
    342
    """
    bits = 0
    for value in (env or {}).values():
        if isinstance(value, sp.Rational):
            bits = max(bits, int(abs(value.p)).bit_length(), int(value.q).bit_length())
    return 0 if bits <= 32 else bits + bits.bit_length()


def compile_expr(expr: sp.Expr, var: sp.Symbol, env: Mapping | None = None) -> Callable:
    """``f(value)`` evaluating ``expr`` at ``var = value`` at the current mpmath precision.

    ``env`` binds the constants (exact SymPy numbers) as ``mpf`` at evaluation time, so SymPy never
    works on their exact rationals (``(3392187463/10**10)**(1/x)`` or ``gamma(500)**k`` hang it).
    Parts free of ``var`` are evaluated once per precision, with :func:`magnitude_bits` extra bits.

    Examples
    --------
    >>> d, x = sp.symbols("d x", positive=True)
    >>> f = compile_expr(x * sp.gamma((d + 1) / 2) / sp.gamma(d / 2), x, {d: sp.Integer(10)**100})
    >>> with mp.workdps(20):
    ...     mpmath.nstr(f(mpmath.mpf(1)) / mp.sqrt(mpmath.mpf(10)**100 / 2), 12)   # m_d/sqrt(2) ~ sqrt(d/2)
    '1.0'
    """
    env = dict(env or {})
    return _node(expr, var, env, 20 + magnitude_bits(env))


def constant_value(expr: sp.Expr, values: Mapping, dps: int = 30) -> mpmath.mpf:
    """``expr`` (free of everything but the constants in ``values``) as an ``mpf`` at ``dps`` digits.

    The numeric counterpart of ``sp.N(expr.subs(values))`` that never evaluates ``gamma`` exactly: at
    ``d = 1e9`` the substitution computes ``gamma(5e8)`` digit by digit and never ends.

    Examples
    --------
    >>> d = sp.Symbol("d", positive=True, integer=True)
    >>> mpmath.nstr(constant_value(sp.sqrt(2) * sp.gamma((d + 1) / 2) / sp.gamma(d / 2), {d: 10**9}, 20), 15)   # sqrt(d)(1 - 1/(4d))
    '31622.7765937781'
    """
    env = {k: exact_number(v) if not isinstance(v, sp.Basic) else v for k, v in dict(values).items()}
    with mp.workdps(dps):
        value = real(compile_expr(sp.sympify(expr), sp.Dummy("unused"), env)(None))
        return +value


def bind_constants(expr: sp.Expr, keep, values: Mapping, dps: int = 30) -> sp.Expr:
    """``expr`` with every largest part free of the symbols ``keep`` replaced by its value as a SymPy
    ``Float`` (:func:`constant_value`): what a double-precision ``lambdify`` can take at any constants.

    Examples
    --------
    >>> d, x = sp.symbols("d x", positive=True)
    >>> bind_constants(x * sp.gamma((d + 1) / 2) / sp.gamma(d / 2) + sp.log(d), {x}, {d: 10**20}, 15)
    7071067811.86547*x + 46.0517018598809
    """
    keep = set(keep)

    def fold(e):
        if not (e.free_symbols & keep):
            return sp.Float(constant_value(e, values, dps), dps)
        if e.is_Atom:
            return e
        return e.func(*(fold(a) for a in e.args))
    return fold(sp.sympify(expr))


def _node(e: sp.Expr, var, env, extra: int = 20):
    if not e.has(var):
        cache: dict = {}
        # the magnitude's bits once, at the outermost constant part (nested parts add their 20 guard bits)
        inner = _tree(e, var, env, 20) if (e.free_symbols or not e.is_number) else None

        def const(_v):
            key = mp.prec
            if key not in cache:
                with mp.workprec(mp.prec + extra):
                    cache[key] = inner(None) if inner is not None else _const_value(e)
            return cache[key]
        return const
    return _tree(e, var, env, extra)


def _tree(e: sp.Expr, var, env, extra: int = 20):
    if e == var:
        return lambda v: v
    if e.is_Symbol:
        if e not in env:
            raise UserInputError(f"no value for {e.name}")
        value = env[e]
        if isinstance(value, sp.Basic) and not value.is_Number:
            # an abbreviation: its expression of the constants, evaluated at the working precision
            return _node(value, var, env, extra)
        return lambda v: to_mpf(value)
    if e.is_Number or e in (sp.pi, sp.E, sp.EulerGamma):
        return lambda v: _const_value(e)
    args = [_node(a, var, env, extra) for a in e.args]
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
        return to_mpf(e)
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
