"""A :class:`~scaling_theory.theory.laws.Law` from user-typed text (through the whitelisting parser only).

Examples
--------
>>> law = law_from_formula("E + A/N**alpha + B/D**beta", model="N", data="D", cost="6*N*D")
>>> law.expr, law.cost, [c.name for c in law.constants]
(A/N**alpha + B/D**beta + E, 6*D*N, ['A', 'B', 'E', 'alpha', 'beta'])
>>> law_from_formula("A/N + B/D", model="P", data="D", cost="N*D")
Traceback (most recent call last):
...
scaling_theory.errors.UserInputError: model symbol 'P' does not appear in the formula 'A/N + B/D' (its symbols: A, B, D, N)
"""

from __future__ import annotations

import re

import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.laws import Law
from scaling_theory.theory.parser import parse_formula

__all__ = ["law_from_formula"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
MAX_NUMBER_DIGITS = 400   # an exact number in a formula: numerator and denominator below 10**400


def _check_numbers(text: str, e: sp.Expr) -> None:
    """Refuse absurd exact numbers (``N**(10**999)``) before any derivation works on them."""
    limit = 10 ** MAX_NUMBER_DIGITS
    for r in e.atoms(sp.Rational):
        if abs(r.p) >= limit or r.q >= limit:
            size = max(abs(int(r.p)), int(r.q)).bit_length() * 0.30103
            raise UserInputError(f"the formula {text!r} has a number of about {int(size) + 1} digits "
                                 f"(at most {MAX_NUMBER_DIGITS}): rescale it into a named constant")


def law_from_formula(expr: str, model: str, data: str, cost: str, name: str = "user") -> Law:
    """Build a law from a formula, the names of its model and data symbols, and a cost formula.

    Parameters
    ----------
    expr : the loss, e.g. ``"E + A/N**alpha + B/D**beta"`` (parsed by
        :func:`scaling_theory.theory.parser.parse_formula`, never evaluated).
    model, data : names of the model-size and data-size symbols; both must occur in ``expr``.
    cost : compute as a formula of ``model`` and ``data`` (and constants), e.g. ``"6*N*D"``.
    name : the law's name.

    Returns
    -------
    Law
        constants are the remaining symbols of ``expr`` and ``cost`` (positive), sorted by name.

    Raises
    ------
    UserInputError
        malformed formulas, an invalid or absent model/data symbol, model == data, a cost that
        does not involve both, or an exact number of more than ``MAX_NUMBER_DIGITS`` digits.

    Examples
    --------
    >>> law = law_from_formula("E + A/N**alpha + B/D**beta", "N", "D", "6*N*D")
    >>> law.constants, law.cost
    ((A, B, E, alpha, beta), 6*D*N)
    >>> law_from_formula("A/N + B/D", "N", "X", "N*D")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: data symbol 'X' does not appear in the formula 'A/N + B/D' (its symbols: A, B, D, N)
    """
    for role, sym in (("model", model), ("data", data)):
        if not isinstance(sym, str) or not _NAME.match(sym):
            raise UserInputError(f"{role} symbol {sym!r} is not a valid name (letters, digits, _)")
    if model == data:
        raise UserInputError(f"model and data symbols must differ (both are {model!r})")
    loss = parse_formula(expr)
    if not isinstance(loss, sp.Expr) or loss.is_number:
        raise UserInputError(f"the formula {expr!r} has no symbols")
    table = {s.name: s for s in loss.free_symbols}
    known = ", ".join(sorted(table))
    for role, sym in (("model", model), ("data", data)):
        if sym not in table:
            raise UserInputError(
                f"{role} symbol {sym!r} does not appear in the formula {expr!r} (its symbols: {known})")
    N, D = table[model], table[data]
    cost_expr = parse_formula(cost, symbols=table)
    for text, e in ((expr, loss), (cost, cost_expr)):
        _check_numbers(text, e)
    if not cost_expr.has(N) or not cost_expr.has(D):
        raise UserInputError(f"the cost {cost!r} must involve both {model!r} and {data!r}")
    others = (loss.free_symbols | cost_expr.free_symbols) - {N, D}
    constants = tuple(sorted(others, key=lambda s: s.name))
    return Law(name=name, expr=loss, model=N, data=D, cost=cost_expr, constants=constants,
               description=f"user formula {expr}", citation="user input")
