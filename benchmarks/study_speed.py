"""Throughput of the default study's sweep on this machine's cores: sum p*T per second.

Usage::

    python benchmarks/study_speed.py [--budgets 1e5 1e6 1e7 1e8] [--workers 2] [--seeds 0 1 2 3 4]
                                     [--baseline REV --rounds 2]

Runs the protocol of :meth:`SweepConfig.protocol` (both teachers, 9 widths x 4 learning rates per
budget) restricted to the given budgets and seeds with :func:`run_sweep` on the local process pool,
into a temporary store, and prints the wall time and sum p*T / seconds (p*T counted as configured;
a diverged run stops early, so it spends less).  This is the whole pipeline a ``reproduce`` sweep
runs: pool start-up, training, evaluation and validation error, store writes.  Other processes on the
machine slow it down; ``benchmarks/sweep_speed.py`` compares two revisions side by side instead.

With ``--baseline REV`` the same study is run with the code of ``REV`` (unpacked by ``git archive``,
as ``benchmarks/sweep_speed.py`` does) and with this tree, alternately for ``--rounds`` rounds, each
in a fresh process after a compile warm-up of its own tree; it prints every run and then the
medians, the ranges and the ratio of the rates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: the protocol's")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--precision", choices=["float64", "float32"], default=None,
                        help="the students' arithmetic (default: the protocol's)")
    parser.add_argument("--baseline", default=None, help="git revision to run side by side with this tree")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs per side (with --baseline)")
    args = parser.parse_args(argv)
    if args.baseline is not None:
        return _compare(args)

    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import run_sweep

    protocol = SweepConfig.protocol()
    grid = dict(protocol.to_dict()["grid"][0])
    grid.pop("name", None)
    grid["budgets"] = list(args.budgets)
    if args.seeds is not None:
        grid["seeds"] = list(args.seeds)
    if args.precision is not None:
        grid["precision"] = [args.precision]
    config = SweepConfig.from_dict({**grid, "eval_samples": protocol.eval_samples})
    runs, _ = config.expand()
    pT = sum(r.params * r.samples for r in runs)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = run_sweep(config, os.path.join(tmp, "runs.sqlite"), executor="local", workers=args.workers,
                            progress=False)
        seconds = time.perf_counter() - start
    print(json.dumps({"runs": len(runs), "done": summary.done, "diverged": summary.diverged,
                      "failed": summary.failed, "workers": args.workers, "seconds": round(seconds, 2),
                      "pT": pT, "pT_per_s": pT / seconds}))
    return 0


def _compare(args) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sweep_speed import _baseline_tree, _current_tree

    forward = ["--budgets", *map(str, args.budgets), "--workers", str(args.workers)]
    if args.seeds is not None:
        forward += ["--seeds", *map(str, args.seeds)]
    precision = [] if args.precision is None else ["--precision", args.precision]
    forward += precision
    rates: dict[str, list[float]] = {"baseline": [], "current": []}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": _baseline_tree(args.baseline, Path(tmp)), "current": _current_tree(Path(tmp))}

        def run(pkg: Path, extra: list[str]) -> dict:
            env = {**os.environ, "PYTHONPATH": str(pkg)}
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *extra], env=env, cwd=str(pkg),
                                  capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f"benchmark child failed:\n{proc.stderr[-2000:]}")
            return json.loads(proc.stdout.strip().splitlines()[-1])

        for pkg in trees.values():  # compile (or load) every kernel outside the timing
            run(pkg, ["--budgets", "1e5", "--seeds", "0", "--workers", "1", *precision])
        for _ in range(args.rounds):
            for name, pkg in trees.items():
                r = run(pkg, forward)
                rates[name].append(r["pT_per_s"])
                print(f"{name:9s} {r['pT']:.3g} p*T in {r['seconds']:.2f} s: {r['pT_per_s']:.3g} p*T/s", flush=True)
    b, c = statistics.median(rates["baseline"]), statistics.median(rates["current"])
    print(json.dumps({"baseline": args.baseline, "workers": args.workers, "budgets": args.budgets,
                      "precision": args.precision,
                      "baseline_pT_per_s": b, "current_pT_per_s": c, "ratio": c / b,
                      "baseline_range": [min(rates["baseline"]), max(rates["baseline"])],
                      "current_range": [min(rates["current"]), max(rates["current"])]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
