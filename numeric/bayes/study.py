"""The Bayes side of the compute study: the restricted learner's error over widths at fixed compute (docs/bayes.md).

At compute ``C = n (d + 1) T`` a width-``n`` learner sees ``T = floor(C / (n (d + 1)))`` samples.  For each
width of a grid, :func:`bayes_study` runs the restricted Bayes learner (:func:`~scaling_theory.numeric.bayes.smc.
learner_prior`) once, to the largest ``T`` any budget gives it, on **paired teachers**: the same teachers and
data streams at every width (teacher ``i`` from seed ``seed * 100003 + i``), so the differences between
widths carry little noise.  A run to ``T_max`` is, over its first ``T`` steps, the run to ``T``
(:meth:`~scaling_theory.numeric.bayes.smc.SMCResult.prefix`), so every budget's error is a prefix mean of
the one run's per-step KL curve: one run per (teacher, width) gives every budget.  For the finite teacher
every width ``n >= K`` has the teacher's own prior, so those widths share one run as well.

Per budget and width: the time-averaged error ``(1/T) sum_t KL(p(y | F, x_t) || p_n(y | D_{t-1}, x_t))``
(mean and standard error over teachers; the SMC-evidence estimate of the same quantity beside it).  Per
budget: ``n*(C)`` (the width of least mean error) with a bootstrap interval over teachers (teachers
resampled, the argmin recomputed), a smoothed ``n*`` (the vertex of a parabola in ``ln n`` through the
log-errors at the argmin and its two neighbours; the grid edge where the argmin is there) with its own
interval, and whether each bound supplied holds at every measured cell.  Across budgets: the exponent
``a`` of ``n* ~ C^a`` (least squares of ``ln n*_smooth`` on ``ln C``) with a bootstrap interval, and the
local exponent between neighbouring budgets.

References
----------
Jeon & Van Roy, arXiv:2212.01365 (the compute-optimal allocation ``n*(C)`` of the bound); docs/bayes.md
("The compute study").
"""

from __future__ import annotations

import math
import time
from typing import Callable, Mapping, Sequence

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes import cost
from scaling_theory.numeric.bayes.compare import LIMITS
from scaling_theory.numeric.bayes.smc import TEACHER_DROPPED_SHARE, learner_prior, run_teachers, teacher_arguments
from scaling_theory.numeric.sim.teacher import Teacher, sample_teacher
from scaling_theory.theory.teachers import canonical_kind

__all__ = ["BoundFailure", "bayes_study", "study_estimate", "study_teachers", "samples_at", "n_star_smooth", "figure_data",
           "SETTINGS"]

#: the study's settings (docs/bayes.md, "The compute study", for what was tried and measured):
#: ``default`` is reproduce's (about 80 CPU-seconds for the finite and dp teachers, 40-50 s on 2 free cores; the
#: Pitman-Yor teacher at sigma = 1/2 is the dp setting with its discount), ``full``
#: the larger study of ``reproduce --full`` (2.5 decades, d = 8; about 10 CPU-minutes), ``quick`` a smoke test
SETTINGS = {
    "quick": {"finite": {"d": 1, "K": 2, "budgets": [200.0, 800.0], "widths": [1, 2, 3], "teachers": 4,
                         "particles": 100},
              "dp": {"d": 1, "K": 1.0, "budgets": [200.0, 800.0], "widths": [1, 2, 3], "teachers": 4,
                     "particles": 100},
              "pitman-yor": {"d": 1, "K": 1.0, "sigma": 0.5, "budgets": [200.0, 800.0], "widths": [1, 2, 3],
                             "teachers": 4, "particles": 100}},
    "default": {"finite": {"d": 4, "K": 4, "budgets": [1e3, 4e3, 1.6e4, 6.4e4], "widths": [1, 2, 3, 4, 6, 8],
                           "teachers": 32, "particles": 300},
                "dp": {"d": 4, "K": 2.0, "budgets": [1e3, 4e3, 1.6e4, 6.4e4], "widths": [1, 2, 3, 4, 6, 8],
                       "teachers": 32, "particles": 300},
                "pitman-yor": {"d": 4, "K": 2.0, "sigma": 0.5, "budgets": [1e3, 4e3, 1.6e4, 6.4e4],
                               "widths": [1, 2, 3, 4, 6, 8], "teachers": 32, "particles": 300}},
    "full": {"finite": {"d": 8, "K": 6, "budgets": [1e3, 3.2e3, 1e4, 3.2e4, 1e5, 3.2e5],
                        "widths": [1, 2, 3, 4, 6, 8, 12], "teachers": 32, "particles": 300},
             "dp": {"d": 8, "K": 3.0, "budgets": [1e3, 3.2e3, 1e4, 3.2e4, 1e5, 3.2e5],
                    "widths": [1, 2, 3, 4, 6, 8, 12], "teachers": 32, "particles": 300},
             "pitman-yor": {"d": 8, "K": 3.0, "sigma": 0.5, "budgets": [1e3, 3.2e3, 1e4, 3.2e4, 1e5, 3.2e5],
                            "widths": [1, 2, 3, 4, 6, 8, 12], "teachers": 32, "particles": 300}},
}


class BoundFailure(RuntimeError):
    """A bound below the measured Bayes error (beyond 2 standard errors) at a cell: a bug in a derivation
    or in the estimator, never a user mistake.  ``cell`` holds the numbers."""

    def __init__(self, message: str, cell: dict):
        super().__init__(message)
        self.cell = cell


def samples_at(C: float, n: int, d: int) -> int:
    """``T = floor(C / (n (d + 1)))``: the samples a width-``n`` learner gets at compute ``C``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.study import samples_at
    >>> samples_at(1e3, 3, 1), samples_at(10.0, 8, 1)
    (166, 0)
    """
    return int(math.floor(C / (n * (d + 1)) + 1e-9))


def study_teachers(teacher: str, d: int, K: float, teachers: int, seed: int = 0,
                   sigma: float | None = None) -> list[tuple[Teacher, int]]:
    """The study's teachers and their data seeds: ``(sample_teacher(d, K, kind, seed*100003 + i), seed*100003 + i)``
    (``sigma``: the Pitman-Yor teacher's discount, for ``teacher="pitman-yor"`` only).

    The data are the first ``T`` samples of each teacher's training stream with that data seed
    (:func:`~scaling_theory.numeric.bayes.smc.teacher_data`), the same samples
    :func:`scaling_theory.numeric.sim.training.train` uses: SGD students trained on them are paired with
    the Bayes learner.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.study import study_teachers
    >>> [(t.kind, s) for t, s in study_teachers("finite", 2, 2, 2, seed=1)]
    [('finite', 100003), ('finite', 100004)]
    """
    kind = canonical_kind(teacher)
    extra = teacher_arguments(kind, K, _discount(kind, sigma).get("sigma"))     # the SMC's own teachers
    return [(sample_teacher(d, K, kind=kind, seed=seed * 100003 + i, **extra), seed * 100003 + i)
            for i in range(teachers)]


def _discount(kind: str, sigma: float | None) -> dict:
    """``{"sigma": sigma}`` for the Pitman-Yor teacher (its discount checked), ``{}`` for the others; a discount
    given with another teacher is a one-line error."""
    from scaling_theory.theory.teachers import check_discount

    if kind == "pitman-yor":
        return {"sigma": check_discount(0.0 if sigma is None else sigma)}
    if sigma is not None:
        raise UserInputError(f"a discount sigma is for the pitman-yor teacher only, not {kind}")
    return {}


def _parabola_vertex(u: np.ndarray, v: np.ndarray) -> float | None:
    """Vertex of the parabola through three points ``(u_k, v_k)``; ``None`` unless it opens upward."""
    a, b, _ = np.polyfit(u, v, 2)
    return float(-b / (2 * a)) if a > 0 else None


def n_star_smooth(widths: Sequence[int], errors: Sequence[float]) -> tuple[float, bool]:
    """Smoothed compute-optimal width: the vertex of a parabola in ``ln n`` through ``ln error`` at the
    argmin and its two neighbours, kept between those neighbours; ``(edge width, False)`` when the
    argmin is at the edge of the grid (NaN errors are unmeasured widths).

    Returns
    -------
    (n*, interior)

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.study import n_star_smooth
    >>> w = [1, 2, 4, 8, 16]
    >>> n, inside = n_star_smooth(w, [np.exp((np.log(n) - np.log(5)) ** 2) for n in w])   # ln error: a parabola
    >>> round(n, 6), inside
    (5.0, True)
    >>> n_star_smooth(w, [1, 2, 3, 4, 5])
    (1.0, False)
    """
    w = np.asarray(widths, dtype=float)
    e = np.asarray(errors, dtype=float)
    ok = np.isfinite(e) & (e > 0)
    w, e = w[ok], e[ok]
    if w.size == 0:
        return float("nan"), False
    i = int(np.argmin(e))
    if i == 0 or i == w.size - 1:
        return float(w[i]), False
    u = np.log(w[i - 1: i + 2])
    vtx = _parabola_vertex(u, np.log(e[i - 1: i + 2]))
    if vtx is None:
        return float(w[i]), True
    return float(math.exp(min(max(vtx, u[0]), u[2]))), True


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(x[ok]) == 0:
        return float("nan")
    return float(np.polyfit(x[ok], y[ok], 1)[0])


def _check_args(teacher, d, K, budgets, widths, teachers, particles, seed, bootstrap):
    kind = canonical_kind(teacher)
    for name, value, (lo, hi) in (("d", d, LIMITS["d"]), ("teachers", teachers, LIMITS["teachers"]),
                                  ("particles", particles, LIMITS["particles"]), ("seed", seed, LIMITS["seed"]),
                                  ("bootstrap", bootstrap, (0, 100_000))):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
            raise UserInputError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    K = float(K)
    if not (math.isfinite(K) and LIMITS["K"][0] <= K <= LIMITS["K"][1]) or (kind == "finite" and not K.is_integer()):
        raise UserInputError(f"K must be {'an integer' if kind == 'finite' else 'a number'} in "
                             f"[{LIMITS['K'][0]}, {LIMITS['K'][1]}], got {K!r}")
    Cs = [float(c) for c in budgets]
    if len(Cs) < 1 or any(not (math.isfinite(c) and c > 0) for c in Cs) or len(set(Cs)) != len(Cs):
        raise UserInputError(f"budgets must be distinct positive finite numbers, got {list(budgets)!r}")
    ws = list(widths)
    lo, hi = LIMITS["width"]
    if len(ws) < 2 or len(set(ws)) != len(ws) or any(
            isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not lo <= n <= hi for n in ws):
        raise UserInputError(f"widths must be at least two distinct integers in [{lo}, {hi}], got {ws!r}")
    return kind, (int(K) if kind == "finite" else K), sorted(Cs), sorted(int(n) for n in ws)


def _plan(kind: str, d: int, K, budgets: list[float], widths: list[int],
          extra: Mapping | None = None) -> dict[tuple[int, int], dict]:
    """Runs to make: ``(kernel kind, m) -> {"width": learner width or None, "T": T_max, "widths": [...]}``."""
    runs: dict[tuple[int, int], dict] = {}
    for n in widths:
        T = max(samples_at(C, n, d) for C in budgets)
        if T < 1:
            continue
        key = learner_prior(kind, K, n, **(extra or {}))
        if kind == "finite" and n >= K:
            key = learner_prior(kind, K, None)          # the teacher's own prior: one run for all n >= K
        run = runs.setdefault(key, {"width": None if (kind == "finite" and n >= K) else n, "T": 0, "widths": []})
        run["T"] = max(run["T"], T)
        run["widths"].append(n)
    return runs


def _study_cost(kind, d, K, runs, teachers, particles, moves, threads, sigma=None) -> cost.CostEstimate:
    parts = [cost.estimate(kind, d, K, r["T"], teachers, particles, width=r["width"], moves=moves,
                           threads=threads, sigma=sigma) for r in runs.values()]
    return cost.CostEstimate(updates=sum(p.updates for p in parts), seconds=sum(p.seconds for p in parts),
                             memory_bytes=max(p.memory_bytes for p in parts) + sum(
                                 16.0 * teachers * r["T"] for r in runs.values()),
                             threads=parts[0].threads)


def study_estimate(teacher: str, d: int, K: float, budgets: Sequence[float], widths: Sequence[int], *,
                   teachers: int = 32, particles: int = 300, seed: int = 0, moves: int = 5,
                   threads: int | None = None, sigma: float | None = None) -> cost.CostEstimate:
    """What :func:`bayes_study` with these arguments will take (time, memory), before it starts.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.study import study_estimate
    >>> e = study_estimate("finite", 1, 2, [200, 800], [1, 2, 3], teachers=3, particles=100)
    >>> 0 < e.seconds < 60
    True
    """
    kind, K, Cs, ws = _check_args(teacher, d, K, budgets, widths, teachers, particles, seed, 0)
    extra = _discount(kind, sigma)
    runs = _plan(kind, d, K, Cs, ws, extra)
    if not runs:
        raise UserInputError(f"no width of {ws} gets a sample at the budgets {Cs} (T = C/(n(d+1)) < 1)")
    return _study_cost(kind, d, K, runs, teachers, particles, moves, threads, **extra)


def bayes_study(teacher: str, d: int, K: float, budgets: Sequence[float], widths: Sequence[int], *,
                teachers: int = 32, particles: int = 300, seed: int = 0,
                bounds: Mapping[str, Callable[[int, int], float | None]] | None = None, bootstrap: int = 1000,
                moves: int = 5, threads: int | None = None, allow_long: bool = False,
                progress: Callable[[str], None] | None = None, sigma: float | None = None) -> dict:
    """The restricted Bayes learner's error over ``widths`` at each compute budget, and ``n*(C)`` (module docstring).

    Parameters
    ----------
    teacher : ``"finite"``, ``"dp"`` or ``"pitman-yor"``.
    d, K : input dimension; teacher units (finite) or concentration (dp, pitman-yor).
    budgets : compute budgets ``C = n (d + 1) T``.
    widths : the width grid (at least two); a width whose ``T`` at a budget is below 1 is not measured there.
    teachers, particles, seed : paired teachers (the same at every width), SMC particles, seed.
    bounds : ``{route: f(n, T)}``, each route's bound at a cell (``None`` or NaN where the route is not
        valid there: that cell is not checked for it).  Every valid cell must satisfy
        ``bound >= error - 2 se``; a failure raises :class:`BoundFailure` naming the cell.
    bootstrap : resamples of the teachers for the intervals (0: none).
    moves, threads : SMC moves per resampling; threads for the sampler.
    allow_long : run a study estimated above :data:`scaling_theory.numeric.bayes.cost.MAX_SECONDS`.
    progress : called with a line of text before each run.
    sigma : the Pitman-Yor teacher's discount in ``[0, 1)`` (``teacher="pitman-yor"`` only).

    Returns
    -------
    dict, JSON-able: ``teacher``, ``d``, ``K`` (and ``sigma`` for the Pitman-Yor teacher), ``teachers``, ``particles``, ``seed``, ``widths``,
    ``budgets`` (one entry per budget: ``C``, ``widths`` measured there, ``T`` per width,
    ``bayes_error``, ``bayes_error_se`` (per-step KL estimate), ``bayes_error_evidence``,
    ``bayes_error_evidence_se``, ``n_star``, ``n_star_ci``, ``n_star_interior``, ``n_star_smooth``,
    ``n_star_smooth_ci``, ``n_star_share`` (bootstrap frequency of each width as the argmin),
    ``routes`` (each route's argmin over the measured widths), ``bounds`` (each route's values, ``None``
    where not valid), ``bound_holds`` (``None`` without bounds), ``bound_cells_checked``,
    ``local_exponent`` (to the next budget)), ``exponents`` (``{"bayes": [a, lo, hi]}`` from the smoothed
    ``n*``, ``"bayes_argmin"`` from the raw argmin), ``seconds``, ``estimate`` and ``runs``.

    Raises
    ------
    UserInputError
        Bad sizes, or a study above the machine's memory or (without ``allow_long``) the time limit.
    BoundFailure
        A supplied bound below the measured error at a cell.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.study import bayes_study
    >>> s = bayes_study("finite", 1, 2, [200, 800], [1, 2, 3], teachers=3, particles=100, bootstrap=50,
    ...                 bounds={"loose": lambda n, T: 1.0, "not-here": lambda n, T: None})
    >>> [b["C"] for b in s["budgets"]], s["budgets"][0]["widths"], s["budgets"][0]["T"]
    ([200.0, 800.0], [1, 2, 3], [100, 50, 33])
    >>> s["budgets"][1]["bound_holds"], s["budgets"][1]["n_star"] in (1, 2, 3), len(s["exponents"]["bayes"])
    (True, True, 3)
    """
    kind, K, Cs, ws = _check_args(teacher, d, K, budgets, widths, teachers, particles, seed, bootstrap)
    extra = _discount(kind, sigma)
    runs = _plan(kind, d, K, Cs, ws, extra)
    if not runs:
        raise UserInputError(f"no width of {ws} gets a sample at the budgets {Cs} (T = C/(n(d+1)) < 1)")
    est = _study_cost(kind, d, K, runs, teachers, particles, moves, threads, **extra)
    cost.check(est, allow_long=allow_long, what=f"the {kind} study")
    start = time.perf_counter()
    kl: dict[int, np.ndarray] = {}
    excess: dict[int, np.ndarray] = {}
    run_info = []
    for key, run in runs.items():
        if progress is not None:
            progress(f"{kind} teacher: width {run['widths'] if run['width'] is None else run['width']} "
                     f"to T = {run['T']} ({teachers} teachers x {particles} particles)")
        t0 = time.perf_counter()
        _, r = run_teachers(kind, d, K, run["T"], teachers=teachers, particles=particles, seed=seed, moves=moves,
                            width=run["width"], threads=threads, **extra)
        # cumulative sums: every prefix mean in O(1)
        ckl = np.concatenate([np.zeros((teachers, 1)), np.cumsum(r.kl_curve, axis=1)], axis=1)
        cex = np.concatenate([np.zeros((teachers, 1)), np.cumsum(r.excess_curve, axis=1)], axis=1)
        for n in run["widths"]:
            kl[n], excess[n] = ckl, cex
        run_info.append({"learner": "teacher's prior" if run["width"] is None else f"width {run['width']}",
                         "widths": run["widths"], "T": run["T"], "seconds": time.perf_counter() - t0,
                         "ess_min": float(r.ess_min.min()), "acceptance": float(np.nanmean(r.acceptance))
                         if np.isfinite(r.acceptance).any() else None, "resamples": float(r.resamples.mean())})
    # per-teacher errors (teachers, budgets, widths); NaN where a width gets no sample
    nb, nw = len(Cs), len(ws)
    E = np.full((teachers, nb, nw), np.nan)
    Ev = np.full((teachers, nb, nw), np.nan)
    Tg = np.zeros((nb, nw), dtype=int)
    for j, C in enumerate(Cs):
        for k, n in enumerate(ws):
            T = samples_at(C, n, d)
            Tg[j, k] = T
            if T >= 1 and n in kl:
                E[:, j, k] = kl[n][:, T] / T
                Ev[:, j, k] = excess[n][:, T] / T
    rng = np.random.default_rng([int(seed), 0xB007])
    idx = rng.integers(0, teachers, size=(bootstrap, teachers)) if bootstrap else np.zeros((0, teachers), int)
    mean = E.mean(axis=0)
    boot = E[idx].mean(axis=1) if bootstrap else np.zeros((0, nb, nw))      # (B, nb, nw)
    se = E.std(axis=0, ddof=1) / math.sqrt(teachers)
    mean_v = Ev.mean(axis=0)
    se_v = Ev.std(axis=0, ddof=1) / math.sqrt(teachers)
    entries = []
    smooth = np.full(nb, np.nan)
    argmins = np.full(nb, np.nan)
    smooth_b = np.full((bootstrap, nb), np.nan)
    argmin_b = np.full((bootstrap, nb), np.nan)
    for j, C in enumerate(Cs):
        have = [k for k in range(nw) if Tg[j, k] >= 1]
        w_have = [ws[k] for k in have]
        m = mean[j, have]
        i = int(np.nanargmin(m))
        argmins[j] = w_have[i]
        smooth[j], interior = n_star_smooth(w_have, m)
        for bidx in range(bootstrap):
            mb = boot[bidx, j, have]
            argmin_b[bidx, j] = w_have[int(np.nanargmin(mb))]
            smooth_b[bidx, j] = n_star_smooth(w_have, mb)[0]
        share = ({str(n): float(np.mean(argmin_b[:, j] == n)) for n in w_have if np.any(argmin_b[:, j] == n)}
                 if bootstrap else {})
        entry = {"C": C, "widths": w_have, "T": [int(Tg[j, k]) for k in have],
                 "bayes_error": [float(mean[j, k]) for k in have],
                 "bayes_error_se": [float(se[j, k]) for k in have],
                 "bayes_error_evidence": [float(mean_v[j, k]) for k in have],
                 "bayes_error_evidence_se": [float(se_v[j, k]) for k in have],
                 "n_star": int(w_have[i]),
                 "n_star_ci": ([float(np.percentile(argmin_b[:, j], 2.5)), float(np.percentile(argmin_b[:, j], 97.5))]
                               if bootstrap else None),
                 "n_star_interior": bool(interior),
                 "n_star_smooth": float(smooth[j]),
                 "n_star_smooth_ci": ([float(np.nanpercentile(smooth_b[:, j], 2.5)),
                                       float(np.nanpercentile(smooth_b[:, j], 97.5))] if bootstrap else None),
                 "n_star_share": share}
        entry.update(_check_bounds(bounds, kind, d, K, C, w_have, entry))
        entries.append(entry)
    lnC = np.log(np.asarray(Cs))
    for j in range(nb - 1):
        entries[j]["local_exponent"] = float((math.log(smooth[j + 1]) - math.log(smooth[j])) / (lnC[j + 1] - lnC[j]))
    entries[-1]["local_exponent"] = None
    exponents = {"bayes": _exponent(lnC, smooth, smooth_b), "bayes_argmin": _exponent(lnC, argmins, argmin_b)}
    cut = teacher_arguments(kind, K, extra.get("sigma"))
    if "max_atoms" in cut:     # where the Pitman-Yor data teachers' sticks were cut, and what that may drop
        extra = {**extra, "teacher_atoms": cut["max_atoms"], "teacher_dropped_share": TEACHER_DROPPED_SHARE}
    return {"teacher": kind, "d": int(d), "K": K, **extra, "teachers": int(teachers), "particles": int(particles),
            "seed": int(seed), "widths": ws, "budgets": entries, "exponents": exponents,
            "error_estimator": "per-step KL of the true conditional from the learner's predictive, time-averaged",
            "seconds": time.perf_counter() - start,
            "estimate": {"seconds": est.seconds, "memory_bytes": est.memory_bytes, "updates": est.updates},
            "runs": run_info}


def _exponent(lnC: np.ndarray, n_star: np.ndarray, boot: np.ndarray) -> list:
    """``[a, lo, hi]``: least-squares slope of ``ln n*`` on ``ln C``, with a 95% bootstrap interval."""
    a = _slope(lnC, np.log(n_star))
    if boot.shape[0] == 0 or lnC.size < 2:
        return [a, None, None]
    slopes = np.array([_slope(lnC, np.log(row)) for row in boot])
    slopes = slopes[np.isfinite(slopes)]
    if slopes.size == 0:
        return [a, None, None]
    return [a, float(np.percentile(slopes, 2.5)), float(np.percentile(slopes, 97.5))]


def _check_bounds(bounds, kind, d, K, C, widths, entry) -> dict:
    """Each route's bound at the budget's cells; raise :class:`BoundFailure` at a cell where it fails."""
    if not bounds:
        return {"bound_holds": None, "bound_cells_checked": 0, "routes": {}, "bounds": {}}
    values: dict[str, list] = {}
    checked = 0
    for route, fn in bounds.items():
        row = []
        for n, T, err, se in zip(widths, entry["T"], entry["bayes_error"], entry["bayes_error_se"]):
            b = fn(n, T)
            b = None if b is None or not math.isfinite(float(b)) else float(b)
            row.append(b)
            if b is None:
                continue
            checked += 1
            if b < err - 2 * se:
                cell = {"teacher": kind, "d": d, "K": K, "C": C, "n": n, "T": T, "route": route, "bound": b,
                        "error": err, "error_se": se}
                raise BoundFailure(f"BOUND FAILS: route {route!r} gives {b:.4g} < measured Bayes error {err:.4g} "
                                   f"- 2 x {se:.2g} at the {kind} teacher d={d}, K={K}, C={C:g}, width n={n}, "
                                   f"T={T}; a bug in a derivation or in the estimator", cell)
        values[route] = row
    routes = {}
    for route, row in values.items():
        valid = [(b, n) for b, n in zip(row, widths) if b is not None]
        routes[route] = min(valid)[1] if valid else None
    return {"bound_holds": True, "bound_cells_checked": checked, "routes": routes, "bounds": values}


def figure_data(studies: Sequence[Mapping]) -> dict:
    """The two figures' data from :func:`bayes_study` results (one per teacher).

    Returns
    -------
    dict with ``width_curves``: one panel per teacher, ``{"teacher", "curves": [{"C", "widths", "error",
    "error_se", "n_star", "bounds": {route: values}}]}``; and ``n_star``: one series per teacher,
    ``{"teacher", "C", "n_star", "lo", "hi", "n_star_smooth", "exponent", "routes": {route: [n* per C]}}``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.study import figure_data
    >>> s = {"teacher": "finite", "d": 1, "K": 2, "exponents": {"bayes": [0.1, 0.0, 0.2]},
    ...      "budgets": [{"C": 1e3, "widths": [1, 2], "bayes_error": [0.02, 0.01], "bayes_error_se": [1e-3, 1e-3],
    ...                   "n_star": 2, "n_star_ci": [1, 2], "n_star_smooth": 1.8, "routes": {}, "bounds": {}}]}
    >>> sorted(figure_data([s])), figure_data([s])["n_star"][0]["n_star"]
    (['n_star', 'width_curves'], [2])
    """
    panels, series = [], []
    for s in studies:
        label = f"{s['teacher']} (d={s['d']}, K={s['K']:g})"
        panels.append({"teacher": label, "curves": [
            {"C": b["C"], "widths": b["widths"], "error": b["bayes_error"], "error_se": b["bayes_error_se"],
             "n_star": b["n_star"], "bounds": b.get("bounds") or {}} for b in s["budgets"]]})
        routes = sorted({r for b in s["budgets"] for r in (b.get("routes") or {})})
        series.append({"teacher": label, "C": [b["C"] for b in s["budgets"]],
                       "n_star": [b["n_star"] for b in s["budgets"]],
                       "lo": [(b.get("n_star_ci") or [b["n_star"]] * 2)[0] for b in s["budgets"]],
                       "hi": [(b.get("n_star_ci") or [b["n_star"]] * 2)[1] for b in s["budgets"]],
                       "n_star_smooth": [b.get("n_star_smooth") for b in s["budgets"]],
                       "exponent": s["exponents"]["bayes"],
                       "routes": {r: [(b.get("routes") or {}).get(r) for b in s["budgets"]] for r in routes}})
    return {"width_curves": panels, "n_star": series}
