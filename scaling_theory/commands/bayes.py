"""`scaling-theory bayes`: the Bayes error L_T by sequential Monte Carlo, next to the bound and SGD."""

from __future__ import annotations

import argparse
import sys

from scaling_theory.commands._common import add_json_flag, emit

#: jobs estimated above this many seconds print their estimate (stderr) before they start
_ANNOUNCE_SECONDS = 10.0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bayes", help="measure the Bayes error L_T = (1/T) sum_t KL (SMC) of the Bayes-optimal or a width-n "
                      "learner against the bound and SGD",
        description="Estimate L_T = (1/T) sum_t E KL(p(y|F,x_t) || p(y|D_{t-1},x_t)) = I(F; D_T)/T for teachers "
                    "drawn from their prior by sequential Monte Carlo (mean and standard error over "
                    "teachers), evaluate the information-theoretic bound (minimised over model size, or at "
                    "the learner's width), train SGD students on the same samples, and say whether the bound "
                    "holds (bound >= L_T - 2 se). With --width n the learner's prior is the teacher's "
                    "restricted to width-n networks: for dp and pitman-yor its first n stick atoms, "
                    "renormalised; for finite the teacher's own prior when n >= K, else n units with the same "
                    "per-unit prior. Memory "
                    "and time are estimated before the job starts; a job above the machine's memory is "
                    "refused, one estimated above 10 minutes needs --allow-long. See docs/bayes.md.")
    parser.add_argument("--teacher", choices=("finite", "dp", "pitman-yor", "infinite", "dirichlet"),
                        default="finite",
                        help="finite: K ReLU units; dp: infinite width, Dirichlet process with concentration K; "
                             "pitman-yor: infinite width, Pitman-Yor process with concentration K and discount "
                             "--sigma ('infinite' and 'dirichlet' are old names of dp; default finite)")
    parser.add_argument("--sigma", default=None, metavar="S",
                        help="the Pitman-Yor teacher's discount in [0, 1) (required with --teacher pitman-yor, "
                             "refused with the others; 0 is the dp teacher)")
    parser.add_argument("--d", type=int, default=2, help="input dimension, 1..64 (default 2)")
    parser.add_argument("--K", type=int, default=2,
                        help="teacher units / DP or Pitman-Yor concentration, 1..64 (default 2)")
    parser.add_argument("--T", type=float, default=1000, help="samples, 1..10^6 (default 1000)")
    parser.add_argument("--width", type=int, default=None,
                        help="the learner's width n, 1..4096: measure the restricted Bayes learner over "
                             "width-n networks (default: the Bayes-optimal learner, the teacher's own prior)")
    parser.add_argument("--teachers", type=int, default=8, help="independent teachers, 2..100000 (default 8)")
    parser.add_argument("--particles", type=int, default=500, help="SMC particles, 100..10^6 (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of teachers, data, sampler, students (>= 0)")
    parser.add_argument("--no-sgd", action="store_true", help="skip the SGD students")
    parser.add_argument("--allow-long", action="store_true",
                        help="run a job whose estimated time is above the 10-minute limit")
    parser.add_argument("--bench", action="store_true",
                        help="print particle-updates per second of the Numba kernels and their NumPy "
                             "references, and the fraction of the machine's measured peak, instead")
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
    from scaling_theory.numeric.bayes import cost
    from scaling_theory.numeric.bayes.compare import bayes_optimal_error, check_inputs
    from scaling_theory.theory.teachers import canonical_kind, check_discount

    teacher, T = canonical_kind(args.teacher), _int_T(args.T)
    check_inputs(teacher, args.d, args.K, T, args.teachers, args.particles, args.width, args.seed, args.sigma)
    sigma = None if args.sigma is None else check_discount(args.sigma)
    est = cost.estimate(teacher, args.d, args.K, T, args.teachers, args.particles, width=args.width)
    cost.check(est, allow_long=args.allow_long)
    if est.seconds > _ANNOUNCE_SECONDS:
        sys.stderr.write(f"scaling-theory bayes: estimated {est.describe()}\n")
        sys.stderr.flush()
    r = bayes_optimal_error(teacher, args.d, args.K, T, teachers=args.teachers, particles=args.particles,
                            seed=args.seed, sgd=not args.no_sgd, width=args.width, allow_long=args.allow_long,
                            sigma=sigma)
    emit(r.to_json(), r.summary(), args.json)
    return 1 if r.holds is False else 0   # a bound below the measured Bayes error is a bug: fail loudly
