"""Evaluation speed: the earlier one-pass kernel against ``reducible_errors``, on the protocol's rows.

Usage::

    python benchmarks/eval_speed.py [--budgets 1e5 1e6 1e7 1e8] [--repeats 5]

For each teacher kind and budget, one IsoFLOP row of the default study (:meth:`SweepConfig.protocol`,
seed 1: 9 widths x 4 or 5 learning rates) gets random student weights of its widths, and one
evaluation stream of ``eval_samples`` inputs is timed three ways in this process (run it with
``NUMBA_NUM_THREADS=1``, as a sweep worker): the earlier kernel (``_kl_sums_many``: every student
vectorised over its units, the teacher's logits drawn for each call), :func:`reducible_errors` with
its stream cache emptied, and :func:`reducible_errors` again (the stream cached, as for a worker's
second row of the same teacher).  Each figure is the fastest of ``--repeats`` alternating tries, so
other processes on the machine disturb it little; the largest relative difference of the estimates
is printed too (rounding only).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _earlier(teacher, pairs, n_samples: int, seed: int):
    from scaling_theory.numeric.sim import error as E
    from scaling_theory.numeric.sim.teacher import EVAL_STREAM, input_chunks, teacher_logits_fast

    d = teacher.d
    width = np.array([W.shape[0] for W, _ in pairs], dtype=np.int64)
    woff = np.zeros(len(pairs), np.int64)
    woff[1:] = np.cumsum(width * d)[:-1]
    voff = np.zeros(len(pairs), np.int64)
    voff[1:] = np.cumsum(width)[:-1]
    Wf = np.concatenate([W.T.ravel() for W, _ in pairs])
    vf = np.concatenate([v for _, v in pairs])
    h, G = np.empty(int(width.max())), np.empty(min(n_samples, 8192))
    sums, sqs = np.zeros(len(pairs)), np.zeros(len(pairs))
    for X in input_chunks(d, n_samples, seed=seed, stream=EVAL_STREAM):
        E._kl_sums_many(X, teacher_logits_fast(teacher, X), Wf, vf, woff, voff, width, h, G, sums, sqs)
    return [E._finish(a, b, n_samples) for a, b in zip(sums, sqs)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from scaling_theory.numeric.sim import error as E
    from scaling_theory.numeric.sim.teacher import sample_teacher
    from scaling_theory.numeric.sweep.config import SweepConfig

    runs, _ = SweepConfig.protocol().expand()
    rng = np.random.default_rng(0)
    totals = np.zeros(3)
    for C in args.budgets:
        for kind in ("dp", "finite"):
            row = [r for r in runs if r.compute == C and r.kind == kind and r.seed == 1]
            if not row:
                continue
            first = row[0]
            t = sample_teacher(first.d, first.K, kind=kind, seed=first.teacher_seed)
            pairs = [(rng.standard_normal((r.width, r.d)) / 2, rng.standard_normal(r.width) / np.sqrt(r.width))
                     for r in row]
            _earlier(t, pairs[:2], 100, 0)          # compile or load outside the timing
            E.reducible_errors(t, pairs[:2], n_samples=100)
            best = np.full(3, np.inf)
            for _ in range(args.repeats):
                a = time.perf_counter()
                old = _earlier(t, pairs, first.eval_samples, first.eval_seed)
                b = time.perf_counter()
                E._EVAL_CACHE.clear()
                new = E.reducible_errors(t, pairs, n_samples=first.eval_samples, seed=first.eval_seed)
                c = time.perf_counter()
                E.reducible_errors(t, pairs, n_samples=first.eval_samples, seed=first.eval_seed)
                best = np.minimum(best, [b - a, c - b, time.perf_counter() - c])
            totals += best
            rel = float(np.max(np.abs(np.array(new) / np.array(old) - 1)))
            print(f"C={C:g} {kind:9s} {len(row)} students: earlier {best[0]:.4f} s, now {best[1]:.4f} s, "
                  f"cached stream {best[2]:.4f} s (largest relative difference {rel:.1e})")
    print(f"all rows: earlier {totals[0]:.3f} s, now {totals[1]:.3f} s, cached {totals[2]:.3f} s "
          f"({totals[0] / totals[1]:.2f}x, {totals[0] / totals[2]:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
