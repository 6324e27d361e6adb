"""`scaling-theory exponents`: the exponent map, compute-optimal model exponents by teacher, discount and proof route."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, key_value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exponents", help="the exponent map: model exponent a by teacher, discount sigma and proof route",
        description="For each Pitman-Yor discount sigma (or the finite / DP teacher) and each proof route: the leading "
                    "orders of p*(C), T*(C), L*(C), the model exponent a = lim d ln p*/d ln C derived symbolically, the "
                    "numeric minimiser's local exponent between C = 1e30 and 1e40 (each within 0.02), and the best "
                    "route as C grows. A sigma costs about two seconds per route. The map derives the leading orders "
                    "with the constants substituted exactly, so it takes d <= 1000, K <= 10000 and, for Pitman-Yor, "
                    "sigma in 0.05..0.99 in steps of 0.01 with K/sigma^2 <= 40000 (larger constants: allocate).")
    add_exponent_arguments(parser)
    parser.add_argument("--measure", choices=("quick", "default", "full"), default=None, metavar="SETTING",
                        help="also measure the exponent of n*(C) at each discount: the restricted Bayes learner and "
                             "SGD on the same teachers over the compute study's budgets (quick: seconds; default: "
                             "about a minute per discount; full: about 10 min per discount); the estimate is printed "
                             "before it starts")
    parser.add_argument("--allow-long", action="store_true",
                        help="run a --measure estimated above 10 minutes")
    parser.add_argument("--save-measured", metavar="FILE",
                        help="write what --measure measured as JSON (give it back later with --measured FILE)")
    parser.add_argument("--plot", metavar="FILE", help="write the figure of a(sigma) as PNG (routes as curves, numeric "
                                                       "exponents as points, finite and DP teachers marked)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def add_exponent_arguments(parser, *, route: bool = True) -> None:
    """The map's options (shared with ``latex exponents``, whose own ``--route`` serves the map too)."""
    parser.add_argument("--teacher", default="pitman-yor", metavar="KIND",
                        help="pitman-yor (default), dp or finite")
    parser.add_argument("--sigma", metavar="LIST", default=None,
                        help="Pitman-Yor discounts in [0, 1), comma-separated (default 0,0.25,0.5,0.75; sigma = 0 is the "
                             "DP teacher)")
    if route:
        parser.add_argument("--route", metavar="NAME", default=None, help="one proof route only (default: every route)")
    parser.add_argument("--param", action="append", type=key_value, default=[], metavar="NAME=VALUE",
                        help="the teacher's constants d and K (default d=8, K=32); repeatable")
    parser.add_argument("--scale", choices=("barron", "normalised"), default="barron", help="teacher scale")
    parser.add_argument("--measured", metavar="FILE",
                        help='measured exponents to show beside the bounds: a JSON object {sigma: {"bayes": [a, lo, hi], '
                             '"sgd": [a, lo, hi], "budgets": [...]}}, or compute studies (a reproduce --json output, '
                             'or what --save-measured wrote)')


def build_map(args):
    """The :class:`~scaling_theory.numeric.analysis.exponent_map.ExponentMap` the options ask for."""
    import json

    from scaling_theory.errors import UserInputError
    from scaling_theory.numeric.analysis.exponent_map import (exponent_map, measure_exponents, measured_from_studies,
                                                              parse_sigmas)

    params: dict = {}
    for name, value in args.param:
        if name in params:
            raise UserInputError(f"--param {name} given twice")
        params[name] = value
    sigmas = None if args.sigma is None else parse_sigmas(args.sigma)
    check_map_limits(args.teacher, sigmas, params)
    measured = None
    if args.measured:
        try:
            with open(args.measured, encoding="utf-8") as fh:
                measured = json.load(fh)
        except OSError as err:
            raise UserInputError(f"cannot read --measured {args.measured!r}: {err.strerror or err}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserInputError(f"--measured {args.measured!r} is not JSON: {err}") from None
        if not isinstance(measured, (dict, list)):
            raise UserInputError(f"--measured {args.measured!r} must hold a JSON object keyed by sigma, or studies")
        measured = measured_from_studies(measured)      # checked before any other work
    result = exponent_map(args.teacher, sigmas, route=args.route, params=params, scale=args.scale, measured=measured)
    if getattr(args, "measure", None):
        import sys

        studies = measure_exponents(args.teacher, sigmas, setting=args.measure, allow_long=args.allow_long,
                                    progress=lambda line: print(line, file=sys.stderr, flush=True))
        if args.save_measured:
            from scaling_theory._files import write_output

            write_output(args.save_measured, json.dumps(studies, indent=1, default=float) + "\n")
        hook = measured_from_studies(studies)
        result = result.with_measured({**(measured or {}), **hook})
    return result


# The map derives each route's leading orders with d, K and sigma substituted exactly (SymPy): its work grows with
# their digits (gamma(d/2) at d = 1e9 is an integer of billions of digits; 1/sigma and K/sigma^2 drive the powers of
# the Pitman-Yor routes).  Measured on 2 shared cores: inside these limits every map ends within a minute; beyond
# them d = 1e4, sigma = 0.02, 0.987 or 0.999, K = 3.14159 at sigma = 1/2 or K/sigma^2 = 5e5 ran past 100 s or
# printed a 4300-digit integer.
MAP_MAX_D = 1000
MAP_MAX_K = 10_000
MAP_MAX_K_OVER_SIGMA2 = 40_000


def check_map_limits(teacher: str, sigmas, params) -> None:
    """One-line :class:`~scaling_theory.errors.UserInputError` before any work when the map's constants are beyond
    the limits above (values outside a law's domain are left to the map's own messages).

    Examples
    --------
    >>> check_map_limits("dp", None, {"d": "1e9"})
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: the exponent map takes d <= 1000 (got d=1e9): it derives the leading orders with the constants substituted exactly; for larger constants use allocate, which evaluates them numerically
    >>> check_map_limits("pitman-yor", (0.5,), {"K": "1000"})
    """
    from scaling_theory.errors import UserInputError
    from scaling_theory.numeric.analysis.exponent_map import DEFAULT_PARAMS, DEFAULT_SIGMAS
    from scaling_theory.theory.numbers import exact_number
    from scaling_theory.theory.teachers import canonical_kind

    tail = ("it derives the leading orders with the constants substituted exactly; for larger constants use "
            "allocate, which evaluates them numerically")
    values = {k: exact_number(params.get(k, v), what=k) for k, v in DEFAULT_PARAMS.items()}
    given = {k: params.get(k, v) for k, v in DEFAULT_PARAMS.items()}
    if values["d"] > MAP_MAX_D:
        raise UserInputError(f"the exponent map takes d <= {MAP_MAX_D} (got d={given['d']}): {tail}")
    if values["K"] > MAP_MAX_K:
        raise UserInputError(f"the exponent map takes K <= {MAP_MAX_K} (got K={given['K']}): {tail}")
    if canonical_kind(teacher) != "pitman-yor":
        return
    for s in (DEFAULT_SIGMAS if sigmas is None else sigmas):
        if s == 0 or not 0 <= s < 1:   # outside [0, 1): the map's own message
            continue
        if not (0.05 <= s <= 0.99 and abs(s * 100 - round(s * 100)) < 1e-9):
            raise UserInputError(f"the exponent map takes sigma = 0 or 0.05 to 0.99 in steps of 0.01 (got "
                                 f"sigma={s:g}): {tail}")
        if values["K"] > MAP_MAX_K_OVER_SIGMA2 * exact_number(round(s * 100)) ** 2 / 10_000:
            raise UserInputError(f"the exponent map takes K/sigma^2 <= {MAP_MAX_K_OVER_SIGMA2} (got K={given['K']}, "
                                 f"sigma={s:g}): {tail}")


def run(args) -> int:
    import os

    from scaling_theory.errors import UserInputError

    if args.plot and os.path.isdir(args.plot):   # refused before the map's work starts
        raise UserInputError(f"cannot write figure {args.plot}: it is a directory")
    if args.save_measured and not args.measure:
        raise UserInputError("--save-measured needs --measure")
    if args.save_measured and os.path.isdir(args.save_measured):
        raise UserInputError(f"cannot write {args.save_measured}: it is a directory")
    if args.save_measured and not os.path.isdir(os.path.dirname(os.path.abspath(args.save_measured))):
        raise UserInputError(f"cannot write {args.save_measured}: its folder does not exist")
    result = build_map(args)
    payload = result.to_json()
    text = result.text()
    if args.plot:
        result.figure(args.plot)
        payload["plot"] = args.plot
        text += f"\nwrote {args.plot}"
    emit(payload, text, args.json)
    return 0
