"""Each proof route of a law, derived: its closed form or numeric method, leading order and model exponent.

A law with routes (:class:`scaling_theory.theory.laws.Route`) is the minimum over them.  A route whose form
the allocation engine handles (``symbolic``) is derived by
:func:`scaling_theory.theory.allocation.compute_optimal_allocation` on the law restricted to it
(:meth:`~scaling_theory.theory.laws.Law.route_law`); any other route carries its leading order and model
exponent, derived and checked in its derivation (``route.derivation``), and its optimum at a budget is found
numerically (:mod:`scaling_theory.numeric.precision.routes`).

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> [(r.name, r.model_exponent, r.growth) for r in route_allocations(get_law("jeon-van-roy"))]
[('maurey', 1/2, 'sqrt(C)/ln C'), ('truncation', 0, 'ln C')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import sympy as sp

from scaling_theory.theory.laws import Law

__all__ = ["RouteAllocation", "route_allocations", "leading_exponent"]


@dataclass(frozen=True)
class RouteAllocation:
    """One route of a law, derived (see the module docstring).

    Parameters
    ----------
    name, description, derivation : the route's (:class:`~scaling_theory.theory.laws.Route`).
    law : the law restricted to the route (its expression is the route's bound).
    method : how its optimum is found: the engine's method (``"Lambert W"``, ...) or ``"numerical minimisation"``.
    closed_form : the optimum is exact in ``C`` (else ``leading`` is all there is in closed form).
    allocation : the engine's :class:`~scaling_theory.theory.allocation.Allocation` (``None`` for a numeric route).
    leading : ``{"model", "data", "loss"}`` leading orders as ``C -> oo`` (entries may be ``None``).
    model_exponent : ``lim d ln p*/d ln C`` (0 for bounded or logarithmic growth).
    growth : a reader's name of the model's leading order.
    min_model, min_data : the validity window.
    """

    name: str
    description: str
    derivation: str
    law: Law
    method: str
    closed_form: bool
    allocation: object | None
    leading: Mapping[str, sp.Expr | None]
    model_exponent: sp.Expr | None
    growth: str
    min_model: sp.Expr
    min_data: sp.Expr

    def to_json(self) -> dict:
        """``{name, method, closed_form, leading_order, model_exponent, growth, validity, derivation}``."""
        def s(x):
            return None if x is None else sp.sstr(x)
        return {"name": self.name, "description": self.description, "method": self.method,
                "closed_form": self.closed_form,
                "leading_order": {k: s(v) for k, v in self.leading.items()},
                "model_exponent": s(self.model_exponent), "growth": self.growth,
                "validity": {"min_model": s(self.min_model), "min_data": s(self.min_data)},
                "derivation": self.derivation}


def route_allocations(law: Law, route: str | None = None) -> list[RouteAllocation]:
    """Every route of ``law`` derived (or only the route called ``route``); empty for a law without routes.

    Parameters
    ----------
    law : Law
        A law with routes.
    route : str, optional
        One route's name (a one-line :class:`~scaling_theory.errors.UserInputError` lists the routes otherwise).

    Returns
    -------
    list[RouteAllocation]
    """
    from scaling_theory.theory.allocation import compute_optimal_allocation

    chosen = law.routes if route is None else (law.route(route),)
    out = []
    for r in chosen:
        view = law.route_law(r.name)
        if r.symbolic:
            alloc = compute_optimal_allocation(view)
            model = alloc.asymptotic_model if (alloc.closed_form and alloc.asymptotic_model is not None) \
                else (None if alloc.closed_form else alloc.model_optimal)
            data = alloc.asymptotic_data if (alloc.closed_form and alloc.asymptotic_data is not None) \
                else (None if alloc.closed_form else alloc.data_optimal)
            if alloc.closed_form and model is None:   # an exact power law is its own leading order
                model, data = alloc.model_optimal, alloc.data_optimal
            leading = {"model": model, "data": data, "loss": None}
            leading = {k: (alloc.expanded(v) if v is not None else None) for k, v in leading.items()}
            exponent = r.model_exponent if r.model_exponent is not None else alloc.model_exponent
            out.append(RouteAllocation(r.name, r.description, r.derivation, view, alloc.method, alloc.closed_form,
                                       alloc, {**leading, **dict(r.leading)}, exponent, r.growth, r.min_model,
                                       r.min_data))
        else:
            out.append(RouteAllocation(r.name, r.description, r.derivation, view,
                                       r.method or "numerical minimisation along the budget", False,
                                       None, {"model": None, "data": None, "loss": None, **dict(r.leading)},
                                       r.model_exponent, r.growth, r.min_model, r.min_data))
    return out


def leading_exponent(expr: sp.Expr, C: sp.Symbol) -> sp.Expr | None:
    """``lim_{C -> oo} d ln expr/d ln C``: the exponent of a leading order (``C^a`` up to logarithms), symbolically.

    Constants left in ``expr`` stay symbols of the result (``1/(sigma + 2)`` for the Pitman-Yor Maurey route);
    ``None`` when SymPy cannot take the limit.

    Examples
    --------
    >>> C, s = sp.symbols("C sigma", positive=True)
    >>> leading_exponent(C**(1 / (2 + s)) / sp.log(C)**(1 / (2 + s)), C)
    1/(sigma + 2)
    >>> leading_exponent(9 * sp.log(C) / sp.log(2), C), leading_exponent(sp.sqrt(C) / sp.log(C), C)
    (0, 1/2)

    Numbers that are not short rationals (``gamma(1001/2)/gamma(500)`` at ``d = 1000``, ``10**9``) enter as signed
    symbols, so the limit never works on their digits (it gave up at ``d = 1000`` and ran minutes at
    ``K = 1000`` before):

    >>> k = sp.Integer(10)**9
    >>> leading_exponent(sp.gamma(sp.Rational(1001, 2)) / sp.gamma(500) * k * sp.log(C)**k / C + 1 / C**2, C)
    -1
    """
    expr, numbers = _abstract_numbers(sp.sympify(expr), C)  # safe: a SymPy expression or number from our own code, never user text
    log_slope = sp.expand_log(sp.log(expr), force=True)
    try:
        value = sp.limit(sp.simplify(C * sp.diff(log_slope, C)), C, sp.oo)
    except (NotImplementedError, ValueError, TypeError):
        return None
    if value.is_finite is False:
        return None
    value = sp.simplify(value)
    if value.free_symbols & set(numbers):   # the exponent itself holds an abstracted number: put it back
        value = sp.simplify(value.xreplace(numbers))
    return value


_SHORT = 10**6   # rationals with numerator and denominator below this stay numbers in leading_exponent


def _abstract_numbers(expr: sp.Expr, C: sp.Symbol) -> tuple[sp.Expr, dict]:
    """``expr`` with each largest number that is not a short rational replaced by a positive or negative symbol
    (its sign from a 30-digit evaluation), and ``{symbol: number}``."""
    numbers: dict = {}
    seen: dict = {}

    def walk(e):
        if e.is_number and not e.has(C):
            if e.is_Rational and abs(e.p) < _SHORT and e.q < _SHORT or e in (sp.pi, sp.E):
                return e
            if e in seen:
                return seen[e]
            value = sp.N(e, 30)
            if not (value.is_real and value.is_finite) or value == 0:
                return e
            s = sp.Dummy(f"c{len(numbers)}", positive=bool(value > 0), negative=bool(value < 0))
            numbers[s] = e
            seen[e] = s
            return s
        if e.is_Atom or not e.args:
            return e
        return e.func(*(walk(a) for a in e.args))
    return walk(expr), numbers
