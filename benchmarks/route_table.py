"""The route table: every route of every Jeon-Van Roy law, its optimum at a few budgets and its leading order.

    python benchmarks/route_table.py [--set d8-K32] [--budgets 1e6 1e8 1e12] [--sigma 0.25 0.5 0.75]

Each row is one (law, route): L* and the optimal width n* = p*/(d+1) at each budget, inside the route's own
validity window (``-`` where the route does not cover the budget), the leading order of p* as C -> oo, and
which route is the law's headline at each budget.  The Pitman-Yor laws take the set's ``d`` and ``K`` and each
discount of ``--sigma``.  Numbers from
:func:`scaling_theory.numeric.precision.routes.route_optima`; leading orders from
:func:`scaling_theory.theory.routes.route_allocations`.
"""

from __future__ import annotations

import argparse

import sympy as sp

from scaling_theory.numeric.precision.routes import best_route, route_optima
from scaling_theory.theory.registry import get_law
from scaling_theory.theory.routes import route_allocations

LAWS = ("jeon-van-roy", "jeon-van-roy-finite", "jeon-van-roy-normalised", "jeon-van-roy-finite-normalised",
        "jeon-van-roy-pitman-yor", "jeon-van-roy-pitman-yor-normalised")


def _instances(param_set: str, sigmas: list[str]):
    """``(label, law, values)`` per law, one per discount for the Pitman-Yor laws."""
    base = {k.name: v for k, v in get_law("jeon-van-roy").parameters(param_set).items()}
    for name in LAWS:
        law = get_law(name)
        if "sigma" in law.symbols:
            for s in sigmas:
                yield f"{name} (sigma={s})", law, law.parameters(None, {**base, "sigma": s}, defaults=False)
        else:
            yield name, law, law.parameters(param_set)


def rows(param_set: str, budgets: list[str], sigmas: list[str] = ("0.25", "0.5", "0.75")) -> list[dict]:
    out = []
    for name, law, values in _instances(param_set, list(sigmas)):
        d = int(values[law.symbols["d"]])
        optima = {C: route_optima(law, values, C, digits=15) for C in budgets}
        best = {C: best_route(o).name for C, o in optima.items()}
        for r in route_allocations(law):
            cells = []
            for C in budgets:
                o = next(x for x in optima[C] if x.name == r.name)
                cells.append((float(o.loss), float(o.model) / (d + 1), best[C] == r.name) if o.valid else None)
            lead = r.leading.get("model")
            out.append({"law": name, "teacher": law.teacher.kind, "route": r.name, "cells": cells,
                        "leading": sp.sstr(lead.subs(values)) if lead is not None else "",
                        "growth": r.growth, "exponent": sp.sstr(sp.sympify(r.model_exponent).subs(values))})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="d8-K32", help="parameter set of the laws (default d8-K32)")
    parser.add_argument("--budgets", nargs="+", default=["1e6", "1e8", "1e12"])
    parser.add_argument("--sigma", nargs="+", default=["0.25", "0.5", "0.75"], help="Pitman-Yor discounts")
    args = parser.parse_args()
    table = rows(args.set, args.budgets, args.sigma)
    head = ["law", "teacher", "route", *[f"L* at {C}" for C in args.budgets],
            *[f"n* at {C}" for C in args.budgets], "p* leading order", "a"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in table:
        Ls = [("-" if c is None else (f"**{c[0]:.3g}**" if c[2] else f"{c[0]:.3g}")) for c in row["cells"]]
        ns = ["-" if c is None else f"{c[1]:.4g}" for c in row["cells"]]
        print("| " + " | ".join([row["law"], row["teacher"], row["route"], *Ls, *ns,
                                 f"{row['growth']}: {row['leading']}", row["exponent"]]) + " |")
    print(f"\n(parameter set {args.set}; bold: the law's headline, the best valid route at that budget)")


if __name__ == "__main__":
    main()
