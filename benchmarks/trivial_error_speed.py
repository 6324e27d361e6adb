"""The trivial error's two samplers side by side: unit by unit and dimension-free, seconds and values.

Usage::

    python benchmarks/trivial_error_speed.py [--teachers 200] [--inputs 128] [--repeat 3]

For each teacher below, ``F(X)`` at ``teachers x inputs`` draws by the unit-by-unit sampler
(:func:`scaling_theory.numeric.precision.teacher_bounds.sample_teacher_outputs`, the one ``trivial_error`` keeps
below :data:`~scaling_theory.numeric.precision.teacher_bounds.EXPLICIT_WORK`) and by the dimension-free
:func:`~scaling_theory.numeric.precision.teacher_bounds.sample_outputs_marginal`, alternating, fastest of
``--repeat`` tries each.  Prints each one's seconds, their ratio, the trivial error each gives with its Monte
Carlo standard error, and the work :func:`~scaling_theory.numeric.precision.teacher_bounds.trivial_error_cost`
estimated for the unit-by-unit sampler before anything was drawn.  Rows whose unit-by-unit draw would not fit
(``d = 1e9``) show the dimension-free sampler alone.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

CASES = [("dp", "barron", 8, 32), ("dp", "barron", 1000, 4), ("dp", "barron", 10_000, 4),
         ("finite", "barron", 16, 2000), ("dp", "barron", 10**9, 4), ("finite", "barron", 16, 10**9)]


def _estimate(F: np.ndarray) -> tuple[float, float]:
    from scipy.special import expit

    prob = expit(F)
    q = prob.mean()
    kl = prob * (-np.logaddexp(0, -F) - math.log(q)) + (1 - prob) * (-np.logaddexp(0, F) - math.log1p(-q))
    per = kl.mean(axis=1)
    return float(per.mean()), float(per.std(ddof=1) / math.sqrt(len(per)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teachers", type=int, default=200)
    parser.add_argument("--inputs", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from scaling_theory.numeric.precision import teacher_bounds as tb

    print(f"{'teacher':<24} {'est. work':>10} {'unit-by-unit s':>15} {'dim-free s':>11} {'ratio':>7} "
          f"{'trivial (unit-by-unit)':>24} {'trivial (dim-free)':>20}")
    for kind, scale, d, K in CASES:
        cost = tb.trivial_error_cost(kind, d, K, teachers=args.teachers, inputs=args.inputs)
        feasible = cost.explicit_work <= 50 * tb.EXPLICIT_WORK
        best = {"explicit": math.inf, "marginal": math.inf}
        F = {}
        for _ in range(args.repeat):
            for which in ("explicit", "marginal") if feasible else ("marginal",):
                rng = np.random.default_rng(0)
                start = time.perf_counter()
                if which == "explicit":
                    F[which] = np.stack([tb.sample_teacher_outputs(kind, scale, d, K, rng, args.inputs)
                                         for _ in range(args.teachers)])
                else:
                    F[which] = tb.sample_outputs_marginal(kind, scale, d, K, rng, args.teachers, args.inputs)
                best[which] = min(best[which], time.perf_counter() - start)
        te = {k: "%.4f +- %.4f" % _estimate(v) for k, v in F.items()}
        ratio = best["explicit"] / best["marginal"]
        label = f"{kind} d={d:g} K={K:g}"
        print(f"{label:<24} {cost.explicit_work:>10.2g} {best['explicit']:>15.3g} {best['marginal']:>11.3g} "
              f"{ratio if feasible else math.nan:>7.1f} {te.get('explicit', 'does not fit'):>24} {te['marginal']:>20}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
