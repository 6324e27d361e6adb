"""Online SGD of narrow students: 4 students as lanes of one kernel versus one kernel per student.

Usage::

    python benchmarks/lanes_speed.py [--widths 1 2 3 6 11 22] [--d 8] [--repeat 5]

For each width and precision, 4 students (different initial weights and learning rates) train
on one pre-drawn chunk of 8192 samples of a d = 8 teacher, once with
:func:`scaling_theory.numeric.sim.train_cpu._online_sgd_lanes` (one call, with the trainer's zero
units of ``_lane_units``) and once with
:func:`scaling_theory.numeric.sim.train_cpu._online_sgd` (4 calls), alternately; it prints the best
of ``--repeat`` timings as ns per student-sample, their ratio, and the largest relative difference of
the students' online KL sums between the two (rounding only).  Single-threaded kernels, so other load
on the machine shows as noise, not as a bias of one side.
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 2, 3, 6, 11, 22])
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--asm", action="store_true", help="also count packed vs scalar FMAs of the lanes kernel")
    args = parser.parse_args(argv)

    from scaling_theory.numeric.sim.kernels import _teacher_parts
    from scaling_theory.numeric.sim.teacher import chunk, sample_teacher
    from scaling_theory.numeric.sim.train_cpu import (
        LANES,
        _lane_units,
        _online_sgd,
        _online_sgd_lanes,
    )

    teacher = sample_teacher(args.d, 32, kind="finite", seed=0)
    X, y, F = chunk(teacher, 0, seed=0, with_logits=True)
    P = np.empty((3, F.shape[0]))
    P[0] = F
    _teacher_parts(F, P[1], P[2])
    rows = X.shape[0]
    rng = np.random.default_rng(1)
    lrs = np.array([0.02, 0.05, 0.1, 0.2])
    print(f"d = {args.d}, {rows} samples, ns per student-sample (best of {args.repeat})")
    print(f"{'width':>5} {'precision':>9} {'lanes':>8} {'single':>8} {'single/lanes':>12} {'max rel diff KL':>16}")
    for n in args.widths:
        Ws = [rng.standard_normal((n, args.d)) / np.sqrt(args.d) for _ in range(LANES)]
        vs = [rng.standard_normal(n) / n for _ in range(LANES)]
        for dt in (np.float64, np.float32):
            XX = X.astype(dt)

            def single(XX=XX, dt=dt, n=n, Ws=Ws, vs=vs):
                kls = []
                for s in range(LANES):
                    Wt = np.ascontiguousarray(Ws[s].T, dtype=dt)
                    r = _online_sgd(Wt, vs[s].astype(dt), np.zeros(n, dt), np.zeros(n, dt), XX, y, P, rows, 0, 1,
                                    lrs[s], 1000.0, 1.0, 1.0)
                    kls.append(r[1])
                return np.array(kls)

            nk = _lane_units(n, dt == np.float32)   # the trainer's units per lane (zero units past n)

            def lanes(XX=XX, dt=dt, n=n, nk=nk, Ws=Ws, vs=vs):
                Wt = np.zeros((args.d, nk, LANES), dtype=dt)
                Wt[:, :n] = np.stack([W.T for W in Ws], -1)
                v = np.zeros((nk, LANES), dtype=dt)
                v[:n] = np.stack(vs, -1)
                Wt, v = Wt.reshape(args.d, LANES * nk), v.reshape(LANES * nk)
                out = np.zeros((LANES, 3))
                M = LANES * nk
                _online_sgd_lanes(Wt, v, np.zeros(M, dt), np.zeros(M, dt), np.zeros(M, dt),
                                  XX, y, P, rows, 0, np.ones(LANES, np.int64), lrs, np.full(LANES, 1000.0),
                                  np.ones(LANES), np.ones(LANES), out)
                return out[:, 1]

            diff = float(np.max(np.abs(lanes() - single()) / np.abs(single())))
            best = {"lanes": np.inf, "single": np.inf}
            for _ in range(args.repeat):
                for name, fn in (("lanes", lanes), ("single", single)):
                    t = time.perf_counter()
                    fn()
                    best[name] = min(best[name], time.perf_counter() - t)
            ns = {k: v / LANES / rows * 1e9 for k, v in best.items()}
            print(f"{n:>5} {np.dtype(dt).name:>9} {ns['lanes']:>8.1f} {ns['single']:>8.1f} "
                  f"{ns['single'] / ns['lanes']:>12.2f} {diff:>16.1e}")
    if args.asm:  # a fresh uncached compilation (cached code cannot be inspected)
        from numba import njit
        from scaling_theory.numeric.sim.train_cpu import _FASTMATH
        fresh = njit(fastmath=_FASTMATH)(_online_sgd_lanes.py_func)
        for sig in _online_sgd_lanes.signatures:
            fresh.compile(sig)
            asm = fresh.inspect_asm(sig)
            packed = len(re.findall(r"v[f]n?m(?:add|sub)\w*p[sd][^\n]*[xy]mm", asm))
            scalar = len(re.findall(r"v[f]n?m(?:add|sub)\w*s[sd]\s", asm))
            print(f"{sig[0]}: packed FMAs {packed}, scalar FMAs {scalar}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
