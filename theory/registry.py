"""The named laws, and :func:`resolve`: the one way from a name (or a law) plus parameters to numbers.

The registry is static: the built-in laws are the ``LAWS`` lists of
:mod:`scaling_theory.theory.empirical_laws` (Chinchilla, Kaplan) and
:mod:`scaling_theory.theory.jeon_van_roy` and :mod:`scaling_theory.theory.pitman_yor` (the information-theoretic
bounds), imported here; a
user's own laws are added with :func:`register`.  The CLI, the public API, the mpmath layer and the
allocation engine all go through :func:`resolve`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Mapping


from scaling_theory.errors import UserInputError
from scaling_theory.theory import empirical_laws, jeon_van_roy, pitman_yor
from scaling_theory.theory.laws import Law

__all__ = ["Resolved", "resolve", "register", "get_law", "law_names", "registry", "alias_note"]


@dataclass(frozen=True)
class Resolved:
    """A law with its constants' values fixed: what :func:`resolve` returns.

    Parameters
    ----------
    law : Law
        The law itself.
    values : dict[sympy.Symbol, sympy.Rational]
        Exact values of the constants that have one (from the set, then the overrides).
    param_set : str or None
        The parameter set the values come from, ``None`` when none was used.
    overridden : tuple[str, ...]
        Constants whose value the overrides changed from the set's (so ``param_set`` alone does not
        describe ``values``).

    Examples
    --------
    >>> resolve("jeon-van-roy", {"d": 8}).describe()
    'd16-K4 with d overridden'
    >>> r = resolve("jeon-van-roy", {"d": 8, "K": 32})   # every value of the set replaced
    >>> r.param_set, r.describe()
    (None, 'custom')
    >>> resolve("chinchilla").describe()
    'hoffmann2022'
    """

    law: Law
    values: dict = field(default_factory=dict)
    param_set: str | None = None
    overridden: tuple[str, ...] = ()

    def describe(self) -> str | None:
        """The set's name, with the overridden constants named when there are any."""
        if self.param_set is None:
            return "custom" if self.values else None
        if self.overridden:
            return f"{self.param_set} with {', '.join(self.overridden)} overridden"
        return self.param_set


def resolve(law: Law | str, params: Mapping | None = None, param_set: str | None = None, *,
            defaults: bool = True) -> Resolved:
    """A registered name or a :class:`Law`, plus a parameter set and overrides, made exact.

    Parameters
    ----------
    law : Law or str
        A law, or the name of a registered one.
    params : Mapping, optional
        ``{constant (name or Symbol): value}`` overrides; values are exact decimal strings or numbers.
    param_set : str, optional
        A named parameter set of the law (default: the law's default set, if ``defaults``).
    defaults : bool
        Use the default set when ``param_set`` is ``None`` (``False``: only ``params``; the symbolic
        engine derives in the remaining constants).

    Returns
    -------
    Resolved

    Raises
    ------
    UserInputError
        An unknown law, set or constant, or a value outside the constant's domain.

    Examples
    --------
    >>> r = resolve("chinchilla", {"alpha": "0.3"})
    >>> r.law.name, r.values[r.law.symbols["alpha"]], r.overridden
    ('chinchilla', 3/10, ('alpha',))
    >>> resolve("chinchilla", {"alpha": -1})
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: alpha=-1 is outside the domain of law 'chinchilla': alpha must lie in Interval.open(0, oo)
    """
    if isinstance(law, str):
        law = get_law(law)
    elif not isinstance(law, Law):
        raise UserInputError(f"expected a law or a law's name, got {type(law).__name__}")
    values = law.parameters(param_set, params, defaults=defaults)
    chosen = param_set if param_set is not None else (law.default_set if defaults else None)
    overridden: tuple[str, ...] = ()
    if chosen is not None and params:
        base = law.parameters(chosen)
        overridden = tuple(sorted(s.name for s, v in values.items() if s in base and base[s] != v))
        if base and len(overridden) == len(base):  # nothing of the set is left: it was not used
            chosen, overridden = None, ()
    return Resolved(law, values, chosen, overridden)


_REGISTRY: dict[str, Law] = {law.name: law for law in (*empirical_laws.LAWS, *jeon_van_roy.LAWS,
                                                         *pitman_yor.LAWS)}
_ALIASES: dict[str, tuple[str, str]] = dict(jeon_van_roy.ALIASES)


def alias_note(name: str) -> str | None:
    """The one-line note of an old law name (what it now means), ``None`` for a current name.

    Examples
    --------
    >>> print(alias_note("jeon-van-roy-dp"))
    jeon-van-roy-dp: old name: now the infinite-width (Dirichlet-process) teacher's law jeon-van-roy
    >>> alias_note("chinchilla") is None
    True
    """
    if name not in _ALIASES:
        return None
    return f"{name}: {_ALIASES[name][1]}"


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
    scaling_theory.errors.UserInputError: a law named 'chinchilla' is already registered
    >>> register(chinchilla, replace=True) is chinchilla
    True
    """
    if law.name in _REGISTRY and not replace:
        raise UserInputError(f"a law named {law.name!r} is already registered")
    _REGISTRY[law.name] = law
    return law


def registry() -> dict[str, Law]:
    """All registered laws by name.

    Returns
    -------
    dict[str, Law]
        A copy: mutating it does not change the registry (use :func:`register`).

    Examples
    --------
    >>> laws = registry()
    >>> laws["kaplan"].name
    'kaplan'
    >>> "jeon-van-roy" in laws and "jeon-van-roy-finite" in laws
    True
    """
    return dict(_REGISTRY)


def law_names() -> list[str]:
    """Names of the registered laws, sorted.

    Examples
    --------
    >>> [name for name in law_names() if name in ("chinchilla", "kaplan", "jeon-van-roy", "jeon-van-roy-finite")]
    ['chinchilla', 'jeon-van-roy', 'jeon-van-roy-finite', 'kaplan']
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
    >>> get_law("jeon-van-roy-dp").name   # an old name, kept as an alias
    'jeon-van-roy'
    >>> get_law("chinchila")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: unknown law 'chinchila'; did you mean chinchilla?
    """
    laws = registry()
    if name in laws:
        return laws[name]
    if name in _ALIASES:   # an old name (alias_note says what it now means)
        return laws[_ALIASES[name][0]]
    close = difflib.get_close_matches(name, list(laws), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known laws: {', '.join(sorted(laws))}"
    raise UserInputError(f"unknown law {name!r}{hint}")
