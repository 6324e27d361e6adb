"""`scaling-theory bounds`: list the named laws and their parameter sets."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit


def register(subparsers) -> None:
    parser = subparsers.add_parser("bounds", help="list the named laws and parameter sets",
                                   description="List the registered laws, their cost and parameter sets.")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    import sympy as sp

    from scaling_theory.theory.registry import registry

    laws = []
    lines = []
    for name, law in sorted(registry().items()):
        sets = {s: {k: str(v) for k, v in vals.items()} for s, vals in law.parameter_sets.items()}
        laws.append({
            "name": name, "bound": sp.sstr(law.expr), "model": law.model.name, "data": law.data.name,
            "cost": sp.sstr(law.cost), "constants": [c.name for c in law.constants],
            "parameter_sets": sets, "default_set": law.default_set,
            "description": law.description, "citation": law.citation,
        })
        if law.routes:   # a law with proof routes is their minimum; the first route is the expression shown
            names = ", ".join(r.name for r in law.routes)
            lines.append(f"{name}: L({law.model.name}, {law.data.name}) = min over routes ({names}); route "
                         f"{law.routes[0].name}: {sp.sstr(law.display_expr)}")
            laws[-1]["routes"] = [{"name": r.name, "bound": sp.sstr(r.expr), "description": r.description,
                                   "growth": r.growth} for r in law.routes]
            lines.extend(f"    route {r.name}: {r.description}; p* grows like {r.growth}" for r in law.routes)
        else:
            lines.append(f"{name}: L({law.model.name}, {law.data.name}) = {sp.sstr(law.display_expr)}")
        if law.abbreviations:  # the short form's names, defined once
            laws[-1]["abbreviations"] = {k.name: sp.sstr(v) for k, v in law.abbreviations.items()}
            lines.extend(f"    where {k.name} = {sp.sstr(v)}" for k, v in law.abbreviations.items())
        lines.append(f"    cost: {sp.sstr(law.cost)}; {law.description}")
        if law.citation:
            lines.append(f"    source: {law.citation}")
        for s, vals in sets.items():
            mark = " (default)" if s == law.default_set else ""
            lines.append(f"    set {s}{mark}: " + ", ".join(f"{k}={v}" for k, v in vals.items()))
    emit({"laws": laws}, "\n".join(lines), args.json)
    return 0
