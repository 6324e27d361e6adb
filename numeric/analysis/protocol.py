"""The tuned protocol's analysis: learning rate chosen on validation, estimators side by side, verdicts.

Input: the runs of a sweep whose grid crosses a learning-rate grid and several seeds (a seed fixes
the teacher, the data stream and the initialisation; docs/paper-setting.md "Empirical check").  Per
teacher setting ``(d, K, kind)``:

1. **Error kind.** Comparisons with the bound use the time-averaged online KL
   (``metrics.online_kl``, the quantity the bound is about) when every run has it, else the
   final student's KL on fresh inputs (``error``); :func:`error_key` decides, :data:`ERROR_KINDS`
   names the two.
2. **Learning rate.** For every ``(budget, width)`` the learning rate is chosen on the same error
   kind the comparisons report, averaged over seeds (:data:`LR_CHOICE`): for the time-averaged
   online KL the rate with the lowest seed-mean online KL, a prequential choice (each sample's KL is
   scored with the weights from before the step that trains on it, so no term of it is measured on
   data the student has fitted); for the final-weights KL the rate with the lowest *validation*
   error (``metrics.val_error``: the final-weights KL on an evaluation stream independent of the
   reported one).  The reported error of the cell is the seed mean of that error kind at that rate,
   and the cell also carries the seed mean of the final-weights KL at the same rate (``final``, a
   secondary quantity).  :func:`analyse` also gives the estimates with the rate chosen on the
   validation stream (``val_choice``), the sensitivity of the result to the choice.
3. **Estimators** of the model exponent ``a`` in ``p*(C) ~ C^a`` over the budgets whose minimum is
   bracketed (a budget whose best sampled width is the smallest or largest one has no optimum;
   with fewer than 2 such budgets the estimate is missing and the verdict ``inconclusive``):

   * ``best-sampled`` (approach 1): ``p*`` is the sampled width with the lowest mean error;
     ``ln p*`` on ``ln C`` by least squares;
   * ``parabola-all`` (approach 2): a parabola in ``ln p`` through all widths of the budget,
     weighted by the standard errors of the cell means (which include the runs' own ``error_se``);
     the line of the vertices on ``ln C`` is weighted by each vertex's standard error (delta
     method, floored at :data:`VERTEX_SE_FLOOR`);
   * ``parabola-local``: the same through the minimum and at most two widths each side;
   * ``approach-3``: ``beta / (alpha + beta)`` of the parametric fit ``E + A/p^alpha + B/T^beta``
     (:mod:`scaling_theory.numeric.analysis.approach3`) on the cell means, weighted by their
     inverse variances.

4. **Intervals** from a hierarchical bootstrap over seeds: teachers are drawn with replacement
   (the outer level, ``teacher_seed``), then the seeds of each drawn teacher (data and
   initialisation) within it; every estimator is recomputed, learning-rate choice included;
   2.5 and 97.5 percentiles.  When every seed has its own teacher (the default study) this is the
   plain bootstrap over seeds.
5. **Verdict** against the bound's local exponent: ``inconclusive`` when the interval is wider than
   :data:`MAX_CI_WIDTH`, when two estimators' intervals do not overlap (the data cannot say which
   one to believe) or when some budget's minimum is not bracketed by two sampled widths on each
   side (:func:`brackets`); otherwise ``agrees`` (bound inside the interval) or ``disagrees``.

:func:`refine_widths` plans the widths a sweep adds around each budget's minimum after a coarse
pass; :func:`lr_curves` and :func:`lr_optima` give the error against the learning rate per width.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from scaling_theory.errors import UserInputError

__all__ = ["ESTIMATORS", "HEADLINE_ESTIMATOR", "MAX_CI_WIDTH", "ERROR_KINDS", "LR_CHOICE", "MIN_SIDE",
           "VERTEX_SE_FLOOR", "error_key", "cell_table", "estimate", "analyse", "verdict", "brackets",
           "refine_widths", "lr_curves", "lr_optima", "diverged_counts", "approach3_weights", "cells_to_data"]

ESTIMATORS = ("best-sampled", "parabola-all", "parabola-local", "approach-3")
#: the estimator a summary quotes first: the parametric fit uses every cell of every budget
HEADLINE_ESTIMATOR = "approach-3"
#: an interval wider than this cannot decide between the bound and its rivals
MAX_CI_WIDTH = 0.15
#: the error each comparison uses, by the run field it is read from
ERROR_KINDS = {"online_kl": "time-averaged online KL", "error": "final-weights KL"}
#: what the learning rate is chosen on, by the reported error kind (see the module docstring)
LR_CHOICE = {"online_kl": "online_kl", "error": "val_error"}
#: the choice criteria in words
LR_CHOICE_TEXT = {"online_kl": "the seed-mean time-averaged online KL (prequential: each sample scored before "
                               "the step that trains on it)",
                  "val_error": "the seed-mean final-weights KL on the validation stream"}
#: sampled widths needed on each side of a budget's minimum for it to count as bracketed
MIN_SIDE = 2
#: smallest standard error (in ln p) given to a parabola's vertex when weighting the line over budgets
VERTEX_SE_FLOOR = 0.02


def error_key(rows: Sequence[Mapping[str, Any]]) -> str:
    """``"online_kl"`` when every finished run carries ``metrics.online_kl``, else ``"error"``.

    Examples
    --------
    >>> run = {"status": "done", "error": 0.2, "metrics": {"online_kl": 0.3, "online_kl_se": 0.01}}
    >>> error_key([run]), error_key([run, {"status": "done", "error": 0.2, "metrics": {}}])
    ('online_kl', 'error')
    """
    done = [r for r in rows if r.get("status") == "done" and r.get("error") is not None]
    ok = all(_finite((r.get("metrics") or {}).get("online_kl")) for r in done)
    return "online_kl" if done and ok else "error"


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _value(r: Mapping[str, Any], key: str) -> tuple[float, float]:
    if key == "error":
        return float(r["error"]), float(r.get("error_se") or 0.0)
    m = r.get("metrics") or {}
    return float(m[key]), float(m.get(f"{key}_se") or 0.0)


def _teacher_of(r: Mapping[str, Any]) -> int:
    cfg = r.get("config") or {}
    return int(cfg.get("teacher_seed", r.get("teacher_seed", r["seed"])))


def _rows_by_seed(rows: Sequence[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    out: dict[int, list] = {}
    for r in rows:
        if r.get("status") == "done" and r.get("error") is not None:
            out.setdefault(int(r["seed"]), []).append(r)
    return out


def _hierarchy(by_seed: Mapping[int, Sequence[Mapping[str, Any]]]) -> dict[int, list[int]]:
    """Seeds grouped by the teacher they train on (the bootstrap's outer level)."""
    out: dict[int, list[int]] = {}
    for s, runs in sorted(by_seed.items()):
        out.setdefault(_teacher_of(runs[0]), []).append(s)
    return out


def _draw(rng, hierarchy: Mapping[int, Sequence[int]]) -> list[int]:
    """One hierarchical bootstrap draw: teachers with replacement, then seeds within each drawn teacher.

    Examples
    --------
    >>> draw = _draw(np.random.default_rng(0), {0: [0, 1], 7: [5, 6]})
    >>> len(draw), all({draw[0], draw[1]} <= {0, 1} or {draw[0], draw[1]} <= {5, 6} for _ in [0])
    (4, True)
    """
    teachers = list(hierarchy)
    out: list[int] = []
    for t in rng.choice(len(teachers), size=len(teachers), replace=True):
        seeds = list(hierarchy[teachers[int(t)]])
        out += [int(s) for s in rng.choice(seeds, size=len(seeds), replace=True)]
    return out


def _criterion(r: Mapping[str, Any], choose: str) -> float | None:
    """The number a run's learning rate is judged by (``None``: the run lacks it)."""
    m = r.get("metrics") or {}
    if choose == "val_error":
        return float(m.get("val_error", r["error"]))
    v = m.get(choose) if choose != "error" else r.get("error")
    return float(v) if _finite(v) else None


def cell_table(rows: Sequence[Mapping[str, Any]], seeds: Sequence[int] | None = None, *,
               key: str = "error", choose: str | None = None) -> dict:
    """Chosen learning rate and seed-mean error per ``(budget, params)`` cell.

    ``seeds`` (with repeats, for a bootstrap draw) selects which seeds' runs count; default all.
    ``key`` is the reported error kind (``"error"`` or ``"online_kl"``, see :func:`error_key`);
    ``choose`` what the rate is chosen on: ``"online_kl"``, ``"val_error"`` (the validation
    stream's final-weights KL) or ``"error"``; default :data:`LR_CHOICE` of ``key``.
    Returns ``{(C, p): {"lr": lr, "error": mean, "se": se_of_mean, "final": mean, "final_se": se,
    "T": T, "width": n, "lr_table": {lr: criterion}}}``; ``se`` is the larger of the seed spread's
    standard error and the runs' own standard errors combined; ``final`` is the seed mean of the
    final-weights KL at the chosen rate.

    Examples
    --------
    >>> rows = [{"status": "done", "seed": s, "compute": 1e4, "params": 10, "samples": 1000, "lr": lr,
    ...          "error": e + 0.01 * s, "error_se": 0.001, "metrics": {"val_error": e}}
    ...         for s in (0, 1) for lr, e in ((0.1, 0.5), (0.3, 0.4))]
    >>> cell = cell_table(rows)[(1e4, 10)]
    >>> cell["lr"], round(cell["error"], 3), cell["lr_table"]
    (0.3, 0.405, {0.1: 0.5, 0.3: 0.4})

    With the online KL reported, the rate is chosen on it too:

    >>> for r in rows:
    ...     r["metrics"].update(online_kl=2 * r["lr"], online_kl_se=0.001)
    >>> cell = cell_table(rows, key="online_kl")[(1e4, 10)]
    >>> cell["lr"], cell["error"], round(cell["final"], 3)
    (0.1, 0.2, 0.505)
    """
    if choose is None:
        choose = LR_CHOICE.get(key, "val_error")
    by_seed = _rows_by_seed(rows)
    seeds = sorted(by_seed) if seeds is None else list(seeds)
    acc: dict[tuple, dict[float, list]] = {}
    for s in seeds:
        for r in by_seed.get(int(s), []):
            val = _criterion(r, choose)
            if val is None:
                continue
            rep, rep_se = _value(r, key)
            acc.setdefault((float(r["compute"]), int(r["params"])), {}).setdefault(float(r["lr"]), []).append(
                (float(val), rep, rep_se, int(r["samples"]), r.get("width"), float(r["error"]),
                 float(r.get("error_se") or 0.0)))
    out = {}
    for cell, by_lr in acc.items():
        n_max = max(len(v) for v in by_lr.values())
        # only learning rates every seed finished (a diverged run must not make its rate look good)
        table = {lr: float(np.mean([x[0] for x in v])) for lr, v in by_lr.items() if len(v) == n_max}
        lr = min(table, key=table.get)
        runs = by_lr[lr]
        se, mean = _seed_mean([x[1] for x in runs], [x[2] for x in runs])
        final_se, final = _seed_mean([x[5] for x in runs], [x[6] for x in runs])
        out[cell] = {"lr": lr, "error": mean, "se": se, "final": final, "final_se": final_se,
                     "T": runs[0][3], "width": runs[0][4], "lr_table": dict(sorted(table.items()))}
    return out


def _seed_mean(values, run_ses) -> tuple[float, float]:
    """(standard error, mean) of a seed mean: the seed spread with several seeds, else the run's own
    standard error, and never below the runs' own standard errors combined."""
    errs, ses = np.asarray(values, float), np.asarray(run_ses, float)
    se = float(errs.std(ddof=1) / math.sqrt(len(errs))) if len(errs) > 1 else float(ses[0])
    se = max(se, float(np.sqrt(np.sum(ses ** 2))) / len(errs))
    return se, float(errs.mean())


def brackets(cells: Mapping[tuple, Mapping[str, Any]], min_side: int = MIN_SIDE) -> dict[float, dict[str, Any]]:
    """Per budget: the best sampled ``p``, how many sampled widths lie on each side, and whether
    at least ``min_side`` do on both (the minimum is *bracketed*).

    Examples
    --------
    >>> cells = {(1e4, p): {"error": e} for p, e in ((1, 3.0), (2, 2.0), (4, 1.0), (8, 2.0), (16, 3.0))}
    >>> brackets(cells)[1e4]
    {'p': 4, 'left': 2, 'right': 2, 'bracketed': True}
    >>> brackets({k: v for k, v in cells.items() if k[1] != 1})[1e4]["bracketed"]
    False
    """
    out = {}
    for C in sorted({C for C, _ in cells}):
        ps = sorted(p for c, p in cells if c == C)
        i = int(np.argmin([cells[(C, p)]["error"] for p in ps]))
        left, right = i, len(ps) - 1 - i
        out[C] = {"p": ps[i], "left": left, "right": right, "bracketed": left >= min_side and right >= min_side}
    return out


def _between(lo: int, hi: int, taken, k: int) -> list[int]:
    """Up to ``k`` integer widths strictly between ``lo`` and ``hi`` not in ``taken``, spread in log."""
    free = [w for w in range(lo + 1, hi) if w not in taken]
    out: list[int] = []
    for target in np.geomspace(lo, hi, k + 2)[1:-1] if k > 0 else []:
        left = [w for w in free if w not in out]
        if left:
            out.append(min(left, key=lambda w: abs(math.log(w / target))))
    return sorted(out)


def refine_widths(cells: Mapping[tuple, Mapping[str, Any]], d: int, *, min_samples: int = 1,
                  cost_factor: float = 1.0, min_side: int = MIN_SIDE, midpoints: bool = True
                  ) -> tuple[dict[float, list[int]], dict[float, str]]:
    """Widths to add around each budget's minimum, and the budgets that cannot be bracketed.

    A budget whose minimum has fewer than ``min_side`` sampled widths on a side gets widths beyond
    its smallest (down to width 1) or largest (up to ``T = C/(c p) >= min_samples``) one, a grid
    step apart, and, where that runs out (width 1, or the ``min_samples`` cap), the unsampled
    widths between that end and the minimum; with ``midpoints`` a bracketed minimum also gets the
    geometric midpoints between it and its neighbours (a finer grid where the curve is flat).  Widths already sampled are
    never returned.  A budget that needs more widths on a side and has none left there is
    returned in the second dict with the reason (its comparison is then ``inconclusive``).

    Examples
    --------
    >>> d = 4   # p = 5 n
    >>> cells = {(1e4, 5 * n): {"error": e} for n, e in ((2, 1.0), (4, 2.0), (8, 3.0))}
    >>> refine_widths(cells, d)      # minimum at the smallest width: two widths below it
    ({10000.0: [1]}, {10000.0: 'the minimum lies at width 2; only 1 narrower width exists'})
    >>> cells = {(1e4, 5 * n): {"error": e} for n, e in ((1, 2.0), (3, 1.0), (6, 2.0), (12, 3.0))}
    >>> refine_widths(cells, d)      # nothing below width 1: width 2 fills in between
    ({10000.0: [2]}, {})
    >>> cells = {(1e4, 5 * n): {"error": e} for n, e in ((1, 3.0), (2, 2.0), (4, 1.0), (8, 2.0), (16, 3.0))}
    >>> refine_widths(cells, d)      # bracketed: midpoints either side of the minimum
    ({10000.0: [3, 6]}, {})
    """
    added: dict[float, list[int]] = {}
    stuck: dict[float, str] = {}
    for C, b in brackets(cells, min_side).items():
        widths = sorted(p // (d + 1) for c, p in cells if c == C)
        have = set(widths)
        i = widths.index(b["p"] // (d + 1))
        new: list[int] = []
        step = (widths[-1] / widths[0]) ** (1 / (len(widths) - 1)) if len(widths) > 1 else 2.0
        step = max(step, 1.25)
        if b["left"] < min_side:
            w, need = widths[0], min_side - b["left"]
            while need and w > 1:
                w = min(w - 1, max(1, round(w / step)))
                new.append(w)
                need -= 1
            for w in _between(widths[0], widths[i], have | set(new), need):
                new.append(w)
                need -= 1
            if need:
                have_left = min_side - need
                stuck[C] = (f"the minimum lies at width {widths[i]}; only {have_left} narrower "
                            + ("width exists" if have_left == 1 else "widths exist"))
        if b["right"] < min_side:
            cap = int(math.floor(C / (cost_factor * (d + 1) * min_samples)))  # widest with T >= min_samples
            w, need = widths[-1], min_side - b["right"]
            while need and w < cap:
                w = min(cap, max(w + 1, round(w * step)))
                new.append(w)
                need -= 1
            for w in _between(widths[i], widths[-1], have | set(new), need):
                new.append(w)
                need -= 1
            if need:
                stuck[C] = (f"the minimum lies at width {widths[i]}; wider students would train on fewer "
                            f"than {min_samples} samples at C = {C:g}")
        if midpoints and b["bracketed"]:
            for j in (i - 1, i + 1):
                m = round(math.sqrt(widths[i] * widths[j]))
                if m not in have and m not in new:
                    new.append(m)
        new = sorted(w for w in set(new) if w not in have and w >= 1)
        if new:
            added[C] = new
    return added, stuck


def _parabola_vertex(x, y, w):
    """Vertex of the weighted parabola ``y ~ c2 x^2 + c1 x + c0`` and its standard error (delta method);
    ``None`` without a minimum inside the data's range."""
    if len(x) < 3:
        return None
    try:
        coef, cov = np.polyfit(x, y, 2, w=w, cov="unscaled")
    except (np.linalg.LinAlgError, ValueError):
        return None
    c2, c1, _ = coef
    if not (c2 > 0):
        return None
    xv = -c1 / (2 * c2)
    if not (x.min() <= xv <= x.max()):
        return None
    grad = np.array([c1 / (2 * c2 ** 2), -1 / (2 * c2), 0.0])
    dof = len(x) - 3
    scale = 1.0
    if dof > 0:  # a model misfit larger than the standard errors widens the vertex's error
        resid = (np.polyval(coef, x) - y) * w
        scale = max(1.0, float(np.sum(resid ** 2)) / dof)
    var = float(grad @ cov @ grad) * scale
    se = math.sqrt(var) if math.isfinite(var) and var >= 0 else math.inf
    return float(xv), max(se, VERTEX_SE_FLOOR)


def _slope(lnC, lnp, se=None):
    lnC, lnp = np.asarray(lnC, float), np.asarray(lnp, float)
    if len(lnC) < 2 or np.ptp(lnC) == 0:
        return None
    w = None
    if se is not None:
        se = np.asarray(se, float)
        if np.all(np.isfinite(se)) and np.all(se > 0):
            w = 1.0 / se
    return float(np.polyfit(lnC, lnp, 1, w=w)[0])


def estimate(cells: Mapping[tuple, Mapping[str, Any]], *, a3_start=None, _theta: list | None = None,
             approach3: bool = True) -> dict[str, float | None]:
    """Every estimator of the exponent ``a`` on one cell table (see the module docstring).

    ``approach3=False`` skips the parametric fit (its value is then ``None``).

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
    pts: dict[str, list] = {k: [] for k in ESTIMATORS[:3]}
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
        pts["best-sampled"].append((math.log(C), float(x[i]), None))
        # fits in ln(error), weighted by 1/se of ln(error)
        ly, w = np.log(y), y / se
        v = _parabola_vertex(x, ly, w)
        if v is not None:
            pts["parabola-all"].append((math.log(C), *v))
        lo, hi = max(0, i - 2), min(len(ps), i + 3)
        v = _parabola_vertex(x[lo:hi], ly[lo:hi], w[lo:hi])
        if v is not None:
            pts["parabola-local"].append((math.log(C), *v))
    out: dict[str, float | None] = {}
    for k in ESTIMATORS[:3]:
        lnC = [q[0] for q in pts[k]]
        lnp = [q[1] for q in pts[k]]
        out[k] = _slope(lnC, lnp, None if k == "best-sampled" else [q[2] for q in pts[k]])
    out["approach-3"], theta = _approach3(cells, a3_start) if approach3 else (None, None)
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
    w = approach3_weights(cells, keys)
    try:
        starts = [start] if start is not None else _grid_starts(x, y, logL, False, top=8, w=w)
        res = _fit_lse(x, y, logL, False, starts, w=w)
        if res is None:
            return None, None
        _, a, _, _ = _law_from_theta(res.x, False, 1.0)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None, None
    return (float(a) if a is not None and math.isfinite(a) else None), res.x


def approach3_weights(cells: Mapping[tuple, Mapping[str, Any]], keys: Sequence[tuple] | None = None) -> np.ndarray:
    """The ``approach-3`` estimator's weight per cell (in ``keys`` order, default sorted): the inverse
    variance of ``ln(error)`` with a 1% floor for the model's own misfit, normalised to mean 1.

    Examples
    --------
    >>> cells = {(1e4, 5): {"error": 0.1, "se": 0.001}, (1e4, 10): {"error": 0.1, "se": 0.01}}
    >>> approach3_weights(cells).round(3).tolist()     # the noisier cell counts less
    [1.961, 0.039]
    """
    keys = sorted(cells) if keys is None else list(keys)
    err = np.array([cells[k]["error"] for k in keys], dtype=float)
    sd = np.array([cells[k].get("se", 0.0) for k in keys], dtype=float) / err
    w = 1.0 / (sd ** 2 + 0.01 ** 2)
    return w / w.mean()


def cells_to_data(cells: Mapping[tuple, Mapping[str, Any]], *, d: int, K: int, kind: str, cost: float = 1.0,
                  final: bool = False, source: str = "cells"):
    """A cell table as :class:`~scaling_theory.numeric.analysis.data.FitData` (sorted cells; one point
    per ``(C, p)``: ``N = p``, ``D = T``, the loss the cell's reported error, or with ``final`` its
    final-weights KL), so that Chinchilla's fits (:func:`scaling_theory.numeric.analysis.fit.fit`) see
    the same numbers, rates and error kind as the estimators.

    Examples
    --------
    >>> cells = {(1e4, 10): {"error": 0.2, "se": 0.01, "final": 0.3, "final_se": 0.02, "T": 1000},
    ...          (1e4, 20): {"error": 0.1, "se": 0.01, "final": 0.2, "final_se": 0.02, "T": 500}}
    >>> data = cells_to_data(cells, d=4, K=8, kind="dp")
    >>> data.N.tolist(), data.loss.tolist(), cells_to_data(cells, d=4, K=8, kind="dp", final=True).loss.tolist()
    ([10.0, 20.0], [0.2, 0.1], [0.3, 0.2])
    >>> data.groups["kind"].tolist(), data.budget.tolist()
    (['dp', 'dp'], [10000.0, 10000.0])
    """
    from scaling_theory.numeric.analysis.data import FitData

    keys = sorted(cells)
    which, which_se = ("final", "final_se") if final else ("error", "se")
    n = len(keys)
    C = np.array([c for c, _ in keys], dtype=float)
    return FitData(N=np.array([p for _, p in keys], dtype=float), D=np.array([cells[k]["T"] for k in keys], dtype=float),
                   loss=np.array([cells[k][which] for k in keys], dtype=float), C=C, budget=C.copy(),
                   cost=float(cost), source=source,
                   groups={"d": np.full(n, d), "K": np.full(n, K), "kind": np.array([kind] * n, dtype=object)},
                   loss_se=np.array([cells[k][which_se] for k in keys], dtype=float))


def verdict(exponent: float | None, ci, bound: float | None, all_cis: Sequence, *, bracketed: bool = True) -> str:
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
    >>> verdict(0.3, [0.25, 0.35], 0.48, [[0.25, 0.35]], bracketed=False)   # a budget's minimum not bracketed
    'inconclusive'
    """
    if exponent is None or not ci or bound is None or not math.isfinite(bound) or not bracketed:
        return "inconclusive"
    if ci[1] - ci[0] > MAX_CI_WIDTH:
        return "inconclusive"
    good = [c for c in all_cis if c]
    for i, a in enumerate(good):
        for b in good[i + 1:]:
            if a[1] < b[0] or b[1] < a[0]:
                return "inconclusive"
    return "agrees" if ci[0] <= bound <= ci[1] else "disagrees"


def analyse(rows: Sequence[Mapping[str, Any]], *, bootstrap: int = 100, seed: int = 0, key: str | None = None,
            approach3: bool = True) -> dict[str, Any]:
    """Estimates with hierarchical seed-bootstrap intervals for the runs of one teacher setting.

    ``key`` is the error kind (default :func:`error_key` of ``rows``); ``approach3=False`` skips the
    parametric fit.  Returns ``{"estimates": {name: a}, "ci": {name: [lo, hi] or None},
    "cells": cell_table, "seeds": n, "teachers": n, "error_key": key, "error_kind": text,
    "lr_choice": text, "final_estimates": {name: a}, "val_choice": {name: a}, "brackets": brackets(cells),
    "unbracketed": [C, ...]}``: ``final_estimates`` are the point estimates on the final-weights KL of
    the same cells, ``val_choice`` those with the rate chosen on the validation stream.  Fewer than 2 seeds: a one-line error
    (an interval over seeds needs two).

    Examples
    --------
    >>> analyse([{"status": "done", "seed": 0, "compute": 1e4, "params": 5, "samples": 9, "lr": 0.1,
    ...           "error": 1.0, "error_se": 0.1, "metrics": {}}])
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: an interval over seeds needs at least 2 seeds with finished runs, got 1
    """
    by_seed = _rows_by_seed(rows)
    if len(by_seed) < 2:
        raise UserInputError(f"an interval over seeds needs at least 2 seeds with finished runs, got {len(by_seed)}")
    if key is None:
        key = error_key(rows)
    elif key not in ERROR_KINDS:
        raise UserInputError(f"unknown error kind {key!r}; choose one of {', '.join(ERROR_KINDS)}")
    from scaling_theory.numeric.analysis.approach3 import one_blas_thread

    with one_blas_thread():
        return _analyse(rows, by_seed, bootstrap, seed, key, approach3)


def _analyse(rows, by_seed, bootstrap, seed, key, approach3):
    cells = cell_table(rows, key=key)
    theta: list = []
    point = estimate(cells, _theta=theta, approach3=approach3)
    hierarchy = _hierarchy(by_seed)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in ESTIMATORS}
    for _ in range(int(bootstrap)):
        pick = _draw(rng, hierarchy)
        # approach 3 restarts from the point fit (a full multi-start per draw costs ~1 s)
        est = estimate(cell_table(rows, pick, key=key), a3_start=theta[0],
                       approach3=approach3 and theta[0] is not None)
        for k, v in est.items():
            if v is not None and math.isfinite(v):
                draws[k].append(v)
    ci = {}
    for k in ESTIMATORS:
        ok = len(draws[k]) >= max(10, bootstrap // 2)
        ci[k] = [float(np.percentile(draws[k], 2.5)), float(np.percentile(draws[k], 97.5))] if ok else None
    br = brackets(cells)
    # secondary numbers, point estimates only: the final-weights KL at the same rates, and the
    # reported error with the rate chosen on the validation stream instead (the choice's sensitivity)
    final_cells = {k: {**c, "error": c["final"], "se": c["final_se"]} for k, c in cells.items()}
    final = estimate(final_cells, approach3=approach3)
    choose = LR_CHOICE[key]
    val_choice = (estimate(cell_table(rows, key=key, choose="val_error"), approach3=approach3)
                  if choose != "val_error" else dict(point))
    return {"estimates": point, "ci": ci, "cells": cells, "seeds": len(by_seed), "teachers": len(hierarchy),
            "error_key": key, "error_kind": ERROR_KINDS[key], "lr_choice": LR_CHOICE_TEXT[choose],
            "final_estimates": final, "val_choice": val_choice, "brackets": br,
            "unbracketed": [C for C, b in br.items() if not b["bracketed"]]}


def lr_curves(rows: Sequence[Mapping[str, Any]], *, key: str = "error") -> dict[tuple, dict[float, dict]]:
    """Error against learning rate per ``(budget, params)``: the seed mean of ``key`` and a 95%
    t-interval over seeds, for every rate every seed finished.

    Returns ``{(C, p): {lr: {"mean", "lo", "hi", "seeds"}}}``.

    Examples
    --------
    >>> rows = [{"status": "done", "seed": s, "compute": 1e4, "params": 10, "samples": 1000, "lr": lr,
    ...          "error": lr + 0.01 * s, "error_se": 0.0, "metrics": {}} for s in (0, 1, 2) for lr in (0.1, 0.3)]
    >>> c = lr_curves(rows)[(1e4, 10)]
    >>> sorted(c), round(c[0.1]["mean"], 3), c[0.1]["lo"] < c[0.1]["mean"] < c[0.1]["hi"], c[0.1]["seeds"]
    ([0.1, 0.3], 0.11, True, 3)
    """
    from scipy.stats import t as student_t

    acc: dict[tuple, dict[float, list[float]]] = {}
    for r in rows:
        if r.get("status") == "done" and r.get("error") is not None:
            acc.setdefault((float(r["compute"]), int(r["params"])), {}).setdefault(float(r["lr"]), []).append(
                _value(r, key)[0])
    out: dict[tuple, dict[float, dict]] = {}
    for cell, by_lr in acc.items():
        n_max = max(len(v) for v in by_lr.values())
        row = {}
        for lr, v in sorted(by_lr.items()):
            if len(v) < n_max:
                continue  # a rate some seed did not finish (diverged) is left out, not averaged
            v = np.asarray(v)
            half = (float(student_t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
                    if len(v) > 1 else math.nan)
            row[lr] = {"mean": float(v.mean()), "lo": float(v.mean() - half), "hi": float(v.mean() + half),
                       "seeds": len(v)}
        out[cell] = row
    return out


def diverged_counts(rows: Sequence[Mapping[str, Any]]) -> dict[tuple, dict[float, tuple[int, int]]]:
    """Per ``(budget, params)`` and learning rate: ``(diverged runs, runs)``, for every rate where at
    least one seed diverged (:func:`lr_curves` leaves such a rate out; figures mark it).

    Examples
    --------
    >>> rows = [{"status": st, "seed": s, "compute": 1e4, "params": 10, "lr": 1.0}
    ...         for s, st in ((0, "done"), (1, "diverged"), (2, "diverged"))]
    >>> diverged_counts(rows + [{"status": "done", "seed": 0, "compute": 1e4, "params": 10, "lr": 0.1}])
    {(10000.0, 10): {1.0: (2, 3)}}
    """
    acc: dict[tuple, dict[float, list[int]]] = {}
    for r in rows:
        if r.get("status") not in ("done", "diverged"):
            continue
        k = acc.setdefault((float(r["compute"]), int(r["params"])), {}).setdefault(float(r["lr"]), [0, 0])
        k[0] += r["status"] == "diverged"
        k[1] += 1
    return {cell: {lr: (n, tot) for lr, (n, tot) in sorted(by_lr.items()) if n}
            for cell, by_lr in acc.items() if any(n for n, _ in by_lr.values())}


def lr_optima(curves: Mapping[tuple, Mapping[float, Mapping[str, float]]]) -> dict[float, dict[str, Any]]:
    """Per budget: the best learning rate of each width and whether it is *stable* across widths
    (every width's best rate on the same or on neighbouring points of the rate grid).

    Examples
    --------
    >>> curves = {(1e4, p): {lr: {"mean": abs(lr - best)} for lr in (0.03, 0.1, 0.3, 1.0)}
    ...           for p, best in ((10, 0.1), (20, 0.1), (40, 0.3))}
    >>> lr_optima(curves)[1e4]
    {'best': {10: 0.1, 20: 0.1, 40: 0.3}, 'mode': 0.1, 'spread_steps': 1, 'stable': True}
    """
    out = {}
    for C in sorted({C for C, _ in curves}):
        best = {p: min(curves[(C, p)], key=lambda lr: curves[(C, p)][lr]["mean"])
                for p in sorted(p for c, p in curves if c == C) if curves[(C, p)]}
        if not best:
            continue
        grid = sorted({lr for c, p in curves if c == C for lr in curves[(C, p)]})
        idx = [grid.index(v) for v in best.values()]
        values = list(best.values())
        mode = max(set(values), key=lambda v: (values.count(v), -v))
        spread = max(idx) - min(idx)
        out[C] = {"best": best, "mode": mode, "spread_steps": spread,
                  "stable": spread <= 1}
    return out
