"""SMC estimate of L_T against the exact value for the d=1, K=1 finite teacher (docs/bayes.md, "Validation").

Usage: python benchmarks/bayes_validate.py [T ...]
"""

import sys

import numpy as np

from scaling_theory.numeric.bayes.exact import exact_error_d1k1
from scaling_theory.numeric.bayes.smc import run_teachers, teacher_data


def main(Ts, n=16, P=1000):
    for T in Ts:
        ts, r = run_teachers("finite", 1, 1, T, teachers=n, particles=P, seed=0)
        exact = np.array([exact_error_d1k1(*teacher_data(t, T, i)) for i, t in enumerate(ts)])
        diff = r.error - exact
        print(f"T={T} teachers={n} particles={P}: exact mean {exact.mean():.6f}, SMC mean {r.error.mean():.6f} "
              f"+- {r.error.std(ddof=1) / np.sqrt(n):.6f} (se over teachers), per-step KL mean "
              f"{r.error_rb.mean():.6f}; paired SMC - exact: mean {diff.mean():.2e} +- "
              f"{diff.std(ddof=1) / np.sqrt(n):.1e}, max |log-evidence error| {np.abs(diff).max() * T:.3f} nats")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200, 1000])
