"""The SMC sampler's speed against an older revision, side by side in one run (docs/bayes.md, "Throughput").

Usage::

    python benchmarks/bayes_speed.py --baseline REV [--rounds 3] [--end-to-end-T 1000]

Unpacks ``REV`` (``git archive``, as ``benchmarks/sweep_speed.py`` does) next to this tree and runs, in a
fresh child process per tree and round, alternately:

* ``mh``: the workload of ``scaling-theory bayes --bench`` (one Metropolis-Hastings sweep, finite teacher
  ``d = K = 4``, 8 teachers x 1000 particles x 1000 observations, every proposal rejected so the state
  stays put), through the public ``kernels.mh_sweep`` both revisions have; best of 3 after a compile;
* ``smc``: the whole sampler, ``smc.run_teachers("finite", 2, 2, T, teachers=8, particles=500, seed=0)``
  (the default ``bayes`` call's SMC), after a compile on a tiny problem; particle updates = reweighting
  (``teachers x particles x T``) plus the moves' ``mh_updates``.

Each is timed by the wall clock and by the process's CPU time (all threads): on a machine shared with
other jobs the CPU-time rate is the steadier figure.  It prints every run, then the medians and the
ratios current / baseline, and how far the two revisions' ``L_T`` estimates differ on the same seed
(the draws are the same; the arithmetic differs by rounding).
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


def _child(T: int) -> dict:
    import numpy as np

    from scaling_theory.numeric.bayes import kernels, smc

    out = {}
    d, K, teachers, particles, t = 4, 4, 8, 1000, 1000       # bayes --bench's workload
    rng = np.random.default_rng(0)
    D = kernels.latent_dim(kernels.FINITE, d, K)
    Z = rng.standard_normal((teachers, particles, D))
    X = rng.standard_normal((teachers, t, d))
    y = (rng.random((teachers, t)) < 0.5).astype(np.float64)
    step = 0.1 * rng.standard_normal(Z.shape)
    log_u = np.full((teachers, particles), np.inf)
    active = np.ones(teachers, dtype=bool)
    ll = np.zeros((teachers, particles))
    kernels.mh_sweep(Z, ll, X[:, :2], y[:, :2], 2, active, kernels.FINITE, K, d, 1.0, step, log_u)
    wall, cpu = float("inf"), float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        kernels.mh_sweep(Z, ll, X, y, t, active, kernels.FINITE, K, d, 1.0, step, log_u)
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    out["mh"] = {"updates": teachers * particles * t, "wall": wall, "cpu": cpu}

    smc.run_teachers("finite", 2, 2, 30, teachers=2, particles=100, seed=1)   # compile
    t0, c0 = time.perf_counter(), time.process_time()
    _, r = smc.run_teachers("finite", 2, 2, T, teachers=8, particles=500, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    updates = 8 * 500 * T + float(np.sum(r.mh_updates))
    out["smc"] = {"updates": updates, "wall": wall, "cpu": cpu, "error": r.error.tolist(),
                  "error_rb": r.error_rb.tolist()}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", help="git revision to run side by side with this tree")
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per tree")
    parser.add_argument("--end-to-end-T", type=int, default=1000, help="samples of the whole-sampler run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.end_to_end_T)))
        return 0
    if not args.baseline:
        parser.error("--baseline REV is required")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sweep_speed import _baseline_tree, _current_tree

    runs: dict[str, list[dict]] = {"baseline": [], "current": []}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"baseline": _baseline_tree(args.baseline, Path(tmp)), "current": _current_tree(Path(tmp))}
        for _ in range(args.rounds):
            for name, pkg in trees.items():
                env = {**os.environ, "PYTHONPATH": str(pkg)}
                proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child",
                                       "--end-to-end-T", str(args.end_to_end_T)], env=env, cwd=str(pkg),
                                      capture_output=True, text=True)
                if proc.returncode:
                    raise SystemExit(f"benchmark child failed:\n{proc.stderr[-2000:]}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                runs[name].append(r)
                print(f"{name:9s} mh: {r['mh']['updates'] / r['mh']['wall']:.3g} updates/s "
                      f"({r['mh']['updates'] / r['mh']['cpu']:.3g} per CPU-s); smc: "
                      f"{r['smc']['updates'] / r['smc']['wall']:.3g} updates/s "
                      f"({r['smc']['updates'] / r['smc']['cpu']:.3g} per CPU-s, {r['smc']['wall']:.2f} s)", flush=True)

    def med(name, part, clock):
        return statistics.median(r[part]["updates"] / r[part][clock] for r in runs[name])

    summary = {"baseline": args.baseline, "rounds": args.rounds, "end_to_end_T": args.end_to_end_T}
    for part in ("mh", "smc"):
        for clock in ("wall", "cpu"):
            b, c = med("baseline", part, clock), med("current", part, clock)
            key = f"{part}_{clock}"
            summary[f"{key}_baseline"], summary[f"{key}_current"], summary[f"{key}_ratio"] = b, c, c / b
    import numpy as np

    eb = np.array(runs["baseline"][0]["smc"]["error"])
    ec = np.array(runs["current"][0]["smc"]["error"])
    summary["smc_error_baseline"], summary["smc_error_current"] = float(eb.mean()), float(ec.mean())
    summary["smc_error_max_rel_diff"] = float(np.max(np.abs(ec - eb) / np.abs(eb)))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
