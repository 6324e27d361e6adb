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
from dataclasses import dataclass

import sympy as sp

from scaling_theory.errors import UserInputError

__all__ = ["KINDS", "KIND_ALIASES", "SCALES", "TeacherSpec", "canonical_kind", "check_scale", "scale_variances",
           "kind_label", "numeric_scales", "m_d", "unit_second_moment", "unit_abs_mean", "output_second_moment",
           "stick_mean", "stick_square_mean", "stick_square_tail", "d", "K", "K_dp"]

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


@functools.lru_cache(maxsize=1024)
def numeric_scales(scale: str, teacher: str, d_: int, K_: float) -> tuple[float, float]:
    """``(sigma_a, sigma_w)`` as floats for a sampler at concrete ``d`` and ``K`` (cached: the samplers call it
    once per teacher).

    Examples
    --------
    >>> numeric_scales("barron", "dp", 4, 2.0), numeric_scales("normalised", "finite", 4, 4)
    ((2.0, 1.0), (0.5, 0.5))
    """
    sa2, sw2 = scale_variances(scale, teacher, sp.Integer(int(d_)), sp.nsimplify(K_))
    return math.sqrt(float(sa2)), math.sqrt(float(sw2))


def m_d(d_: sp.Expr = d) -> sp.Expr:
    """``E||w||`` for ``w ~ N(0, I_d)``: ``sqrt(2) Gamma((d+1)/2)/Gamma(d/2)`` (chi mean).

    Pass SymPy integers for exact values (a Python ``int`` makes ``(d+1)/2`` a float).

    Examples
    --------
    >>> m_d(sp.Integer(1)), m_d(sp.Integer(2))
    (sqrt(2)/sqrt(pi), sqrt(2)*sqrt(pi)/2)

    References
    ----------
    The mean of the chi distribution with ``d`` degrees of freedom (Johnson, Kotz & Balakrishnan,
    Continuous Univariate Distributions, vol. 1, ch. 18).
    """
    return sp.sqrt(2) * sp.gamma((d_ + 1) / 2) / sp.gamma(d_ / 2)


def _k_default(teacher: str, K_):
    return (K if canonical_kind(teacher) == "finite" else K_dp) if K_ is None else K_


def unit_second_moment(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr | None = None
                       ) -> sp.Expr:
    """``E[a^2 ||w||^2] = sigma_a^2 sigma_w^2 d`` of one unit (one atom) of the teacher (ours).

    Examples
    --------
    >>> unit_second_moment("dp", "barron", sp.Integer(8), sp.Integer(32))
    8192
    """
    K_ = _k_default(teacher, K_)
    sa2, sw2 = scale_variances(scale, teacher, d_, K_)
    return sa2 * sw2 * d_


def unit_abs_mean(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr | None = None
                  ) -> sp.Expr:
    """``mu_b = E|a| ||w|| = sigma_a sigma_w sqrt(2/pi) m_d``: mean size of one unit's output weight (ours).

    Examples
    --------
    >>> unit_abs_mean("finite", "barron", sp.Integer(1), sp.Integer(1))
    2/pi
    """
    K_ = _k_default(teacher, K_)
    sa2, sw2 = scale_variances(scale, teacher, d_, K_)
    return sp.sqrt(sa2 * sw2) * sp.sqrt(2 / sp.pi) * m_d(d_)


def output_second_moment(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr | None = None
                         ) -> sp.Expr:
    """``E[F(X)^2]`` over teachers and inputs (ours): the signal the misspecification of a route falls from.

    ``E[ReLU(w . X)^2] = E||w||^2/2`` and independent mean-zero output weights kill the cross terms, so the
    finite teacher has ``K sigma_a^2 sigma_w^2 d/2`` and the Dirichlet process, with
    ``E[sum_k pi_k^2] = 1/(K+1)`` (:func:`stick_square_tail` at ``n = 0``), ``sigma_a^2 sigma_w^2 d/(2(K+1))``.
    Checked against draws of the simulator's own teacher in the ``teacher-moments`` derivation.

    Examples
    --------
    >>> output_second_moment("dp", "normalised"), output_second_moment("finite", "normalised")
    (1/2, 1/2)
    >>> output_second_moment("dp", "barron", sp.Integer(8), sp.Integer(32))
    4096/33
    """
    teacher = canonical_kind(teacher)
    K_ = _k_default(teacher, K_)
    unit = unit_second_moment(teacher, scale, d_, K_)
    if teacher == "finite":
        return K_ * unit / 2
    return unit * stick_square_tail(sp.Integer(0), K_) / 2


def stick_mean(k_: sp.Expr, K_: sp.Expr = K_dp) -> sp.Expr:
    """``E[pi_k] = (1/(K+1)) (K/(K+1))^(k-1)`` of the ``k``-th stick weight of a DP with concentration ``K``.

    ``pi_k = beta_k prod_{j<k} (1 - beta_j)`` with ``beta_j ~ Beta(1, K)`` independent: ``E beta = 1/(K+1)``.

    Examples
    --------
    >>> stick_mean(sp.Integer(1), sp.Integer(1)), stick_mean(sp.Integer(2), sp.Integer(1))
    (1/2, 1/4)
    """
    return (K_ / (K_ + 1)) ** (k_ - 1) / (K_ + 1)


def stick_square_mean(k_: sp.Expr, K_: sp.Expr = K_dp) -> sp.Expr:
    """``E[pi_k^2] = 2/((K+1)(K+2)) (K/(K+2))^(k-1)`` (``E beta^2 = 2/((K+1)(K+2))``,
    ``E (1 - beta)^2 = K/(K+2)`` for ``beta ~ Beta(1, K)``).

    Examples
    --------
    >>> stick_square_mean(sp.Integer(1), sp.Integer(1))
    1/3
    """
    return 2 * (K_ / (K_ + 2)) ** (k_ - 1) / ((K_ + 1) * (K_ + 2))


def stick_square_tail(n_: sp.Expr, K_: sp.Expr = K_dp) -> sp.Expr:
    """``E[sum_{k>n} pi_k^2] = (K/(K+2))^n/(K+1)``: the stick mass a truncation at ``n`` atoms leaves, squared.

    The geometric sum of :func:`stick_square_mean` over ``k > n`` (checked symbolically and against draws
    of the simulator's stick in the ``truncation`` derivation).

    Examples
    --------
    >>> stick_square_tail(sp.Integer(0), K_dp), stick_square_tail(sp.Integer(2), sp.Integer(2))
    (1/(K + 1), 1/12)
    """
    return (K_ / (K_ + 2)) ** n_ / (K_ + 1)


@dataclass(frozen=True)
class TeacherSpec:
    """The teacher a law bounds: its kind and scale, and the moments its constants are made of.

    The samplers of the simulator (:func:`scaling_theory.numeric.sim.teacher.sample_teacher`) and of the SMC
    read the same :func:`scale_variances`; the laws' constants are these methods (ours, docs/paper-setting.md).

    Parameters
    ----------
    kind : str
        ``"finite"`` or ``"dp"`` (old names accepted).
    scale : str
        ``"barron"`` or ``"normalised"``.

    Examples
    --------
    >>> spec = TeacherSpec("dirichlet", "normalised")
    >>> spec.kind, spec.K_symbol.is_integer, spec.output_second_moment()
    ('dp', None, 1/2)
    """

    kind: str
    scale: str = "barron"

    def __post_init__(self):
        object.__setattr__(self, "kind", canonical_kind(self.kind))
        check_scale(self.scale)

    @property
    def K_symbol(self) -> sp.Symbol:
        """``K``: an integer unit count (finite) or a real concentration (dp)."""
        return K if self.kind == "finite" else K_dp

    @property
    def label(self) -> str:
        """A reader's name of the teacher."""
        return kind_label(self.kind) + f" ({self.scale} scale)"

    def variances(self, d_: sp.Expr = d, K_: sp.Expr | None = None) -> tuple[sp.Expr, sp.Expr]:
        """``(sigma_a^2, sigma_w^2)`` (:func:`scale_variances`)."""
        return scale_variances(self.scale, self.kind, d_, self.K_symbol if K_ is None else K_)

    def unit_second_moment(self, d_: sp.Expr = d, K_: sp.Expr | None = None) -> sp.Expr:
        """``E[a^2 ||w||^2]`` (:func:`unit_second_moment`)."""
        return unit_second_moment(self.kind, self.scale, d_, K_)

    def unit_abs_mean(self, d_: sp.Expr = d, K_: sp.Expr | None = None) -> sp.Expr:
        """``E|a| ||w||`` (:func:`unit_abs_mean`)."""
        return unit_abs_mean(self.kind, self.scale, d_, K_)

    def output_second_moment(self, d_: sp.Expr = d, K_: sp.Expr | None = None) -> sp.Expr:
        """``E[F^2]`` (:func:`output_second_moment`)."""
        return output_second_moment(self.kind, self.scale, d_, K_)

    def to_json(self) -> dict:
        """``{"kind", "scale"}``."""
        return {"kind": self.kind, "scale": self.scale}
