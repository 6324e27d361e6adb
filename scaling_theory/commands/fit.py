"""`scaling-theory fit`: fit compute-optimal scaling laws (Chinchilla approaches 1-3) to losses."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, nonnegative_int, positive_float


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fit", help="fit scaling laws to a CSV of losses or a result store",
        description="Fit L(N, D) and the compute-optimal exponents N* ~ C^a, D* ~ C^b by "
                    "Chinchilla's approaches 1 (lower envelope), 2 (IsoFLOP parabolas) and "
                    "3 (parametric Huber fit), with bootstrap 95% intervals.")
    parser.add_argument("csv", nargs="?", metavar="FILE.csv",
                        help="CSV with columns N, D (or C) and loss")
    parser.add_argument("--store", metavar="PATH", help="a result store written by 'simulate'")
    parser.add_argument("--approach", choices=("1", "2", "3", "all"), default="all")
    parser.add_argument("--bootstrap", type=nonnegative_int, default=200, metavar="N",
                        help="bootstrap resamples for the intervals (default 200; 0: none; at most 100000)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="bootstrap seed, an integer >= 0 (default 0)")
    parser.add_argument("--cost", type=positive_float, default=None, metavar="c",
                        help="CSV compute per N*D unit, C = c*N*D (default 6)")
    parser.add_argument("--no-irreducible", action="store_true",
                        help="fix E = 0 in approach 3 (default for a store: reducible error)")
    parser.add_argument("--loss", choices=("huber", "mse", "mae", "log-cosh"), default="huber",
                        help="approach 3's loss on the log residuals (default huber, the published protocol)")
    parser.add_argument("--delta", type=positive_float, default=1e-3, metavar="X",
                        help="scale of the huber and log-cosh losses (default 1e-3)")
    parser.add_argument("--weights", default="none", metavar="none|compute|COLUMN",
                        help="approach 3's point weights: none (default), compute (proportional "
                             "to C) or the name of a CSV column of non-negative weights")
    parser.add_argument("--plot", metavar="DIR", default=None,
                        help="write approach 3's diagnostic figures (residuals, predicted vs "
                             "observed, IsoFLOP slices, bootstrap distributions) into DIR")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from scaling_theory.numeric.analysis.fit import fit, from_store, load_csv, split_groups
    from scaling_theory.errors import UserInputError

    if (args.csv is None) == (args.store is None):
        raise UserInputError("give exactly one of FILE.csv or --store PATH")
    from scaling_theory.numeric.analysis.fit import MAX_BOOTSTRAP

    if args.bootstrap > MAX_BOOTSTRAP:   # before reading anything
        raise UserInputError(f"--bootstrap {args.bootstrap} is above the limit {MAX_BOOTSTRAP}")
    if args.plot is not None:  # before any fitting: a bad folder should not cost a fit
        import os

        if os.path.exists(args.plot) and not os.path.isdir(args.plot):
            raise UserInputError(f"cannot write figures into {args.plot}: it is not a folder")
        if args.approach not in ("3", "all"):
            raise UserInputError("--plot draws approach 3's fit; use --approach 3 or all")
    if args.store is not None:
        if args.cost is not None:
            raise UserInputError("--cost applies to CSV input; a store records its own compute")
        if args.weights not in ("none", "compute"):
            raise UserInputError("--weights COLUMN applies to CSV input; use none or compute with a store")
        data = from_store(args.store)
        irreducible = False  # reducible error has no irreducible term
    else:
        column = None if args.weights in ("none", "compute") else args.weights
        data = load_csv(args.csv, cost=args.cost if args.cost is not None else 6.0, weight_column=column)
        irreducible = not args.no_irreducible
    groups = split_groups(data)
    _say_how_long(groups.values(), args)
    if len(groups) == 1:
        result = fit(data, args.approach, bootstrap=args.bootstrap, seed=args.seed,
                     irreducible=irreducible, **_loss_options(args))
        _require_some_fit([result])
        if args.plot is not None:
            from scaling_theory.numeric.analysis.diagnostics import fit_diagnostics

            paths = fit_diagnostics(data, result, args.plot)
            if not args.json:
                print("figures: " + ", ".join(str(p) for p in paths))
        emit(result.to_json(), result.summary(), args.json)
        return 0
    # a store with several teachers (d, K, kind; a Pitman-Yor teacher per discount): one fit per teacher setting
    if args.plot is not None:
        raise UserInputError("--plot needs one data set; this store holds several teacher settings")
    from scaling_theory.numeric.sweep.config import split_teacher_tag

    payload, text, results = {"source": data.source, "groups": []}, [], []
    for (d, K, teacher), part in groups.items():
        result = fit(part, args.approach, bootstrap=args.bootstrap, seed=args.seed,
                     irreducible=irreducible, **_loss_options(args))
        results.append(result)
        try:
            kind, sigma = split_teacher_tag(str(teacher))
        except UserInputError:  # a kind this version does not know (a store from another version): as stored
            kind, sigma = str(teacher), None
        group = {"d": int(d), "K": int(K), "kind": kind, **({"sigma": sigma} if sigma is not None else {}),
                 "teacher": str(teacher)}
        payload["groups"].append({**group, **result.to_json()})
        text.append(f"[d={d}, K={K}, {teacher}] " + result.summary())
    _require_some_fit(results)
    emit(payload, "\n".join(text), args.json)
    return 0


LONG_FIT_SECONDS = 30.0
"""A fit expected to take longer than this says so on stderr before it starts."""


def _say_how_long(parts, args) -> None:
    """Print the expected run time of a long fit (stderr), before any fitting."""
    import sys

    from scaling_theory.numeric.analysis.fit import fit_estimate

    est = [fit_estimate(p, args.approach, bootstrap=args.bootstrap, loss=args.loss) for p in parts]
    total, point = sum(e["seconds"] for e in est), sum(e["point_seconds"] for e in est)
    if total > LONG_FIT_SECONDS:
        points = sum(len(p) for p in parts)
        alone = f"; --bootstrap 0 fits the points alone in about {_duration(point)}" if args.bootstrap else ""
        sys.stderr.write(f"fit: {points} points, {args.bootstrap} bootstrap replicates: expected to take about "
                         f"{_duration(total)} (measured from one evaluation of the objective){alone}\n")
        sys.stderr.flush()


def _duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.2 h``."""
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _loss_options(args) -> dict:
    weights = args.weights if args.weights in ("none", "compute") else None  # None: the CSV column
    return {"loss": args.loss, "delta": args.delta, "weights": weights}


def _require_some_fit(results) -> None:
    """No requested approach could be fitted anywhere: a user error (exit 2), not a result."""
    from scaling_theory.errors import UserInputError

    if any(r.ok for res in results for r in res.approaches.values()):
        return
    first = next(iter(results[0].approaches.values()))
    raise UserInputError(f"{results[0].source}: {first.message}"
                         + (" (and likewise for every approach)" if len(results[0].approaches) > 1
                            or len(results) > 1 else ""))
