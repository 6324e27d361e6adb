"""`scaling-theory derive`: the compute-optimal allocation of a law, symbolically."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, add_law_arguments, emit, law_from_args


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

    from scaling_theory.theory.allocation import compute_optimal_allocation
    from scaling_theory.theory.latex import abbreviations_latex, allocation_latex

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
    lines += _family_lines(law)
    if alloc.abbreviations:
        lines.append("where")
        lines += [f"  {k.name} = {sp.sstr(v)}" for k, v in alloc.abbreviations.items()]
    emit({}, "\n".join(lines), False)
    return 0


def _family_lines(law) -> list[str]:
    """Jeon-Van Roy laws: the regimes and the smallest informative budget at the default constants."""
    from scaling_theory.numeric.precision import teacher_bounds

    family = teacher_bounds.family_of(law)
    if family is None:
        return []
    teacher, scale = family
    values = law.parameters()
    names = ", ".join(f"{k.name}={v}" for k, v in sorted(values.items(), key=lambda kv: kv[0].name))
    te = teacher_bounds.trivial_error(teacher, scale, int(values[law.symbols["d"]]),
                                      teacher_bounds._plain(values[law.symbols["K"]]))
    c_inf = teacher_bounds.informative_budget(law, values, trivial=te.value)
    out = []
    if teacher == "finite":
        c_sw = teacher_bounds.route_switch_budget(law, values)
        at = f"C = {c_sw:.4g}" if c_sw is not None else "no budget up to 1e60"
        out.append("regimes: the Maurey route above; for n >= K the direct width-K route (no 1/n term): "
                   f"it is the better one, and the optimum stops growing at p = K(d+1), from {at} ({names})")
    where = f"C = {c_inf:.4g}" if c_inf is not None else "no budget up to 1e60"
    out.append(f"non-vacuous (L* below the trivial error {te.value:.4g} +- {te.stderr:.1g}, {law.default_set}: "
               f"{names}) from {where}")
    return out
