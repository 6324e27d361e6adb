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
``pitman-yor``
    Infinite width with power-law weights: the atoms of a Pitman-Yor process with discount ``sigma`` in
    ``[0, 1)`` and concentration ``K > 0``, sticks ``V_k ~ Beta(1 - sigma, K + k sigma)``,
    ``pi_k = V_k prod_{j<k} (1 - V_j)``.  ``sigma = 0`` is the ``dp`` teacher; for ``sigma > 0``,
    ``E pi_k^2`` falls like ``k^(-2/sigma)`` (:func:`py_stick_square_mean`) instead of geometrically.

In all, ``a_k ~ N(0, sigma_a^2)`` and ``w_k ~ N(0, sigma_w^2 I_d)``, ``X ~ N(0, I_d)``,
``Y | F, X ~ Bernoulli(sigmoid(F(X)))``.

Examples
--------
>>> canonical_kind("dirichlet"), canonical_kind("infinite"), canonical_kind("finite")
('dp', 'dp', 'finite')
>>> scale_variances("barron", "dp")
(K**2, 1)
>>> scale_variances("normalised", "pitman-yor")
((K + 1)/(1 - sigma), 1/d)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy as sp

from scaling_theory.errors import UserInputError

__all__ = ["KINDS", "KIND_ALIASES", "SCALES", "TeacherSpec", "canonical_kind", "check_scale", "scale_variances",
           "kind_label", "numeric_scales", "m_d", "unit_second_moment", "unit_abs_mean", "output_second_moment",
           "stick_mean", "stick_square_mean", "stick_square_tail", "py_stick_mean", "py_stick_square_mean",
           "py_stick_square_tail", "py_stick_square_tail_bound", "py_remaining_stick_mean",
           "py_remaining_stick_square_mean", "stick_beta_parameters", "check_discount", "d", "K", "K_dp", "sigma"]

KINDS = ("finite", "dp", "pitman-yor")
"""Canonical teacher kinds: ``finite`` (``K`` units), ``dp`` (infinite width, Dirichlet process) and
``pitman-yor`` (infinite width, Pitman-Yor process with discount ``sigma``; ``sigma = 0`` is ``dp``)."""
KIND_ALIASES = {"dirichlet": "dp", "infinite": "dp"}
"""Old names of teacher kinds, accepted on input and in old stores."""
SCALES = ("barron", "normalised")
"""Teacher scales: ``barron`` (``a ~ N(0,1)``, ``w ~ N(0, I_d)``) and ``normalised`` (``E[F^2] = 1/2``)."""

d = sp.Symbol("d", positive=True, integer=True)   # input dimension
K = sp.Symbol("K", positive=True, integer=True)   # number of teacher units (finite teacher)
K_dp = sp.Symbol("K", positive=True)              # Dirichlet-process concentration (real)
sigma = sp.Symbol("sigma", positive=True)         # Pitman-Yor discount (the laws' constant: 0 < sigma < 1)

_LABELS = {"finite": "finite teacher", "dp": "infinite-width (Dirichlet-process) teacher",
           "pitman-yor": "infinite-width (Pitman-Yor) teacher"}


def canonical_kind(name: str) -> str:
    """The canonical name of a teacher kind (old names mapped); one-line :class:`UserInputError` otherwise.

    Examples
    --------
    >>> canonical_kind("dp")
    'dp'
    >>> canonical_kind("gaussian")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: unknown teacher kind 'gaussian' (known: finite, dp, pitman-yor)
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


def check_discount(value) -> float:
    """The Pitman-Yor discount as a float in ``[0, 1)``; one-line :class:`UserInputError` otherwise.

    Examples
    --------
    >>> check_discount(0), check_discount("0.25")
    (0.0, 0.25)
    >>> check_discount(1)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: the Pitman-Yor discount sigma must lie in [0, 1), got 1
    """
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"the Pitman-Yor discount sigma must be a number in [0, 1), got {value!r}") from None
    if not (math.isfinite(out) and 0.0 <= out < 1.0):
        raise UserInputError(f"the Pitman-Yor discount sigma must lie in [0, 1), got {value!r}")
    return out


def kind_label(kind: str) -> str:
    """A reader's name of the teacher kind (reports, figures).

    Examples
    --------
    >>> kind_label("dirichlet")
    'infinite-width (Dirichlet-process) teacher'
    """
    return _LABELS[canonical_kind(kind)]


def scale_variances(scale: str = "barron", teacher: str = "finite", d_: sp.Expr = d, K_: sp.Expr | None = None,
                    sigma_: sp.Expr | None = None) -> tuple[sp.Expr, sp.Expr]:
    """``(sigma_a^2, sigma_w^2)`` of ``a_k ~ N(0, sigma_a^2)``, ``w_k ~ N(0, sigma_w^2 I_d)`` (ours).

    ``barron``: ``(1, 1)`` for the finite teacher and ``(K^2, 1)`` for the Dirichlet and Pitman-Yor processes,
    whose atoms carry the weights ``K pi_k a_k`` with ``a_k ~ N(0, 1)`` (so ``K`` equal weights ``1/K`` give
    back the finite teacher).  ``normalised``: ``sigma_w^2 = 1/d`` and ``sigma_a^2 = 1/K`` (finite), ``K + 1``
    (Dirichlet process) or ``(K + 1)/(1 - sigma)`` (Pitman-Yor), so that ``E[F^2] = 1/2`` for every ``d``, ``K``
    and ``sigma``: the finite teacher has ``E[F^2] = K sigma_a^2 sigma_w^2 d/2`` and the stick-breaking teachers
    ``sigma_a^2 sigma_w^2 d E[sum pi_k^2]/2`` with ``E[sum pi_k^2] = (1 - sigma)/(K+1)`` (cross terms vanish
    since ``E a = 0``).  The simulator and the SMC sampler draw with these variances.

    Examples
    --------
    >>> scale_variances("normalised", "finite"), scale_variances("normalised", "dp", d, K_dp)
    ((1/K, 1/d), (K + 1, 1/d))
    >>> scale_variances("normalised", "pitman-yor", d, K_dp, sp.Integer(0))   # sigma = 0: the dp teacher
    (K + 1, 1/d)
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
    if teacher == "pitman-yor":
        return (K_ + 1) / (1 - (sigma if sigma_ is None else sigma_)), 1 / d_
    return (1 / K_ if teacher == "finite" else K_ + 1), 1 / d_


@functools.lru_cache(maxsize=1024)
def numeric_scales(scale: str, teacher: str, d_: int, K_: float, sigma_: float = 0.0) -> tuple[float, float]:
    """``(sigma_a, sigma_w)`` as floats for a sampler at concrete ``d``, ``K`` (and the Pitman-Yor discount
    ``sigma_``) (cached: the samplers call it once per teacher).

    Examples
    --------
    >>> numeric_scales("barron", "dp", 4, 2.0), numeric_scales("normalised", "finite", 4, 4)
    ((2.0, 1.0), (0.5, 0.5))
    >>> numeric_scales("normalised", "pitman-yor", 4, 2.0, 0.5)
    (2.449489742783178, 0.5)
    """
    sa2, sw2 = scale_variances(scale, teacher, sp.Integer(int(d_)), sp.nsimplify(K_), sp.nsimplify(sigma_))
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


def unit_second_moment(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr | None = None,
                       sigma_: sp.Expr | None = None) -> sp.Expr:
    """``E[a^2 ||w||^2] = sigma_a^2 sigma_w^2 d`` of one unit (one atom) of the teacher (ours).

    Examples
    --------
    >>> unit_second_moment("dp", "barron", sp.Integer(8), sp.Integer(32))
    8192
    >>> unit_second_moment("pitman-yor", "normalised", sp.Integer(8), sp.Integer(3), sp.Rational(1, 2))
    8
    """
    K_ = _k_default(teacher, K_)
    sa2, sw2 = scale_variances(scale, teacher, d_, K_, sigma_=sigma_)
    return sa2 * sw2 * d_


def unit_abs_mean(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr | None = None,
                  sigma_: sp.Expr | None = None) -> sp.Expr:
    """``mu_b = E|a| ||w|| = sigma_a sigma_w sqrt(2/pi) m_d``: mean size of one unit's output weight (ours).

    Examples
    --------
    >>> unit_abs_mean("finite", "barron", sp.Integer(1), sp.Integer(1))
    2/pi
    """
    K_ = _k_default(teacher, K_)
    sa2, sw2 = scale_variances(scale, teacher, d_, K_, sigma_=sigma_)
    return sp.sqrt(sa2 * sw2) * sp.sqrt(2 / sp.pi) * m_d(d_)


def output_second_moment(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr | None = None,
                         sigma_: sp.Expr | None = None) -> sp.Expr:
    """``E[F(X)^2]`` over teachers and inputs (ours): the signal the misspecification of a route falls from.

    ``E[ReLU(w . X)^2] = E||w||^2/2`` and independent mean-zero output weights kill the cross terms, so the
    finite teacher has ``K sigma_a^2 sigma_w^2 d/2`` and a stick-breaking teacher
    ``sigma_a^2 sigma_w^2 d E[sum_k pi_k^2]/2`` with ``E[sum_k pi_k^2] = 1/(K+1)`` (Dirichlet process,
    :func:`stick_square_tail` at ``n = 0``) or ``(1 - sigma)/(K+1)`` (Pitman-Yor, :func:`py_stick_square_tail`).
    Checked against draws of the simulator's own teacher in the ``teacher-moments`` and
    ``pitman-yor-truncation`` derivations.

    Examples
    --------
    >>> output_second_moment("dp", "normalised"), output_second_moment("finite", "normalised")
    (1/2, 1/2)
    >>> output_second_moment("dp", "barron", sp.Integer(8), sp.Integer(32))
    4096/33
    >>> output_second_moment("pitman-yor", "normalised"), output_second_moment("pitman-yor", "barron", d, K_dp, 0)
    (1/2, K**2*d/(2*(K + 1)))
    """
    teacher = canonical_kind(teacher)
    K_ = _k_default(teacher, K_)
    unit = unit_second_moment(teacher, scale, d_, K_, sigma_=sigma_)
    if teacher == "finite":
        return K_ * unit / 2
    if teacher == "pitman-yor":
        return sp.simplify(unit * py_stick_square_tail(sp.Integer(0), K_, sigma if sigma_ is None else sigma_) / 2)
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


def _is_zero(x) -> bool:
    return sp.sympify(x) == 0   # safe: the code's own numbers and symbols, never user text


def stick_beta_parameters(k_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> tuple[sp.Expr, sp.Expr]:
    """``(1 - sigma, K + k sigma)``: the ``k``-th stick ``V_k ~ Beta(1 - sigma, K + k sigma)`` of a Pitman-Yor
    process (Pitman & Yor 1997, the GEM(sigma, K) stick-breaking); ``sigma = 0`` gives the DP's ``Beta(1, K)``.

    Examples
    --------
    >>> stick_beta_parameters(sp.Integer(3), sp.Integer(2), sp.Rational(1, 4))
    (3/4, 11/4)
    """
    return 1 - sigma_, K_ + k_ * sigma_


def py_stick_mean(k_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``E[pi_k]`` of a Pitman-Yor stick: ``E V_k prod_{j<k} E(1 - V_j)`` with
    ``E V_k = (1-sigma)/(K+1+(k-1)sigma)``, ``E(1 - V_j) = (K+j sigma)/(K+1+(j-1)sigma)``; the product
    telescopes into Gamma functions: ``((1-sigma)/sigma) Gamma(K/sigma+k) Gamma((K+1)/sigma)/
    (Gamma(K/sigma+1) Gamma((K+1)/sigma+k))`` for ``sigma > 0`` (:func:`stick_mean` at ``sigma = 0``).

    Examples
    --------
    >>> sp.factor(py_stick_mean(sp.Integer(1)))
    -(sigma - 1)/(K + 1)
    >>> py_stick_mean(sp.Integer(2), sp.Integer(1), sp.Rational(1, 2)), py_stick_mean(sp.Integer(2), sp.Integer(1), 0)
    (3/20, 1/4)
    """
    if _is_zero(sigma_):
        return stick_mean(k_, K_)
    a, b = K_ / sigma_, (K_ + 1) / sigma_
    out = (1 - sigma_) / sigma_ * sp.gamma(a + k_) * sp.gamma(b) / (sp.gamma(a + 1) * sp.gamma(b + k_))
    return sp.gammasimp(out) if sp.sympify(k_).is_Integer else out  # safe: a SymPy expression or number from our own code, never user text


def py_stick_square_mean(k_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``E[pi_k^2] = E V_k^2 prod_{j<k} E(1 - V_j)^2`` of a Pitman-Yor stick (ours: the closed form).

    With ``E V^2 = (1-sigma)(2-sigma)/((K+1+(k-1)sigma)(K+2+(k-1)sigma))`` and
    ``E(1-V_j)^2 = (K+j sigma)(K+1+j sigma)/((K+1+(j-1)sigma)(K+2+(j-1)sigma))`` the product telescopes:
    ``E pi_k^2 = (1-sigma)(2-sigma) Gamma(g) Gamma(a+k)/(sigma (K+1) Gamma(a+1) Gamma(g+k))`` with
    ``a = K/sigma``, ``g = (K+2)/sigma``: it falls like ``k^(-2/sigma)`` (``g - a = 2/sigma``), not
    geometrically as the DP's (:func:`stick_square_mean`, ``sigma = 0``).

    Examples
    --------
    >>> sp.factor(py_stick_square_mean(sp.Integer(1)))
    (sigma - 2)*(sigma - 1)/((K + 1)*(K + 2))
    >>> py_stick_square_mean(sp.Integer(3), sp.Integer(2), 0) == stick_square_mean(sp.Integer(3), sp.Integer(2))
    True
    """
    if _is_zero(sigma_):
        return stick_square_mean(k_, K_)
    a, g = K_ / sigma_, (K_ + 2) / sigma_
    out = (1 - sigma_) * (2 - sigma_) * sp.gamma(g) * sp.gamma(a + k_) / (sigma_ * (K_ + 1) * sp.gamma(a + 1)
                                                                         * sp.gamma(g + k_))
    return sp.gammasimp(out) if sp.sympify(k_).is_Integer else out  # safe: a SymPy expression or number from our own code, never user text


def py_stick_square_tail(n_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``t(n) = E[sum_{k>n} pi_k^2]`` of a Pitman-Yor stick, in closed form (ours).

    ``E pi_k^2 = c Gamma(a+k)/Gamma(g+k)`` (:func:`py_stick_square_mean`) and
    ``Gamma(a+k)/Gamma(g+k) = [Gamma(a+k)/Gamma(g+k-1) - Gamma(a+k+1)/Gamma(g+k)]/(g-a-1)`` telescope, so

        t(n) = (1 - sigma) Gamma((K+2)/sigma) Gamma(K/sigma + n + 1) / ((K+1) Gamma(K/sigma + 1) Gamma((K+2)/sigma + n))
             = (1 - sigma)/(K+1) prod_{j<=n} (K + j sigma)/(K + 2 + (j-1) sigma),

    decaying like ``n^(1 - 2/sigma)``; at ``sigma = 0`` it is the DP's ``(K/(K+2))^n/(K+1)``
    (:func:`stick_square_tail`).  The route's law uses the upper bound :func:`py_stick_square_tail_bound`, which
    keeps the power and evaluates without cancellation at any ``n``.

    Examples
    --------
    >>> py_stick_square_tail(sp.Integer(0))
    (1 - sigma)/(K + 1)
    >>> py_stick_square_tail(sp.Integer(2), sp.Integer(1), sp.Rational(1, 2))   # (1/4) (3/2)/3 (2/(7/2))
    1/14
    """
    if _is_zero(sigma_):
        return stick_square_tail(n_, K_)
    a, g = K_ / sigma_, (K_ + 2) / sigma_
    if sp.sympify(n_) == 0:  # safe: a SymPy expression or number from our own code, never user text
        return (1 - sigma_) / (K_ + 1)
    out = (1 - sigma_) * sp.gamma(g) * sp.gamma(a + n_ + 1) / ((K_ + 1) * sp.gamma(a + 1) * sp.gamma(g + n_))
    return sp.gammasimp(out) if all(sp.sympify(x).is_Rational for x in (n_, K_, sigma_)) else out


def py_stick_square_tail_bound(n_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> sp.Expr:
    """An upper bound of :func:`py_stick_square_tail` with its power, ``t(n) <= tbar(n)`` for ``sigma > 0`` (ours).

    ``t(n) = t(0) [Gamma(g)/Gamma(a+1)] Gamma(y)/Gamma(y+c)`` with ``y = a + n + 1``, ``c = 2/sigma - 1``,
    ``a = K/sigma``, ``g = (K+2)/sigma``.  ``psi(z) > ln(z - 1/2)`` for ``z > 1/2`` (``f = psi - ln(. - 1/2)``
    has ``f(z) - f(z+1) = ln((z+1/2)/(z-1/2)) - 1/z > 0`` and tends to 0) integrated over ``[y, y + c]`` gives
    ``ln Gamma(y+c) - ln Gamma(y) >= G(B) - G(A)``, ``G(z) = z ln z - z``, ``A = y - 1/2``, ``B = y + c - 1/2``::

        tbar(n) = (1 - sigma)/(K+1) Gamma(g)/Gamma(a+1) exp(G(A) - G(B))
                = (1 - sigma)/(K+1) Gamma(g)/Gamma(a+1) B^(-c) exp(c - A ln(1 + c/A)).

    ``tbar(n)/t(n) -> 1`` as ``n -> oo`` (the power ``n^(1 - 2/sigma)`` and its constant are exact) and as
    ``sigma -> 0`` (the gap is at most ``c/(24 A B)``); ``ln(1 + c/A)`` is evaluated as ``log1p`` so the bound
    and its derivative keep their digits at any ``n``.

    Examples
    --------
    >>> tb = py_stick_square_tail_bound(sp.Integer(10), sp.Integer(2), sp.Rational(1, 2))
    >>> t = py_stick_square_tail(sp.Integer(10), sp.Integer(2), sp.Rational(1, 2))
    >>> bool(t < tb < 1.01 * t)
    True
    """
    from sympy.codegen.cfunctions import log1p

    a, g = K_ / sigma_, (K_ + 2) / sigma_
    c = 2 / sigma_ - 1
    A, B = a + n_ + sp.Rational(1, 2), g + n_ - sp.Rational(1, 2)
    return ((1 - sigma_) / (K_ + 1) * sp.gamma(g) / sp.gamma(a + 1) * B ** (-c)
            * sp.exp(c - A * log1p(c / A)))


def py_remaining_stick_mean(n_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``E R_n = E prod_{j<=n} (1 - V_j) = Gamma(K/sigma+n+1) Gamma((K+1)/sigma)/(Gamma(K/sigma+1)
    Gamma((K+1)/sigma+n))``: the stick mass left after ``n`` breaks, falling like ``n^(-(1-sigma)/sigma)``.

    The simulator cuts its stick once this mass is small or ``max_atoms`` sticks are drawn; at ``sigma = 0``
    it is ``(K/(K+1))^n``.

    Examples
    --------
    >>> py_remaining_stick_mean(sp.Integer(1)).factor()
    (K + sigma)/(K + 1)
    """
    if _is_zero(sigma_):
        return (K_ / (K_ + 1)) ** n_
    a, b = K_ / sigma_, (K_ + 1) / sigma_
    out = sp.gamma(a + n_ + 1) * sp.gamma(b) / (sp.gamma(a + 1) * sp.gamma(b + n_))
    return sp.gammasimp(out) if sp.sympify(n_).is_Integer else out


def py_remaining_stick_square_mean(n_: sp.Expr, K_: sp.Expr = K_dp, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``E R_n^2 = prod_{j<=n} E(1 - V_j)^2 = t(n) (K + 1 + n sigma)/(1 - sigma)``: the squared leftover stick.

    The stick after ``n`` breaks is ``R_n`` times a GEM(sigma, K + n sigma) stick, whose squared weights sum to
    ``(1-sigma)/(K+1+n sigma)`` in expectation, hence the relation to :func:`py_stick_square_tail`.  It decays like
    ``n^(-2(1-sigma)/sigma)``, one power of ``n`` slower than ``t(n)``: the bound ``t(n) <= E R_n^2`` loses that
    power (docs/paper-setting.md, "The Pitman-Yor teacher").

    Examples
    --------
    >>> py_remaining_stick_square_mean(sp.Integer(1), sp.Integer(1), sp.Rational(1, 2))   # E(1 - V_1)^2
    5/8
    """
    return py_stick_square_tail(n_, K_, sigma_) * (K_ + 1 + n_ * sigma_) / (1 - sigma_)


@dataclass(frozen=True)
class TeacherSpec:
    """The teacher a law bounds: its kind and scale, and the moments its constants are made of.

    The samplers of the simulator (:func:`scaling_theory.numeric.sim.teacher.sample_teacher`) and of the SMC
    read the same :func:`scale_variances`; the laws' constants are these methods (ours, docs/paper-setting.md).

    Parameters
    ----------
    kind : str
        ``"finite"``, ``"dp"`` or ``"pitman-yor"`` (old names accepted).
    scale : str
        ``"barron"`` or ``"normalised"``.

    Examples
    --------
    >>> spec = TeacherSpec("dirichlet", "normalised")
    >>> spec.kind, spec.K_symbol.is_integer, spec.output_second_moment()
    ('dp', None, 1/2)
    >>> py = TeacherSpec("pitman-yor")
    >>> [s.name for s in py.constants], py.sampler_arguments({d: 8, K_dp: 32, sigma: sp.Rational(1, 2)})
    (['d', 'K', 'sigma'], {'d': 8, 'K': 32, 'sigma': 0.5})
    """

    kind: str
    scale: str = "barron"

    def __post_init__(self):
        object.__setattr__(self, "kind", canonical_kind(self.kind))
        check_scale(self.scale)

    @property
    def K_symbol(self) -> sp.Symbol:
        """``K``: an integer unit count (finite) or a real concentration (dp, pitman-yor)."""
        return K if self.kind == "finite" else K_dp

    @property
    def constants(self) -> tuple[sp.Symbol, ...]:
        """The law constants that fix a teacher of this kind: ``(d, K)``, plus ``sigma`` for Pitman-Yor."""
        return (d, self.K_symbol) + ((sigma,) if self.kind == "pitman-yor" else ())

    def sampler_arguments(self, values) -> dict:
        """``{"d", "K"[, "sigma"]}`` as plain numbers from a law's ``{constant: value}``: the keyword arguments
        of the samplers (:func:`~scaling_theory.numeric.sim.teacher.sample_teacher`, the trivial error)."""
        by_name = {(k.name if isinstance(k, sp.Symbol) else str(k)): v for k, v in dict(values).items()}
        Kv = sp.Rational(by_name["K"])
        out = {"d": int(by_name["d"]), "K": int(Kv) if Kv.q == 1 else float(Kv)}
        if self.kind == "pitman-yor":
            out["sigma"] = float(sp.Rational(by_name["sigma"]))
        return out

    @property
    def label(self) -> str:
        """A reader's name of the teacher."""
        return kind_label(self.kind) + f" ({self.scale} scale)"

    def variances(self, d_: sp.Expr = d, K_: sp.Expr | None = None, sigma_: sp.Expr | None = None
                  ) -> tuple[sp.Expr, sp.Expr]:
        """``(sigma_a^2, sigma_w^2)`` (:func:`scale_variances`)."""
        return scale_variances(self.scale, self.kind, d_, self.K_symbol if K_ is None else K_, sigma_=sigma_)

    def unit_second_moment(self, d_: sp.Expr = d, K_: sp.Expr | None = None, sigma_: sp.Expr | None = None
                           ) -> sp.Expr:
        """``E[a^2 ||w||^2]`` (:func:`unit_second_moment`)."""
        return unit_second_moment(self.kind, self.scale, d_, K_, sigma_=sigma_)

    def unit_abs_mean(self, d_: sp.Expr = d, K_: sp.Expr | None = None, sigma_: sp.Expr | None = None) -> sp.Expr:
        """``E|a| ||w||`` (:func:`unit_abs_mean`)."""
        return unit_abs_mean(self.kind, self.scale, d_, K_, sigma_=sigma_)

    def output_second_moment(self, d_: sp.Expr = d, K_: sp.Expr | None = None, sigma_: sp.Expr | None = None
                             ) -> sp.Expr:
        """``E[F^2]`` (:func:`output_second_moment`)."""
        return output_second_moment(self.kind, self.scale, d_, K_, sigma_=sigma_)

    def to_json(self) -> dict:
        """``{"kind", "scale"}``."""
        return {"kind": self.kind, "scale": self.scale}


def py_cut_atoms(K_: float, sigma_: float, share: float, limit: int = 10**7) -> int | None:
    """The fewest atoms ``m`` whose cut drops at most ``share`` of a Pitman-Yor teacher's ``E[F^2]`` in expectation:
    ``t(m)/t(0) = Gamma((K+2)/sigma) Gamma(K/sigma + m + 1) / (Gamma(K/sigma + 1) Gamma((K+2)/sigma + m))``
    (:func:`py_stick_square_tail`, in floats through ``lgamma``), found by doubling then bisection; ``None`` above
    ``limit`` atoms (the caller refuses in its own words).  ``sigma > 0``.

    Examples
    --------
    >>> py_cut_atoms(2.0, 0.5, 1e-6), py_cut_atoms(2.0, 0.25, 1e-6), py_cut_atoms(32.0, 0.99, 1e-6, limit=1000)
    (589, 74, None)
    """
    a, g = K_ / sigma_, (K_ + 2.0) / sigma_
    const = math.lgamma(g) - math.lgamma(a + 1.0)

    def log_share(m: int) -> float:
        return const + math.lgamma(a + m + 1.0) - math.lgamma(g + m)

    target = math.log(share)
    hi = 1
    while log_share(hi) > target:
        hi *= 2
        if hi > 2 * limit:
            return None
    lo = hi // 2
    while hi - lo > 1:   # the share falls with m: the first m at or below the target
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if log_share(mid) <= target else (mid, hi)
    return hi if hi <= limit else None
