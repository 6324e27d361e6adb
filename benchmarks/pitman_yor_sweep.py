"""The sweep's Pitman-Yor teacher: its atoms against the estimate, and a task's time with its cut against the
sampler's default stick.

Usage::

    NUMBA_NUM_THREADS=1 python benchmarks/pitman_yor_sweep.py [--sigma 0.25 0.5 0.75] [--K 2 32] [--seeds 20]

Table 1, for each ``K`` and discount: the atoms the sweep's estimate counts
(:func:`scaling_theory.numeric.sweep.config.teacher_units`), the atoms of ``--seeds`` teachers the runner draws
(:func:`scaling_theory.numeric.bayes.smc.teacher_arguments`: the stick cut where it drops at most 1e-6 of
``E[F^2]``), the expected dropped share at the cut and the sampled mean of ``Teacher.dropped_share``.

Table 2, one task of a small sweep (``d = 8``, ``K = 32``, budgets 1e5 and 1e6, widths 2 and 8, 4000 evaluation
inputs) per discount, timed in this process with the cut and with the sampler's default stick (``tol = 1e-8`` or
100000 atoms, what a sweep drew before the cut), alternately, fastest of ``--repeats``; the ratio is of the two
measured side by side, and the estimate (:func:`scaling_theory.numeric.sweep.runner._cost`) is printed beside.
"""

from __future__ import annotations

import argparse
import time
from unittest import mock


def _task_seconds(task, default_stick: bool) -> float:
    from scaling_theory.numeric.sweep import runner

    if not default_stick:
        start = time.perf_counter()
        runner.train_runs(task)
        return time.perf_counter() - start
    with mock.patch("scaling_theory.numeric.bayes.smc.teacher_arguments",
                    lambda kind, K, sigma=None: {} if sigma is None else {"sigma": sigma}):
        start = time.perf_counter()
        runner.train_runs(task)
        return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sigma", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--K", type=int, nargs="+", default=[2, 32])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    import numpy as np

    from scaling_theory.numeric.bayes.smc import teacher_arguments
    from scaling_theory.numeric.sim.teacher import sample_teacher
    from scaling_theory.numeric.sweep.config import SweepConfig, pitman_yor_dropped_share, teacher_units
    from scaling_theory.numeric.sweep.runner import _cost, _group, train_runs

    print("| K | sigma | atoms estimated | sampled mean | sampled max | expected dropped share | sampled mean share |")
    print("|---|---|---|---|---|---|---|")
    for K in args.K:
        for s in args.sigma:
            ts = [sample_teacher(8, K, kind="pitman-yor", seed=i, **teacher_arguments("pitman-yor", K, s))
                  for i in range(args.seeds)]
            m = np.array([t.m for t in ts])
            est = teacher_units(8, K, "pitman-yor", s)
            share = pitman_yor_dropped_share(K, s, int(est)) if s else float("nan")
            print(f"| {K} | {s:g} | {est:.0f} | {m.mean():.0f} | {m.max()} | {share:.2g} | "
                  f"{np.mean([t.dropped_share for t in ts]):.2g} |")

    base = {"d": 8, "K": 32, "budgets": [1e5, 1e6], "widths": [2, 8], "eval_samples": 4000}
    train_runs(SweepConfig.from_dict({**base, "budgets": [1e4], "kind": "dp"}).expand()[0])   # compile
    print("\n| sigma | atoms (cut) | estimated s | cut s | default stick s | default / cut |")
    print("|---|---|---|---|---|---|")
    for s in args.sigma:
        [task] = _group(SweepConfig.from_dict({**base, "kind": "pitman-yor", "sigma": [s]}).expand()[0])
        best = {False: float("inf"), True: float("inf")}
        for _ in range(args.repeats):
            for default in (False, True):
                best[default] = min(best[default], _task_seconds(task, default))
        print(f"| {s:g} | {teacher_units(8, 32, 'pitman-yor', s):.0f} | {_cost(task) * 1e-9:.2f} | {best[False]:.2f} | "
              f"{best[True]:.2f} | {best[True] / best[False]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
