"""Exact numbers from what a user types: budgets and constants as exact SymPy rationals.

The one coercion every layer uses for a constant's or a budget's value (a decimal string such as
``"5.76e23"``, an int, a finite float by its shortest repr, a SymPy number or an mpmath ``mpf``), so
``1e300`` or ``1e-30`` lose nothing and an over-long number is refused before SymPy prints it.
"""

from __future__ import annotations

import math
import re

import mpmath
import sympy as sp

from scaling_theory.errors import UserInputError

__all__ = ["exact_number", "MAX_EXPONENT"]

MAX_EXPONENT = 4000    # |decimal exponent| (and digits) accepted in a budget or constant
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
_FRACTION = re.compile(r"[+-]?\d{1,%d}/\d{1,%d}\Z" % (MAX_EXPONENT, MAX_EXPONENT))


def exact_number(value, what: str = "compute") -> sp.Rational:
    """An exact rational from a decimal string, int, finite float or SymPy number.

    >>> exact_number("1e300") == 10**300, exact_number(0.1), exact_number("1/2")
    (True, 1/10, 1/2)
    >>> exact_number("nan")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: compute must be a finite number, got 'nan'
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
    if _FRACTION.match(text):   # an exact ratio such as "1/2"
        num, den = text.split("/")
        if int(den) == 0:
            raise UserInputError(f"{what} must be a finite number, got {text!r}")
        return sp.Rational(int(num), int(den))
    match = _DECIMAL.match(text)
    if not match:
        raise UserInputError(f"{what} must be a finite number, got {text!r}")
    if match.group(2) and abs(int(match.group(2)[1:])) > MAX_EXPONENT:
        raise UserInputError(f"{what} {text!r} is out of range (|exponent| <= {MAX_EXPONENT})")
    if len(text) > MAX_EXPONENT:
        raise UserInputError(f"{what} has {len(text)} characters: out of range (at most {MAX_EXPONENT})")
    value = sp.Rational(text)
    # numbers beyond this cannot even be printed (Python's int-to-str limit is 4300 digits)
    if abs(value.p) >= 10 ** MAX_EXPONENT or value.q >= 10 ** MAX_EXPONENT:
        raise UserInputError(f"{what} {text[:40]!r} is out of range (at most {MAX_EXPONENT} digits)")
    return value
