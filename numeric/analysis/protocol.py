"""The tuned protocol's analysis: learning rate chosen on validation, estimators side by side, verdicts.

Input: the runs of a sweep whose grid crosses a learning-rate grid and several seeds (one seed =
one teacher, data stream and initialisation; docs/paper-setting.md "Empirical check").  Per teacher
setting ``(d, K, kind)``:

1. **Learning rate.** For every ``(budget, width)`` the learning rate with the lowest *validation*
   error (``metrics.val_error``: the same Monte-Carlo KL on an evaluation stream independent of the
   reported one), averaged over seeds, is chosen; the reported error of that cell is the mean over
   seeds of ``error`` at the chosen rate, so the choice and the reported number use different inputs.
2. **Estimators** of the model exponent ``a`` in ``p*(C) ~ C^a``, each a least-squares line of
   ``ln p*`` on ``ln C`` over the budgets whose minimum is bracketed (a budget whose best
   sampled width is the smallest or largest one has no optimum; with fewer than 2 such budgets
   the estimate is missing and the verdict ``inconclusive``):

   * ``best-sampled`` (approach 1): ``p*`` is the sampled width with the lowest mean error;
   * ``parabola-all`` (approach 2): a parabola in ``ln p`` through all widths of the budget,
     weighted by the standard errors of the cell means;
   * ``parabola-local``: the same through the minimum and at most two widths each side;
   * ``approach-3``: ``beta / (alpha + beta)`` of the parametric fit ``E + A/p^alpha + B/T^beta``
     (:mod:`scaling_theory.numeric.analysis.approach3`) on the cell means.

3. **Intervals** from a bootstrap over seeds (seeds drawn with replacement; every estimator
   recomputed, learning-rate choice included), 2.5 and 97.5 percentiles.
4. **Verdict** against the bound's local exponent: ``inconclusive`` when the interval is wider than
   :data:`MAX_CI_WIDTH` or when two estimators' intervals do not overlap (the data cannot say which
   one to believe); otherwise ``agrees`` (bound inside the interval) or ``disagrees``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from scaling_theory.errors import UserInputError

__all__ = ["ESTIMATORS", "MAX_CI_WIDTH", "cell_table", "estimate", "analyse", "verdict"]

ESTIMATORS = ("best-sampled", "parabola-all", "parabola-local", "approach-3")
#: an interval wider than this cannot decide between the bound and its rivals
MAX_CI_WIDTH = 0.15


def _rows_by_seed(rows: Sequence[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    out: dict[int, list] = {}
    for r in rows:
        if r.get("status") == "done" and r.get("error") is not None:
            out.setdefault(int(r["seed"]), []).append(r)
    return out


def cell_table(rows: Sequence[Mapping[str, Any]], seeds: Sequence[int] | None = None) -> dict:
    """Chosen learning rate and seed-mean error per ``(budget, params)`` cell.

    ``seeds`` (with repeats, for a bootstrap draw) selects which seeds' runs count; default all.
    Returns ``{(C, p): {"lr": lr, "error": mean, "se": se_of_mean, "T": T, "lr_table": {lr: val}}}``.

    Examples
    --------
    >>> rows = [{"status": "done", "seed": s, "compute": 1e4, "params": 10, "samples": 1000, "lr": lr,
    ...          "error": e + 0.01 * s, "error_se": 0.001, "metrics": {"val_error": e}}
    ...         for s in (0, 1) for lr, e in ((0.1, 0.5), (0.3, 0.4))]
    >>> cell = cell_table(rows)[(1e4, 10)]
    >>> cell["lr"], round(cell["error"], 3), cell["lr_table"]
    (0.3, 0.405, {0.1: 0.5, 0.3: 0.4})
    """
    by_seed = _rows_by_seed(rows)
    seeds = sorted(by_seed) if seeds is None else list(seeds)
    acc: dict[tuple, dict[float, list]] = {}
    for s in seeds:
        for r in by_seed.get(int(s), []):
            val = (r.get("metrics") or {}).get("val_error", r["error"])
            acc.setdefault((float(r["compute"]), int(r["params"])), {}).setdefault(float(r["lr"]), []).append(
                (float(val), float(r["error"]), float(r.get("error_se") or 0.0), int(r["samples"])))
    out = {}
    for key, by_lr in acc.items():
        n_max = max(len(v) for v in by_lr.values())
        # only learning rates every seed finished (a diverged run must not make its rate look good)
        table = {lr: float(np.mean([x[0] for x in v])) for lr, v in by_lr.items() if len(v) == n_max}
        lr = min(table, key=table.get)
        runs = by_lr[lr]
        errs = np.array([x[1] for x in runs])
        ses = np.array([x[2] for x in runs])
        # standard error of the seed mean: seed spread when there are several seeds, else the run's own
        se = float(errs.std(ddof=1) / math.sqrt(len(errs))) if len(errs) > 1 else float(ses[0])
        se = max(se, float(np.sqrt(np.sum(ses ** 2))) / len(errs))
        out[key] = {"lr": lr, "error": float(errs.mean()), "se": se, "T": runs[0][3],
                    "lr_table": dict(sorted(table.items()))}
    return out


def _parabola_vertex(x, y, w):
    if len(x) < 3:
        return None
    try:
        c2, c1, _ = np.polyfit(x, y, 2, w=w)
    except (np.linalg.LinAlgError, ValueError):
        return None
    if not (c2 > 0):
        return None
    xv = -c1 / (2 * c2)
    return float(np.clip(xv, x.min(), x.max()))


def _slope(lnC, lnp):
    lnC, lnp = np.asarray(lnC), np.asarray(lnp)
    if len(lnC) < 2 or np.ptp(lnC) == 0:
        return None
    return float(np.polyfit(lnC, lnp, 1)[0])


def estimate(cells: Mapping[tuple, Mapping[str, Any]], *, a3_start=None, _theta: list | None = None
             ) -> dict[str, float | None]:
    """Every estimator of the exponent ``a`` on one cell table (see the module docstring).

    Examples
    --------
    >>> cells = {}
    >>> for C in (1e4, 1e6):      # ln(error) a parabola in ln p, minimal at p = sqrt(C) / 10
    ...     for p in (1, 3, 10, 30, 100, 300, 1000):
    ...         cells[(C, p)] = {"error": math.exp(0.1 * math.log(p / (C ** 0.5 / 10)) ** 2), "se": 0.01,
    ...                          "T": C / p}
    >>> est = estimate(cells)
    >>> round(est["parabola-all"], 2), round(est["parabola-local"], 2), round(est["best-sampled"], 2)
    (0.5, 0.5, 0.5)
    """
    budgets = sorted({C for C, _ in cells})
    lnC: dict[str, list] = {k: [] for k in ESTIMATORS[:3]}
    lnp: dict[str, list] = {k: [] for k in ESTIMATORS[:3]}
    for C in budgets:
        ps = sorted(p for c, p in cells if c == C)
        if len(ps) < 3:
            continue
        x = np.log(np.array(ps, dtype=float))
        y = np.array([cells[(C, p)]["error"] for p in ps])
        se = np.array([max(cells[(C, p)]["se"], 1e-12) for p in ps])
        i = int(np.argmin(y))
        if i == 0 or i == len(ps) - 1:
            continue  # the minimum is not bracketed by the sampled widths: no optimum at this budget
        lnC["best-sampled"].append(math.log(C))
        lnp["best-sampled"].append(float(x[i]))
        # fits in ln(error), weighted by 1/se of ln(error)
        ly, w = np.log(y), y / se
        v = _parabola_vertex(x, ly, w)
        if v is not None:
            lnC["parabola-all"].append(math.log(C))
            lnp["parabola-all"].append(v)
        lo, hi = max(0, i - 2), min(len(ps), i + 3)
        v = _parabola_vertex(x[lo:hi], ly[lo:hi], w[lo:hi])
        if v is not None:
            lnC["parabola-local"].append(math.log(C))
            lnp["parabola-local"].append(v)
    out: dict[str, float | None] = {k: _slope(lnC[k], lnp[k]) for k in ESTIMATORS[:3]}
    out["approach-3"], theta = _approach3(cells, a3_start)
    if _theta is not None:
        _theta.append(theta)
    return out


def _approach3(cells, start=None):
    """``a`` of the parametric fit on the cell means, and the fitted parameters (a warm start)."""
    from scaling_theory.numeric.analysis.approach3 import _fit_lse, _grid_starts, _law_from_theta

    keys = sorted(cells)
    if len({C for C, _ in keys}) < 2 or len(keys) < 6:
        return None, None
    x = np.log(np.array([p for _, p in keys], dtype=float))
    y = np.log(np.array([cells[k]["T"] for k in keys], dtype=float))
    logL = np.log(np.array([cells[k]["error"] for k in keys]))
    try:
        starts = [start] if start is not None else _grid_starts(x, y, logL, False, top=8)
        res = _fit_lse(x, y, logL, False, starts)
        if res is None:
            return None, None
        _, a, _, _ = _law_from_theta(res.x, False, 1.0)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None, None
    return (float(a) if a is not None and math.isfinite(a) else None), res.x


def verdict(exponent: float | None, ci, bound: float | None, all_cis: Sequence) -> str:
    """``agrees``, ``disagrees`` or ``inconclusive`` (see the module docstring).

    Examples
    --------
    >>> verdict(0.5, [0.45, 0.55], 0.48, [[0.45, 0.55]])
    'agrees'
    >>> verdict(0.3, [0.25, 0.35], 0.48, [[0.25, 0.35]])
    'disagrees'
    >>> verdict(0.3, [0.1, 0.5], 0.48, [[0.1, 0.5]])      # wider than 0.15
    'inconclusive'
    >>> verdict(0.3, [0.25, 0.35], 0.48, [[0.25, 0.35], [0.45, 0.5]])   # estimators disagree
    'inconclusive'
    """
    if exponent is None or not ci or bound is None or not math.isfinite(bound):
        return "inconclusive"
    if ci[1] - ci[0] > MAX_CI_WIDTH:
        return "inconclusive"
    good = [c for c in all_cis if c]
    for i, a in enumerate(good):
        for b in good[i + 1:]:
            if a[1] < b[0] or b[1] < a[0]:
                return "inconclusive"
    return "agrees" if ci[0] <= bound <= ci[1] else "disagrees"


def analyse(rows: Sequence[Mapping[str, Any]], *, bootstrap: int = 100, seed: int = 0) -> dict[str, Any]:
    """Estimates with seed-bootstrap intervals for the runs of one teacher setting.

    Returns ``{"estimates": {name: a}, "ci": {name: [lo, hi] or None}, "cells": cell_table,
    "seeds": n}``.  Fewer than 2 seeds: a one-line error (an interval over seeds needs two).

    Examples
    --------
    >>> analyse([{"status": "done", "seed": 0, "compute": 1e4, "params": 5, "samples": 9, "lr": 0.1,
    ...           "error": 1.0, "error_se": 0.1, "metrics": {}}])
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: an interval over seeds needs at least 2 seeds with finished runs, got 1
    """
    seeds = sorted(_rows_by_seed(rows))
    if len(seeds) < 2:
        raise UserInputError(f"an interval over seeds needs at least 2 seeds with finished runs, got {len(seeds)}")
    from scaling_theory.numeric.analysis.approach3 import one_blas_thread

    with one_blas_thread():
        return _analyse(rows, seeds, bootstrap, seed)


def _analyse(rows, seeds, bootstrap, seed):
    cells = cell_table(rows)
    theta: list = []
    point = estimate(cells, _theta=theta)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in ESTIMATORS}
    for _ in range(int(bootstrap)):
        pick = rng.choice(seeds, size=len(seeds), replace=True)
        # approach 3 restarts from the point fit (a full multi-start per draw costs ~1 s)
        est = estimate(cell_table(rows, pick), a3_start=theta[0])
        for k, v in est.items():
            if v is not None and math.isfinite(v):
                draws[k].append(v)
    ci = {}
    for k in ESTIMATORS:
        ok = len(draws[k]) >= max(10, bootstrap // 2)
        ci[k] = [float(np.percentile(draws[k], 2.5)), float(np.percentile(draws[k], 97.5))] if ok else None
    return {"estimates": point, "ci": ci, "cells": cells, "seeds": len(seeds)}
