"""Both Jeon-Van Roy laws at (d, K) = (8, 32) and (16, 4): L*, p*, local exponents, informative budgets, d/K trends.

Every number comes from the toolkit's public API, the same code as ``scaling-theory allocate --json``
(:func:`scaling_theory.numeric.precision.allocate.allocate`: ``best_loss``/``best_model`` are the optimum of
the better route inside the law's validity window, ``trivial_error`` its Monte Carlo reference) and
``scaling-theory derive`` (:func:`scaling_theory.numeric.precision.teacher_bounds.informative_budget`).

Usage: python benchmarks/law_table.py OUT.json          (measure; a few minutes on 2 cores)
       python benchmarks/law_table.py OUT.json --markdown (print docs/laws-table.md's tables)
"""

import json
import math
import sys
import time

LAWS = ("jeon-van-roy", "jeon-van-roy-finite")
SCALES = ("barron", "normalised")
SETS = ((8, 32), (16, 4))
EXPONENTS = tuple(range(6, 25, 2))
K_TREND = (1, 4, 16, 64)        # at d = 8
D_TREND = (4, 8, 16, 32)        # at K = 32
TREND_C = 12
H = 0.05                        # half-step in ln C of the local exponent's central difference
DIGITS = 20


def _name(law, scale):
    return law + ("-normalised" if scale == "normalised" else "")


def _point(name, d, K, C):
    from scaling_theory.numeric.precision.allocate import allocate

    r = allocate(name, C, params={"d": d, "K": K}, digits=DIGITS)
    return {"C": float(C), "L": float(r.best_loss), "p": float(r.best_model), "T": float(r.best_data),
            "n": float(r.best_model) / (d + 1), "route": r.route, "trivial": float(r.trivial_error),
            "informative": bool(r.informative)}


def _exponent(name, d, K, e):
    lo = _point(name, d, K, f"{10 ** e * math.exp(-H):.15e}")
    hi = _point(name, d, K, f"{10 ** e * math.exp(H):.15e}")
    return (math.log(hi["p"]) - math.log(lo["p"])) / (2 * H)


def measure():
    from scaling_theory.numeric.precision.teacher_bounds import informative_budget
    from scaling_theory.theory.registry import get_law

    out = {"digits": DIGITS, "rows": [], "informative_budget": {}, "trends": []}
    for law in LAWS:
        for scale in SCALES:
            name = _name(law, scale)
            for d, K in SETS:
                t0 = time.perf_counter()
                for e in EXPONENTS:
                    row = _point(name, d, K, f"1e{e}")
                    row.update(law=name, d=d, K=K, exponent=e, local_exponent=_exponent(name, d, K, e))
                    out["rows"].append(row)
                lw = get_law(name)
                c = informative_budget(lw, lw.parameters(None, {"d": d, "K": K}))
                out["informative_budget"][f"{name} d={d} K={K}"] = c
                print(name, d, K, f"{time.perf_counter() - t0:.0f}s", c, flush=True)
            for axis, grid in (("K", K_TREND), ("d", D_TREND)):
                for v in grid:
                    d, K = (8, v) if axis == "K" else (v, 32)
                    row = _point(name, d, K, f"1e{TREND_C}")
                    row.update(law=name, d=d, K=K, axis=axis, share=row["p"] / row["T"])
                    out["trends"].append(row)
    return out


def _g(x, digits=3):
    return f"{x:.{digits}g}"


def markdown(data) -> str:
    lines = []
    for law in LAWS:
        for scale in SCALES:
            name = _name(law, scale)
            for d, K in SETS:
                rows = [r for r in data["rows"] if r["law"] == name and r["d"] == d and r["K"] == K]
                c = data["informative_budget"][f"{name} d={d} K={K}"]
                lines += [f"### `{name}`, d = {d}, K = {K}", "",
                          f"Trivial error {_g(rows[0]['trivial'])} nats; informative from C = "
                          + ("never below 1e60" if c is None else f"{c:.3g}") + ".", "",
                          "| C | L* | p* | T* | n* | route | d ln p*/d ln C | informative |",
                          "|---|---|---|---|---|---|---|---|"]
                for r in rows:
                    lines.append(f"| 1e{r['exponent']} | {_g(r['L'])} | {_g(r['p'])} | {_g(r['T'])} | {_g(r['n'])} "
                                 f"| {r['route']} | {r['local_exponent']:.3f} | {'yes' if r['informative'] else 'no'} |")
                lines.append("")
    lines += [f"### Trends at C = 1e{TREND_C}", "",
              "| law | d | K | p*/T* | n* | route | L* |", "|---|---|---|---|---|---|---|"]
    for r in data["trends"]:
        lines.append(f"| `{r['law']}` | {r['d']} | {r['K']} | {_g(r['share'])} | {_g(r['n'])} | {r['route']} "
                     f"| {_g(r['L'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if "--markdown" in sys.argv[2:]:
        print(markdown(json.load(open(sys.argv[1]))))
    else:
        result = measure()
        with open(sys.argv[1], "w") as fh:
            json.dump(result, fh, indent=1)
