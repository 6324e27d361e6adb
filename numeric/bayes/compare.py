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
from scaling_theory.theory.teachers import canonical_kind

__all__ = ["LAW_FOR_TEACHER", "TEACHER_KIND", "LIMITS", "BayesResult", "bayes_optimal_error", "bound_value",
           "check_inputs"]

#: teacher kind -> registered law bounding its Bayes-optimal error; the ONE place to rename laws
LAW_FOR_TEACHER = {"finite": "jeon-van-roy-finite", "dp": "jeon-van-roy"}
#: teacher kind -> ``sample_teacher`` kind (the canonical names of scaling_theory.theory.teachers)
TEACHER_KIND = {"finite": "finite", "dp": "dp"}
#: admissible sizes (inclusive); particles below 100 give unstable marginal likelihoods
LIMITS = {"d": (1, 4), "K": (1, 4), "T": (100, 20_000), "particles": (100, 20_000), "teachers": (2, 256)}
#: SGD students tried: (width as a multiple of K, learning rate)
SGD_GRID = ((1, 0.05), (1, 0.2), (4, 0.05), (4, 0.2))
_BOUND_DPS = 30


def check_inputs(teacher: str, d: int, K: int, T: int, teachers: int, particles: int) -> None:
    """Raise :class:`UserInputError` naming the limit when a size is outside :data:`LIMITS`.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import check_inputs
    >>> check_inputs("finite", 2, 2, 1000, 8, 50)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: particles must be an integer in [100, 20000] (fewer than 100 particles give an unstable marginal likelihood), got 50
    """
    if teacher not in LAW_FOR_TEACHER:
        raise UserInputError(f"unknown teacher {teacher!r}; expected one of {', '.join(LAW_FOR_TEACHER)}")
    for name, value in (("d", d), ("K", K), ("T", T), ("teachers", teachers), ("particles", particles)):
        lo, hi = LIMITS[name]
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and lo <= value <= hi
        if not ok:
            why = {"particles": " (fewer than 100 particles give an unstable marginal likelihood)",
                   "T": " (the bound is stated for T >= 8 pi^2; the SMC cost grows with T)",
                   "teachers": " (a standard error needs at least 2 teachers)"}.get(name, "")
            raise UserInputError(f"{name} must be an integer in [{lo}, {hi}]{why}, got {value!r}")


def bound_value(teacher: str, d: int, K: float, T: int) -> tuple[float, float]:
    """The law for ``teacher`` at ``(d, K, T)``, minimised over a continuous student size ``p`` (mpmath).

    ``p = n (d + 1)`` with a continuous width ``n >= 1`` (``n >= max(1, K)`` for the Dirichlet-process law,
    where it is valid); the minimiser is the root of ``dL/dp`` (sign scan in ``ln p``, then a bracketed
    root at 30 digits), or the lower end when ``L`` increases there.

    Returns
    -------
    (bound, p_star) as floats.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bound_value
    >>> b, p = bound_value("finite", 2, 2, 1000)
    >>> bool(0 < b < 1 and p > 3)
    True
    """
    from scaling_theory.theory.registry import get_law

    law = get_law(LAW_FOR_TEACHER[teacher])
    values = law.parameters(None, {"d": d, "K": K}, defaults=False)
    values[law.data] = sp.Integer(int(T))
    teacher = canonical_kind(teacher)
    n_min = max(1.0, float(K)) if teacher == "dp" else 1.0
    with mp.workdps(_BOUND_DPS):
        L = compile_expr(law.expr, law.model, values)
        dL = compile_expr(sp.diff(law.expr, law.model), law.model, values)
        p_min = mpmath.mpf(n_min) * (d + 1)
        u0 = mp.log(p_min)
        us = [u0 + mpmath.mpf(i) / 10 for i in range(0, 700)]     # p up to e^70 p_min
        g = lambda u: dL(mp.exp(u))                               # noqa: E731 - sign of dL/du
        signs = [sign(g, u) for u in us]
        if signs[0] >= 0:
            p_star = p_min
        else:
            i = next((k for k in range(len(us) - 1) if signs[k] < 0 <= signs[k + 1]), None)
            if i is None:
                raise UserInputError(f"the law {law.name!r} has no minimum over p below e^70 at T={T}")
            p_star = mp.exp(bracketed_root(lambda u: real(g(u)), us[i], us[i + 1]))
        return float(real(L(p_star))), float(p_star)


@dataclass
class BayesResult:
    """What :func:`bayes_optimal_error` measured (all errors in nats per sample).

    Parameters
    ----------
    teacher, d, K, T, teachers, particles, seed : the call.
    error, error_se : mean over teachers of the SMC estimate of ``L_T``, and its standard error.
    error_rb, error_rb_se : the same from the per-step predictive KL (Rao-Blackwellised).
    bound : the law's value minimised over model size; ``bound_law``, ``bound_p``: the law and minimiser.
    holds : ``bound >= error - 2 error_se``.
    ratio : ``bound / error``.
    sgd_error, sgd_error_se : best SGD student's time-averaged online excess log-loss (same samples).
    sgd_config : that student (width, learning rate); ``sgd_final_error``: its final weights' KL.
    sgd_runs : every student tried, ``[{width, lr, error, error_se, final_error}]``.
    ess_min : smallest effective sample size over all runs and steps, as a fraction of ``particles``.
    acceptance : mean Metropolis-Hastings acceptance rate; ``resamples``: mean resampling events per teacher.
    curve_t, curve : per-step KL (mean over teachers) at log-spaced steps ``t`` (1-based).
    seconds, smc_seconds : wall time of the call and of the SMC part; ``updates_per_second``: particle
        updates (one particle, one observation: reweighting or MH) per second of SMC.
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
    bound: float
    bound_law: str
    bound_p: float
    holds: bool
    ratio: float
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

    def to_json(self) -> dict:
        """Plain JSON values (keys ``error``, ``error_se``, ``bound``, ``holds``, ``sgd_error``, ``ess_min`` ...)."""
        out = dict(self.__dict__)
        for k, v in out.items():
            if isinstance(v, (np.floating, np.integer, np.bool_)):
                out[k] = v.item()
        return out

    def summary(self) -> str:
        """Lines for people; a failing bound is said loudly."""
        lines = [f"Bayes-optimal error L_T ({self.teacher} teacher, d={self.d}, K={self.K}, T={self.T}; "
                 f"{self.teachers} teachers x {self.particles} particles, seed {self.seed})",
                 f"  L_T (SMC evidence)    = {self.error:.4g} +- {self.error_se:.2g}",
                 f"  L_T (per-step KL)     = {self.error_rb:.4g} +- {self.error_rb_se:.2g}",
                 f"  bound ({self.bound_law}, min over p at p = {self.bound_p:.4g}) = {self.bound:.4g}"
                 f"   ratio bound / L_T = {self.ratio:.3g}"]
        if self.sgd_error is not None:
            cfg = self.sgd_config
            lines.append(f"  SGD online excess loss = {self.sgd_error:.4g} +- {self.sgd_error_se:.2g} "
                         f"(best of {len(self.sgd_runs)} students: width {cfg['width']}, lr {cfg['lr']}); "
                         f"its final-weights error {self.sgd_final_error:.4g}")
        lines.append(f"  SMC diagnostics: min ESS {self.ess_min:.3f} P, MH acceptance {self.acceptance:.3f}, "
                     f"{self.resamples:.1f} resamples per teacher, {self.updates_per_second:.3g} particle-updates/s")
        if self.holds:
            lines.append("  holds: yes (bound >= L_T - 2 se)")
        else:
            lines.append("  HOLDS: NO -- THE BOUND IS BELOW THE MEASURED BAYES-OPTIMAL ERROR. "
                         "This is a bug in a derivation (or in this estimator); please report it.")
        return "\n".join(lines)


def _se(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.std(x, ddof=1) / math.sqrt(x.size)) if x.size > 1 else float("nan")


def _sgd(ts, K: int, T: int, seed: int, ll_true: np.ndarray, final: bool) -> list[dict]:
    from scaling_theory.numeric.sim.error import reducible_error
    from scaling_theory.numeric.sim.training import StudentConfig, train_many

    cfgs = [StudentConfig(int(mult * max(1, round(K))), lr=lr, init_seed=seed) for mult, lr in SGD_GRID]
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
                        curve_points: int = 30) -> BayesResult:
    """Measure ``L_T`` by SMC, compare it with the bound and with SGD (module docstring; docs/bayes.md).

    Parameters
    ----------
    teacher : ``"finite"`` (K ReLU units) or ``"dp"`` (Dirichlet process, concentration K; the old name
        ``"infinite"`` is accepted).
    d, K, T : input dimension, teacher size, samples (see :data:`LIMITS`).
    teachers : independent teachers (the standard error is over them).
    particles : SMC particles per teacher.
    seed : seeds teachers, data, sampler and students; equal seeds give equal results.
    sgd : also train SGD students on the same samples.
    moves : Metropolis-Hastings moves after each resampling.
    curve_points : points of the per-step error curve kept in the result.

    Returns
    -------
    BayesResult

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.compare import bayes_optimal_error
    >>> r = bayes_optimal_error("finite", 1, 1, 100, teachers=2, particles=100, sgd=False)
    >>> sorted(k for k in r.to_json() if k in {"error", "error_se", "bound", "holds", "sgd_error", "ess_min"})
    ['bound', 'error', 'error_se', 'ess_min', 'holds', 'sgd_error']
    >>> r.holds, r.sgd_error
    (True, None)
    """
    teacher = canonical_kind(teacher)
    check_inputs(teacher, d, K, T, teachers, particles)
    start = time.perf_counter()
    kind = TEACHER_KIND[teacher]
    ts, r = run_teachers(kind, d, K, T, teachers=teachers, particles=particles, seed=seed, moves=moves)
    smc_seconds = time.perf_counter() - start
    bound, p_star = bound_value(teacher, d, K, T)
    err, se = float(r.error.mean()), _se(r.error)
    runs = _sgd(ts, K, T, seed, r.log_lik_true, final=True) if sgd else []
    best = min(runs, key=lambda row: row["error"]) if runs else None
    # particle updates: one per particle and observation (reweighting), plus each MH move over t observations
    updates = teachers * particles * T + float(np.sum(r.mh_updates))
    idx = np.unique(np.geomspace(1, T, curve_points).astype(int)) - 1
    curve = r.kl_curve.mean(axis=0)
    return BayesResult(
        teacher=teacher, d=int(d), K=int(K), T=int(T), teachers=int(teachers), particles=int(particles),
        seed=int(seed), error=err, error_se=se, error_rb=float(r.error_rb.mean()), error_rb_se=_se(r.error_rb),
        bound=bound, bound_law=LAW_FOR_TEACHER[teacher], bound_p=p_star, holds=bool(bound >= err - 2 * se),
        ratio=bound / err if err > 0 else float("inf"),
        sgd_error=best["error"] if best else None, sgd_error_se=best["error_se"] if best else None,
        sgd_config={"width": best["width"], "lr": best["lr"]} if best else None,
        sgd_final_error=best.get("final_error") if best else None, sgd_runs=runs,
        ess_min=float(r.ess_min.min()), acceptance=float(np.nanmean(r.acceptance)) if np.isfinite(r.acceptance).any()
        else float("nan"), resamples=float(r.resamples.mean()),
        curve_t=[int(i + 1) for i in idx], curve=[float(curve[i]) for i in idx],
        seconds=time.perf_counter() - start, smc_seconds=smc_seconds,
        updates_per_second=updates / smc_seconds if smc_seconds > 0 else float("nan"))
