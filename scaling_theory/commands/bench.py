"""`scaling-theory bench`: time the Numba trainer against the NumPy reference and PyTorch, side by side."""

from __future__ import annotations

from scaling_theory.commands._common import add_json_flag, emit, positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="time the student trainers (Numba CPU, NumPy reference, PyTorch) side by side",
        description="Run the online (d=32, n=32, T=2^14, B=1), batched (d=32, n in {8,32,128}, "
                    "T=2^16, B=32, 8 students) and peak (NumPy matmul) workloads on the same data "
                    "and initialisation; print samples*params/s, GFLOP/s and the speed ratios.")
    parser.add_argument("--quick", action="store_true", help="smaller T for a fast smoke run")
    parser.add_argument("--repeat", type=positive_int, default=None,
                        help="timing repetitions for the Numba trainer (best kept; default 3, quick 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    from scaling_theory.numeric.sim.bench import run_bench

    result = run_bench(quick=args.quick, repeat=args.repeat, progress=not args.quiet)
    emit(result.to_json(), result.to_text(), args.json)
    return 0
