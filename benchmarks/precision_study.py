"""float64 and float32 students side by side under the tuned protocol: same runs, same analysis.

Usage::

    python benchmarks/precision_study.py [--budgets 1e5 1e6 1e7 1e8] [--store PATH] [--json]

Each *arm* is the default protocol (:meth:`SweepConfig.protocol`: both teachers at d = 8, K = 32,
9 widths per budget, 5 seeds, muP, lr0 in {0.03, 0.1, 0.3, 1}, width refinement) with the students'
weights and step arithmetic in one precision (``StudentConfig.precision``; the loss, online KL and
learning rate are float64 in both).  It prints

* per pair of runs that differ only in precision: the relative difference of the reported error
  (time-averaged online KL and the final weights' KL on fresh inputs), as median, 90th percentile
  and maximum, set beside the spread of the same error over the 5 seeds (the noise the study has
  to resolve), and how many runs diverged in one precision only;
* per arm and teacher: the four estimators of the model exponent with their seed-bootstrap
  intervals (the analysis ``reproduce`` runs) and the arm's simulation rate (sum p*T per second of
  wall time, counted as configured, on this machine's cores).

The arms share a store (``--store``), so an interrupted study resumes (a resumed arm prints no rate).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

from _arms import parser, run_arm

ARMS = ("float64", "float32")


def _pairs(rows_by_arm):
    """Relative differences of each error kind between runs equal but for precision."""
    def key(r):
        return (r["kind"], r["seed"], r["compute"], r["width"], r["lr"])

    first, second = ({key(r): r for r in rows} for rows in rows_by_arm)
    diffs: dict[str, list[float]] = {"online_kl": [], "error": []}
    one_sided = 0
    for k, a in first.items():
        b = second.get(k)
        if b is None:
            continue
        if (a["status"] == "done") != (b["status"] == "done"):
            one_sided += 1
            continue
        if a["status"] != "done":
            continue
        for name in diffs:
            x = a["error"] if name == "error" else a["metrics"].get(name)
            y = b["error"] if name == "error" else b["metrics"].get(name)
            if x and y is not None:
                diffs[name].append(abs(y - x) / abs(x))
    return diffs, one_sided


def _seed_spread(rows):
    """Median over (teacher, budget, width, lr) cells of the relative standard deviation over seeds."""
    cells: dict[tuple, list[float]] = {}
    for r in rows:
        if r["status"] == "done" and r["metrics"].get("online_kl") is not None:
            cells.setdefault((r["kind"], r["compute"], r["width"], r["lr"]), []).append(r["metrics"]["online_kl"])
    spreads = [statistics.stdev(v) / statistics.mean(v) for v in cells.values() if len(v) > 1]
    return statistics.median(spreads) if spreads else None


def _quantiles(values):
    if not values:
        return None
    values = sorted(values)
    return {"median": statistics.median(values), "p90": values[int(0.9 * (len(values) - 1))], "max": values[-1],
            "n": len(values)}


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)

    from scaling_theory.reproduce import _rows_by_teacher

    out: dict = {"arms": [], "budgets": list(args.budgets)}
    rows_by_arm = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(args.store or os.path.join(tmp, "runs.sqlite"))
        for arm in ARMS:
            res = run_arm({"precision": [arm]}, store, args)
            teachers: dict = {}
            for row in res["comparisons"]:
                teachers.setdefault(row["teacher"], {})[row["estimator"]] = {
                    k: row[k] for k in ("exponent", "ci", "bound_exponent", "verdict")}
            rows_by_arm.append([r for rows in _rows_by_teacher(res["config"], store).values() for r in rows])
            out["arms"].append({"precision": arm, "teachers": teachers,
                                **{k: res[k] for k in ("runs", "diverged", "seconds", "pT_per_s")}})
    diffs, one_sided = _pairs(rows_by_arm)
    out["relative_difference"] = {k: _quantiles(v) for k, v in diffs.items()}
    out["diverged_in_one_precision_only"] = one_sided
    out["seed_spread_online_kl"] = _seed_spread(rows_by_arm[0])
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for arm in out["arms"]:
        rate = f"{arm['pT_per_s']:.3g} p*T/s" if arm["pT_per_s"] else "resumed"
        print(f"== {arm['precision']}: {arm['runs']} runs, {arm['diverged']} diverged, {arm['seconds']:.1f} s, {rate}")
        for teacher, est in arm["teachers"].items():
            for e, v in est.items():
                ci = "[{:.3f}, {:.3f}]".format(*v["ci"]) if v["ci"] else "-"
                a = f"{v['exponent']:.3f}" if v["exponent"] is not None else "-"
                print(f"   {teacher:32s} {e:15s} a = {a} {ci} {v['verdict']}")
    for k, q in out["relative_difference"].items():
        if q:
            print(f"float32 against float64, {k}: median {q['median']:.2e}, 90th percentile {q['p90']:.2e}, "
                  f"max {q['max']:.2e} over {q['n']} run pairs")
    print(f"diverged in one precision only: {one_sided}; spread of online KL over seeds (median relative "
          f"s.d.): {out['seed_spread_online_kl']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
