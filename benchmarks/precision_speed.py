"""The fused online SGD kernel in float64 and float32, side by side per width: p*T per second.

Usage::

    NUMBA_NUM_THREADS=1 python benchmarks/precision_speed.py [--widths 2 6 22 84 314 1182 4444] [--repeat 5]

One 8192-sample chunk of the finite teacher's stream (d = 8, K = 32), one student per width with
lr0 = 0.1/(1 + t/1000) under muP factors, trained by ``_online_sgd`` (the kernel a sweep's online
students run) from the same initial weights in each precision, fastest of ``--repeat`` tries each,
alternating.  Prints p*T per second of each, their ratio, and the relative difference of the summed
online KL between the two (float32 rounding, not a different algorithm).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[2, 6, 22, 84, 314, 1182, 4444])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from scaling_theory.numeric.sim.kernels import _teacher_parts
    from scaling_theory.numeric.sim.teacher import chunk, sample_teacher
    from scaling_theory.numeric.sim.train_cpu import _online_sgd

    d = 8
    teacher = sample_teacher(d, 32, kind="finite", seed=0)
    X, y, F = chunk(teacher, 0, seed=0, with_logits=True)
    P = np.empty((3, F.shape[0]))
    P[0] = F
    _teacher_parts(F, P[1], P[2])
    inputs = {np.float64: X, np.float32: X.astype(np.float32)}
    rng = np.random.default_rng(1)
    print(f"{'width':>6} {'float64 p*T/s':>14} {'float32 p*T/s':>14} {'ratio':>6} {'online KL rel. diff':>20}")
    for n in args.widths:
        W = rng.standard_normal((n, d)) / np.sqrt(d)
        v = rng.standard_normal(n) / n
        best = {}
        kl = {}
        for _ in range(args.repeat):
            for dt in (np.float64, np.float32):
                Wt = np.ascontiguousarray(W.T, dtype=dt)
                vv = v.astype(dt)
                start = time.perf_counter()
                _, kls, _ = _online_sgd(Wt, vv, np.zeros(n, dt), np.zeros(n, dt), inputs[dt], y, P, X.shape[0], 0,
                                        1, 0.1, 1000.0, float(n), 1.0 / n)
                best[dt] = min(best.get(dt, np.inf), time.perf_counter() - start)
                kl[dt] = kls
        pT = n * (d + 1) * X.shape[0]
        r64, r32 = pT / best[np.float64], pT / best[np.float32]
        diff = abs(kl[np.float32] - kl[np.float64]) / kl[np.float64]
        print(f"{n:>6} {r64:>14.3g} {r32:>14.3g} {r32 / r64:>6.2f} {diff:>20.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
