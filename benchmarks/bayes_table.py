"""Measure L_T (SMC) vs the bound vs SGD on a grid; one JSON line per cell (docs/bayes.md).

Usage: python benchmarks/bayes_table.py OUT.jsonl            (measure, appending)
       python benchmarks/bayes_table.py OUT.jsonl --more     (the second batch of cells)
       python benchmarks/bayes_table.py OUT.jsonl --cell infinite,2,2,10000,8,300 [--cell ...]
       python benchmarks/bayes_table.py OUT.jsonl --markdown (print the table of docs/bayes.md)
       python benchmarks/bayes_table.py OUT.jsonl --rebound IN.jsonl
           (re-evaluate only the bound columns -- bound, bound_law, bound_p, ratio, holds -- of measured rows
            with the laws as registered now; L_T, SGD and diagnostics are kept: the bound plays no part in
            the seeded SMC and SGD runs)
"""

import json
import sys
import time

from scaling_theory.numeric.bayes.compare import LAW_FOR_TEACHER, bayes_optimal_error, bound_value


def cells():
    for T in (100, 1000):
        for d in (1, 2, 4):
            for K in (1, 2, 4):
                yield "finite", d, K, T, 8, 500
    for d, K in ((1, 1), (2, 2)):
        for T in (100, 1000):
            yield "dp", d, K, T, 8, 500
    for d, K in ((1, 1), (2, 2), (4, 4), (1, 4), (4, 1)):
        yield "finite", d, K, 10000, 8, 300


def more_cells():
    for d, K in ((1, 2), (2, 1), (2, 4), (4, 2)):
        yield "finite", d, K, 10000, 8, 300
    yield "dp", 4, 4, 100, 8, 500
    yield "dp", 1, 1, 10000, 8, 300


def main(out: str, grid=cells) -> None:
    with open(out, "a") as fh:
        for teacher, d, K, T, n, P in grid():
            t0 = time.perf_counter()
            r = bayes_optimal_error(teacher, d, K, T, teachers=n, particles=P, seed=0)
            row = r.to_json()
            row.pop("curve"), row.pop("curve_t")
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(teacher, d, K, T, f"{time.perf_counter() - t0:.1f}s", r.error, r.bound, r.sgd_error, flush=True)


def rebound(src: str, out: str) -> None:
    with open(src) as fh, open(out, "w") as dst:
        for line in fh:
            row = json.loads(line)
            old = row["bound"]
            row["bound"], row["bound_p"] = bound_value(row["teacher"], row["d"], row["K"], row["T"])
            row["bound_law"] = LAW_FOR_TEACHER[row["teacher"]]
            row["ratio"] = row["bound"] / row["error"]
            row["holds"] = bool(row["bound"] >= row["error"] - 2 * row["error_se"])
            dst.write(json.dumps(row) + "\n")
            print(row["teacher"], row["d"], row["K"], row["T"], f"bound {old:.4g} -> {row['bound']:.4g}", flush=True)


def markdown(path: str) -> str:
    rows = sorted((json.loads(line) for line in open(path)),
                  key=lambda r: (r["teacher"], r["T"], r["d"], r["K"]))
    out = ["| teacher | d | K | T | teachers x particles | L_T (SMC) +- se | L_T per-step KL | bound | bound / L_T "
           "| SGD online excess +- se | SGD final-weights KL | holds | min ESS | MH acc. | seconds |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['teacher']} | {r['d']} | {r['K']} | {r['T']} | {r['teachers']} x {r['particles']} "
                   f"| {r['error']:.3g} +- {r['error_se']:.1g} | {r['error_rb']:.3g} | {r['bound']:.3g} "
                   f"| {r['ratio']:.3g} | {r['sgd_error']:.3g} +- {r['sgd_error_se']:.1g} "
                   f"| {r['sgd_final_error']:.3g} | {'yes' if r['holds'] else 'NO'} | {r['ess_min']:.2f} "
                   f"| {r['acceptance']:.2f} | {r['seconds']:.0f} |")
    return "\n".join(out)


if __name__ == "__main__":
    if "--rebound" in sys.argv[2:]:
        rebound(sys.argv[sys.argv.index("--rebound") + 1], sys.argv[1])
    elif "--markdown" in sys.argv[2:]:
        print(markdown(sys.argv[1]))
    elif "--cell" in sys.argv[2:]:
        picked = [sys.argv[i + 1].split(",") for i, a in enumerate(sys.argv) if a == "--cell"]
        main(sys.argv[1], lambda: ((c[0], *map(int, c[1:])) for c in picked))
    else:
        main(sys.argv[1], more_cells if "--more" in sys.argv[2:] else cells)
