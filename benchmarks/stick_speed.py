"""The SMC sampler's stick map side by side: the Dirichlet map (a closed form) against the Pitman-Yor map (the
inverse Beta CDF by Halley's method, numeric/bayes/kernels.py), ns per stick fraction, and the ratio.

    python benchmarks/stick_speed.py [--n 200000] [--rounds 5]

Prints the best of ``--rounds`` timings of each map over the same standard-normal latents (sticks j = 0..7, the
widths the compute study uses) and the accuracy against SciPy's ``betaincinv`` beside it.
"""

from __future__ import annotations

import argparse
import numpy as np

from scaling_theory.numeric.bayes.bench import _best as best
from scaling_theory.numeric.bayes.kernels import log_keep, log_keep_reference


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    s, j = rng.standard_normal(args.n), rng.integers(0, 8, args.n)
    log_keep(s[:10], j[:10], 2.0)
    log_keep(s[:10], j[:10], (2.0, 0.5))                 # compiled before timing
    base = best(lambda: log_keep(s, j, 2.0), args.rounds) / args.n * 1e9
    print(f"{'stick':<28}{'ns per fraction':>16}{'ratio':>8}{'max rel. error vs SciPy':>26}")
    print(f"{'Dirichlet, K = 2':<28}{base:>16.1f}{1.0:>8.1f}{'(closed form)':>26}")
    for conc in ((2.0, 0.25), (2.0, 0.5), (2.0, 0.75), (32.0, 0.5)):
        t = best(lambda: log_keep(s, j, conc), args.rounds) / args.n * 1e9
        a, b = log_keep(s, j, conc), log_keep_reference(s, j, conc)
        err = float(np.max(np.abs(a - b) / np.abs(b)))
        print(f"{f'Pitman-Yor K = {conc[0]:g}, sigma = {conc[1]:g}':<28}{t:>16.1f}{t / base:>8.1f}{err:>26.1e}")


if __name__ == "__main__":
    main()
