"""`scaling-theory exponents`: the exponent map, compute-optimal model exponents by teacher, discount and proof route."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, key_value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exponents", help="the exponent map: model exponent a by teacher, discount sigma and proof route",
        description="For each Pitman-Yor discount sigma (or the finite / DP teacher) and each proof route: the leading "
                    "orders of p*(C), T*(C), L*(C), the model exponent a = lim d ln p*/d ln C derived symbolically, the "
                    "numeric minimiser's local exponent between C = 1e30 and 1e40 (each within 0.02), and the best "
                    "route as C grows. A sigma costs about two seconds per route.")
    add_exponent_arguments(parser)
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
                             '"sgd": [a, lo, hi], "budgets": [...]}}')


def build_map(args):
    """The :class:`~scaling_theory.numeric.analysis.exponent_map.ExponentMap` the options ask for."""
    import json

    from scaling_theory.errors import UserInputError
    from scaling_theory.numeric.analysis.exponent_map import exponent_map, parse_sigmas

    params: dict = {}
    for name, value in args.param:
        if name in params:
            raise UserInputError(f"--param {name} given twice")
        params[name] = value
    sigmas = None if args.sigma is None else parse_sigmas(args.sigma)
    measured = None
    if args.measured:
        try:
            with open(args.measured, encoding="utf-8") as fh:
                measured = json.load(fh)
        except OSError as err:
            raise UserInputError(f"cannot read --measured {args.measured!r}: {err.strerror or err}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise UserInputError(f"--measured {args.measured!r} is not JSON: {err}") from None
        if not isinstance(measured, dict):
            raise UserInputError(f"--measured {args.measured!r} must hold a JSON object keyed by sigma")
    return exponent_map(args.teacher, sigmas, route=args.route, params=params, scale=args.scale, measured=measured)


def run(args) -> int:
    import os

    from scaling_theory.errors import UserInputError

    if args.plot and os.path.isdir(args.plot):   # refused before the map's work starts
        raise UserInputError(f"cannot write figure {args.plot}: it is a directory")
    result = build_map(args)
    payload = result.to_json()
    text = result.text()
    if args.plot:
        result.figure(args.plot)
        payload["plot"] = args.plot
        text += f"\nwrote {args.plot}"
    emit(payload, text, args.json)
    return 0
