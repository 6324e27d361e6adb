"""`scaling-theory bayes`: the Bayes-optimal error L_T by sequential Monte Carlo, next to the bound and SGD."""

from __future__ import annotations

import argparse

from scaling_theory.commands._common import add_json_flag, emit


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bayes", help="measure the Bayes-optimal error L_T = I(F; D_T)/T (SMC) against the bound and SGD",
        description="Estimate L_T = I(F; D_T)/T for teachers drawn from their prior by sequential Monte "
                    "Carlo (mean and standard error over teachers), evaluate the information-theoretic "
                    "bound minimised over model size, train SGD students on the same samples, and say "
                    "whether the bound holds (bound >= L_T - 2 se). See docs/bayes.md.")
    parser.add_argument("--teacher", choices=("finite", "dp", "infinite", "dirichlet"), default="finite",
                        help="finite: K ReLU units; dp: infinite width, Dirichlet process with concentration K "
                             "('infinite' and 'dirichlet' are old names of dp; default finite)")
    parser.add_argument("--d", type=int, default=2, help="input dimension, 1..4 (default 2)")
    parser.add_argument("--K", type=int, default=2, help="teacher units / DP concentration, 1..4 (default 2)")
    parser.add_argument("--T", type=float, default=1000, help="samples, 100..20000 (default 1000)")
    parser.add_argument("--teachers", type=int, default=8, help="independent teachers, 2..256 (default 8)")
    parser.add_argument("--particles", type=int, default=500, help="SMC particles, 100..20000 (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of teachers, data, sampler, students")
    parser.add_argument("--no-sgd", action="store_true", help="skip the SGD students")
    parser.add_argument("--bench", action="store_true",
                        help="print particle-updates per second of the Numba kernels and their NumPy "
                             "references instead")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _int_T(value: float):
    return int(value) if float(value).is_integer() else value


def run(args: argparse.Namespace) -> int:
    if args.bench:
        from scaling_theory.numeric.bayes.bench import bench_kernels

        result = bench_kernels()
        emit(result, "\n".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                               for k, v in result.items()), args.json)
        return 0
    from scaling_theory.numeric.bayes.compare import bayes_optimal_error

    r = bayes_optimal_error(args.teacher, args.d, args.K, _int_T(args.T), teachers=args.teachers,
                            particles=args.particles, seed=args.seed, sgd=not args.no_sgd)
    emit(r.to_json(), r.summary(), args.json)
    return 0 if r.holds else 1   # a bound below the measured Bayes-optimal error is a bug: fail loudly
