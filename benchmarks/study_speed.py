"""Throughput of the default study's sweep on this machine's cores: sum p*T per second.

Usage::

    python benchmarks/study_speed.py [--budgets 1e5 1e6 1e7 1e8] [--workers 2] [--seeds 0 1 2 3 4]

Runs the protocol of :meth:`SweepConfig.protocol` (both teachers, 9 widths x 4 learning rates per
budget) restricted to the given budgets and seeds with :func:`run_sweep` on the local process pool,
into a temporary store, and prints the wall time and sum p*T / seconds (p*T counted as configured;
a diverged run stops early, so it spends less).  This is the whole pipeline a ``reproduce`` sweep
runs: pool start-up, training, evaluation and validation error, store writes.  Other processes on the
machine slow it down; ``benchmarks/sweep_speed.py`` compares two revisions side by side instead.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: the protocol's")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import run_sweep

    protocol = SweepConfig.protocol()
    grid = dict(protocol.to_dict()["grid"][0])
    grid.pop("name", None)
    grid["budgets"] = list(args.budgets)
    if args.seeds is not None:
        grid["seeds"] = list(args.seeds)
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


if __name__ == "__main__":
    raise SystemExit(main())
