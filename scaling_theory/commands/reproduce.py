"""`scaling-theory reproduce`: the whole study (theory, simulation, fits, comparison, report)."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "reproduce", help="run the whole study and write a report",
        description="Derive and check the theory, simulate the teacher-student sweep, fit the "
                    "compute-optimal frontier, compare with the derived bound, and write "
                    "DIR/report.md, DIR/report.tex, DIR/figures/*.png and DIR/results.sqlite. "
                    "A rerun resumes the sweep from DIR/results.sqlite.")
    parser.add_argument("--quick", action="store_true", help="a tiny sweep (under a minute)")
    parser.add_argument("--full", action="store_true",
                        help="the larger compute study (2.5 decades of compute, d = 8; about 20 minutes on 2 cores) "
                             "in place of the default one")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output directory (default ./reproduce-out, with --quick ./reproduce-quick-out); "
                             "one whose store holds another study's runs is refused")
    parser.add_argument("--bootstrap", type=positive_int, default=None, metavar="N",
                        help="bootstrap resamples for the intervals (default 200; quick 50)")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="sweep worker processes (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from scaling_theory.numeric.analysis.protocol import HEADLINE_ESTIMATOR
    from scaling_theory.report import rates_by_round
    from scaling_theory.reproduce import reproduce

    result = reproduce(args.out, quick=args.quick, progress=not args.quiet,
                       bootstrap=args.bootstrap, workers=args.workers, full=args.full)
    lines = [f"wrote {result.report_md}", f"wrote {result.report_tex}",
             f"store {result.store}"] + [f"figure {f}" for f in result.figures]
    lines.append(f"checks: {result.checks['message']}")
    # the headline estimator first (the report's summary quotes it), then the others
    rows = sorted(result.comparisons, key=lambda r: r["estimator"] != HEADLINE_ESTIMATOR)
    for row in rows:
        value = "n/a" if row["exponent"] is None else f"{row['exponent']:.3f}"
        ci = "" if not row["ci"] else f" [{row['ci'][0]:.3f}, {row['ci'][1]:.3f}]"
        bound = "n/a" if row["bound_exponent"] is None else f"{row['bound_exponent']:.3f}"
        route = f" ({', '.join(row['bound_route'])})" if row.get("bound_route") else ""
        head = "headline: " if row["estimator"] == HEADLINE_ESTIMATOR else ""
        lines.append(f"{head}{row['teacher']}, {row['estimator']}: a = {value}{ci} vs bound {bound}{route}: "
                     f"{row['verdict']}")
    for t in (getattr(result, "compute_study", None) or {}).get("teachers", []):
        a = t["exponents"]["bayes"]
        ci = "" if a[1] is None else f" [{a[1]:.3f}, {a[2]:.3f}]"
        routes = ", ".join(f"{r} {t['verdicts'][r]}" for r in t["verdicts"])
        lines.append(f"compute study, {t['teacher']} d={t['d']} K={t['K']:g}: Bayes n* ~ C^{a[0]:.3f}{ci}; {routes}")
    if result.throughput:
        lines.append(f"simulation: {result.throughput:.3g} p*T per second{rates_by_round(result.refinement)}")
    lines.append(f"total {result.seconds:.1f} s (time-averaged online KL throughout; {result.report_md} opens with "
                 "the summary)")
    emit(result.to_json(), "\n".join(lines), args.json)
    return 0
