"""The teachers the laws bound and the samplers draw: one name and one description per teacher.

Every layer (the laws' constants, the simulator's :func:`~scaling_theory.numeric.sim.teacher.sample_teacher`,
the SMC sampler, the sweep store, the CLI) names a teacher by its canonical kind and reads its scale from
:func:`scale_variances` here, so a check can hold a sampler's moments against a law's constants
(docs/paper-setting.md, "Ours: teachers, student and bound").

Kinds
-----
``finite``
    ``K`` units: ``F(x) = sum_{k<=K} a_k ReLU(w_k . x)``.
``dp``
    Infinite width, the atoms of a Dirichlet process with concentration ``K`` and stick-breaking weights
    ``pi_k``: ``F(x) = sum_k pi_k a_k ReLU(w_k . x)``.  Old names ``dirichlet`` and ``infinite`` are
    accepted on input (:func:`canonical_kind`).

In both, ``a_k ~ N(0, sigma_a^2)`` and ``w_k ~ N(0, sigma_w^2 I_d)``, ``X ~ N(0, I_d)``,
``Y | F, X ~ Bernoulli(sigmoid(F(X)))``.

Examples
--------
>>> canonical_kind("dirichlet"), canonical_kind("infinite"), canonical_kind("finite")
('dp', 'dp', 'finite')
>>> scale_variances("barron", "dp")
(K**2, 1)
"""

from __future__ import annotations

import functools
import math

import sympy as sp

from scaling_theory.errors import UserInputError

__all__ = ["KINDS", "KIND_ALIASES", "SCALES", "canonical_kind", "check_scale", "scale_variances",
           "kind_label", "numeric_scales", "d", "K", "K_dp"]

KINDS = ("finite", "dp")
"""Canonical teacher kinds: ``finite`` (``K`` units) and ``dp`` (infinite width, Dirichlet process)."""
KIND_ALIASES = {"dirichlet": "dp", "infinite": "dp"}
"""Old names of teacher kinds, accepted on input and in old stores."""
SCALES = ("barron", "normalised")
"""Teacher scales: ``barron`` (``a ~ N(0,1)``, ``w ~ N(0, I_d)``) and ``normalised`` (``E[F^2] = 1/2``)."""

d = sp.Symbol("d", positive=True, integer=True)   # input dimension
K = sp.Symbol("K", positive=True, integer=True)   # number of teacher units (finite teacher)
K_dp = sp.Symbol("K", positive=True)              # Dirichlet-process concentration (real)

_LABELS = {"finite": "finite teacher", "dp": "infinite-width (Dirichlet-process) teacher"}


def canonical_kind(name: str) -> str:
    """The canonical name of a teacher kind (old names mapped); one-line :class:`UserInputError` otherwise.

    Examples
    --------
    >>> canonical_kind("dp")
    'dp'
    >>> canonical_kind("gaussian")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: unknown teacher kind 'gaussian' (known: finite, dp)
    """
    if isinstance(name, str):
        if name in KINDS:
            return name
        if name in KIND_ALIASES:
            return KIND_ALIASES[name]
    raise UserInputError(f"unknown teacher kind {name!r} (known: {', '.join(KINDS)})")


def check_scale(scale: str) -> str:
    """``scale`` if it is a known teacher scale; one-line :class:`UserInputError` otherwise."""
    if scale not in SCALES:
        raise UserInputError(f"unknown teacher scale {scale!r} (known: {', '.join(SCALES)})")
    return scale


def kind_label(kind: str) -> str:
    """A reader's name of the teacher kind (reports, figures).

    Examples
    --------
    >>> kind_label("dirichlet")
    'infinite-width (Dirichlet-process) teacher'
    """
    return _LABELS[canonical_kind(kind)]


def scale_variances(scale: str = "barron", teacher: str = "finite", d_: sp.Expr = d, K_: sp.Expr | None = None
                    ) -> tuple[sp.Expr, sp.Expr]:
    """``(sigma_a^2, sigma_w^2)`` of ``a_k ~ N(0, sigma_a^2)``, ``w_k ~ N(0, sigma_w^2 I_d)`` (ours).

    ``barron``: ``(1, 1)`` for the finite teacher and ``(K^2, 1)`` for the Dirichlet process, whose atoms
    carry the weights ``K pi_k a_k`` with ``a_k ~ N(0, 1)`` (so ``K`` equal weights ``1/K`` give back the
    finite teacher).  ``normalised``: ``sigma_w^2 = 1/d`` and ``sigma_a^2 = 1/K`` (finite) or ``K + 1``
    (Dirichlet process), so that ``E[F^2] = 1/2`` for every ``d`` and ``K``: the finite teacher has
    ``E[F^2] = K sigma_a^2 sigma_w^2 d/2`` and the DP teacher ``sigma_a^2 sigma_w^2 d/(2(K+1))``
    (``E[sum pi_k^2] = 1/(K+1)``, cross terms vanish since ``E a = 0``).  The simulator and the SMC sampler
    draw with these variances.

    Examples
    --------
    >>> scale_variances("normalised", "finite"), scale_variances("normalised", "dp", d, K_dp)
    ((1/K, 1/d), (K + 1, 1/d))
    >>> scale_variances("huge")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: unknown teacher scale 'huge' (known: barron, normalised)
    """
    teacher = canonical_kind(teacher)
    check_scale(scale)
    if K_ is None:
        K_ = K if teacher == "finite" else K_dp
    if scale == "barron":
        return (sp.Integer(1) if teacher == "finite" else K_**2), sp.Integer(1)
    return (1 / K_ if teacher == "finite" else K_ + 1), 1 / d_


@functools.lru_cache(maxsize=256)
def numeric_scales(scale: str, teacher: str, d_: int, K_: float) -> tuple[float, float]:
    """``(sigma_a, sigma_w)`` as floats for a sampler at concrete ``d`` and ``K``.

    Examples
    --------
    >>> numeric_scales("barron", "dp", 4, 2.0), numeric_scales("normalised", "finite", 4, 4)
    ((2.0, 1.0), (0.5, 0.5))
    """
    sa2, sw2 = scale_variances(scale, teacher, sp.Integer(int(d_)), sp.nsimplify(K_))
    return math.sqrt(float(sa2)), math.sqrt(float(sw2))
