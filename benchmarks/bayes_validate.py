"""SMC estimate of L_T against the exact value where it is one integral (docs/bayes.md, "Validation").

The d = 1 learners with one unit have an exactly integrable evidence (numeric/bayes/exact.py): the
Bayes-optimal learner of the K = 1 finite teacher (also its width-1 restricted learner), the width-1
learner of a K = 2 finite teacher (misspecified: one unit for two), and the width-1 learner of the
Dirichlet-process teacher (one atom renormalised, prior scale K).

Usage: python benchmarks/bayes_validate.py [--T 50 200] [--teachers 16] [--particles 1000]
"""

import argparse

import numpy as np

from scaling_theory.numeric.bayes.exact import exact_error_d1k1
from scaling_theory.numeric.bayes.smc import run_teachers, teacher_data

#: (teacher, K, width, prior scale of the width-1 learner)
CASES = (("finite", 1, None, 1.0), ("finite", 1, 1, 1.0), ("finite", 2, 1, 1.0), ("dp", 1, 1, 1.0),
         ("dp", 2, 1, 2.0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--T", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--teachers", type=int, default=16)
    parser.add_argument("--particles", type=int, default=1000)
    args = parser.parse_args(argv)
    n, P = args.teachers, args.particles
    print("| teacher | K | learner | T | exact mean L_T | SMC mean +- se | paired SMC - exact | "
          "max abs. log-evidence error |")
    print("|---|---|---|---|---|---|---|---|")
    for T in args.T:
        for teacher, K, width, scale in CASES:
            ts, r = run_teachers(teacher, 1, K, T, teachers=n, particles=P, seed=0, width=width)
            exact = np.array([exact_error_d1k1(*teacher_data(t, T, i), scale=scale) for i, t in enumerate(ts)])
            diff = r.error - exact
            learner = "Bayes-optimal" if width is None else f"width {width}"
            print(f"| {teacher} | {K} | {learner} | {T} | {exact.mean():.6f} | {r.error.mean():.6f} +- "
                  f"{r.error.std(ddof=1) / np.sqrt(n):.6f} | {diff.mean():.1e} +- {diff.std(ddof=1) / np.sqrt(n):.1e} "
                  f"| {np.abs(diff).max() * T:.3f} nats |", flush=True)


if __name__ == "__main__":
    main()
