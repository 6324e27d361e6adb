"""Where a law that bounds a teacher says something: trivial error, the best route, informative budget.

- :func:`trivial_error`: the reducible error of the best input-independent predictor for the law's
  teacher distribution, ``min_q E_F E_X KL(Bern(sigma(F(X))) || Bern(q))``, attained at
  ``q* = E sigma(F(X))``; computed by seeded Monte Carlo over teachers and inputs (docs/paper-setting.md,
  "Ours": a bound above it says nothing at that budget).
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
from scaling_theory.numeric.precision import routes
from scaling_theory.theory import jeon_van_roy as jvr
from scaling_theory.theory.laws import Law
from scaling_theory.theory.registry import get_law
from scaling_theory.theory.teachers import numeric_scales

__all__ = ["TrivialError", "BoundOptimum", "family_of", "trivial_error", "law_trivial_error", "sample_teacher_outputs",
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


def _dp_weights(rng, K: float, tail: float = 1e-10, max_atoms: int = 200_000, sigma: float = 0.0) -> np.ndarray:
    """Stick-breaking weights of a DP(K) (or a Pitman-Yor process with discount ``sigma``: sticks
    ``Beta(1 - sigma, K + j sigma)``), truncated once the remaining mass is below ``tail`` or ``max_atoms``
    sticks are drawn (the remainder goes to the last stick, so the weights sum to one)."""
    parts, left = [], 1.0
    size = max(16, int(8 * (K + 1)))
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
    at 2,000 sticks: the expected dropped share of ``E[F^2]``, ``R^2 (K+1)/(K+1+2000 sigma)`` with ``R`` the
    leftover mass, is at most about ``1e-4`` at ``sigma = 1/2`` and ``1e-2`` at ``sigma = 0.9`` for ``K <= 32``, see :attr:`~scaling_theory.numeric.sim.teacher.Teacher.dropped_share`);
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
        weights = _dp_weights(rng, float(K), max_atoms=2_000, sigma=float(sigma))
    else:
        sa2, sw2 = (float(v) for v in jvr.scale_variances(scale, teacher, sp.Integer(d), sp.nsimplify(K)))
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
    rng = np.random.default_rng(seed)
    F = np.stack([sample_teacher_outputs(teacher, scale, int(d), K, rng, inputs, sigma) for _ in range(teachers)])
    prob = 1.0 / (1.0 + np.exp(-F))
    q = float(prob.mean())
    log_p, log_1mp = -_softplus(-F), -_softplus(F)
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


def smallest_budget(law: Law, values: Mapping) -> sp.Expr:
    """Smallest budget any route of the law covers (:func:`scaling_theory.numeric.precision.routes.smallest_budget`).

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> smallest_budget(law, law.parameters())
    68
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
        floor = min((r.smallest_budget(values) for r in chosen), key=lambda b: float(sp.N(b, 30)))
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
