"""The Bayes-optimal error next to the bound that is meant to bound it, and next to SGD (docs/bayes.md).

:func:`bayes_optimal_error` measures ``L_T = I(F; D_T)/T`` by SMC (:mod:`~scaling_theory.numeric.bayes.smc`)
over independent teachers, evaluates the information-theoretic bound for the same teacher distribution and
``T`` (the registered law, minimised over the student's parameter count ``p``: with compute not fixed,
the Bayesian learner may use any model size), trains SGD students on the *same* samples, and says whether
the bound holds: ``holds = bound >= error - 2 * error_se``.

SGD's matching quantity is its time-averaged online excess log-loss on the stream,
``(1/T) sum_t [log p(y_t | F, x_t) - log p_student_{t-1}(y_t | x_t)]`` (progressive loss of single-pass SGD,
each sample scored before the update on it, minus the true teacher's loss on the same samples): the same
formula as the SMC estimate with the Bayesian predictive replaced by the student's, so
``E[sgd_error] >= L_T`` for every student (the Bayesian predictive is optimal for log-loss).
The final weights' reducible error (a Monte Carlo KL on fresh inputs) is reported as well
(``sgd_final_error``); it is *not* the matching quantity.

References
----------
Jeon & Van Roy, arXiv:2212.01365 (the bound; ``L_T = I(F; D_T)/T`` for the Bayesian learner);
docs/paper-setting.md ("Ours"); docs/bayes.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes.smc import run_teachers
from scaling_theory.numeric.precision.budget import bracketed_root
from scaling_theory.numeric.precision.mpeval import compile_expr, real, sign
from scaling_theory.theory.jeon_van_roy import law_name
from scaling_theory.theory.teachers import canonical_kind, check_discount

__all__ = ["LAW_FOR_TEACHER", "TEACHER_KIND", "LIMITS", "BayesResult", "bayes_optimal_error", "bound_value",
           "bound_at", "bounds_at", "bound_routes", "bound_validity", "check_inputs", "law_for"]

#: teacher kind -> the law bounding its Bayes error (theory.jeon_van_roy.law_name: the one map of kinds to laws);
#: the Pitman-Yor teacher's law depends on its discount (the DP's at ``sigma = 0``): :func:`law_for`
LAW_FOR_TEACHER = {kind: law_name(kind) for kind in ("finite", "dp", "pitman-yor")}
#: teacher kind -> ``sample_teacher`` kind (the canonical names of scaling_theory.theory.teachers)
TEACHER_KIND = {"finite": "finite", "dp": "dp", "pitman-yor": "pitman-yor"}
#: admissible sizes (inclusive); particles below 100 give unstable marginal likelihoods.  Within these, the
#: memory and time a job needs are estimated before it starts (:mod:`~scaling_theory.numeric.bayes.cost`)
LIMITS = {"d": (1, 64), "K": (1, 64), "T": (1, 1_000_000), "particles": (100, 1_000_000),
          "teachers": (2, 100_000), "width": (1, 4096), "seed": (0, 2**63 - 1)}
#: SGD students tried: (width as a multiple of K, learning rate)
SGD_GRID = ((1, 0.05), (1, 0.2), (4, 0.05), (4, 0.2))
_BOUND_DPS = 30


def law_for(teacher: str, sigma: float | None = None) -> str:
    """The law bounding the Bayes error of a teacher: ``law_name(kind, sigma=sigma)`` (Barron scale, the
    samplers' scale): ``jeon-van-roy-pitman-yor`` for a Pitman-Yor teacher with ``sigma > 0``, the DP's
    ``jeon-van-roy`` at ``sigma = 0``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import law_for
    >>> law_for("pitman-yor", 0.5), law_for("pitman-yor", 0.0), law_for("dirichlet")
    ('jeon-van-roy-pitman-yor', 'jeon-van-roy', 'jeon-van-roy')
    """
    return law_name(canonical_kind(teacher), sigma=sigma)


def _discount(teacher: str, sigma) -> float | None:
    """The teacher's discount: a float in ``[0, 1)`` for ``pitman-yor`` (required), ``None`` for the others
    (refused if given); one-line :class:`UserInputError` otherwise."""
    if teacher == "pitman-yor":
        if sigma is None:
            raise UserInputError("the pitman-yor teacher needs its discount sigma in [0, 1) (--sigma)")
        return check_discount(sigma)
    if sigma is not None:
        raise UserInputError(f"sigma is the Pitman-Yor discount: the {teacher} teacher takes none "
                             f"(use --teacher pitman-yor)")
    return None


def check_inputs(teacher: str, d: int, K: int, T: int, teachers: int, particles: int, width: int | None = None,
                 seed: int = 0, sigma: float | None = None) -> None:
    """Raise :class:`UserInputError` naming the limit when a size is outside :data:`LIMITS`, or when the discount
    ``sigma`` is missing (``pitman-yor``), outside ``[0, 1)``, or given for another teacher.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import check_inputs
    >>> check_inputs("finite", 2, 2, 1000, 8, 50)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: particles must be an integer in [100, 1000000] (fewer than 100 particles give an unstable marginal likelihood), got 50
    >>> check_inputs("finite", 2, 2, 1000, 8, 500, width=0)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: width must be an integer in [1, 4096] (the learner's number of units), got 0
    >>> check_inputs("pitman-yor", 2, 2, 1000, 8, 500, sigma=1.0)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: the Pitman-Yor discount sigma must lie in [0, 1), got 1.0
    """
    if teacher not in LAW_FOR_TEACHER:
        raise UserInputError(f"unknown teacher {teacher!r}; expected one of {', '.join(LAW_FOR_TEACHER)}")
    _discount(teacher, sigma)
    checks = [("d", d), ("K", K), ("T", T), ("teachers", teachers), ("particles", particles), ("seed", seed)]
    if width is not None:
        checks.append(("width", width))
    for name, value in checks:
        lo, hi = LIMITS[name]
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and lo <= value <= hi
        if not ok:
            why = {"particles": " (fewer than 100 particles give an unstable marginal likelihood)",
                   "teachers": " (a standard error needs at least 2 teachers)",
                   "width": " (the learner's number of units)",
                   "seed": " (seeds are non-negative)"}.get(name, "")
            raise UserInputError(f"{name} must be an integer in [{lo}, {hi}]{why}, got {value!r}")


def _law_and_values(teacher: str, d: int, K: float, sigma: float | None = None):
    """The teacher's law (:func:`law_for`) and its constants' values (the discount where the law has one)."""
    from scaling_theory.theory.registry import get_law

    kind = canonical_kind(teacher)
    sigma = _discount(kind, sigma)
    law = get_law(law_for(kind, sigma))
    given = {"d": d, "K": K}
    if any(c.name == "sigma" for c in law.constants):
        given["sigma"] = sigma
    return law, law.parameters(None, given, defaults=False)


def bound_validity(teacher: str, d: int, K: float, T: int, width: int | None = None,
                   sigma: float | None = None) -> str | None:
    """Why no route of the teacher's law is an upper bound at this cell, or ``None`` where one is.

    Each route has its own window (:class:`scaling_theory.theory.laws.Route`: ``p >= min_model``,
    ``T >= min_data``); the law bounds a cell when some route's window holds it.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bound_validity
    >>> print(bound_validity("finite", 1, 1, 50))     # the direct route holds from T >= 1
    None
    >>> print(bound_validity("finite", 1, 2, 50, width=1))
    T = 50 is below every route's window at width 1 (maurey: T >= 78.96; direct: width >= 2)
    >>> bound_validity("dp", 1, 3, 1000, width=2) is None   # the truncation route holds from n >= 1
    True
    """
    law, values = _law_and_values(teacher, d, K, sigma)
    reasons = []
    for r in law.routes:
        t_min = float(sp.N(r.min_data.subs(values), 20))
        n_min = float(sp.N(r.min_model.subs(values), 20)) / (int(d) + 1)
        if T >= t_min and (width is None or width >= n_min - 1e-9):
            return None
        why = [f"T >= {t_min:.4g}"] if T < t_min else []
        if width is not None and width < n_min - 1e-9:
            why.append(f"width >= {n_min:g}")
        reasons.append(f"{r.name}: {' and '.join(why)}")
    where = f" at width {width}" if width is not None else ""
    return f"T = {T} is below every route's window{where} ({'; '.join(reasons)})"


def bounds_at(teacher: str, d: int, K: float, T: int, width: int, sigma: float | None = None
              ) -> dict[str, float | None]:
    """Each route's bound at ``p = width (d + 1)`` and ``T`` (``None`` outside the route's window).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bounds_at
    >>> b = bounds_at("finite", 2, 2, 1000, 1)
    >>> b["direct"] is None and b["maurey"] > 0       # width 1 < K: only the Maurey route
    True
    >>> sorted(bounds_at("pitman-yor", 2, 2, 1000, 2, sigma=0.5))   # the Pitman-Yor law's routes
    ['maurey', 'truncation']
    """
    from scaling_theory.numeric.precision.routes import route_value

    law, values = _law_and_values(teacher, d, K, sigma)
    p = int(width) * (int(d) + 1)
    return {r.name: route_value(law, r, values, p, int(T), dps=_BOUND_DPS) for r in law.routes}


def bound_at(teacher: str, d: int, K: float, T: int, width: int, sigma: float | None = None) -> float:
    """The teacher's law at ``p = width (d + 1)`` and ``T``: the smallest valid route's bound there.

    Raises :class:`UserInputError` when no route covers the cell (:func:`bound_validity` says why).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bound_at, bound_value
    >>> b, p = bound_value("finite", 2, 2, 1000)
    >>> bound_at("finite", 2, 2, 1000, 1) > b      # the minimum over p is below any one width
    True
    """
    valid = [v for v in bounds_at(teacher, d, K, T, width, sigma).values() if v is not None]
    if not valid:
        raise UserInputError(bound_validity(teacher, d, K, T, width, sigma) or "no route covers this cell")
    return min(valid)


def bound_routes(teacher: str, d: int, K: float, T: int, sigma: float | None = None
                 ) -> dict[str, tuple[float, float] | None]:
    """Each route's bound at ``T`` minimised over the student size ``p`` in its window: ``{route: (bound,
    p*)}`` (``None`` where ``T`` is below the route's window).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bound_routes
    >>> sorted(bound_routes("dp", 2, 2, 1000))
    ['maurey', 'truncation']
    """
    from scaling_theory.numeric.precision.routes import minimum_over_model

    law, values = _law_and_values(teacher, d, K, sigma)
    return {r.name: minimum_over_model(law, r, values, int(T), dps=_BOUND_DPS) for r in law.routes}


def bound_value(teacher: str, d: int, K: float, T: int, sigma: float | None = None) -> tuple[float, float]:
    """The teacher's law at ``(d, K, T)`` minimised over a continuous student size ``p``: the best route's.

    Each route is minimised inside its own window (:func:`bound_routes`); the law is their minimum.

    Returns
    -------
    (bound, p_star) as floats.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bound_value
    >>> b, p = bound_value("finite", 2, 2, 1000)
    >>> bool(0 < b < 1 and p >= 6)   # the direct route, at its smallest model p = K (d+1)
    True
    """
    valid = [v for v in bound_routes(teacher, d, K, T, sigma).values() if v is not None]
    if not valid:
        raise UserInputError(bound_validity(teacher, d, K, T, sigma=sigma) or f"no route of the law covers T = {T}")
    return min(valid)


@dataclass
class BayesResult:
    """What :func:`bayes_optimal_error` measured (all errors in nats per sample).

    Parameters
    ----------
    teacher, d, K, T, teachers, particles, seed : the call; ``width``: the learner's width (``None``: the
        teacher's own prior, the Bayes-optimal learner); ``sigma``: the Pitman-Yor teacher's discount
        (``None`` for the other teachers).
    error, error_se : mean over teachers of the SMC estimate of ``L_T``, and its standard error.
    error_rb, error_rb_se : the same from the per-step predictive KL (Rao-Blackwellised).
    bound : the law's value (minimised over model size, or at ``p = width (d+1)``); ``None`` where the law
        is not a bound (``bound_note`` says why: ``T`` below its validity window, or a width below its
        smallest); ``bound_law``, ``bound_p``: the law and the model size used; ``bound_route``: the law's best
        valid route there, ``bound_routes``: every route's ``{bound, p}`` beside it (``None`` outside its window).
    holds : ``bound >= error - 2 error_se`` (``None`` without a valid bound).
    ratio : ``bound / error``.
    sgd_error, sgd_error_se : best SGD student's time-averaged online excess log-loss (same samples).
    sgd_config : that student (width, learning rate); ``sgd_final_error``: its final weights' KL.
    sgd_runs : every student tried, ``[{width, lr, error, error_se, final_error}]``.
    ess_min : smallest effective sample size over all runs and steps, as a fraction of ``particles``.
    acceptance : mean Metropolis-Hastings acceptance rate; ``resamples``: mean resampling events per teacher.
    curve_t, curve : per-step KL (mean over teachers) at log-spaced steps ``t`` (1-based).
    seconds, smc_seconds : wall time of the call and of the SMC part; ``updates_per_second``: particle
        updates (one particle, one observation: reweighting or MH) per second of SMC.
    estimate : the cost estimated before the run (:func:`scaling_theory.numeric.bayes.cost.estimate`).
    """

    teacher: str
    d: int
    K: int
    T: int
    teachers: int
    particles: int
    seed: int
    error: float
    error_se: float
    error_rb: float
    error_rb_se: float
    bound: float | None
    bound_law: str
    bound_p: float | None
    holds: bool | None
    ratio: float | None
    sgd_error: float | None
    sgd_error_se: float | None
    sgd_config: dict | None
    sgd_final_error: float | None
    sgd_runs: list = field(default_factory=list)
    ess_min: float = float("nan")
    acceptance: float = float("nan")
    resamples: float = 0.0
    curve_t: list = field(default_factory=list)
    curve: list = field(default_factory=list)
    seconds: float = 0.0
    smc_seconds: float = 0.0
    updates_per_second: float = 0.0
    width: int | None = None
    bound_note: str | None = None
    bound_route: str | None = None
    bound_routes: dict = field(default_factory=dict)
    estimate: dict = field(default_factory=dict)
    sigma: float | None = None

    def to_json(self) -> dict:
        """Plain JSON values (keys ``error``, ``error_se``, ``bound``, ``holds``, ``sgd_error``, ``ess_min`` ...)."""
        out = dict(self.__dict__)
        for k, v in out.items():
            if isinstance(v, (np.floating, np.integer, np.bool_)):
                out[k] = v.item()
        return out

    def summary(self) -> str:
        """Lines for people; a failing bound is said loudly."""
        learner = "the Bayes-optimal learner" if self.width is None else f"width-{self.width} learner"
        teacher = self.teacher if self.sigma is None else f"{self.teacher}(sigma={self.sigma!r})"
        lines = [f"Bayes error L_T of {learner} ({teacher} teacher, d={self.d}, K={self.K}, T={self.T}; "
                 f"{self.teachers} teachers x {self.particles} particles, seed {self.seed})",
                 f"  L_T (SMC evidence)    = {self.error:.4g} +- {self.error_se:.2g}",
                 f"  L_T (per-step KL)     = {self.error_rb:.4g} +- {self.error_rb_se:.2g}"]
        where = "min over p" if self.width is None else "at p = width (d+1)"
        if self.bound is None:
            lines.append(f"  bound ({self.bound_law}): not valid here ({self.bound_note}); L_T measured anyway")
        else:
            lines.append(f"  bound ({self.bound_law}, route {self.bound_route}, {where}, p = {self.bound_p:.4g}) = "
                         f"{self.bound:.4g}   ratio bound / L_T = {self.ratio:.3g}")
            others = [f"{k} {v['bound']:.4g}" for k, v in self.bound_routes.items()
                      if v is not None and k != self.bound_route]
            if others:
                lines.append("  other routes: " + ", ".join(others))
        if self.sgd_error is not None:
            cfg = self.sgd_config
            lines.append(f"  SGD online excess loss = {self.sgd_error:.4g} +- {self.sgd_error_se:.2g} "
                         f"(best of {len(self.sgd_runs)} students: width {cfg['width']}, lr {cfg['lr']}); "
                         f"its final-weights error {self.sgd_final_error:.4g}")
        lines.append(f"  SMC diagnostics: min ESS {self.ess_min:.3f} P, MH acceptance {self.acceptance:.3f}, "
                     f"{self.resamples:.1f} resamples per teacher, {self.updates_per_second:.3g} particle-updates/s")
        if self.holds is None:
            lines.append("  holds: not checked (no valid bound at this cell)")
        elif self.holds:
            lines.append("  holds: yes (bound >= L_T - 2 se)")
        else:
            lines.append("  HOLDS: NO -- THE BOUND IS BELOW THE MEASURED BAYES ERROR. "
                         "This is a bug in a derivation (or in this estimator); please report it.")
        return "\n".join(lines)


def _se(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")


def _sgd(ts, K: int, T: int, seed: int, ll_true: np.ndarray, final: bool, width: int | None = None) -> list[dict]:
    from scaling_theory.numeric.sim.error import reducible_error
    from scaling_theory.numeric.sim.training import StudentConfig, train_many

    if width is None:
        cfgs = [StudentConfig(int(mult * max(1, round(K))), lr=lr, init_seed=seed) for mult, lr in SGD_GRID]
    else:   # students of the learner's width, at the grid's learning rates
        cfgs = [StudentConfig(int(width), lr=lr, init_seed=seed) for lr in sorted({lr for _, lr in SGD_GRID})]
    tasks = [(t, c, T, seed * 100003 + i) for i, t in enumerate(ts) for c in cfgs]
    results = train_many(tasks)
    out = []
    for j, c in enumerate(cfgs):
        rs = [results[i * len(cfgs) + j] for i in range(len(ts))]
        if any(r.status != "done" for r in rs):
            continue
        excess = np.array([r.mean_loss + ll_true[i] / T for i, r in enumerate(rs)])
        row = {"width": c.width, "lr": c.lr, "error": float(excess.mean()), "error_se": _se(excess)}
        if final:
            fin = [reducible_error(ts[i], r.W, r.v, n_samples=1 << 14, seed=seed)[0] for i, r in enumerate(rs)]
            row["final_error"] = float(np.mean(fin))
        out.append(row)
    return out


def bayes_optimal_error(teacher: str = "finite", d: int = 2, K: int = 2, T: int = 1000, *, teachers: int = 8,
                        particles: int = 500, seed: int = 0, sgd: bool = True, moves: int = 5,
                        curve_points: int = 30, width: int | None = None, allow_long: bool = False,
                        threads: int | None = None, sigma: float | None = None) -> BayesResult:
    """Measure ``L_T`` by SMC, compare it with the bound and with SGD (module docstring; docs/bayes.md).

    Parameters
    ----------
    teacher : ``"finite"`` (K ReLU units), ``"dp"`` (Dirichlet process, concentration K; the old names
        ``"infinite"`` and ``"dirichlet"`` are accepted) or ``"pitman-yor"`` (Pitman-Yor process, concentration
        K, discount ``sigma``).
    d, K, T : input dimension, teacher size, samples (see :data:`LIMITS`; any ``T >= 1``: below the
        bound's validity window the bound is reported as not valid and ``L_T`` is measured anyway).
    teachers : independent teachers (the standard error is over them).
    particles : SMC particles per teacher.
    seed : seeds teachers, data, sampler and students (``>= 0``); equal seeds give equal results.
    sgd : also train SGD students on the same samples (of the learner's width when ``width`` is given).
    moves : Metropolis-Hastings moves after each resampling.
    curve_points : points of the per-step error curve kept in the result.
    width : the restricted learner's width ``n`` (its prior: the teacher's restricted to ``n`` units,
        :func:`scaling_theory.numeric.bayes.smc.learner_prior`); the bound is then the law at
        ``p = n (d + 1)``.  ``None``: the Bayes-optimal learner, the bound minimised over ``p``.
    allow_long : run a job estimated above :data:`scaling_theory.numeric.bayes.cost.MAX_SECONDS`.
    threads : threads for the sampler (default: Numba's).
    sigma : the Pitman-Yor teacher's discount in ``[0, 1)`` (``teacher="pitman-yor"`` only, and required there):
        the teachers, the learner's prior (:func:`scaling_theory.numeric.bayes.smc.learner_prior`) and the bound
        (:func:`law_for`: ``jeon-van-roy-pitman-yor``, the DP's law at ``sigma = 0``) are that teacher's.

    Returns
    -------
    BayesResult

    Raises
    ------
    UserInputError
        A size outside :data:`LIMITS`, a job above the machine's memory, or (without ``allow_long``) one
        estimated above the time limit; before any work starts.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bayes_optimal_error
    >>> r = bayes_optimal_error("finite", 1, 1, 100, teachers=2, particles=100, sgd=False)
    >>> sorted(k for k in r.to_json() if k in {"error", "error_se", "bound", "holds", "sgd_error", "ess_min"})
    ['bound', 'error', 'error_se', 'ess_min', 'holds', 'sgd_error']
    >>> r.holds, r.sgd_error
    (True, None)
    >>> r = bayes_optimal_error("finite", 1, 2, 20, teachers=2, particles=100, sgd=False, width=1)
    >>> r.bound is None, r.holds, r.error > 0      # width 1 < K and T < 8 pi^2: no route covers the cell
    (True, None, True)
    """
    from scaling_theory.numeric.bayes import cost

    teacher = canonical_kind(teacher)
    check_inputs(teacher, d, K, T, teachers, particles, width, seed, sigma)
    sigma = _discount(teacher, sigma)
    extra = {} if sigma is None else {"sigma": sigma}   # the Pitman-Yor teacher's discount, to its sampler
    est = cost.estimate(teacher, d, K, T, teachers, particles, width=width, moves=moves, threads=threads, **extra)
    cost.check(est, allow_long=allow_long)
    start = time.perf_counter()
    kind = TEACHER_KIND[teacher]
    ts, r = run_teachers(kind, d, K, T, teachers=teachers, particles=particles, seed=seed, moves=moves,
                         width=width, threads=threads, **extra)
    smc_seconds = time.perf_counter() - start
    note = bound_validity(teacher, d, K, T, width, sigma)
    # every route beside the best one: {route: (bound, p)} or None outside the route's window
    if width is None:
        routes = bound_routes(teacher, d, K, T, sigma)
    else:
        routes = {k: (None if v is None else (v, float(width * (d + 1))))
                  for k, v in bounds_at(teacher, d, K, T, width, sigma).items()}
    valid = {k: v for k, v in routes.items() if v is not None}
    route = min(valid, key=lambda k: valid[k][0]) if valid else None
    bound, p_star = valid[route] if route is not None else (None, None)
    err, se = float(r.error.mean()), _se(r.error)
    runs = _sgd(ts, K, T, seed, r.log_lik_true, final=True, width=width) if sgd else []
    best = min(runs, key=lambda row: row["error"]) if runs else None
    # particle updates: one per particle and observation (reweighting), plus each MH move over t observations
    updates = teachers * particles * T + float(np.sum(r.mh_updates))
    idx = np.unique(np.geomspace(1, T, min(curve_points, T)).astype(int)) - 1
    curve = r.kl_curve.mean(axis=0)
    return BayesResult(
        teacher=teacher, d=int(d), K=int(K), T=int(T), teachers=int(teachers), particles=int(particles),
        seed=int(seed), error=err, error_se=se, error_rb=float(r.error_rb.mean()), error_rb_se=_se(r.error_rb),
        bound=bound, bound_law=law_for(teacher, sigma), bound_p=p_star,
        holds=None if bound is None else bool(bound >= err - 2 * se),
        ratio=None if bound is None else (bound / err if err > 0 else float("inf")),
        sgd_error=best["error"] if best else None, sgd_error_se=best["error_se"] if best else None,
        sgd_config={"width": best["width"], "lr": best["lr"]} if best else None,
        sgd_final_error=best.get("final_error") if best else None, sgd_runs=runs,
        ess_min=float(r.ess_min.min()), acceptance=float(np.nanmean(r.acceptance)) if np.isfinite(r.acceptance).any()
        else float("nan"), resamples=float(r.resamples.mean()),
        curve_t=[int(i + 1) for i in idx], curve=[float(curve[i]) for i in idx],
        seconds=time.perf_counter() - start, smc_seconds=smc_seconds,
        updates_per_second=updates / smc_seconds if smc_seconds > 0 else float("nan"),
        width=None if width is None else int(width), bound_note=note, bound_route=route,
        bound_routes={k: (None if v is None else {"bound": v[0], "p": v[1]}) for k, v in routes.items()},
        estimate={"seconds": est.seconds, "memory_bytes": est.memory_bytes, "updates": est.updates}, sigma=sigma)
