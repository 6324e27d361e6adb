"""`scaling-theory allocate`: the optimum in numbers at high precision, independently verified."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, add_law_arguments, emit, key_value, law_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "allocate", help="compute-optimal model and data size for a budget (mpmath, verified)",
        description="Evaluate the compute-optimal allocation for a budget at high precision and "
                    "cross-check it against an independent numerical minimisation.")
    add_law_arguments(parser)
    parser.add_argument("--compute", "-C", required=True, metavar="C",
                        help="compute budget, e.g. 5.76e23 (read as an exact decimal)")
    parser.add_argument("--params", metavar="SET", help="named parameter set of the law")
    parser.add_argument("--param", type=key_value, action="append", default=[], metavar="NAME=VALUE",
                        help="set or override one constant (repeatable)")
    parser.add_argument("--digits", type=int, default=50, help="significant digits (default 50)")
    parser.add_argument("--route", metavar="NAME", default=None,
                        help="for a law with proof routes: report this route (default: the best valid route "
                             "at this budget; every route is listed either way)")
    parser.add_argument("--from-fit", metavar="FIT.json", default=None,
                        help="the law fitted by 'fit --json' (approach 3), with 95%% intervals "
                             "from its bootstrap replicates")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from scaling_theory.numeric.precision.allocate import allocate
    from scaling_theory.errors import UserInputError

    if args.from_fit is not None:
        return _from_fit(args)
    law = law_from_args(args)
    overrides = {}
    for name, value in args.param:
        if name in overrides:
            raise UserInputError(f"--param {name} given twice")
        overrides[name] = value
    res = allocate(law, args.compute, param_set=args.params, params=overrides, digits=args.digits, route=args.route)
    j = res.to_json()
    N, D = res.model_symbol, res.data_symbol
    if j["param_set"]:
        where = f" ({j['param_set']}" + (f"; {', '.join(j['overridden'])} overridden)" if j["overridden"] else ")")
    else:
        where = ""
    status = "verified" if res.verified else "NOT verified"
    lines = [f"law {res.law}{where}, {_budget_label(law)} = {j['compute']}, {res.digits} digits",
             "constants: " + ", ".join(f"{k}={v}" for k, v in j["params"].items())]
    if res.routes:
        chosen = "chosen with --route" if args.route else "the best valid route at this budget"
        lines.append(f"route: {res.route} ({chosen}; the law is the minimum over {len(res.routes)} routes)")
    lines += [f"{N}* = {j['model']}",
              f"{D}* = {j['data']}",
              f"{N}*/{D}* = {j['ratio']}",
              f"L* = {j['loss']}",
              f"check: {j['method']}" + (f" vs independent minimisation in ln {N}: relative difference "
                                         f"{j['relative_agreement']}" if res.closed_form else "")
              + f" ({res.agreement_digits} digits agree), {status}"]
    if res.routes:
        lines.append("routes at this budget (each minimised inside its own validity window):")
        for o in j["routes"]:
            if not o["valid"]:
                lines.append(f"  {o['name']:<11} not valid at this budget ({o['method']})")
                continue
            edge = f", at the window's {o['boundary']} edge" if o["boundary"] else ""
            mark = "   <- headline" if o["name"] == res.route else ""
            lines.append(f"  {o['name']:<11} {N} = {_short(o['p_star'])}, {D} = {_short(o['T_star'])}, "
                         f"L = {_short(o['L_star'])}{edge}{mark}")
    if res.trivial_error is not None:
        lines.append(f"trivial error (best input-independent predictor, Monte Carlo) = {j['trivial_error']} "
                     f"+- {j['trivial_error_stderr']}: the bound is "
                     + ("non-vacuous here (L* below it)" if res.informative else "vacuous at this budget (L* not below it)"))
    emit(j, "\n".join(lines), args.json)
    return 0 if res.verified else 1


def _budget_label(law) -> str:
    """``compute C``, or the budget's own name when the law has a constant called ``C`` (the name ``derive``
    prints: ``compute C_budget (C is a constant of the law)``)."""
    from scaling_theory.theory.allocation import budget_symbol

    name = budget_symbol(law).name
    return "compute C" if name == "C" else f"compute {name} (C is a constant of the law)"


def _short(text: str) -> str:
    """A route table entry at 8 significant digits (the headline above carries the full precision)."""
    import mpmath

    return mpmath.nstr(mpmath.mpf(text), 8, min_fixed=-4, max_fixed=9)


def _from_fit(args) -> int:
    from scaling_theory.numeric.analysis.planning import allocate_from_fit
    from scaling_theory.errors import UserInputError

    clash = [flag for flag, v in (("NAME", args.name), ("--expr", args.expr), ("--params", args.params),
                                  ("--param", args.param)) if v]
    if clash:
        raise UserInputError(f"--from-fit takes the law from the fit; drop {', '.join(clash)}")
    j = allocate_from_fit(args.from_fit, args.compute, digits=args.digits)

    def ci(key):
        v = j[key]
        return "n/a" if v is None else f"[{v[0]:.4g}, {v[1]:.4g}]"

    fl = j["fit_loss"] or {}
    status = "verified" if j["verified"] else "NOT verified"
    lines = [f"fitted law from {j['source']} (approach 3, {fl.get('kind', '?')} loss), compute C = {j['compute']}",
             "constants: " + ", ".join(f"{k}={v:.6g}" for k, v in j["params"].items()),
             f"N* = {j['model']}  95% interval {ci('model_ci')}",
             f"D* = {j['data']}  95% interval {ci('data_ci')}",
             f"L* = {j['loss']}  95% interval {ci('loss_ci')}",
             f"intervals: percentiles over {j['replicates']} bootstrap replicates of the fit",
             f"check: {j['method']} vs independent minimisation: {j['agreement_digits']} digits "
             f"agree, {status}"]
    emit(j, "\n".join(lines), args.json)
    return 0 if j["verified"] else 1
