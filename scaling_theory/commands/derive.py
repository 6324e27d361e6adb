"""`scaling-theory derive`: the compute-optimal allocation of a law, symbolically."""

from __future__ import annotations

import argparse

from scaling_theory.commands._common import add_json_flag, emit


def add_law_arguments(parser: argparse.ArgumentParser) -> None:
    """NAME, or a user formula with --expr/--model/--data/--cost (shared by derive/allocate/latex)."""
    parser.add_argument("name", nargs="?", metavar="NAME", help="a registered law (see `bounds`)")
    parser.add_argument("--expr", help="a loss formula, e.g. 'E + A/N**alpha + B/D**beta'")
    parser.add_argument("--model", help="the model-size symbol of --expr, e.g. N")
    parser.add_argument("--data", help="the data-size symbol of --expr, e.g. D")
    parser.add_argument("--cost", help="the compute cost of --expr, e.g. '6*N*D'")


def law_from_args(args):
    """The law named by ``args.name`` or built from ``--expr/--model/--data/--cost``."""
    from theory.errors import UserInputError
    from theory.laws import get_law

    if args.expr is None:
        for flag in ("model", "data", "cost"):
            if getattr(args, flag) is not None:
                raise UserInputError(f"--{flag} only goes with --expr")
        if args.name is None:
            raise UserInputError("give a law NAME or --expr EXPR --model SYM --data SYM --cost EXPR")
        return get_law(args.name)
    if args.name is not None:
        raise UserInputError(f"give either a law NAME ({args.name!r}) or --expr, not both")
    missing = [f"--{f}" for f in ("model", "data", "cost") if getattr(args, f) is None]
    if missing:
        raise UserInputError(f"--expr needs {', '.join(missing)}")
    from theory.user_law import law_from_formula

    return law_from_formula(args.expr, args.model, args.data, args.cost)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "derive", help="compute-optimal allocation of a law, symbolically",
        description="Minimise a law under its compute budget: optimal model and data size as "
                    "functions of C, exponents, optimal loss.")
    add_law_arguments(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    import sympy as sp

    from theory.allocation import compute_optimal_allocation
    from theory.latex import abbreviations_latex, allocation_latex

    law = law_from_args(args)
    alloc = compute_optimal_allocation(law)
    if args.json:   # printing every step is costly for big laws: only when asked
        payload = alloc.to_json()
        payload["latex"] = allocation_latex(alloc)
        payload["abbreviations_latex"] = dict(zip((k.name for k in alloc.abbreviations), abbreviations_latex(alloc)))
        emit(payload, "", True)
        return 0
    N, D, C = alloc.model.name, alloc.data.name, alloc.compute.name
    kind = "closed form" if alloc.closed_form else f"leading order as {C} -> oo"
    lines = [f"law {law.name}: L({N}, {D}) = {sp.sstr(alloc.bound)}",
             f"budget: {sp.sstr(alloc.cost)} = {C}",
             f"method: {alloc.method}"]
    if not alloc.closed_form:
        lines.append(f"implicit equation: {sp.sstr(alloc.implicit_equation.lhs)} = 0")
    lines += [f"{N}* = {sp.sstr(alloc.model_optimal)}   ({kind})",
              f"{D}* = {sp.sstr(alloc.data_optimal)}",
              f"{N}*/{D}* = {sp.sstr(alloc.ratio)}",
              f"L* = {sp.sstr(alloc.optimal_loss)}"]
    if alloc.closed_form and alloc.asymptotic_model is not None and alloc.method != "power-law balance":
        lines.append(f"{N}* ~ {sp.sstr(alloc.asymptotic_model)}   (leading order as {C} -> oo)")
    if alloc.model_exponent is not None:
        lines.append(f"exponents: {N}* ~ {C}^a, {D}* ~ {C}^b with a = {sp.sstr(alloc.model_exponent)}, "
                     f"b = {sp.sstr(alloc.data_exponent)}")
    lines.append("second-order condition: " + ("minimum" if alloc.is_minimum else "NOT a minimum"))
    if alloc.abbreviations:
        lines.append("where")
        lines += [f"  {k.name} = {sp.sstr(v)}" for k, v in alloc.abbreviations.items()]
    emit({}, "\n".join(lines), False)
    return 0
