"""Where the Jeon-Van Roy laws say something: trivial error, both routes of the finite law, informative budget.

- :func:`trivial_error`: the reducible error of the best input-independent predictor for the law's
  teacher distribution, ``min_q E_F E_X KL(Bern(sigma(F(X))) || Bern(q))``, attained at
  ``q* = E sigma(F(X))``; computed by seeded Monte Carlo over teachers and inputs (docs/paper-setting.md,
  "Ours": a bound above it says nothing at that budget).
- :func:`bound_optimum`: the compute-optimal point of a law of this family, for the finite teacher the
  better of the Maurey route (the registered expression) and the direct width-``K`` route at the
  smallest model that represents the teacher, ``p = K (d + 1)``.
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
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision.budget import BudgetCurve
from scaling_theory.numeric.precision.mpeval import compile_expr, exact_number, to_mpf
from scaling_theory.theory import jeon_van_roy as jvr
from scaling_theory.theory.laws import Law
from scaling_theory.theory.registry import get_law

__all__ = ["TrivialError", "BoundOptimum", "family_of", "trivial_error", "sample_teacher_outputs", "bound_optimum",
           "smallest_budget", "informative_budget",
           "route_switch_budget"]


def family_of(law: Law) -> tuple[str, str] | None:
    """``(teacher, scale)`` of a registered Jeon-Van Roy law, ``None`` for any other law."""
    for teacher in jvr.TEACHERS:
        for scale in jvr.SCALES:
            name = jvr.law_name(teacher, scale)
            if law.name == name and get_law(name) is law:
                return teacher, scale
    return None


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


def _dp_weights(rng, K: float, tail: float = 1e-10, max_atoms: int = 200_000) -> np.ndarray:
    """Stick-breaking weights of a DP(K), truncated once the remaining mass is below ``tail``
    (the remainder goes to the last stick, so the weights sum to one)."""
    parts, left = [], 1.0
    size = max(16, int(8 * (K + 1)))
    while left > tail and sum(p.size for p in parts) < max_atoms:
        b = rng.beta(1.0, K, size=size)
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


def sample_teacher_outputs(teacher: str, scale: str, d: int, K, rng: np.random.Generator, inputs: int) -> np.ndarray:
    """``F(X)`` of one sampled teacher at ``inputs`` draws of ``X ~ N(0, I_d)`` (docs/paper-setting.md).

    Finite: ``sum_{k<=K} a_k ReLU(w_k . x)``; DP: ``sum_k pi_k a_k ReLU(w_k . x)`` with stick weights of
    concentration ``K``; ``a ~ N(0, sigma_a^2)``, ``w ~ N(0, sigma_w^2 I_d)`` from
    :func:`scaling_theory.theory.jeon_van_roy.scale_variances`.

    Examples
    --------
    >>> f = sample_teacher_outputs("dp", "barron", 3, 2.0, np.random.default_rng(0), 5)
    >>> f.shape
    (5,)
    """
    sa2, sw2 = (float(v) for v in jvr.scale_variances(scale, teacher, sp.Integer(d), sp.nsimplify(K)))
    if teacher == "finite":
        weights = np.ones(int(K))
    else:
        weights = _dp_weights(rng, float(K))
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


def _validate(teacher: str, scale: str, d, K) -> None:
    law = get_law(jvr.law_name(teacher, scale))
    law.parameters(None, {"d": d, "K": K})   # one-line UserInputError outside the domain


@functools.lru_cache(maxsize=64)
def trivial_error(teacher: str, scale: str, d: int, K, *, teachers: int = 1000, inputs: int = 128,
                  seed: int = 0) -> TrivialError:
    """``min_q E KL(Bern(sigma(F(X))) || Bern(q))`` for the teacher distribution, by Monte Carlo.

    The minimiser is ``q* = E sigma(F(X))`` (the KL is convex in ``q`` and its derivative vanishes
    there); ``q*`` is estimated from the same draws, and the error is reported with its standard error
    over teachers.  Computed, not assumed: ``q* = 1/2`` only follows from the symmetry of ``a``.

    Parameters
    ----------
    teacher, scale : ``"dp"``/``"finite"`` and ``"barron"``/``"normalised"``.
    d, K : input dimension and latent complexity (checked against the law's domain).
    teachers, inputs, seed : Monte Carlo sizes and seed (reproducible).

    Returns
    -------
    TrivialError

    Examples
    --------
    >>> te = trivial_error("finite", "barron", 8, 32, teachers=300, inputs=128)
    >>> 0.45 < te.value < 0.7
    True
    """
    _validate(teacher, scale, d, K)
    rng = np.random.default_rng(seed)
    F = np.stack([sample_teacher_outputs(teacher, scale, int(d), K, rng, inputs) for _ in range(teachers)])
    prob = 1.0 / (1.0 + np.exp(-F))
    q = float(prob.mean())
    log_p, log_1mp = -_softplus(-F), -_softplus(F)
    kl = prob * (log_p - math.log(q)) + (1 - prob) * (log_1mp - math.log1p(-q))
    per_teacher = kl.mean(axis=1)
    return TrivialError(float(per_teacher.mean()), float(per_teacher.std(ddof=1) / math.sqrt(teachers)), q,
                        teachers, inputs)


@dataclass(frozen=True)
class BoundOptimum:
    """The compute-optimal point of a family law at one budget (``mpf`` values).

    ``route`` is ``"maurey"`` or ``"direct"`` (finite teacher, smallest model that represents it);
    ``maurey_model``/``maurey_loss`` are the Maurey route's optimum, shown beside the direct one.
    """

    model: mpmath.mpf
    data: mpmath.mpf
    loss: mpmath.mpf
    route: str
    maurey_model: mpmath.mpf
    maurey_loss: mpmath.mpf
    direct_loss: mpmath.mpf | None


@functools.lru_cache(maxsize=32)
def _curve(name: str, key: tuple) -> BudgetCurve:
    law = get_law(name)
    values = dict(key)
    return BudgetCurve(law.expr, law.model, law.data, cost=law.cost, env=values)


def smallest_budget(law: Law, values: Mapping) -> sp.Expr:
    """Smallest budget the law covers: ``p_min T_min`` with ``p_min = n_min (d+1)`` and ``T_min`` its
    large-``T`` validity (:func:`scaling_theory.theory.jeon_van_roy.validity_T`).

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> smallest_budget(law, law.parameters())
    136*pi**2
    """
    teacher, scale = family_of(law)
    dv, Kv = values[law.symbols["d"]], values[law.symbols["K"]]
    return jvr.smallest_width(teacher, Kv) * (dv + 1) * jvr.validity_T(teacher, scale, dv, Kv)


def bound_optimum(law: Law, values: Mapping, compute, dps: int = 20, *, stationary=None) -> BoundOptimum:
    """Compute-optimal point of a family law: for the finite teacher the better of both routes.

    Raises :class:`UserInputError` when the budget is below :func:`smallest_budget`.  ``stationary``: an
    already verified ``(p, T, L)`` stationary point of the registered expression (from
    :func:`scaling_theory.numeric.precision.allocate.allocate`), used when it lies in the window.

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> opt = bound_optimum(law, law.parameters(), 10**12)
    >>> opt.route, mpmath.nstr(opt.model, 6), mpmath.nstr(opt.loss, 4)
    ('direct', '68.0', '5.751e-8')
    """
    teacher, scale = family_of(law)
    C = exact_number(compute)
    floor = smallest_budget(law, values)
    if not C >= floor:
        raise UserInputError(f"compute {compute} is below the smallest budget law {law.name!r} covers at these "
                             f"constants ({sp.N(floor, 6)}: smallest model times the smallest valid T)")
    key = tuple(sorted(values.items(), key=lambda kv: kv[0].name))
    dv, Kv = values[law.symbols["d"]], values[law.symbols["K"]]
    with mp.workdps(dps + 10):
        # the law is a bound only for n >= n_min and T >= T_min: minimise inside that window
        lo = to_mpf(sp.N(jvr.smallest_width(teacher, Kv) * (dv + 1), dps + 10))
        hi = to_mpf(C) / to_mpf(sp.N(jvr.validity_T(teacher, scale, dv, Kv), dps + 10))
        p_m = T_m = L_m = None
        if stationary is not None and lo <= stationary[0] <= hi:
            p_m, T_m, L_m = stationary
        else:
            try:
                p_m, T_m, L_m = _curve(law.name, key).optimum(C, lo=lo, hi=hi, dps=dps)
                if not lo <= p_m <= hi:
                    p_m = None
            except ValueError:
                pass
        if p_m is None:   # no interior minimum in the window: the best end of it
            along = compile_expr(law.expr.subs(law.data, sp.Symbol("C_b", positive=True) / law.model),
                                 law.model, {**values, sp.Symbol("C_b", positive=True): C})
            ends = [(along(x), x) for x in (lo, hi)]
            L_m, p_m = min(ends)
            T_m = to_mpf(C) / p_m
        if teacher != "finite":
            return BoundOptimum(p_m, T_m, L_m, "maurey", p_m, L_m, None)
        p_min = to_mpf(Kv * (dv + 1))
        direct = compile_expr(jvr.direct_bound(jvr.T, dv, Kv, scale), jvr.T, {})
        T_d = to_mpf(C) / p_min
        L_d = direct(T_d)
        if L_d < L_m:
            return BoundOptimum(p_min, T_d, L_d, "direct", p_m, L_m, L_d)
        return BoundOptimum(p_m, T_m, L_m, "maurey", p_m, L_m, L_d)


def informative_budget(law: Law, values: Mapping, *, trivial: float | None = None, top: float = 1e60,
                       dps: int = 20) -> float | None:
    """Smallest budget ``C`` with ``L*(C) <= trivial error`` (bisection in ``log10 C``; ``None`` if above ``top``).

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> c = informative_budget(law, law.parameters(), trivial=0.5)
    >>> 1e3 < c < 1e6
    True
    """
    teacher, scale = family_of(law)
    if trivial is None:
        dv, Kv = values[law.symbols["d"]], values[law.symbols["K"]]
        trivial = trivial_error(teacher, scale, int(dv), _plain(Kv)).value
    lo = math.log10(float(sp.N(smallest_budget(law, values), 20))) + 1e-9
    hi = math.log10(top)

    def L(x):
        return float(bound_optimum(law, values, sp.Float(10 ** x, 30) if x < 300 else 10 ** int(x), dps).loss)

    if L(lo) <= trivial:
        return 10 ** lo
    if L(hi) > trivial:
        return None
    for _ in range(40):
        mid = (lo + hi) / 2
        if L(mid) <= trivial:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-4:
            break
    return 10 ** hi


def route_switch_budget(law: Law, values: Mapping, *, top: float = 1e60, dps: int = 20) -> float | None:
    """Finite teacher: smallest budget from which the direct width-``K`` route is the better one, so that
    the optimal model stops growing at ``p = K (d+1)`` (``None`` for the DP law or beyond ``top``).

    Examples
    --------
    >>> law = get_law("jeon-van-roy-finite")
    >>> c = route_switch_budget(law, law.parameters())   # from the smallest budget on (136 pi^2)
    >>> round(c)
    1342
    """
    if family_of(law)[0] != "finite":
        return None
    lo = math.log10(float(sp.N(smallest_budget(law, values), 20))) + 1e-9
    hi = math.log10(top)

    def direct(x):
        return bound_optimum(law, values, sp.Float(10 ** x, 30), dps).route == "direct"

    if direct(lo):
        return 10 ** lo
    if not direct(hi):
        return None
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if direct(mid) else (mid, hi)
        if hi - lo < 1e-4:
            break
    return 10 ** hi


def _plain(K):
    """A law constant as a Python number for the Monte Carlo (integers stay integers)."""
    K = sp.Rational(K)
    return int(K) if K.q == 1 else float(K)
