"""SGD and Adam side by side under the tuned protocol: the same estimators, intervals and verdicts per arm.

Usage::

    python benchmarks/optimizer_study.py [--budgets 1e5 1e6 1e7 1e8] [--store PATH] [--json]

Each *arm* is the default protocol (:meth:`SweepConfig.protocol`: the infinite-width teacher at
d = 8, K = 32, 9 widths per budget, 5 seeds, muP, lr0/(1 + t/1000), width refinement; float64
students in both arms, since float32 is online SGD only) with one optimiser and its own log-spaced
rate grid: SGD lr0 in {0.03, 0.1, 0.3, 1} (the default study) and
Adam lr0 in {0.01, 0.03, 0.1, 0.3, 1} (a first pass with {0.001, ..., 0.03} put every width's
best rate on the top edge, a second with {0.01, ..., 0.3} some at C = 1e8; under muP Adam's factors are (1, 1/m),
:func:`scaling_theory.numeric.sim.students.layer_lr_factors`).  Per arm it prints the four
estimators of the model exponent a with hierarchical seed-bootstrap intervals and verdicts against
the bound's local exponent (the analysis ``reproduce`` runs), the arm's simulation rate (sum p*T
per second, counted as configured), the best rate per width (is it stable,
is it on the grid's edge), and the best seed-mean time-averaged online KL per budget.  Adam's online
steps run the general minibatch kernel, 2-8x slower per p*T than SGD's fused one, which is why the
default study is SGD only.  The arms share a store (``--store``), so an interrupted run resumes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from _arms import parser, run_arm

ARMS = {"sgd": [0.03, 0.1, 0.3, 1.0], "adam": [0.01, 0.03, 0.1, 0.3, 1.0]}


def main(argv=None) -> int:
    cli = parser(__doc__)
    cli.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    args = cli.parse_args(argv)

    from scaling_theory.numeric.analysis.protocol import lr_optima

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(args.store or os.path.join(tmp, "runs.sqlite"))
        for arm in args.arms:
            # float32 students are online SGD only: both arms in float64
            ran = run_arm({"kind": ["dp"], "optimizer": [arm], "lr": ARMS[arm], "precision": ["float64"]},
                          store, args)
            comparisons = ran["comparisons"]
            (res,) = ran["analyses"].values()  # one teacher: the infinite-width one
            optima = lr_optima(res["lr_curves"])
            cells = res["cells"]
            best = {f"{C:g}": min(v["error"] for (c, _), v in cells.items() if c == C)
                    for C in sorted({c for c, _ in cells})}
            out.append({
                "arm": arm, "lr_grid": ARMS[arm], "runs": ran["runs"], "diverged": ran["diverged"],
                "pT_per_s": ran["pT_per_s"],  # None for a resumed arm (its runs were already in --store)
                "error_kind": res["error_kind"], "bound_exponent": comparisons[0]["bound_exponent"],
                "unbracketed": [f"{C:g}" for C in res["unbracketed"]],
                "estimators": {row["estimator"]: {k: row[k] for k in ("exponent", "ci", "verdict")}
                               for row in comparisons},
                "best_error": best,
                "lr_optima": {f"{C:g}": {"best": {str(p): lr for p, lr in o["best"].items()},
                                         "on_edge": sorted({lr for lr in o["best"].values()
                                                            if lr in (ARMS[arm][0], ARMS[arm][-1])})}
                              for C, o in optima.items()}})
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    for item in out:
        rate = f"{item['pT_per_s']:.3g} p*T/s" if item["pT_per_s"] else "resumed"
        print(f"== {item['arm']} (lr0 in {item['lr_grid']}; {item['runs']} runs, {item['diverged']} diverged, {rate}; "
              f"{item['error_kind']}; bound's a = "
              + (f"{item['bound_exponent']:.3f})" if item["bound_exponent"] is not None else "- (one budget))"))
        for e, v in item["estimators"].items():
            ci = "[" + ", ".join(f"{x:.3f}" for x in v["ci"]) + "]" if v["ci"] else "-"
            a = f"{v['exponent']:.3f}" if v["exponent"] is not None else "-"
            print(f"   {e:15s} a = {a} {ci} {v['verdict']}")
        print("   best online KL per budget:", ", ".join(f"C={C}: {x:.4f}" for C, x in item["best_error"].items()))
        for C, o in item["lr_optima"].items():
            rates = sorted(set(o["best"].values()))
            print(f"   C={C}: best lr0 over widths {rates}" + (f" (on the grid's edge: {o['on_edge']})" if o["on_edge"] else ""))
        if item["unbracketed"]:
            print("   minimum not bracketed at C =", ", ".join(item["unbracketed"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
