"""Scaling laws as SymPy objects.

A :class:`Law` is an expression for the (reducible) error ``L(model, data)`` with positive constants,
a compute-cost expression, named parameter sets with published values, and a domain for each
constant.  Nothing downstream needs to know where a law came from.

The named laws are collected in :mod:`scaling_theory.theory.registry`, whose :func:`resolve` turns a
name or a law plus parameters into what every caller needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.numbers import exact_number

__all__ = ["Law", "Route"]


@dataclass(frozen=True)
class Route:
    """One proof of a law's bound: its expression, the window where it is a bound, and its growth as ``C -> oo``.

    A law with routes is the minimum over them (docs/paper-setting.md, "One bound is one proof"): each route
    is a derivation in :mod:`scaling_theory.derivations` with its own validity window and compute-optimal
    allocation, and the law's headline at a budget is the best route's.

    Parameters
    ----------
    name : str
        Short name, unique within the law (``"maurey"``, ``"direct"``, ``"truncation"``).
    expr : sympy.Expr
        The bound in the law's model and data symbols and constants.
    min_model, min_data : sympy.Expr
        Smallest model size and sample count (expressions of the constants) where ``expr`` is a bound.
    derivation : str
        The checked derivation that proves it (a name in :mod:`scaling_theory.derivations.registry`).
    description : str
        One line: the construction behind the bound.
    symbolic : bool
        The allocation engine (:func:`scaling_theory.theory.allocation.compute_optimal_allocation`) derives
        its optimum in closed form or by dominant balance; ``False``: the optimum is found numerically and the
        leading order is ``leading`` (derived and checked in ``derivation``).
    leading : Mapping[str, sympy.Expr]
        ``{"model", "data", "loss"}`` leading orders in the budget symbol ``C`` and the constants (optional
        when ``symbolic``: the engine gives them).
    model_exponent : sympy.Expr or None
        ``lim d ln p*/d ln C`` (0 for bounded or logarithmic growth); ``None``: from the engine.
    growth : str
        A reader's name of the model's leading order (``"sqrt(C/ln C)"``, ``"ln C"``, ``"constant"``).
    method : str
        How a non-symbolic route's optimum is found, in words (default: numerical minimisation).

    Examples
    --------
    >>> p, T, C = sp.symbols("p T C", positive=True)
    >>> r = Route("toy", 1/p + 1/T, sp.Integer(1), sp.Integer(1), "none", "a toy bound", model_exponent=sp.Rational(1, 2))
    >>> r.name, r.smallest_budget({})
    ('toy', 1)
    """

    name: str
    expr: sp.Expr
    min_model: sp.Expr
    min_data: sp.Expr
    derivation: str
    description: str
    symbolic: bool = True
    leading: Mapping[str, sp.Expr] = field(default_factory=dict)
    model_exponent: sp.Expr | None = None
    growth: str = ""
    method: str = ""

    def smallest_budget(self, values: Mapping[sp.Symbol, object]) -> sp.Expr:
        """``min_model * min_data`` at the constants: the smallest budget the route covers."""
        return sp.Mul(self.min_model, self.min_data).subs(dict(values))


@dataclass(frozen=True)
class Law:
    """An error law ``L(model, data)`` with a compute cost.

    Parameters
    ----------
    name : registry name, e.g. ``"chinchilla"``.
    expr : SymPy expression of the loss in ``model``, ``data`` and the constants.
    model, data : positive symbols for model size and data size.
    cost : compute as an expression of ``model``, ``data`` (and constants), e.g. ``6*N*D``.
    constants : the remaining (positive) symbols of ``expr``/``cost``, in display order.
    parameter_sets : ``{set name: {constant name: value}}``; values are numbers or exact strings.
    default_set : the parameter set used when the user names none (or ``None``).
    domain : ``{constant name: sympy Set}`` of admissible values (default: positive reals).
    description, citation : one-line human text.
    latex_names : ``{symbol name: LaTeX}`` overrides for the printer (e.g. ``{"N_c": "N_c"}``).
    routes : the law's proof routes (:class:`Route`), the first one being ``expr`` itself; the law is their
        minimum, and every headline follows the best valid route at the budget asked.  Empty for a law that is
        one formula (Chinchilla, a user's law).
    teacher : the :class:`scaling_theory.theory.teachers.TeacherSpec` the law bounds (``None`` for an
        empirical law); its trivial error is where the bound starts to say something.
    abbreviations : ``{symbol: expression of the constants}``, e.g. ``{A: (d+1) S/16}``: short names for
        long coefficients, used for display and derivation; numbers are always exact, since the
        symbols are bound to their expressions (:meth:`abbreviation_values`).
    abbreviated_expr : ``expr`` written with the abbreviations (``None``: ``expr`` itself); it must
        equal ``expr`` once they are substituted (:attr:`expanded_expr`).

    Examples
    --------
    >>> N, D, A = sp.symbols("N D A", positive=True)
    >>> law = Law("toy", A/N + 1/D, N, D, N*D, (A,))
    >>> law.symbols["A"] is A
    True
    >>> a, x = sp.symbols("a x", positive=True)
    >>> short = Law("short", (x + 1)/N + 1/D, N, D, N*D, (x,), abbreviations={a: x + 1}, abbreviated_expr=a/N + 1/D)
    >>> short.display_expr, short.expanded_expr == short.expr
    (a/N + 1/D, True)
    >>> short.abbreviation_values({x: 2})
    {a: 3}
    """

    name: str
    expr: sp.Expr
    model: sp.Symbol
    data: sp.Symbol
    cost: sp.Expr
    constants: tuple[sp.Symbol, ...] = ()
    parameter_sets: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    default_set: str | None = None
    domain: Mapping[str, sp.Set] = field(default_factory=dict)
    description: str = ""
    citation: str = ""
    latex_names: Mapping[str, str] = field(default_factory=dict)
    abbreviations: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    abbreviated_expr: sp.Expr | None = None
    routes: tuple[Route, ...] = ()
    teacher: object | None = None

    def __post_init__(self):
        names = [r.name for r in self.routes]
        if len(set(names)) != len(names):
            raise ValueError(f"law {self.name!r}: route names must be unique, got {names}")
        if self.routes and self.routes[0].expr != self.expr:
            raise ValueError(f"law {self.name!r}: the first route must be the law's expression")
        if bool(self.abbreviations) != (self.abbreviated_expr is not None):
            raise ValueError(f"law {self.name!r}: abbreviations and abbreviated_expr go together")
        if self.abbreviations:
            allowed = {self.model, self.data, *self.constants, *self.abbreviations}
            stray = self.abbreviated_expr.free_symbols - allowed
            if stray or any(v.free_symbols - set(self.constants) for v in self.abbreviations.values()):
                raise ValueError(f"law {self.name!r}: abbreviations use unknown symbols")

    def _tex(self, expr) -> str:
        from scaling_theory.theory.printing import to_latex

        return to_latex(expr, self.latex_names)

    def _repr_latex_(self) -> str:
        r"""The law as typeset math in Jupyter: ``$L(N, D) = ...$``.

        Examples
        --------
        >>> from scaling_theory.theory.registry import get_law
        >>> get_law("chinchilla")._repr_latex_()
        '$L(N, D) = \\frac{A}{N^{\\alpha}} + \\frac{B}{D^{\\beta}} + E$'
        """
        lhs = f"L({self._tex(self.model)}, {self._tex(self.data)})"
        where = ", \\quad ".join(f"{self._tex(k)} = {self._tex(v)}" for k, v in self.abbreviations.items())
        body = f"{lhs} = {self._tex(self.display_expr)}"
        return f"${body}" + (f", \\quad \\text{{where }} {where}$" if where else "$")

    def _repr_markdown_(self) -> str:
        """Name, description, the law in display math, compute cost and source (Jupyter)."""
        lines = [f"**{self.name}**" + (f": {self.description}" if self.description else ""), "",
                 "$$" + self._repr_latex_().strip("$") + "$$", "",
                 f"compute ${self._tex(self.cost)}$" + (f"; source: {self.citation}" if self.citation else "")]
        return "\n".join(lines)

    def route(self, name: str) -> Route:
        """The route called ``name``; a one-line :class:`UserInputError` listing the routes otherwise.

        Examples
        --------
        >>> from scaling_theory.theory.registry import get_law
        >>> get_law("jeon-van-roy-finite").route("direct").name
        'direct'
        >>> get_law("jeon-van-roy").route("tilted")
        Traceback (most recent call last):
        ...
        scaling_theory.errors.UserInputError: law 'jeon-van-roy' has no route 'tilted' (routes: maurey, truncation)
        >>> get_law("chinchilla").route("maurey")
        Traceback (most recent call last):
        ...
        scaling_theory.errors.UserInputError: law 'chinchilla' has no route 'maurey' (it is one formula, no routes)
        """
        for r in self.routes:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self.routes)
        raise UserInputError(f"law {self.name!r} has no route {name!r} "
                             + (f"(routes: {known})" if known else "(it is one formula, no routes)"))

    def route_law(self, name: str) -> "Law":
        """This law with one route's bound as its expression (no routes left): what the allocation engine,
        the budget minimiser and the LaTeX printer work on for that route.

        Examples
        --------
        >>> from scaling_theory.theory.registry import get_law
        >>> law = get_law("jeon-van-roy-finite").route_law("direct")
        >>> law.name, law.routes, law.model in law.expr.free_symbols
        ('jeon-van-roy-finite[direct]', (), False)
        """
        import dataclasses

        r = self.route(name)
        primary = r is self.routes[0]
        return dataclasses.replace(
            self, name=f"{self.name}[{r.name}]", expr=r.expr, routes=(),
            abbreviations=self.abbreviations if primary else {},
            abbreviated_expr=self.abbreviated_expr if primary else None,
            description=f"{self.description.split(';')[0]}; route {r.name}: {r.description}")

    @property
    def display_expr(self) -> sp.Expr:
        """The loss as a reader wants it: in the abbreviations if the law has any, else ``expr``."""
        return self.abbreviated_expr if self.abbreviated_expr is not None else self.expr

    @property
    def expanded_expr(self) -> sp.Expr:
        """The loss in the constants alone (``expr``; the abbreviations substituted)."""
        return self.expr

    def abbreviation_values(self, values: Mapping[sp.Symbol, object] | None = None) -> dict[sp.Symbol, sp.Expr]:
        """``{abbreviation: its expression}`` with the constants in ``values`` substituted."""
        return {s: v.subs(dict(values or {})) for s, v in self.abbreviations.items()}

    @property
    def symbols(self) -> dict[str, sp.Symbol]:
        """All symbols of the law by name: model, data and constants."""
        out = {self.model.name: self.model, self.data.name: self.data}
        out.update({c.name: c for c in self.constants})
        return out

    def admissible(self, name: str) -> sp.Set:
        """The admissible set of a constant (positive reals unless the law says otherwise)."""
        return self.domain.get(name, sp.Interval.open(0, sp.oo))

    def parameters(self, set_name: str | None = None, overrides: Mapping[object, object] | None = None, *,
                   defaults: bool = True) -> dict[sp.Symbol, sp.Rational]:
        """Resolve a parameter set plus overrides to ``{symbol: exact value}``.

        The one coercion of constants' values in the toolkit (:func:`scaling_theory.theory.numbers.exact_number`:
        decimal strings, ints, floats by their shortest repr, SymPy numbers), with a domain check.

        Parameters
        ----------
        set_name : str, optional
            A named parameter set (default: the law's default set when ``defaults`` is true).
        overrides : Mapping, optional
            ``{constant (name or Symbol): value}`` applied on top of the set.
        defaults : bool
            Start from the default set when ``set_name`` is ``None`` (``False``: from nothing).

        Raises
        ------
        UserInputError
            An unknown set, an unknown constant, a value that is not a finite number, or one outside
            the constant's domain.  Constants left without a value are simply absent from the result.

        Examples
        --------
        >>> N, D, A = sp.symbols("N D A", positive=True)
        >>> law = Law("toy", A/N + 1/D, N, D, N*D, (A,), parameter_sets={"s": {"A": "2.5"}}, default_set="s")
        >>> law.parameters(), law.parameters(overrides={A: 0.1}), law.parameters(defaults=False)
        ({A: 5/2}, {A: 1/10}, {})
        """
        values: dict[str, object] = {}
        chosen = set_name if set_name is not None else (self.default_set if defaults else None)
        if chosen is not None:
            if chosen not in self.parameter_sets:
                known = ", ".join(sorted(self.parameter_sets)) or "none"
                raise UserInputError(
                    f"law {self.name!r} has no parameter set {chosen!r} (known: {known})")
            values.update(self.parameter_sets[chosen])
        for key, value in (overrides or {}).items():
            values[key.name if isinstance(key, sp.Symbol) else str(key)] = value
        by_name = {c.name: c for c in self.constants}
        out: dict[sp.Symbol, sp.Rational] = {}
        for key, value in values.items():
            if key not in by_name:
                known = ", ".join(by_name) or "none"
                raise UserInputError(f"law {self.name!r} has no constant {key!r} (constants: {known})")
            number = exact_number(value, what=key)
            if not number.is_finite or self.admissible(key).contains(number) is not sp.true:
                raise UserInputError(
                    f"{key}={value} is outside the domain of law {self.name!r}: {key} must lie in "
                    f"{sp.sstr(self.admissible(key))}")
            out[by_name[key]] = number
        return out
