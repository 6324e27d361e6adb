"""Scaling laws as SymPy objects, and the registry of named laws.

A :class:`Law` is an expression for the (reducible) error ``L(model, data)`` with positive constants,
a compute-cost expression, named parameter sets with published values, and a domain for each
constant.  Nothing downstream needs to know where a law came from.

Built-in laws live in :mod:`theory.empirical_laws` (Chinchilla, Kaplan) and
:mod:`theory.jeon_van_roy` (the information-theoretic bound); each exposes a module-level ``LAWS``
list that :func:`registry` loads on first use.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Mapping

import sympy as sp

from theory.errors import UserInputError

__all__ = ["Law", "register", "get_law", "law_names", "registry"]

# modules that define built-in laws in a module-level list ``LAWS``
_BUILTIN_MODULES = ("theory.empirical_laws", "theory.jeon_van_roy")


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

    def __post_init__(self):
        if bool(self.abbreviations) != (self.abbreviated_expr is not None):
            raise ValueError(f"law {self.name!r}: abbreviations and abbreviated_expr go together")
        if self.abbreviations:
            allowed = {self.model, self.data, *self.constants, *self.abbreviations}
            stray = self.abbreviated_expr.free_symbols - allowed
            if stray or any(v.free_symbols - set(self.constants) for v in self.abbreviations.values()):
                raise ValueError(f"law {self.name!r}: abbreviations use unknown symbols")

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

    def parameters(self, set_name: str | None = None, overrides: Mapping[str, object] | None = None
                   ) -> dict[sp.Symbol, object]:
        """Resolve a parameter set plus ``name=value`` overrides to ``{symbol: value}``.

        Raises :class:`UserInputError` for an unknown set, an unknown constant, or a value outside
        the constant's domain. Constants left without a value are simply absent from the result.
        """
        values: dict[str, object] = {}
        chosen = set_name if set_name is not None else self.default_set
        if chosen is not None:
            if chosen not in self.parameter_sets:
                known = ", ".join(sorted(self.parameter_sets)) or "none"
                raise UserInputError(
                    f"law {self.name!r} has no parameter set {chosen!r} (known: {known})")
            values.update(self.parameter_sets[chosen])
        for key, value in (overrides or {}).items():
            values[key] = value
        by_name = {c.name: c for c in self.constants}
        out: dict[sp.Symbol, object] = {}
        for key, value in values.items():
            if key not in by_name:
                known = ", ".join(by_name) or "none"
                raise UserInputError(f"law {self.name!r} has no constant {key!r} (constants: {known})")
            number = sp.Rational(value) if isinstance(value, str) else sp.nsimplify(value, rational=True)
            if not number.is_finite or self.admissible(key).contains(number) is not sp.true:
                raise UserInputError(
                    f"{key}={value} is outside the domain of law {self.name!r}: {key} must lie in "
                    f"{sp.sstr(self.admissible(key))}")
            out[by_name[key]] = number
        return out


_REGISTRY: dict[str, Law] = {}
_LOADED = False


def register(law: Law, *, replace: bool = False) -> Law:
    """Add a law to the registry (a user's own laws too); returns it.

    Parameters
    ----------
    law : the :class:`Law` to add under ``law.name``.
    replace : overwrite a law already registered under that name (default: refuse).

    Returns
    -------
    Law
        ``law`` itself, so ``register(Law(...))`` can be used inline.

    Raises
    ------
    UserInputError
        If ``law.name`` is taken and ``replace`` is false.

    Examples
    --------
    >>> chinchilla = get_law("chinchilla")
    >>> register(chinchilla)
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: a law named 'chinchilla' is already registered
    >>> register(chinchilla, replace=True) is chinchilla
    True
    """
    if law.name in _REGISTRY and not replace:
        raise UserInputError(f"a law named {law.name!r} is already registered")
    _REGISTRY[law.name] = law
    return law


def registry() -> dict[str, Law]:
    """All registered laws by name (built-ins loaded on first call).

    Returns
    -------
    dict[str, Law]
        A copy: mutating it does not change the registry (use :func:`register`).

    Examples
    --------
    >>> laws = registry()
    >>> laws["kaplan"].name
    'kaplan'
    >>> "jeon-van-roy" in laws and "jeon-van-roy-dp" in laws
    True
    """
    global _LOADED
    if not _LOADED:
        _LOADED = True
        for module in _BUILTIN_MODULES:
            for law in importlib.import_module(module).LAWS:
                _REGISTRY.setdefault(law.name, law)
    return dict(_REGISTRY)


def law_names() -> list[str]:
    """Names of the registered laws, sorted.

    Examples
    --------
    >>> [name for name in law_names() if name in ("chinchilla", "kaplan", "jeon-van-roy", "jeon-van-roy-dp")]
    ['chinchilla', 'jeon-van-roy', 'jeon-van-roy-dp', 'kaplan']
    """
    return sorted(registry())


def get_law(name: str) -> Law:
    """The registered law called ``name``; a :class:`UserInputError` naming close matches otherwise.

    Parameters
    ----------
    name : registry name, e.g. ``"chinchilla"`` (see :func:`law_names`).

    Returns
    -------
    Law

    Raises
    ------
    UserInputError
        For an unknown name; the message suggests close matches (``difflib``) or lists the known laws.

    Examples
    --------
    >>> law = get_law("chinchilla")
    >>> law.model, law.data, law.cost
    (N, D, 6*D*N)
    >>> get_law("chinchila")
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: unknown law 'chinchila'; did you mean chinchilla?
    """
    laws = registry()
    if name in laws:
        return laws[name]
    close = difflib.get_close_matches(name, list(laws), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known laws: {', '.join(sorted(laws))}"
    raise UserInputError(f"unknown law {name!r}{hint}")
