"""`scaling-theory simulate`: run (or resume) a teacher–student IsoFLOP sweep into a SQLite store."""

from __future__ import annotations

import shlex
import sys

from scaling_theory.errors import UserInputError
from scaling_theory.commands._common import add_json_flag, emit, positive_int

DEFAULT_STORE = "results.sqlite"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate", help="run a teacher-student compute sweep (resumable) into a SQLite store",
        description="Run the teacher-student IsoFLOP sweep: for every compute budget C and student width n, "
                    "train on T = C / (n (d+1)) samples and record the reducible error. Finished runs "
                    "are kept in the store; rerunning the same command resumes.")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--config", metavar="FILE.toml", help="sweep configuration (default: the built-in study)")
    which.add_argument("--quick", action="store_true", help="a tiny sweep that runs in seconds")
    parser.add_argument("--store", metavar="PATH", default=DEFAULT_STORE,
                        help=f"SQLite result store (default: {DEFAULT_STORE})")
    parser.add_argument("--executor", choices=("local", "dask"), default=None,
                        help="local process pool (default) or Dask distributed")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler to connect to, e.g. tcp://10.0.0.5:8786 (default: start a LocalCluster)")
    parser.add_argument("--workers", type=positive_int, metavar="N",
                        help="worker processes (default: number of CPUs)")
    parser.add_argument("--device", choices=("cpu", "numpy", "cuda"), default=None,
                        help="trainer for every run: compiled CPU kernels (default), the NumPy reference, or "
                             "the numba.cuda kernels (a GPU, or the simulator with NUMBA_ENABLE_CUDASIM=1); "
                             "overrides the config's device")
    parser.add_argument("--allow-long", action="store_true",
                        help="run a sweep estimated to take more than 24 hours on its workers (refused "
                             "without this flag; a sweep over the machine's memory is always refused)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or estimate")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _resume_command(args) -> str:
    parts = ["scaling-theory", "simulate"]
    if args.config:
        parts += ["--config", args.config]
    if args.quick:
        parts.append("--quick")
    parts += ["--store", args.store]
    if args.executor == "dask" or args.scheduler:
        parts += ["--executor", "dask"]
    if args.scheduler:
        parts += ["--scheduler", args.scheduler]
    if args.workers:
        parts += ["--workers", str(args.workers)]
    if args.device:
        parts += ["--device", args.device]
    if args.allow_long:
        parts.append("--allow-long")
    return " ".join(shlex.quote(p) for p in parts)


def run(args) -> int:
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import SweepInterrupted, run_sweep

    executor = args.executor or ("dask" if args.scheduler else "local")
    if args.scheduler and executor != "dask":
        raise UserInputError("--scheduler needs --executor dask")
    if args.config:
        config = SweepConfig.from_toml(args.config)
    elif args.quick:
        config = SweepConfig.quick()
    else:
        config = SweepConfig.default()
    if args.device:
        config = config.with_device(args.device)
    if config.device == "cuda":  # refuse before the store is created, not once per run
        from scaling_theory.numeric.sim.train_cuda import require_backend

        require_backend()
    resume = _resume_command(args)
    try:
        summary = run_sweep(config, args.store, executor=executor, scheduler=args.scheduler,
                            workers=args.workers, progress=not (args.quiet or args.json),
                            allow_long=args.allow_long)
    except SweepInterrupted as stop:
        summary = stop.summary
        terminated = summary.stopped_by == "SIGTERM"
        sys.stderr.write(f"scaling-theory simulate: {'terminated (SIGTERM)' if terminated else 'interrupted'}; "
                         f"{summary.store_counts.get('done', 0)} done runs are kept in {summary.store}; "
                         f"resume with: {resume}\n")
        return 143 if terminated else 130
    payload = summary.to_json()
    payload["resume_command"] = resume
    emit(payload, summary.text(resume), args.json)
    return 0 if summary.complete else 1
