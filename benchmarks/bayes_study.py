"""Run the Bayes side of the compute study at one of its settings, both teachers (docs/bayes.md, "The compute study").

Usage: python benchmarks/bayes_study.py OUT_DIR [--setting default|full|quick] [--teacher finite dp]
       python benchmarks/bayes_study.py OUT_DIR --markdown      (the tables of the studies in OUT_DIR)

Writes ``OUT_DIR/study_<setting>_<teacher>.json`` (the :func:`bayes_study` result, with the wall and CPU
seconds of the call), the two figures ``bayes_width_<setting>.png`` and ``bayes_n_star_<setting>.png``,
and prints a table per teacher: budget, n* [bootstrap interval], smoothed n* [interval], the error at
every width (mean +- se over the paired teachers).  No bounds are supplied here (the routes are the
lead's): ``bound_holds`` is null.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from scaling_theory.numeric.analysis.plots import bayes_n_star, bayes_width_curves
from scaling_theory.numeric.bayes.study import SETTINGS, bayes_study, figure_data


def table(s: dict) -> str:
    a, lo, hi = s["exponents"]["bayes"]
    a2, lo2, hi2 = s["exponents"]["bayes_argmin"]
    lines = [f"**{s['teacher']} teacher, d = {s['d']}, K = {s['K']:g}** ({s['teachers']} paired teachers x "
             f"{s['particles']} particles; {s.get('wall_seconds', s['seconds']):.0f} s wall, "
             f"{s.get('cpu_seconds', float('nan')):.0f} CPU-s; exponent of n*(C): smoothed {a:.3f} "
             f"[{lo:.3f}, {hi:.3f}], argmin {a2:.3f} [{lo2:.3f}, {hi2:.3f}])", "",
             "| C | n* [95% CI] | n* smoothed [95% CI] | " + " | ".join(f"n = {n}" for n in s["widths"]) + " |",
             "|---|---|---|" + "---|" * len(s["widths"])]
    for b in s["budgets"]:
        cells = {n: f"{e:.3g} +- {se:.1g} (T={T})" for n, e, se, T in
                 zip(b["widths"], b["bayes_error"], b["bayes_error_se"], b["T"])}
        lo_, hi_ = b["n_star_ci"]
        slo, shi = b["n_star_smooth_ci"]
        lines.append(f"| {b['C']:.3g} | {b['n_star']} [{lo_:g}, {hi_:g}] | {b['n_star_smooth']:.2f} "
                     f"[{slo:.2f}, {shi:.2f}]{'' if b['n_star_interior'] else ' (edge)'} | "
                     + " | ".join(cells.get(n, "-") for n in s["widths"]) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--setting", default="default", choices=sorted(SETTINGS))
    parser.add_argument("--teacher", nargs="+", default=["finite", "dp"])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.markdown:
        for path in sorted(out.glob("study_*.json")):
            print(f"{path.name}\n\n{table(json.loads(path.read_text()))}\n")
        return 0
    studies = []
    for teacher in args.teacher:
        cfg = dict(SETTINGS[args.setting][teacher])
        t0, c0 = time.perf_counter(), time.process_time()
        s = bayes_study(teacher, cfg.pop("d"), cfg.pop("K"), cfg.pop("budgets"), cfg.pop("widths"), **cfg,
                        allow_long=True, progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        s["wall_seconds"], s["cpu_seconds"] = time.perf_counter() - t0, time.process_time() - c0
        (out / f"study_{args.setting}_{teacher}.json").write_text(json.dumps(s, indent=1))
        studies.append(s)
        print(table(s) + "\n", flush=True)
    data = figure_data(studies)
    bayes_width_curves(data["width_curves"], out / f"bayes_width_{args.setting}.png")
    bayes_n_star(data["n_star"], out / f"bayes_n_star_{args.setting}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
