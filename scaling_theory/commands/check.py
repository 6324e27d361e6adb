"""`scaling-theory check [NAME | --all] [--digits N] [--json]`: verify every step of the derivations."""

from __future__ import annotations

import argparse

from scaling_theory.commands._common import add_json_flag, emit, positive_int


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer number of digits, got {text!r}") from None


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="verify the checked derivations step by step (symbolic, mpmath, Monte Carlo, limits)",
        description="Verify every step of a derivation (or all): identities symbolically and at DIGITS and "
                    "2*DIGITS digits, inequalities on their domain, expectations by seeded Monte Carlo, "
                    "asymptotic claims as limits. Exit status 0 only if every step verifies.")
    parser.add_argument("name", nargs="?", help="derivation name or alias (jeon-van-roy, jeon-van-roy-dp, all)")
    parser.add_argument("--all", action="store_true", help="check every derivation (the default)")
    parser.add_argument("--digits", type=_int, default=50, help="working digits, 15..5000 (default 50)")
    parser.add_argument("--workers", type=positive_int, default=1, help="processes (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--mutate", action="store_true",
                        help="corrupt each constant/closed form of the Jeon-Van Roy derivations in turn and report "
                             "how many corruptions some check catches (minutes)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _fmt_err(value) -> str:
    return "-" if value is None else f"{value:.1e}"


def run(args) -> int:
    from scaling_theory.derivations.check import run_checks, validate_digits
    from scaling_theory.errors import UserInputError

    if args.name and args.all:
        raise UserInputError("give either a derivation name or --all, not both")
    validate_digits(args.digits)
    if args.mutate:
        return _run_mutations(args)
    names = [args.name] if args.name else None
    report = run_checks(names, args.digits, workers=args.workers, progress=not (args.quiet or args.json))
    rows = [("step", "kind", "evidence", "method", "digits", "max rel err", "status")]
    for s in report.steps:
        rows.append((f"{s['derivation']}/{s['step']}" + (" *" if s["ours"] else ""), s["kind"], s["evidence"],
                     s["method"],
                     str(s["digits"]), _fmt_err(s["max_rel_error"]), s["status"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for s in report.steps:
        if s["status"] == "FAILED":
            lines.append(f"FAILED {s['derivation']}/{s['step']}: {s['detail']}")
    lines.append(f"{report.steps_verified} steps verified, {report.consistency} consistency only (restating, not "
                 f"counted), {report.failed} failed in {report.seconds:.1f} s "
                 f"(digits {report.digits}, identities re-checked at {2 * report.digits}; * = constants ours)")
    emit(report.to_json(), "\n".join(lines), args.json)
    return 0 if report.ok else 1


def _run_mutations(args) -> int:
    from scaling_theory.derivations.mutate import run_mutations
    from scaling_theory.errors import UserInputError

    if args.name or args.all:
        raise UserInputError("--mutate runs the whole Jeon-Van Roy family; give no derivation name or --all")
    report = run_mutations(digits=args.digits)
    lines = [f"{'killed' if r['killed'] else 'SURVIVED':8s} {r['effect']:10s} {r['kind']:13s} {r['name']}: "
             f"{r['description']}" + (f"  (caught by {r['killed_by']})" if r["killed"] else "") for r in report.rows]
    lines.append(f"{report.killed} of {report.mutations} mutations killed; {report.invalid_killed} of "
                 f"{report.invalid_total} invalid ones (false statements) killed"
                 + (f"; survivors: {', '.join(report.survivors)}" if report.survivors else ""))
    emit(report.to_json(), "\n".join(lines), args.json)
    return 0 if report.ok else 1   # a surviving invalid mutation is a check that cannot see a false claim
