"""`scaling-theory derive`: the compute-optimal allocation of a law, symbolically."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, add_law_arguments, emit, law_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "derive", help="compute-optimal allocation of a law, symbolically",
        description="Minimise a law under its compute budget: optimal model and data size as "
                    "functions of C, exponents, optimal loss.")
    add_law_arguments(parser)
    parser.add_argument("--route", metavar="NAME", default=None,
                        help="for a law with proof routes: derive this route only (default: every route)")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    import sympy as sp

    from scaling_theory.theory.allocation import compute_optimal_allocation
    from scaling_theory.theory.latex import abbreviations_latex, allocation_latex

    law = law_from_args(args)
    if law.routes:
        return _run_routes(args, law)
    if args.route is not None:
        law.route(args.route)   # one-line error: this law is one formula
    alloc = compute_optimal_allocation(law)
    if args.json:   # printing every step is costly for big laws: only when asked
        payload = alloc.to_json()
        payload["latex"] = allocation_latex(alloc)
        payload["abbreviations_latex"] = dict(zip((k.name for k in alloc.abbreviations), abbreviations_latex(alloc)))
        emit(payload, "", True)
        return 0
    lines = [f"law {law.name}: L({alloc.model.name}, {alloc.data.name}) = {sp.sstr(alloc.bound)}",
             f"budget: {sp.sstr(alloc.cost)} = {alloc.compute.name}"] + _allocation_lines(alloc, "")
    if alloc.abbreviations:
        lines.append("where")
        lines += [f"  {k.name} = {sp.sstr(v)}" for k, v in alloc.abbreviations.items()]
    emit({}, "\n".join(lines), False)
    return 0


def _allocation_lines(alloc, indent: str) -> list[str]:
    """The engine's result for one law (or one route): method, optimum, exponents, second-order condition."""
    import sympy as sp

    N, D, C = alloc.model.name, alloc.data.name, alloc.compute.name
    kind = "closed form" if alloc.closed_form else f"leading order as {C} -> oo"
    lines = [f"method: {alloc.method}"]
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
    return [indent + line for line in lines]


def _run_routes(args, law) -> int:
    """A law with proof routes: each route's closed form or numeric method and leading order, and which route
    is best at which budget (at the law's default constants)."""
    import sympy as sp

    from scaling_theory.theory.latex import abbreviations_latex, allocation_latex
    from scaling_theory.theory.printing import to_latex
    from scaling_theory.theory.routes import route_allocations

    routes = route_allocations(law, args.route)
    N, D = law.model.name, law.data.name
    regimes = _regimes(law, args.route)
    if args.json:
        payload = {"law": law.name, "model": N, "data": D, "cost": sp.sstr(law.cost),
                   "routes": [], **regimes}
        for r in routes:
            entry = r.to_json()
            entry["bound"] = sp.sstr(r.law.expr)
            entry["latex"] = {"bound": to_latex(r.law.expr, law.latex_names),
                              **({"allocation": allocation_latex(r.allocation)} if r.allocation is not None else {})}
            if r.allocation is not None:
                entry["allocation"] = r.allocation.to_json()
                entry["allocation"]["abbreviations_latex"] = dict(zip((k.name for k in r.allocation.abbreviations),
                                                                      abbreviations_latex(r.allocation)))
            payload["routes"].append(entry)
        emit(payload, "", True)
        return 0
    names = ", ".join(r.name for r in routes)
    lines = [f"law {law.name}: L({N}, {D}) = the minimum over its proof routes ({names})" if args.route is None
             else f"law {law.name}, route {args.route}",
             f"budget: {sp.sstr(law.cost)} = C"]
    for r in routes:
        lines.append(f"route {r.name}: {r.description}; valid for {N} >= {sp.sstr(r.min_model)}, "
                     f"{D} >= {sp.sstr(r.min_data)}; derivation {r.derivation}")
        if r.allocation is not None:
            lines.append(f"  L({N}, {D}) = {sp.sstr(r.law.display_expr)}")
            lines += _allocation_lines(r.allocation, "  ")
        else:
            lines.append(f"  L({N}, {D}) = {sp.sstr(r.law.expr)}")
            lines.append(f"  method: {r.method}")
            for key, sym in (("model", N), ("data", D), ("loss", "L")):
                if r.leading.get(key) is not None:
                    lines.append(f"  {sym}* ~ {sp.sstr(r.leading[key])}   (leading order as C -> oo)")
        how = "stays bounded" if r.growth == "constant" else f"grows like {r.growth}"
        lines.append(f"  model exponent a = lim d ln {N}*/d ln C = {sp.sstr(r.model_exponent)} ({N}* {how})")
    lines += regimes["lines"]
    abbreviations = {k: v for r in routes if r.allocation is not None for k, v in r.allocation.abbreviations.items()}
    if abbreviations:
        lines.append("where")
        lines += [f"  {k.name} = {sp.sstr(v)}" for k, v in abbreviations.items()]
    emit({}, "\n".join(lines), False)
    return 0


def _regimes(law, route) -> dict:
    """At the law's default constants: the budgets where the best route changes, and where the law (its best
    route) becomes non-vacuous; ``lines`` for the text output."""
    from scaling_theory.numeric.precision import routes as rt
    from scaling_theory.numeric.precision import teacher_bounds

    values = law.parameters()
    names = ", ".join(f"{k.name}={v}" for k, v in sorted(values.items(), key=lambda kv: kv[0].name))
    where = f"{law.default_set}: {names}" if law.default_set else names
    out: dict = {"constants": {k.name: str(v) for k, v in values.items()}, "lines": []}
    if route is None and len(law.routes) > 1:
        switches = rt.route_switches(law, values)
        out["route_switches"] = [{"C": s["C"], "from": s["from"], "to": s["to"]} for s in switches]
        parts = [f"{s['to']} from C = {s['C']:.4g}" for s in switches]
        out["lines"].append(f"best route by budget ({where}): " + "; ".join(parts)
                            + ("" if len(switches) > 1 else " on (up to C = 1e60)"))
    if law.teacher is not None:
        te = teacher_bounds.law_trivial_error(law, values)
        c_inf = rt.informative_budget(law if route is None else _single_route(law, route), values, te.value)
        at = f"C = {c_inf:.4g}" if c_inf is not None else "no budget up to 1e60"
        out["informative_budget"] = c_inf
        out["trivial_error"] = te.value
        out["lines"].append(f"non-vacuous (L* below the trivial error {te.value:.4g} +- {te.stderr:.1g}, {where}) "
                            f"from {at}")
    return out


def _single_route(law, route):
    """``law`` with only the route called ``route`` (so the budget scans see that route alone)."""
    import dataclasses

    r = law.route(route)
    return dataclasses.replace(law, expr=r.expr, routes=(r,), abbreviations={}, abbreviated_expr=None)
