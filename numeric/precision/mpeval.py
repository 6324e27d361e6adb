"""SymPy expressions evaluated with mpmath at any precision, and exact numbers from user text.

:func:`compile_expr` turns a trusted SymPy expression into a closure tree evaluated at the current
``mp`` precision (no ``lambdify``, no ``eval``); constants are bound from an environment as ``mpf``
at evaluation time, so SymPy never works on their exact rationals (``(3392187463/10**10)**(1/x)`` or
``gamma(500)**k`` hang it).  :func:`exact_number` reads a budget or constant as an exact rational.
"""

from __future__ import annotations

from typing import Callable, Mapping

import mpmath
import sympy as sp
from mpmath import mp
from sympy.codegen.cfunctions import log1p

from scaling_theory.errors import UserInputError
from scaling_theory.theory.numbers import MAX_EXPONENT, exact_number

__all__ = ["compile_expr", "exact_number", "to_mpf", "real", "sign", "MAX_EXPONENT"]



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
          sp.loggamma: mp.loggamma, sp.Abs: abs, sp.erf: mp.erf}


def compile_expr(expr: sp.Expr, var: sp.Symbol, env: Mapping | None = None) -> Callable:
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
        return lambda v: to_mpf(value)
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
