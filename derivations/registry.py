"""Registry of the checked derivations, in reading order, plus document aliases.

Examples
--------
>>> derivation_names()[:3]
['framework', 'kl-lemma', 'maurey']
>>> get_derivation("chinchilla").title
"Chinchilla's closed-form allocation"
"""

from __future__ import annotations

import difflib
import functools

from scaling_theory.derivations import (allocation, assembled_bound, chinchilla, dp_atoms, dp_sensitivity,
                                        entropy_count, framework_identities, kl_lemma, maurey, py_atoms, py_bound,
                                        py_truncation, second_moment, sensitivity, teacher_moments, truncation)
from scaling_theory.errors import UserInputError

__all__ = ["derivation_names", "get_derivation", "resolve", "ALIASES"]

# name -> the module whose ``derivation()`` builds it, in reading order (a static table: no
# loading by name strings)
_MODULES = {
    "framework": framework_identities,
    "kl-lemma": kl_lemma,
    "maurey": maurey,
    "second-moment": second_moment,
    "teacher-moments": teacher_moments,
    "entropy-count": entropy_count,
    "jeon-van-roy-bound": assembled_bound,
    "jeon-van-roy-allocation": allocation,
    "d-K-sensitivity": sensitivity,
    "dp-atoms": dp_atoms,
    "truncation": truncation,
    "dp-sensitivity": dp_sensitivity,
    "pitman-yor-atoms": py_atoms,
    "pitman-yor-bound": py_bound,
    "pitman-yor-truncation": py_truncation,
    "chinchilla": chinchilla,
}

_PITMAN_YOR = ("framework", "kl-lemma", "maurey", "teacher-moments", "entropy-count", "dp-atoms", "jeon-van-roy-bound",
               "truncation", "pitman-yor-atoms", "pitman-yor-bound", "pitman-yor-truncation")

ALIASES = {
    # law names -> the chain of derivations behind them
    "jeon-van-roy": ("framework", "kl-lemma", "maurey", "second-moment", "teacher-moments", "entropy-count",
                     "dp-atoms", "jeon-van-roy-bound", "truncation", "jeon-van-roy-allocation", "dp-sensitivity"),
    "jeon-van-roy-finite": ("framework", "kl-lemma", "maurey", "second-moment", "teacher-moments", "entropy-count",
                            "jeon-van-roy-bound", "jeon-van-roy-allocation", "d-K-sensitivity"),
    # old name of the infinite-width law
    "jeon-van-roy-dp": ("framework", "kl-lemma", "maurey", "second-moment", "teacher-moments", "entropy-count",
                        "dp-atoms", "jeon-van-roy-bound", "truncation", "jeon-van-roy-allocation", "dp-sensitivity"),
    # the Pitman-Yor teacher's laws: the DP's constructions, then the urn, the Maurey route and the truncation route
    "jeon-van-roy-pitman-yor": _PITMAN_YOR,
    "jeon-van-roy-pitman-yor-normalised": _PITMAN_YOR,
    "all": tuple(_MODULES),
}


def derivation_names() -> list[str]:
    """Names of all derivations, in reading order.

    Returns
    -------
    list[str]
        A fresh list; each name is accepted by :func:`get_derivation`.

    Examples
    --------
    >>> names = derivation_names()
    >>> names[:4], names[-1], len(names)
    (['framework', 'kl-lemma', 'maurey', 'second-moment'], 'chinchilla', 16)
    """
    return list(_MODULES)


@functools.lru_cache(maxsize=None)
def get_derivation(name: str):
    """The :class:`scaling_theory.derivations.core.Derivation` called ``name``; one-line :class:`UserInputError` if unknown.

    Built by the module's ``derivation()`` on first use and cached (derivations are immutable).

    Parameters
    ----------
    name : a name from :func:`derivation_names` (not an alias; see :func:`resolve`).

    Examples
    --------
    >>> der = get_derivation("kl-lemma")
    >>> der.title, [s.name for s in der.steps][:2]
    ('Bernoulli-logit KL lemma', ['kl-bregman', 'softplus-curvature'])
    >>> get_derivation("kl-lema")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: unknown derivation 'kl-lema'; did you mean kl-lemma?
    """
    if name not in _MODULES:
        known = list(_MODULES) + [a for a in ALIASES if a != "all"]
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(_MODULES)}"
        raise UserInputError(f"unknown derivation {name!r}{hint}")
    return _MODULES[name].derivation()


def resolve(name: str) -> tuple[str, ...]:
    """Derivation names behind ``name``: itself, or the chain of an alias (``all``, a law name).

    Raises :class:`UserInputError` for a name that is neither a derivation nor an alias.

    Examples
    --------
    >>> resolve("kl-lemma")
    ('kl-lemma',)
    >>> resolve("jeon-van-roy-dp")[-3:]
    ('truncation', 'jeon-van-roy-allocation', 'dp-sensitivity')
    >>> len(resolve("all")) == len(derivation_names())
    True
    """
    if name in ALIASES:
        return ALIASES[name]
    get_derivation(name)  # raises for an unknown name
    return (name,)
