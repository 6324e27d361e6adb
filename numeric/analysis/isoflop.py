"""Chinchilla's approaches 1 and 2: per-budget optima, then power laws ``N*(C) = k_N C^a``.

- **Approach 1** (lower envelope): per compute budget the best sampled configuration.
- **Approach 2** (IsoFLOP profiles): per budget a parabola of ``ln loss`` against ``ln N``; its vertex
  gives ``N*(C)``, and ``D*(C) = C / (cost N*)``.

Then ``a`` and ``b`` by least squares in log-log, with a seeded bootstrap within budgets.

References
----------
Hoffmann et al. (2022), *Training Compute-Optimal Large Language Models*, Sec. 3.1-3.2.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import numpy as np

from scaling_theory.numeric.analysis.data import FitData
from scaling_theory.numeric.analysis.results import ApproachResult, percentile_ci

__all__ = ["approach12", "budget_optima", "bin_budgets", "MIN_BUDGET_POINTS"]

MIN_BUDGET_POINTS = 3
"""A parabola needs three distinct model sizes."""


def budget_optima(data: FitData, parabola: bool):
    """Per budget ``C, N_opt, D_opt, loss_opt, parabola``; skipped budgets with reasons.

    A budget whose optimum is not inside its sampled model sizes is skipped, not extrapolated.
    """
    points, skipped = [], []
    for C in np.unique(data.budget):
        m = data.budget == C
        N, L, Cs = data.N[m], data.loss[m], data.C[m]
        cost_here = float(np.median(Cs / (N * data.D[m])))
        if parabola:
            xs = np.log(N)
            if np.unique(xs).size < MIN_BUDGET_POINTS:
                skipped.append((float(C), f"fewer than {MIN_BUDGET_POINTS} model sizes"))
                continue
            c2, c1, c0 = np.polyfit(xs, np.log(L), 2)
            if not c2 > 0:
                skipped.append((float(C), "profile not convex"))
                continue
            xv = -c1 / (2 * c2)
            if not (xs.min() <= xv <= xs.max()):
                skipped.append((float(C), "minimum outside the sampled model sizes"))
                continue
            n_opt = math.exp(xv)
            l_opt = math.exp(c0 + c1 * xv + c2 * xv * xv)
            coeffs = [float(c2), float(c1), float(c0)]
        else:
            if np.unique(N).size < MIN_BUDGET_POINTS:
                skipped.append((float(C), f"fewer than {MIN_BUDGET_POINTS} model sizes"))
                continue
            i = int(np.argmin(L))
            if N[i] == N.min() or N[i] == N.max():
                # the best sampled size is the smallest/largest: the optimum may lie beyond the grid
                which = "smallest" if N[i] == N.min() else "largest"
                skipped.append((float(C), f"best at the {which} sampled model size"))
                continue
            n_opt, l_opt = float(N[i]), float(L[i])
            coeffs = []
        points.append({"C": float(C), "N_opt": n_opt, "D_opt": float(C) / (cost_here * n_opt),
                       "loss_opt": l_opt, "parabola": coeffs})
    return points, skipped


def _power_fit(C, Y):
    """Least squares ``ln Y = ln k + e ln C``; returns (k, e)."""
    e, lnk = np.polyfit(np.log(C), np.log(Y), 1)
    return math.exp(lnk), float(e)


def bin_budgets(data: FitData, max_bins: int = 12) -> tuple[FitData, int]:
    """Off-grid data (most budgets with fewer than :data:`MIN_BUDGET_POINTS` model sizes, as in
    published runs at scattered budgets): group budgets into log-spaced bins of compute.

    Each bin becomes one budget labelled by the geometric mean of its compute values, so that a
    bin holds several model sizes (the IsoFLOP profile of a narrow compute band, as replications of
    Hoffmann et al. 2022 do). Data on a grid are returned unchanged with 0 bins.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.analysis.data import synthetic
    >>> on_grid = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20], noise=0.0)
    >>> bin_budgets(on_grid)[1]
    0
    >>> rng = np.random.default_rng(0)
    >>> off = dataclasses.replace(on_grid, budget=on_grid.C * rng.uniform(0.5, 2.0, len(on_grid)))
    >>> binned, n = bin_budgets(off)
    >>> n, len(np.unique(binned.budget)) == n
    (3, True)
    """
    budgets, counts = np.unique(data.budget, return_counts=True)
    sizes = [np.unique(data.N[data.budget == C]).size for C in budgets]
    if sum(s < MIN_BUDGET_POINTS for s in sizes) <= len(budgets) / 2:
        return data, 0
    n_bins = int(max(2, min(max_bins, len(data) // (3 * MIN_BUDGET_POINTS))))
    logs = np.log10(data.budget)
    edges = np.linspace(logs.min(), logs.max(), n_bins + 1)
    which = np.clip(np.searchsorted(edges, logs, side="right") - 1, 0, n_bins - 1)
    labels = np.empty_like(data.budget)
    for b in np.unique(which):
        m = which == b
        labels[m] = 10 ** float(np.mean(logs[m]))
    return dataclasses.replace(data, budget=labels), int(np.unique(which).size)


def _skip_note(skipped) -> str:
    """``"5 budgets skipped (3 fewer than 3 model sizes, 2 profile not convex)"``."""
    if not skipped:
        return ""
    counts = Counter(why for _, why in skipped)
    parts = ", ".join(f"{n} {why}" for why, n in counts.most_common())
    return f"{len(skipped)} budget{'s' if len(skipped) != 1 else ''} skipped ({parts})"


def approach12(data: FitData, k: int, bootstrap: int, rng) -> ApproachResult:
    parabola = k == 2
    n_raw = np.unique(data.budget).size
    data, n_bins = bin_budgets(data)
    points, skipped = budget_optima(data, parabola)
    notes = [f"{n_raw} off-grid budgets grouped into {n_bins} log-spaced bins"] if n_bins else []
    if skipped:
        notes.append(_skip_note(skipped))
    note = "; ".join(notes)
    details = [{"C": c, "reason": why} for c, why in skipped]
    if len(points) < 2:
        return ApproachResult(k, False, "not enough data to fit: fewer than 2 compute budgets with "
                              "an optimum" + (f" ({note})" if note else ""), n_points=len(data),
                              skipped=details, bins=n_bins)
    Cs = np.array([p["C"] for p in points])
    kN, a = _power_fit(Cs, np.array([p["N_opt"] for p in points]))
    kD, b = _power_fit(Cs, np.array([p["D_opt"] for p in points]))
    msgs = [note] if note else []
    if len(points) == 2:
        msgs.append("only 2 budgets: the power law passes through both")
    out = ApproachResult(k, True, "; ".join(msgs), a, b, {"k_N": kN, "k_D": kD}, {},
                         points=points, n_points=len(data), bootstrap=bootstrap, skipped=details, bins=n_bins)
    if bootstrap:
        draws: dict[str, list[float]] = {"a": [], "b": []}
        per_budget: dict[float, list[float]] = {p["C"]: [] for p in points}
        budgets = [np.flatnonzero(data.budget == C) for C in np.unique(data.budget)]
        for _ in range(bootstrap):
            idx = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in budgets])
            pts, _ = budget_optima(data.subset(idx), parabola)
            for p in pts:
                if p["C"] in per_budget:
                    per_budget[p["C"]].append(p["N_opt"])
            if len(pts) < 2:
                continue
            Cb = np.array([p["C"] for p in pts])
            draws["a"].append(_power_fit(Cb, np.array([p["N_opt"] for p in pts]))[1])
            draws["b"].append(_power_fit(Cb, np.array([p["D_opt"] for p in pts]))[1])
        out.ci = percentile_ci(draws)
        if "a" not in out.ci:
            out.message = "; ".join(filter(None, [out.message, (
                f"no interval: only {len(draws['a'])} of {bootstrap} resamples had optima at 2+ "
                "budgets")]))
        # per-budget interval of N_opt (D_opt = C/(cost N_opt) is its mirror image)
        for p in points:
            ci = percentile_ci({"N": per_budget[p["C"]]}).get("N")
            p["N_opt_ci"] = ci
    return out
