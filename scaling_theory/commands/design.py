"""`scaling-theory design`: how reliably a run grid recovers a known law, by simulation."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, nonnegative_int, positive_float, positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "design", help="simulate fitting a run grid drawn from a known law: bias and spread",
        description="Draw noisy IsoFLOP data from a known law E + A/N^alpha + B/D^beta, fit it by "
                    "approaches 1-3 many times and report the bias and spread of the exponent a "
                    "and of N* at a target budget, for a grid symmetric in ln N about the optimum "
                    "and one shifted by --offset (see docs/planning.md).")
    parser.add_argument("--law", default="chinchilla", metavar="NAME",
                        help="a registered law of the form E + A/N^alpha + B/D^beta (default chinchilla)")
    parser.add_argument("--params", metavar="SET", help="named parameter set of the law")
    parser.add_argument("--budgets", type=positive_float, nargs="+", required=True, metavar="C",
                        help="compute budgets of the IsoFLOP profiles")
    parser.add_argument("--widths-per-budget", type=positive_int, default=9, metavar="k",
                        help="model sizes per budget (default 9; at most 10000 without --allow-large)")
    parser.add_argument("--noise", type=float, default=0.01, metavar="sigma",
                        help="log-normal noise on each loss, 0 to 5 (default 0.01)")
    parser.add_argument("--repeats", type=positive_int, default=20, metavar="R",
                        help="simulated data sets per grid (default 20; at most 10000 without --allow-large)")
    parser.add_argument("--target", type=positive_float, default=5.76e23, metavar="C",
                        help="budget at which N* is compared (default 5.76e23)")
    parser.add_argument("--offset", type=positive_float, default=4.0, metavar="F",
                        help="centre of the asymmetric grid as a multiple of the optimum (default 4)")
    parser.add_argument("--span", type=positive_float, default=16.0, metavar="S",
                        help="each grid covers a factor S either side of its centre (default 16)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="noise seed, an integer >= 0 (default 0)")
    parser.add_argument("--allow-large", action="store_true",
                        help="run above the limits of 10000 repeats and 10000 widths per budget "
                             "(the memory check still applies)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from scaling_theory.errors import UserInputError
    from scaling_theory.numeric.analysis.design import design_study, format_design
    from scaling_theory.theory.registry import resolve

    resolved = resolve(args.law, None, args.params)
    names = {s.name: v for s, v in resolved.values.items()}
    needed = ("E", "A", "B", "alpha", "beta")
    missing = [k for k in needed if k not in names]
    if missing:
        raise UserInputError(f"law {args.law!r} has no constant {', '.join(missing)}: design simulates "
                             "E + A/N^alpha + B/D^beta")
    if args.span <= 1:
        raise UserInputError(f"--span must exceed 1, got {args.span:g}")
    if args.widths_per_budget < 3:
        raise UserInputError(f"--widths-per-budget must be at least 3, got {args.widths_per_budget}")
    params = {k: float(names[k]) for k in needed}
    offsets = (1.0,) if args.offset == 1.0 else (1.0, args.offset)
    options = dict(per_budget=args.widths_per_budget, noise=args.noise, repeats=args.repeats, offsets=offsets,
                   span=args.span)
    # every check before any fit; then the expected time of a long study, from one timed fit
    from scaling_theory.numeric.analysis.design import _check, design_estimate

    _check(params, args.budgets, args.widths_per_budget, args.noise, args.repeats, args.target, offsets,
           args.span, 6.0, args.seed, args.allow_large)
    seconds = design_estimate(params, args.budgets, **options)["seconds"]
    if seconds > 30:
        import sys

        from scaling_theory.commands.fit import _duration

        sys.stderr.write(f"design: {args.repeats} repeats x {len(offsets)} grids: expected to take about "
                         f"{_duration(seconds)} (from one timed fit)\n")
        sys.stderr.flush()
    study = design_study(params, args.budgets, target=args.target, seed=args.seed,
                         allow_large=args.allow_large, **options)
    emit(study, format_design(study), args.json)
    return 0
