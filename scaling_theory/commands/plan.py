"""`scaling-theory plan`: the next runs that most shrink the interval of N*(target)."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, positive_float, positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plan", help="propose the next training runs from a fitted law",
        description="From 'fit --json' output (approach 3 with bootstrap replicates), propose k runs "
                    "at a run budget that most shrink the 95% interval of N*(target), by Bayesian "
                    "c-optimal design on ln N*(target) (see docs/planning.md).")
    parser.add_argument("fit", metavar="FIT.json", help="output of 'scaling-theory fit --json'")
    parser.add_argument("--budget", type=positive_float, required=True, metavar="C_run",
                        help="compute of each new run, C = cost*N*D")
    parser.add_argument("--count", type=positive_int, default=1, metavar="k", help="runs to propose (default 1)")
    parser.add_argument("--target", type=positive_float, default=5.76e23, metavar="C",
                        help="budget whose N* should be pinned down (default 5.76e23)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from scaling_theory.numeric.analysis.planning import plan_runs

    j = plan_runs(args.fit, args.budget, count=args.count, target=args.target)

    def iv(v):
        return "n/a" if v is None else f"[{v[0]:.4g}, {v[1]:.4g}]"

    lines = [f"criterion: {j['criterion']}",
             f"N*({j['target']:.3g}) = {j['model_optimal']:.4g}",
             f"  95% interval now:            {iv(j['interval_before'])}",
             f"  expected after these runs:   {iv(j['interval_after'])} "
             f"(log-width x {j['sd_ratio']:.3f})",
             f"next {len(j['runs'])} run(s) at C = {j['budget']:.3g} each:"]
    for r in j["runs"]:
        lines.append(f"  N = {r['N']:.4g}, D = {r['D']:.4g} (expected loss {r['expected_loss']:.4g})")
    lines.extend(f"note: {n}" for n in j["notes"])
    emit(j, "\n".join(lines), args.json)
    return 0
