"""Approach 3's objective, NumPy reference against the compiled kernel side by side, and a large fit's
peak memory and time.

Usage: ``python benchmarks/fit_speed.py [--points 1000000] [--repeat 5] [--fit-rows 1000000] [--bootstrap 20]``

1. Times one evaluation (value and gradient) of approach 3's objective on ``--points`` points with
   the NumPy reference (``approach3._lse_objective``) and the Numba kernel
   (``approach3_kernel.lse_objective``), alternately, ``--repeat`` times each, and prints the best
   times and their ratio, and whether the two agree.
2. Writes a CSV of ``--fit-rows`` noisy Chinchilla points (27-32 bytes a row) to a temporary folder
   and runs ``scaling-theory fit FILE --bootstrap B`` in a child process, printing its wall time
   and its peak resident memory (``getrusage(RUSAGE_CHILDREN).ru_maxrss``, what ``/usr/bin/time -v``
   reports). ``--fit-rows 0`` skips this part.

It reports, it does not assert.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def _points(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    E, A, B, al, be = 1.69, 406.4, 410.7, 0.34, 0.28
    C = 10 ** rng.uniform(18, 22, n)
    G = (al * A / (be * B)) ** (1 / (al + be))
    N = G * (C / 6) ** (be / (al + be)) * np.exp(rng.uniform(-np.log(16), np.log(16), n))
    D = C / (6 * N)
    L = (E + A / N ** al + B / D ** be) * np.exp(0.02 * rng.standard_normal(n))
    return N, D, L


def objective_ratio(n: int, repeat: int) -> None:
    from scaling_theory.numeric.analysis.approach3 import _lse_objective
    from scaling_theory.numeric.analysis.approach3_kernel import lse_objective

    N, D, L = _points(n)
    x, y, logL = np.log(N), np.log(D), np.log(L)
    theta = np.array([6.0, 0.34, 6.0, 0.28, 0.5])
    lse_objective(theta, x, y, logL, True, 1e-3)   # compile (or load the cache) before timing
    best = {"numpy": np.inf, "numba": np.inf}
    for _ in range(repeat):
        for name, f in (("numpy", _lse_objective), ("numba", lse_objective)):
            t0 = time.perf_counter()
            f(theta, x, y, logL, True, 1e-3)
            best[name] = min(best[name], time.perf_counter() - t0)
    v0, g0 = _lse_objective(theta, x, y, logL, True, 1e-3)
    v1, g1 = lse_objective(theta, x, y, logL, True, 1e-3)
    agree = bool(np.isclose(v0, v1, rtol=1e-10) and np.allclose(g0, g1, rtol=1e-8))
    print(f"objective on {n} points, best of {repeat}: numpy {best['numpy'] * 1e3:.1f} ms, "
          f"numba {best['numba'] * 1e3:.1f} ms; ratio numpy/numba {best['numpy'] / best['numba']:.1f}; "
          f"results agree: {agree}")


def large_fit(rows: int, bootstrap: int) -> None:
    N, D, L = _points(rows, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "runs.csv")
        with open(path, "w") as fh:
            fh.write("N,D,loss\n")
            fh.writelines(f"{a:.6g},{b:.6g},{c:.6g}\n" for a, b, c in zip(N, D, L))
        size = os.path.getsize(path)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "scaling_theory", "fit", path, "--bootstrap", str(bootstrap)],
                             capture_output=True, text=True)
        wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024   # kB on Linux
    print(f"fit of a {rows}-row CSV ({size / 2**20:.1f} MiB), --bootstrap {bootstrap}: exit {out.returncode}, "
          f"{wall:.1f} s, peak memory {peak / 2**30:.3f} GiB")
    for line in (out.stderr + out.stdout).strip().splitlines():
        print("  " + line[:200])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fit-rows", type=int, default=1_000_000)
    parser.add_argument("--bootstrap", type=int, default=20)
    args = parser.parse_args(argv)
    objective_ratio(args.points, args.repeat)
    if args.fit_rows:
        large_fit(args.fit_rows, args.bootstrap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
