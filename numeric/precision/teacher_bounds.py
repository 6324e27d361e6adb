"""Where a law that bounds a teacher says something: trivial error, the best route, informative budget.

- :func:`trivial_error`: the reducible error of the best input-independent predictor for the law's
  teacher distribution, ``min_q E_F E_X KL(Bern(sigma(F(X))) || Bern(q))``, attained at
  ``q* = E sigma(F(X))``; computed by seeded Monte Carlo over teachers and inputs (docs/paper-setting.md,
  "Ours": a bound above it says nothing at that budget).  Its cost is estimated first
  (:func:`trivial_error_cost`): small teachers are drawn whole, unit by unit; a teacher whose draw would
  grow with ``d`` or ``K`` beyond :data:`EXPLICIT_WORK` is replaced by the dimension-free sampler of the
  same law of ``F(X)`` (:func:`sample_outputs_marginal`), so ``d = 1e9`` or ``K = 1e9`` costs what
  ``d = 8`` does.
- :func:`bound_optimum`: the compute-optimal point of a law with routes, the best valid route's
  (:mod:`scaling_theory.numeric.precision.routes`: each route minimised in its own validity window).
- :func:`informative_budget`: the smallest budget at which ``L*(C)`` falls below the trivial error.

Examples
--------
>>> te = trivial_error("finite", "normalised", 4, 2, teachers=200, inputs=64)
>>> 0.0 < te.value < 0.2, te.stderr < 0.01
(True, True)
>>> from scaling_theory.theory.registry import get_law
>>> family_of(get_law("jeon-van-roy-finite")), family_of(get_law("chinchilla"))
(('finite', 'barron'), None)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Mapping

import mpmath
import numpy as np
import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric._resources import memory_text, physical_memory
from scaling_theory.numeric.precision import routes
from scaling_theory.theory import jeon_van_roy as jvr
from scaling_theory.theory.laws import Law
from scaling_theory.theory.registry import get_law
from scaling_theory.theory.teachers import numeric_scales, scale_variances

__all__ = ["TrivialError", "TrivialErrorCost", "BoundOptimum", "family_of", "trivial_error", "trivial_error_cost",
           "law_trivial_error", "sample_teacher_outputs", "sample_outputs_marginal", "EXPLICIT_WORK", "MARGINAL_STICKS",
           "bound_optimum",
           "smallest_budget", "informative_budget",
           "route_switch_budget"]


def family_of(law: Law) -> tuple[str, str] | None:
    """``(teacher kind, scale)`` of the teacher a law bounds (its :attr:`~scaling_theory.theory.laws.Law.teacher`),
    ``None`` for a law that bounds no teacher (Chinchilla, a user's law)."""
    teacher = getattr(law, "teacher", None)
    return None if teacher is None else (teacher.kind, teacher.scale)


@dataclass(frozen=True)
class TrivialError:
    """Monte Carlo estimate of the best input-independent predictor's reducible error.

    ``value`` (nats), its standard error ``stderr`` over teachers, the optimal constant prediction
    ``q`` and the sample sizes.
    """

    value: float
    stderr: float
    q: float
    teachers: int
    inputs: int

    def beaten_by(self, loss) -> bool:
        """Whether a bound's ``loss`` is informative: below this estimate by three of its standard errors."""
        return bool(loss < self.value - 3 * self.stderr)


def _softplus(x):
    return np.logaddexp(0.0, x)


EXPLICIT_WORK = 1e9
"""Largest estimated work (numbers drawn plus multiply-adds, all teachers) of the unit-by-unit sampler
:func:`sample_teacher_outputs`, a few seconds; above it :func:`trivial_error` draws ``F(X)`` with the
dimension-free :func:`sample_outputs_marginal` (the same law)."""
MARGINAL_STICKS = 1024
"""Sticks a teacher of the dimension-free sampler draws one by one; the rest of the stick enters through
its mean (:func:`sample_outputs_marginal`)."""
_MARGINAL_CONCENTRATED = 1e6   # from this K on, no stick is drawn: sum_k pi_k^2 B_k is its mean to 1e-5 (32/K)
_MARGINAL_BYTES = 2**24        # one chunk of the dimension-free sampler's (teachers, inputs, sticks) normals
_EXPLICIT_ATOMS = {"dp": 200_000, "pitman-yor": 2_000}   # the unit-by-unit sampler's stick caps


@dataclass(frozen=True)
class TrivialErrorCost:
    """What :func:`trivial_error` will draw, estimated before it starts (no array is allocated).

    ``sampler`` is ``"explicit"`` (:func:`sample_teacher_outputs`, teacher by teacher) or ``"marginal"``
    (:func:`sample_outputs_marginal`); ``atoms`` the expected units per teacher of the explicit sampler;
    ``work`` numbers drawn plus multiply-adds of the sampler chosen, ``memory_bytes`` its largest arrays.
    """

    sampler: str
    atoms: float
    work: float
    memory_bytes: float
    explicit_work: float

    def describe(self) -> str:
        """One line, e.g. ``explicit sampler: 8.6e+07 operations, 2 MiB``."""
        mem = self.memory_bytes
        size = memory_text(mem)
        return f"{self.sampler} sampler: {self.work:.2g} operations, {size}"


def _float(x) -> float:
    """A constant as a float, ``inf`` beyond the float range (``d = 10**400`` is a valid input dimension)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf


def _explicit_atoms(teacher: str, K: float, sigma: float | None) -> float:
    """Expected units per teacher of :func:`sample_teacher_outputs`: ``K`` (finite), the sticks until the
    remaining mass is below ``1e-10`` (``E ln(1 - V) = -1/K`` for a DP stick, so about ``23 K``), capped."""
    if teacher == "finite":
        return float(K)
    if teacher == "pitman-yor":
        return float(_EXPLICIT_ATOMS["pitman-yor"])
    return float(min(_EXPLICIT_ATOMS["dp"], max(1.0, 23.03 * K)))


def trivial_error_cost(teacher: str, d, K, *, teachers: int = 1000, inputs: int = 128,
                       sigma: float | None = None) -> TrivialErrorCost:
    """The sampler :func:`trivial_error` will use and its size, from ``d``, ``K`` and the Monte Carlo sizes alone.

    The unit-by-unit sampler draws per teacher ``m`` units' ``w`` (``m d`` normals) and their pre-activations at
    the inputs (``inputs x min(m, d)`` normals times an ``m``-column factor, plus ``m^2 d`` for the Gram matrix
    when ``m < d``): it grows with ``d`` and ``K``.  The dimension-free sampler draws ``inputs`` values per
    teacher from at most :data:`MARGINAL_STICKS` sticks: it does not.  The Pitman-Yor teacher always takes the
    dimension-free sampler: its stick rarely ends within the unit-by-unit sampler's 2,000 sticks, whose last
    stick takes the leftover mass whole.

    Examples
    --------
    >>> trivial_error_cost("dp", 8, 32).sampler, trivial_error_cost("dp", 10**9, 4).sampler
    ('explicit', 'marginal')
    >>> c = trivial_error_cost("finite", 8, 10**9)
    >>> c.sampler, c.explicit_work > 1e14, c.memory_bytes < 2**28
    ('marginal', True, True)
    """
    d, K = _float(d), _float(K)
    m = _explicit_atoms(teacher, K, sigma)
    gram = m * m * d + m * m * m if m < d else 0.0   # floats: inf, never OverflowError, at K = 1e300
    per_teacher = m * d + inputs * min(m, d) * m + inputs * m + gram
    explicit = teachers * per_teacher
    # the Pitman-Yor stick rarely ends within the unit-by-unit sampler's cap, whose last stick takes the
    # leftover mass whole (an atom of weight R instead of R times a fresh stick): always the marginal sampler
    if explicit <= EXPLICIT_WORK and teacher != "pitman-yor":
        memory = 8.0 * (m * d + inputs * (min(m, d) + 2 * m) + (m * m if m < d else 0) + teachers * inputs)
        return TrivialErrorCost("explicit", m, explicit, memory, explicit)
    sticks = _marginal_sticks(teacher, K)
    chunk = _marginal_chunk(inputs, sticks)
    # a chunk's normals and their squares, the sticks' three (teachers, sticks) arrays, four (teachers, inputs)
    memory = 8.0 * (2 * chunk * inputs * max(sticks, 1) + teachers * (3 * sticks + 4 * inputs))
    return TrivialErrorCost("marginal", m, float(teachers) * inputs * (max(sticks, 1) + 4), memory, explicit)


def _dp_weights(rng, K: float, tail: float = 1e-10, max_atoms: int = 200_000, sigma: float = 0.0) -> np.ndarray:
    """Stick-breaking weights of a DP(K) (or a Pitman-Yor process with discount ``sigma``: sticks
    ``Beta(1 - sigma, K + j sigma)``), truncated once the remaining mass is below ``tail`` or ``max_atoms``
    sticks are drawn (the remainder goes to the last stick, so the weights sum to one)."""
    parts, left = [], 1.0
    size = min(max(16, int(8 * (K + 1))), max_atoms)   # never a batch beyond the cap (K = 1e9 would ask 8e9)
    drawn = 0
    while left > tail and drawn < max_atoms:
        if sigma == 0.0:
            b = rng.beta(1.0, K, size=size)
        else:
            b = rng.beta(1.0 - sigma, K + sigma * np.arange(drawn + 1, drawn + size + 1))
        drawn += size
        rest = left * np.cumprod(1.0 - b)
        w = b * np.concatenate([[left], rest[:-1]])
        stop = np.flatnonzero(rest <= tail)
        if stop.size:
            w, left = w[: stop[0] + 1], float(rest[stop[0]])
            parts.append(w)
            break
        parts.append(w)
        left = float(rest[-1])
    weights = np.concatenate(parts)
    weights[-1] += left
    return weights


def sample_teacher_outputs(teacher: str, scale: str, d: int, K, rng: np.random.Generator, inputs: int,
                           sigma: float | None = None) -> np.ndarray:
    """``F(X)`` of one sampled teacher at ``inputs`` draws of ``X ~ N(0, I_d)`` (docs/paper-setting.md).

    Finite: ``sum_{k<=K} a_k ReLU(w_k . x)``; DP: ``sum_k pi_k a_k ReLU(w_k . x)`` with stick weights of
    concentration ``K``; Pitman-Yor: the same with discount ``sigma`` (sticks ``Beta(1 - sigma, K + j sigma)``, cut
    at 2,000 sticks with the leftover mass ``R`` on the last stick, which raises ``E[F^2]`` by a share of about
    ``E[R^2] (K+1)/(1-sigma)``: ten times the signal at ``d = 8``, ``K = 32``, ``sigma = 3/4``, so
    :func:`trivial_error` draws that teacher with :func:`sample_outputs_marginal`, which gives the leftover its
    fresh stick's mean);
    ``a ~ N(0, sigma_a^2)``, ``w ~ N(0, sigma_w^2 I_d)`` from :func:`scaling_theory.theory.teachers.scale_variances`.

    Examples
    --------
    >>> f = sample_teacher_outputs("dp", "barron", 3, 2.0, np.random.default_rng(0), 5)
    >>> f.shape
    (5,)
    """
    if teacher == "pitman-yor":
        # the samplers' cached scales (one SymPy evaluation per teacher distribution, not per teacher)
        sa, sw = numeric_scales(scale, teacher, int(d), float(K), float(sigma))
        sa2, sw2 = sa * sa, sw * sw
        weights = _dp_weights(rng, float(K), max_atoms=_EXPLICIT_ATOMS["pitman-yor"], sigma=float(sigma))
    else:
        sa2, sw2 = _variances(scale, teacher, int(d), K)
        weights = np.ones(int(K)) if teacher == "finite" else _dp_weights(rng, float(K))
    m = weights.size
    a = rng.standard_normal(m) * math.sqrt(sa2)
    w = rng.standard_normal((m, d)) * math.sqrt(sw2)
    if m < d:
        # the pre-activations w_k . X are jointly N(0, W W^T): draw them from the m x m Gram matrix
        # (m^2 per input instead of m d; the same law, fast when d is large)
        L = np.linalg.cholesky(w @ w.T + 1e-12 * np.trace(w @ w.T) / m * np.eye(m))
        Z = rng.standard_normal((inputs, m)) @ L.T
    else:
        Z = rng.standard_normal((inputs, d)) @ w.T
    return np.maximum(Z, 0.0) @ (weights * a)


@functools.lru_cache(maxsize=256)
def _variances(scale: str, teacher: str, d: int, K) -> tuple[float, float]:
    """``(sigma_a^2, sigma_w^2)`` as floats (one SymPy evaluation per teacher distribution, not per teacher)."""
    sa2, sw2 = jvr.scale_variances(scale, teacher, sp.Integer(d), sp.nsimplify(K))
    return float(sa2), float(sw2)


def _marginal_sticks(teacher: str, K: float) -> int:
    """Sticks the dimension-free sampler draws one by one (0: the stick enters through its mean alone)."""
    if teacher == "finite" or K >= _MARGINAL_CONCENTRATED:
        return 0
    return MARGINAL_STICKS


def _marginal_chunk(inputs: int, sticks: int) -> int:
    """Teachers per chunk of the dimension-free sampler: its ``(chunk, inputs, sticks)`` normals within
    :data:`_MARGINAL_BYTES`."""
    return max(1, int(_MARGINAL_BYTES // (8 * inputs * max(sticks, 1))))


def _log_scale(scale: str, teacher: str, d, K, sigma) -> float:
    """``ln(sigma_a^2 sigma_w^2)`` at the constants, in mpmath (``K^2`` at ``K = 1e300`` is no float)."""
    from scaling_theory.numeric.precision.mpeval import constant_value

    sa2, sw2 = scale_variances(scale, teacher, sp.Symbol("d"), sp.Symbol("K"),
                               sp.Symbol("sigma") if teacher == "pitman-yor" else None)
    values = {sp.Symbol("d"): d, sp.Symbol("K"): K}
    if teacher == "pitman-yor":
        values[sp.Symbol("sigma")] = sigma
    return float(mpmath.log(constant_value(sa2 * sw2, values, 20)))


def _log_chi2_ratio(rng, df, shape) -> np.ndarray:
    """``ln(chi2_df/df)``: numpy's chi-square up to ``df = 1e12``, beyond it ``1 + sqrt(2/df) Z`` (the
    chi-square's own normal limit; its relative spread ``sqrt(2/df)`` is below ``1.5e-6`` there)."""
    if df <= 1e12:
        return np.log(rng.chisquare(float(df), size=shape) / float(df))
    return np.log1p(math.sqrt(2.0 / _float(df)) * rng.standard_normal(shape))


def sample_outputs_marginal(teacher: str, scale: str, d, K, rng: np.random.Generator, teachers: int, inputs: int,
                            sigma: float | None = None) -> np.ndarray:
    """``F(X)`` at ``teachers x inputs`` draws with the law of one teacher at one input, without a ``d``-vector
    or a ``K``-unit sum: the dimension-free sampler of :func:`trivial_error` (ours, docs/paper-setting.md).

    The trivial error ``E_F E_X g(F(X))`` depends only on the law of the scalar ``F(X)``.  Given ``X``, the
    ``w_k . X`` are independent ``N(0, sigma_w^2 ||X||^2)``, so with ``R^2 = ||X||^2 ~ chi2_d``,
    ``z_k ~ N(0, 1)`` and ``a_k ~ N(0, sigma_a^2)``:

    * finite: ``F = sigma_a sigma_w R sum_{k<=K} g_k ReLU(z_k)`` and, given the ``N ~ Binomial(K, 1/2)``
      positive ``z_k``, the sum is ``sqrt(Q) G`` with ``Q ~ chi2_N``, ``G ~ N(0, 1)``: exact in law (for
      ``K > 2^62``, ``Q = (K/2)(1 + sqrt(5/K) Z)``, its normal limit);
    * dp, pitman-yor: ``F = sigma_a sigma_w R sqrt(V) G`` with ``V = sum_k pi_k^2 B_k``, ``B_k = ReLU(z_k)^2``.
      Each row (a teacher) draws its first ``n = MARGINAL_STICKS`` sticks; the rest of the stick is the
      leftover mass ``R_n`` times a fresh Pitman-Yor stick of concentration ``K + n sigma``, whose
      ``sum pi'^2 B`` enters through its mean ``(1 - sigma)/(2 (K + n sigma + 1))``.  That term's relative
      variance is ``(32K + 30)/((K+2)(K+3)) < 32/K`` for a DP (of order ``1/(K + n sigma)`` for Pitman-Yor)
      and it is weighted by ``R_n^4``, so the bias it leaves in the trivial error is far below the Monte
      Carlo error; from ``K = 1e6`` on no stick is drawn (``V`` is its mean to ``3e-5``).

    Rows are independent teachers' draws and the values within a row share that teacher's sticks, so the
    standard error over rows is the estimate's.

    Examples
    --------
    >>> F = sample_outputs_marginal("finite", "normalised", 10**9, 10**9, np.random.default_rng(0), 200, 64)
    >>> F.shape, bool(abs(F.var() - 0.5) < 0.05)        # E F^2 = 1/2 on the normalised scale
    ((200, 64), True)
    """
    log_s2 = _log_scale(scale, teacher, d, K, sigma)
    log_r2 = float(mpmath.log(d))
    shape = (teachers, inputs)
    if teacher == "finite":
        if K <= 2**62:
            N = rng.binomial(int(K), 0.5, size=shape)
            with np.errstate(divide="ignore"):
                log_q = np.log(2.0 * rng.standard_gamma(N / 2.0))   # chi2_N = 2 Gamma(N/2); N = 0 gives 0
        else:
            log_q = float(mpmath.log(mpmath.mpf(K) / 2)) + np.log1p(math.sqrt(5.0 / _float(K))
                                                                  * rng.standard_normal(shape))
    else:
        log_q = _log_stick_functional(rng, teacher, K, 0.0 if sigma is None else float(sigma), teachers, inputs)
    G = rng.standard_normal(shape)
    log_abs = 0.5 * (log_s2 + log_r2 + _log_chi2_ratio(rng, d, shape) + log_q)
    with np.errstate(divide="ignore"):
        log_abs = log_abs + np.log(np.abs(G))
    # beyond |F| = e^700 the predictor's KL is ln 2 to the last bit; a float holds e^709 at most
    return np.sign(G) * np.exp(np.minimum(log_abs, 700.0))


def _log_stick_functional(rng, teacher: str, K: float, sigma: float, teachers: int, inputs: int) -> np.ndarray:
    """``ln V`` with ``V = sum_k pi_k^2 B_k`` per (teacher, input) (:func:`sample_outputs_marginal`)."""
    n = _marginal_sticks(teacher, _float(K))
    if n == 0:   # ln of the mean (1 - sigma)/(2 (K + 1)), in mpmath (K may exceed a float)
        return np.full((teachers, inputs), float(mpmath.log((1 - mpmath.mpf(sigma)) / (2 * (mpmath.mpf(K) + 1)))))
    j = np.arange(1, n + 1)
    V = rng.beta(1.0 - sigma, K + sigma * j, size=(teachers, n))
    rest = np.cumprod(1.0 - V, axis=1)
    pi = V * np.concatenate([np.ones((teachers, 1)), rest[:, :-1]], axis=1)
    tail = rest[:, -1] ** 2 * (1.0 - sigma) / (2.0 * (K + n * sigma + 1.0))
    out = np.empty((teachers, inputs))
    chunk = _marginal_chunk(inputs, n)
    for lo in range(0, teachers, chunk):
        hi = min(teachers, lo + chunk)
        z = np.maximum(rng.standard_normal((hi - lo, inputs, n)), 0.0)
        out[lo:hi] = np.einsum("tik,tk->ti", z * z, pi[lo:hi] ** 2) + tail[lo:hi, None]
    with np.errstate(divide="ignore"):
        return np.log(out)


def _validate(teacher: str, scale: str, d, K, sigma=None) -> None:
    if teacher == "pitman-yor":
        from scaling_theory.theory import pitman_yor

        get_law(pitman_yor.law_name(scale)).parameters(None, {"d": d, "K": K, "sigma": sigma})
        return
    law = get_law(jvr.law_name(teacher, scale))
    law.parameters(None, {"d": d, "K": K})   # one-line UserInputError outside the domain


@functools.lru_cache(maxsize=64)
def trivial_error(teacher: str, scale: str, d: int, K, *, teachers: int = 1000, inputs: int = 128,
                  seed: int = 0, sigma: float | None = None) -> TrivialError:
    """``min_q E KL(Bern(sigma(F(X))) || Bern(q))`` for the teacher distribution, by Monte Carlo.

    The minimiser is ``q* = E sigma(F(X))`` (the KL is convex in ``q`` and its derivative vanishes
    there); ``q*`` is estimated from the same draws, and the error is reported with its standard error
    over teachers.  Computed, not assumed: ``q* = 1/2`` only follows from the symmetry of ``a``.

    Parameters
    ----------
    teacher, scale : ``"dp"``/``"finite"``/``"pitman-yor"`` and ``"barron"``/``"normalised"``.
    d, K : input dimension and latent complexity (checked against the law's domain).
    teachers, inputs, seed : Monte Carlo sizes and seed (reproducible).
    sigma : the Pitman-Yor discount (that teacher only).

    Returns
    -------
    TrivialError

    Examples
    --------
    >>> te = trivial_error("finite", "barron", 8, 32, teachers=300, inputs=128)
    >>> 0.45 < te.value < 0.7
    True
    """
    _validate(teacher, scale, d, K, sigma)
    cost = trivial_error_cost(teacher, d, K, teachers=teachers, inputs=inputs, sigma=sigma)
    if cost.memory_bytes > physical_memory() / 4:
        raise UserInputError(f"the trivial error's Monte Carlo needs {cost.describe()}, more than a quarter of this "
                             f"machine's memory; lower teachers or inputs")
    rng = np.random.default_rng(seed)
    if cost.sampler == "explicit":
        F = np.stack([sample_teacher_outputs(teacher, scale, int(d), K, rng, inputs, sigma)
                      for _ in range(teachers)])
    else:
        F = sample_outputs_marginal(teacher, scale, d, K, rng, teachers, inputs, sigma)
    log_p, log_1mp = -_softplus(-F), -_softplus(F)
    prob = np.exp(log_p)   # sigmoid(F) without overflow at |F| up to e^700
    q = float(prob.mean())
    kl = prob * (log_p - math.log(q)) + (1 - prob) * (log_1mp - math.log1p(-q))
    per_teacher = kl.mean(axis=1)
    return TrivialError(float(per_teacher.mean()), float(per_teacher.std(ddof=1) / math.sqrt(teachers)), q,
                        teachers, inputs)


def law_trivial_error(law: Law, values: Mapping) -> TrivialError:
    """:func:`trivial_error` of the teacher a law bounds, at the law's constants (``values``): the teacher's own
    sampler arguments (:meth:`~scaling_theory.theory.teachers.TeacherSpec.sampler_arguments`), so no caller asks
    which teacher it has.

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> law_trivial_error(law, law.parameters()) is trivial_error("finite", "barron", 16, 4)
    True
    """
    teacher = law.teacher
    args = teacher.sampler_arguments(values)
    return trivial_error(teacher.kind, teacher.scale, args.pop("d"), args.pop("K"), **args)


@dataclass(frozen=True)
class BoundOptimum:
    """The compute-optimal point of a law with routes at one budget (``mpf`` values): its best route's.

    ``route`` names the best valid route; ``routes`` holds every route's
    :class:`~scaling_theory.numeric.precision.routes.RouteOptimum` (the others, beside it).
    """

    model: mpmath.mpf
    data: mpmath.mpf
    loss: mpmath.mpf
    route: str
    routes: tuple = ()


def smallest_budget(law: Law, values: Mapping) -> sp.Float:
    """Smallest budget any route of the law covers (:func:`scaling_theory.numeric.precision.routes.smallest_budget`).

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> smallest_budget(law, law.parameters())
    68.0000000000000
    """
    return routes.smallest_budget(law, values)


def bound_optimum(law: Law, values: Mapping, compute, dps: int = 20, *, route: str | None = None) -> BoundOptimum:
    """The law's compute-optimal point at ``compute``: the best valid route's (or the route called ``route``).

    Raises :class:`UserInputError` when no route covers the budget.

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> opt = bound_optimum(law, law.parameters(), 10**12)
    >>> opt.route, mpmath.nstr(opt.model, 6), mpmath.nstr(opt.loss, 4)
    ('direct', '68.0', '5.751e-8')
    """
    chosen = routes.select_route(law, route)
    optima = [routes.route_optimum(law, r, values, compute, digits=dps) for r in chosen]
    best = routes.best_route(optima)
    if best is None:
        floor = routes.smallest_budget(law, values, chosen)
        raise UserInputError(f"compute {compute} is below the smallest budget law {law.name!r} covers at these "
                             f"constants ({sp.N(floor, 6)}: smallest model times the smallest valid T)")
    return BoundOptimum(best.model, best.data, best.loss, best.name, tuple(optima))


def informative_budget(law: Law, values: Mapping, *, trivial: float | None = None, top: float = 1e60,
                       dps: int = 15) -> float | None:
    """Smallest budget ``C`` with ``L*(C) <= trivial error`` for the law's best route (``None`` above ``top``).

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> c = informative_budget(law, law.parameters(), trivial=0.5)
    >>> 1e3 < c < 1e6
    True
    """
    if trivial is None:
        trivial = law_trivial_error(law, values).value
    return routes.informative_budget(law, values, trivial, top=top, digits=dps)


def route_switch_budget(law: Law, values: Mapping, *, top: float = 1e60, dps: int = 15) -> float | None:
    """Smallest budget from which the best route stays the one that is best at ``top`` (``None`` when one
    route is best throughout); see :func:`scaling_theory.numeric.precision.routes.route_switches`.

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> c = route_switch_budget(law, law.parameters())
    >>> c is None or c < 1e4
    True
    """
    switches = routes.route_switches(law, values, top=top, digits=dps)
    return switches[-1]["C"] if len(switches) > 1 else None


def _plain(K):
    """A law constant as a Python number for the Monte Carlo (integers stay integers)."""
    K = sp.Rational(K)
    return int(K) if K.q == 1 else float(K)
