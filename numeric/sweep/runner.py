"""Running a sweep: the real and synthetic runners, the resumable driver, and its summary.

:func:`run_sweep` expands a :class:`~scaling_theory.numeric.sweep.config.SweepConfig`, skips the runs
the store already holds, groups the rest into tasks (one IsoFLOP row: runs sharing teacher, data
stream and budget), runs them on an executor (:mod:`scaling_theory.numeric.sweep.executors`: local
process pool by default, Dask for clusters) and records each finished run in one transaction
(:mod:`scaling_theory.numeric.sweep.store`), so a killed sweep resumes with nothing lost.

Examples
--------
>>> import os, tempfile
>>> from scaling_theory.numeric.sweep.config import SweepConfig
>>> tmp = tempfile.TemporaryDirectory()
>>> db = os.path.join(tmp.name, "runs.sqlite")
>>> summary = run_sweep(SweepConfig.quick(), db, progress=False, runner=synthetic_runner)
>>> summary.done, summary.complete
(14, True)
>>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sweep.config import (WORKER_BASE_BYTES, RunSpec, SweepConfig, available_memory,
                                                 describe_memory, machine_memory, task_memory, teacher_units)
from scaling_theory.numeric.sweep.store import Store, StoreError

__all__ = ["SweepSummary", "SweepInterrupted", "SweepEstimate", "run_sweep", "estimate_sweep", "train_runs",
           "synthetic_runner", "LONG_JOB_LIMIT_S", "NOTICE_S"]

_SERIAL_BELOW = 1e8  # total compute under which a default local sweep runs in this process (~1 s)
#: a sweep estimated to run longer than this (wall clock on its workers) is refused unless the
#: caller allows it (``run_sweep(allow_long=True)``, ``simulate --allow-long``)
LONG_JOB_LIMIT_S = 24 * 3600.0
#: a sweep estimated to run longer than this prints its estimate before it starts
NOTICE_S = 60.0

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# runners: a task is a list of runs sharing teacher, data stream and T; a runner returns one
# result dict per run (status, reason, error, error_se, seconds, metrics)


def _student_config(StudentConfig, run: RunSpec):
    names = {f.name for f in fields(StudentConfig)}
    kwargs: dict[str, Any] = {"lr": run.lr, "batch_size": run.batch_size, "optimizer": run.optimizer,
                              "init_seed": run.init_seed, "schedule": run.schedule, "t0": run.t0,
                              "parametrisation": run.parametrisation, "precision": run.precision}
    kwargs["width" if "width" in names else "n"] = run.width
    return StudentConfig(**{k: v for k, v in kwargs.items() if k in names})


def train_runs(runs: Sequence[RunSpec], *, batched_eval: bool = True) -> list[dict[str, Any]]:
    """The real runner: sample the teacher, train every student on one data stream, measure error.

    Uses ``scaling_theory.numeric.sim.teacher.sample_teacher``, ``scaling_theory.numeric.sim.training.train`` (single-pass SGD, each
    sample seen once, so compute is exactly p·T) and ``scaling_theory.numeric.sim.error.reducible_errors`` (Monte-Carlo
    KL on fresh inputs, docs/paper-setting.md "Empirical check"), all students of the task on the
    same evaluation inputs in one pass (``batched_eval=False``: one ``reducible_error`` call per
    run, the earlier path, kept for the speed benchmark).  A non-finite error is recorded as diverged.
    The teacher is the one the SMC and the compute study draw for the same kind and seed
    (:func:`scaling_theory.numeric.bayes.smc.teacher_arguments`: a Pitman-Yor stick cut at
    :func:`~scaling_theory.numeric.sweep.config.pitman_yor_cut` atoms, where it drops at most 1e-6 of ``E[F^2]``).
    A stick-breaking teacher's runs (``dp``, ``pitman-yor``) record its stick in ``metrics.teacher_atoms``,
    ``metrics.teacher_leftover`` and ``metrics.teacher_dropped_share`` (the expected share of ``E[F^2]`` its cut
    dropped, :attr:`~scaling_theory.numeric.sim.teacher.Teacher.dropped_share`).
    Runs carrying a validation seed (``RunSpec.val_seed``) also get ``metrics.val_error``, the same
    estimate on an independent evaluation stream, which learning-rate selection uses (so the
    reported error is not the one the choice was made on).  Every finished run also gets
    ``metrics.online_kl`` and ``metrics.online_kl_se``: the time-averaged online KL over its training
    samples, each taken before the step that uses it (``TrainResult.online_kl``), the quantity the
    paper's bound is about, while ``error`` is the KL of the final weights on fresh inputs.
    """
    from scaling_theory.numeric.bayes.smc import teacher_arguments
    from scaling_theory.numeric.sim.error import reducible_error, reducible_errors
    from scaling_theory.numeric.sim.teacher import sample_teacher
    from scaling_theory.numeric.sim.students import StudentConfig
    from scaling_theory.numeric.sim.training import train

    first = runs[0]
    # the data teacher of the SMC and the compute study: a Pitman-Yor stick cut where it drops <= 1e-6 of E[F^2]
    teacher = sample_teacher(first.d, first.K, kind=first.kind, seed=first.teacher_seed,
                             **teacher_arguments(first.kind, first.K, first.sigma))
    students = [_student_config(StudentConfig, run) for run in runs]
    # one call per IsoFLOP row: every student reads a prefix of the same stream
    results = train(teacher, students, [run.samples for run in runs], data_seed=first.data_seed,
                    device=first.device)
    out = []
    done = [i for i, res in enumerate(results) if res.status == "done"]
    errors: dict[int, tuple[float, float]] = {}
    val_errors: dict[int, tuple[float, float]] = {}
    start = time.perf_counter()
    if done and batched_eval:
        # runs of one task share eval_samples and seed (see _group), so one pass serves them all
        pairs = [(results[i].W, results[i].v) for i in done]
        errors = dict(zip(done, reducible_errors(teacher, pairs, n_samples=first.eval_samples,
                                                 seed=first.eval_seed)))
        if first.val_seed is not None:
            val_errors = dict(zip(done, reducible_errors(teacher, pairs, n_samples=first.eval_samples,
                                                         seed=first.val_seed)))
    else:
        for i in done:
            errors[i] = reducible_error(teacher, results[i].W, results[i].v, n_samples=runs[i].eval_samples,
                                        seed=runs[i].eval_seed)
            if runs[i].val_seed is not None:
                val_errors[i] = reducible_error(teacher, results[i].W, results[i].v,
                                                n_samples=runs[i].eval_samples, seed=runs[i].val_seed)
    eval_seconds = (time.perf_counter() - start) / max(len(done), 1)
    for i, (run, res) in enumerate(zip(runs, results)):
        item: dict[str, Any] = {"status": res.status, "reason": res.reason, "error": None, "error_se": None,
                                "seconds": float(res.seconds),
                                "metrics": {"samples_seen": int(res.samples_seen)}}
        if teacher.pi is not None:
            # the sampled stick: its atoms, and what its cut dropped (docs/simulator.md, the teachers)
            item["metrics"].update(teacher_atoms=teacher.m, teacher_leftover=teacher.leftover,
                                   teacher_dropped_share=teacher.dropped_share)
        if res.status == "done":
            mean, se = errors[i]
            item["metrics"]["eval_seconds"] = eval_seconds
            if math.isfinite(res.online_kl):
                # the time-averaged error the bound is about, beside the final weights' ``error``
                item["metrics"]["online_kl"] = float(res.online_kl)
                if math.isfinite(res.online_kl_se):
                    item["metrics"]["online_kl_se"] = float(res.online_kl_se)
            if i in val_errors:
                item["metrics"]["val_error"], item["metrics"]["val_error_se"] = val_errors[i]
            if math.isfinite(mean) and math.isfinite(se):
                item.update(error=float(mean), error_se=float(se))
            else:
                item.update(status="diverged", reason="reducible error is not finite")
        elif not item["reason"]:
            item["reason"] = "training diverged"
        out.append(item)
    return out


def synthetic_runner(runs: Sequence[RunSpec], *, delay: float = 0.0, diverge_below: int = 0,
                     fail_width: int | None = None) -> list[dict[str, Any]]:
    """A stand-in runner for tests and demos: error from a known law, no training.

    error = 0.5·(d·K)/p^0.5 + 2·K/T^0.5 with 1% multiplicative noise fixed by the run's seed;
    runs with T < ``diverge_below`` are ``diverged``; ``fail_width`` raises (a ``failed`` run);
    ``delay`` sleeps per run (to test kills and interrupts).

    Parameters
    ==========
    runs : the runs of one task (an IsoFLOP row).
    delay : seconds slept per run.
    diverge_below : runs with fewer samples are reported ``diverged``.
    fail_width : a run of this width raises ``RuntimeError`` (recorded as ``failed``, retried).

    Returns
    =======
    list[dict]
        One result per run (``status``, ``reason``, ``error``, ``error_se``, ``seconds``,
        ``metrics``), the layout :func:`train_runs` returns.

    Examples
    ========
    >>> runs, _ = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2, 4]}).expand()
    >>> [(r.params, r.samples) for r in runs]
    [(5, 2000), (10, 1000), (20, 500)]
    >>> out = synthetic_runner(runs, diverge_below=1000)
    >>> [(o["status"], None if o["error"] is None else round(o["error"], 4)) for o in out]
    [('done', 1.865), ('done', 1.3943), ('diverged', None)]
    >>> round(0.5 * 4 * 2 / 5**0.5 + 2 * 2 / 2000**0.5, 4)   # the law without its 1% noise
    1.8783
    """
    out = []
    for run in runs:
        if delay:
            time.sleep(delay)
        if fail_width is not None and run.width == fail_width:
            raise RuntimeError(f"synthetic failure at width {run.width}")
        if run.samples < diverge_below:
            out.append({"status": "diverged", "reason": "synthetic divergence", "error": None,
                        "error_se": None, "seconds": delay, "metrics": {}})
            continue
        noise = 1 + 0.01 * math.sin(run.eval_seed % 1000 + run.width)
        error = (0.5 * run.d * run.K / math.sqrt(run.params) + 2.0 * run.K / math.sqrt(run.samples)) * noise
        out.append({"status": "done", "reason": None, "error": error, "error_se": 0.01 * error,
                    "seconds": delay, "metrics": {"synthetic": True}})
    return out


def _execute(runner: Callable, runs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    # runs in a worker: an exception becomes a 'failed' result (retried on resume); if a row of
    # several runs fails, each run is tried alone so one bad run does not fail its whole row
    try:
        return _checked(runner, runs)
    except Exception as err:  # noqa: BLE001 - recorded as the run's reason
        if len(runs) == 1:
            return [_failure(err)]
    out = []
    for run in runs:
        try:
            out.extend(_checked(runner, [run]))
        except Exception as err:  # noqa: BLE001
            out.append(_failure(err))
    return out


def _checked(runner: Callable, runs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    results = list(runner(runs))
    if len(results) != len(runs):
        raise RuntimeError(f"runner returned {len(results)} results for {len(runs)} runs")
    return results


def _failure(err: BaseException) -> dict[str, Any]:
    reason = f"{type(err).__name__}: {' '.join(str(err).split())}"[:500]
    return {"status": "failed", "reason": reason, "error": None, "error_se": None, "seconds": None,
            "metrics": {}}


# ---------------------------------------------------------------------------------------------
# running


@dataclass
class SweepSummary:
    """What one :func:`run_sweep` call did (counts are runs; ``skipped`` lists configs not run).

    Parameters
    ==========
    store, executor : where the results went and what ran them.
    total : runs in the sweep; ``already`` of them were finished in the store before this call.
    done, diverged, failed : what this call recorded; ``concurrent``: finished by another sweep.
    pT : sum of p*T (parameters times samples) over the runs this call recorded done or diverged,
        so ``pT / seconds`` is the call's simulation rate.
    remaining : runs not run (an interrupt); ``interrupted``: Ctrl-C or SIGTERM stopped the call
        (``stopped_by``: ``"SIGINT"`` or ``"SIGTERM"``).
    store_counts : rows per status in the store afterwards.
    estimated_seconds, estimated_bytes : the estimate made before the runs started
        (:func:`estimate_sweep`; ``None`` when nothing was left to run).

    Examples
    ========
    >>> s = SweepSummary(store="runs.sqlite", executor="serial", total=3, done=1, remaining=2,
    ...                  interrupted=True, store_counts={"done": 1})
    >>> s.complete, s.to_json()["skipped"]
    (False, 0)
    >>> print(s.text("scaling-theory simulate --store runs.sqlite"))
    sweep: 3 runs (0 configs skipped: too few samples), 0 already in the store
    this call: 1 done, 0 diverged, 0 failed, 2 not run in 0.0 s on serial
    store: runs.sqlite (1 done, 0 diverged, 0 failed)
    interrupted: finished runs are kept; rerun to resume: scaling-theory simulate --store runs.sqlite
    """

    store: str
    executor: str
    total: int = 0
    already: int = 0
    done: int = 0
    diverged: int = 0
    failed: int = 0
    concurrent: int = 0
    remaining: int = 0
    pT: float = 0.0
    seconds: float = 0.0
    interrupted: bool = False
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    store_counts: dict[str, int] = field(default_factory=dict)
    config_hash: str = ""
    stopped_by: str | None = None
    estimated_seconds: float | None = None
    estimated_bytes: float | None = None

    @property
    def complete(self) -> bool:
        """Every run of the sweep is finished (done or diverged) in the store."""
        return not self.interrupted and self.failed == 0 and self.remaining == 0

    def to_json(self) -> dict[str, Any]:
        """Counts as plain JSON (``skipped`` as a number, plus ``skipped_reasons`` and ``complete``)."""
        out = asdict(self)
        out["skipped"] = len(self.skipped)
        out["skipped_reasons"] = sorted({s["reason"].split(" < ")[-1] for s in self.skipped})
        out["complete"] = self.complete
        return out

    def text(self, resume_command: str | None = None) -> str:
        """A few lines for people: counts, where the results are, how to resume."""
        lines = [f"sweep: {self.total} runs ({len(self.skipped)} configs skipped: too few samples), "
                 f"{self.already} already in the store",
                 f"this call: {self.done} done, {self.diverged} diverged, {self.failed} failed"
                 + (f", {self.concurrent} written by another sweep" if self.concurrent else "")
                 + (f", {self.remaining} not run" if self.remaining else "")
                 + (f" in {self.seconds:.1f} s on {self.executor}" if self.already < self.total
                    else " (nothing left to run)")]
        if self.failures:
            lines.append(f"first failure: {self.failures[0]}")
        c = self.store_counts
        lines.append(f"store: {self.store} ({c.get('done', 0)} done, {c.get('diverged', 0)} diverged, "
                     f"{c.get('failed', 0)} failed)")
        if not self.complete:
            why = ("terminated (SIGTERM)" if self.stopped_by == "SIGTERM" else "interrupted") if self.interrupted \
                else "failed runs are retried"
            lines.append(f"{why}: finished runs are kept; rerun to resume"
                         + (f": {resume_command}" if resume_command else ""))
        return "\n".join(lines)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during :func:`run_sweep`; ``summary`` holds what was finished (and kept),
    ``summary.stopped_by`` which signal it was."""

    def __init__(self, summary: SweepSummary):
        super().__init__("sweep interrupted")
        self.summary = summary


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so the sweep stops as on Ctrl-C (workers stopped, store kept)."""


@contextlib.contextmanager
def _sigterm_stops_the_sweep():
    """While a sweep runs, SIGTERM raises :class:`_Terminated` in the main thread (a second SIGTERM
    kills at once), so the pool is shut down and the summary written, as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cost(runs: Sequence[RunSpec]) -> float:
    """A task's work in about nanoseconds of one core (the progress bar's ETA and the order tasks
    start in, largest first).

    Calibrated on the 2-core development machine: the data stream costs 150 ns per sample plus
    0.17 ns per teacher unit and input dimension (a Dirichlet-process teacher truncated at leftover
    mass 1e-8 has about K ln(1e8) atoms: 1060 ns per sample at K = 32, d = 8, against 240 ns for
    the finite teacher; a Pitman-Yor teacher's typical count is
    :func:`~scaling_theory.numeric.sweep.config.teacher_units`, up to its cut); online SGD about 0.45 ns per p·T plus 80 ns per sample for the
    per-sample scalar chain; evaluation on two streams (the reported error's and the validation
    one), each drawn and labelled once per task at about 450 ns plus 0.15 ns per teacher unit and
    input dimension per input (measured: 472 ns at d = 8, K = 32; 1635 ns at K = 1024), then 0.5 ns
    per parameter and input for each student.
    """
    first = runs[0]
    atoms = teacher_units(first.d, first.K, first.kind, first.sigma, bound=False)
    data = max(r.samples for r in runs) * (150.0 + 0.17 * atoms * first.d)
    train = sum(r.samples * (0.45 * r.params + 80.0) for r in runs)
    n_eval = max(r.eval_samples for r in runs)
    evaluation = 2 * n_eval * (450.0 + 0.15 * atoms * first.d) + sum(2 * r.eval_samples * 0.5 * r.params
                                                                     for r in runs)
    return float(data + train + evaluation)


def _group(runs: Iterable[RunSpec], by_budget: bool = False) -> list[list[RunSpec]]:
    # one task per teacher and data stream: every budget's students read prefixes of the same
    # stream, so the stream is drawn once (~10% of a default sweep); ``by_budget`` splits tasks
    # into IsoFLOP rows (one budget each), finer tasks for a cluster with many workers
    groups: dict[tuple, list[RunSpec]] = {}
    for run in runs:
        key = (run.d, run.K, run.kind, run.sigma, run.seed, run.device, run.cost_factor, run.eval_samples)
        if by_budget:
            key += (run.compute,)
        groups.setdefault(key, []).append(run)
    # largest first: better packing on few workers
    return sorted(groups.values(), key=_cost, reverse=True)


@dataclass
class SweepEstimate:
    """What a sweep will cost before it starts: time on its workers and peak memory.

    Parameters
    ==========
    runs, tasks : runs left to run and the tasks they form (one teacher and data stream each).
    workers : processes the tasks are spread over.
    core_seconds : the work in seconds of one core (:func:`_cost`, calibrated on the 2-core
        development machine).
    seconds : wall-clock estimate: the tasks packed largest first on ``workers`` processes.
    task_bytes : peak memory of the largest task (:func:`scaling_theory.numeric.sweep.config.task_memory`).
    total_bytes : peak memory of the pool: the ``workers`` largest tasks at once, plus
        :data:`~scaling_theory.numeric.sweep.config.WORKER_BASE_BYTES` per worker process.
    task_parts : the largest task's memory by part (students, teacher, stream, evaluation).

    Examples
    ========
    >>> e = SweepEstimate(runs=10, tasks=2, workers=2, core_seconds=28800.0, seconds=14400.0,
    ...                   task_bytes=2**30, total_bytes=2.5 * 2**30)
    >>> e.text()
    'estimate: 10 runs in 2 tasks, about 4 h on 2 worker processes (8 core-hours), peak memory about 2.5 GiB'
    """

    runs: int
    tasks: int
    workers: int
    core_seconds: float
    seconds: float
    task_bytes: float
    total_bytes: float
    task_parts: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        where = f"{self.workers} worker process{'es' if self.workers > 1 else ''}" if self.workers > 1 \
            else "one process"
        return (f"estimate: {self.runs} runs in {self.tasks} tasks, about {_duration(self.seconds)} on {where} "
                f"({self.core_seconds / 3600:.3g} core-hours), peak memory about {self.total_bytes / 2**30:.3g} GiB")


def _duration(seconds: float) -> str:
    """``"40 s"``, ``"3.2 min"``, ``"5 h"`` or ``"36 days"``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.2g} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.2g} h"
    return f"{seconds / 86400:.3g} days"


def estimate_sweep(runs: Sequence[RunSpec], workers: int = 1, *, by_budget: bool = False,
                   processes: int | None = None) -> SweepEstimate:
    """Time and memory of running ``runs`` on ``workers`` processes, before anything starts.

    The runs are grouped into tasks as :func:`run_sweep` groups them; each task's work is
    :func:`_cost` (nanoseconds of one core: the data stream, with the teacher's units or atoms
    per sample, the students' p·T and the evaluation), and the tasks are packed largest first onto
    ``workers`` processes, as the pool runs them; memory is each task's
    :func:`~scaling_theory.numeric.sweep.config.task_memory`, the ``workers`` largest at once, plus
    the base memory of every worker process started (a pool starts no more than there are tasks;
    ``processes`` overrides that count, e.g. for a Dask LocalCluster, which starts all its workers).

    Examples
    ========
    >>> runs, _ = SweepConfig.quick().expand()
    >>> e = estimate_sweep(runs, workers=2)
    >>> e.runs, e.tasks, e.workers, e.seconds < 60, e.task_bytes < 2**30
    (14, 1, 1, True, True)
    >>> big, _ = SweepConfig.from_dict({"d": 8, "K": 10**7, "budgets": [1e10], "widths": [100]}).expand()
    >>> estimate_sweep(big).seconds > 86400          # a teacher of 1e7 units labels each sample slowly
    True
    """
    tasks = _group(runs, by_budget=by_budget)
    costs = [_cost(t) * 1e-9 for t in tasks]
    used = max(1, min(int(workers), len(tasks)))
    loads = [0.0] * used
    for cost in costs:  # already largest first
        heapq.heapreplace(loads, loads[0] + cost)
    parts = [task_memory(t) for t in tasks]
    biggest = max(parts, key=lambda p: p["total"], default={"total": 0.0})
    top = sorted((p["total"] for p in parts), reverse=True)[:used]
    started = used if processes is None else max(int(processes), used)
    return SweepEstimate(runs=len(runs), tasks=len(tasks), workers=started, core_seconds=sum(costs),
                         seconds=max(loads), task_bytes=biggest["total"],
                         total_bytes=sum(top) + started * WORKER_BASE_BYTES, task_parts=biggest)


def _check_estimate(estimate: SweepEstimate, *, allow_long: bool, local: bool) -> None:
    """Refuse a sweep above the machine's memory (always) or the time limit (unless allowed)."""
    have = machine_memory()
    if local and estimate.total_bytes > have:
        per = estimate.task_bytes + WORKER_BASE_BYTES
        fits = int(have // per) if per > 0 else 0
        hint = (f"use at most {fits} worker{'s' if fits > 1 else ''} (--workers {fits})" if 1 <= fits < estimate.workers
                else "shrink the sweep")
        raise UserInputError(
            f"the sweep needs about {estimate.total_bytes / 2**30:.3g} GiB of memory on {estimate.workers} "
            f"worker process{'es' if estimate.workers > 1 else ''} (largest task "
            f"{describe_memory(estimate.task_parts)}, plus {WORKER_BASE_BYTES / 2**30:.2g} GiB per worker), "
            f"more than this machine's {have / 2**30:.3g} GiB; {hint}")
    free = available_memory()
    if local and estimate.total_bytes > free:
        _log.warning("warning: the sweep needs about %.3g GiB of memory, more than the %.3g GiB free on this "
                     "machine now; other programs may be pushed out", estimate.total_bytes / 2**30, free / 2**30)
    if estimate.seconds > LONG_JOB_LIMIT_S and not allow_long:
        raise UserInputError(
            f"the sweep would run about {_duration(estimate.seconds)} on {estimate.workers} worker "
            f"process{'es' if estimate.workers > 1 else ''} ({estimate.runs} runs, "
            f"{estimate.core_seconds / 3600:.3g} core-hours), over the {LONG_JOB_LIMIT_S / 3600:.0f} h limit; "
            f"shrink it, or pass --allow-long (allow_long=True) to run it anyway")


def run_sweep(config: SweepConfig | None = None, store_path: str | os.PathLike = "results.sqlite", *,
              executor: str = "local",
              scheduler: str | None = None, workers: int | None = None, progress: bool = True,
              runner: Callable[[Sequence[RunSpec]], list[dict]] | None = None,
              allow_long: bool = False) -> SweepSummary:
    """Run every unfinished run of ``config`` and record each in the store at ``store_path``.

    Parameters
    ==========
    config : SweepConfig, optional
        The sweep (default: :meth:`SweepConfig.default`, the built-in study).
    store_path : path
        The SQLite store (created if missing). Runs already ``done`` or ``diverged`` there are
        skipped; ``failed`` runs are retried.
    executor : {"local", "dask", "serial"}
        ``local`` is a process pool (``workers=1`` runs in this process); ``dask`` uses
        ``scheduler`` or a new LocalCluster. Only this process writes the store.
    workers : int, optional
        Worker processes (default ``os.cpu_count()``; a default local sweep of under 1e8 total
        compute runs in this process, where a pool's start-up would cost more than it saves).
        The workers never import the calling script, so a script needs no
        ``if __name__ == "__main__":`` guard to call this (it still needs one if it passes a
        ``runner`` defined in the script, which the workers must import to find). They exit when
        this process ends, however it ends (:func:`scaling_theory.numeric.sweep.executors.exit_with_parent`).
    progress : bool
        A tqdm bar with ETA on stderr, and the estimate (:func:`estimate_sweep`) before a sweep
        of more than a minute.
    runner : callable, optional
        ``runner(runs) -> list[dict]`` replacing the real trainer (:func:`train_runs`); must be
        picklable for process executors (e.g. ``functools.partial(synthetic_runner, delay=0.1)``).
    allow_long : bool
        Run a sweep estimated to take more than :data:`LONG_JOB_LIMIT_S` (24 h) on its workers;
        without it such a sweep is refused before anything starts. A sweep whose estimated memory
        exceeds the machine's is always refused.

    Returns
    =======
    SweepSummary

    Raises
    ======
    SweepInterrupted
        On Ctrl-C or SIGTERM, after stopping the workers; every run finished before it is in the store.
    StoreError
        The store is foreign, corrupt, read-only, or a write failed (disk full); earlier runs are kept.
    UserInputError
        The sweep's estimate exceeds the machine's memory, or the time limit without ``allow_long``
        (nothing is run or created).

    Examples
    ========
    >>> import tempfile, os
    >>> from scaling_theory.numeric.sweep.config import SweepConfig
    >>> from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "runs.sqlite")
    >>> s = run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    >>> (s.done, s.already, s.complete)
    (14, 0, True)

    Rerunning resumes: nothing finished is run or written again.

    >>> again = run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    >>> again.already, again.done, again.store_counts
    (14, 0, {'done': 14, 'diverged': 0, 'failed': 0})
    >>> from scaling_theory.numeric.sweep.store import Store
    >>> with Store(path) as store:
    ...     sorted({r["compute"] for r in store.rows()})
    [10000.0, 100000.0, 1000000.0]
    >>> tmp.cleanup()
    """
    from tqdm import tqdm

    from scaling_theory.numeric.sweep.executors import EXECUTORS, open_executor

    config = SweepConfig.default() if config is None else config
    # the arguments first: the estimate below reads them
    if executor not in EXECUTORS:
        raise UserInputError(f"unknown executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    if scheduler is not None and executor != "dask":
        raise UserInputError("--scheduler needs --executor dask")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserInputError(f"workers must be a positive integer, got {workers!r}")
    if executor == "local" and workers == 1:
        executor = "serial"
    runner = runner or train_runs
    started = time.perf_counter()
    runs, skipped = config.expand()
    # an existing store is checked now; a new one is created only once the executor is up,
    # so a bad --scheduler (or any start-up error) leaves no file behind
    path = Path(store_path)
    store = Store(path, create=True) if path.exists() else None  # (an empty file may be filled)
    try:
        if store is None:
            Store.check_creatable(path)
        elif store.readonly:
            raise StoreError(f"cannot write store {store.path}: it or its directory is read-only")
        finished = store.finished_hashes() if store is not None else set()
        pending = [r for r in runs if r.config_hash not in finished]
        summary = SweepSummary(store=str(path), executor=executor, total=len(runs),
                               already=len(runs) - len(pending), skipped=skipped,
                               remaining=len(pending), config_hash=config.config_hash)
        tasks = _group(pending, by_budget=executor == "dask")
        if executor == "local" and workers is None and sum(r.compute for r in pending) < _SERIAL_BELOW:
            executor = "serial"  # a pool's start-up would cost more than it saves
        if tasks:
            estimate = None
            if scheduler is None:  # this machine's processes: estimated before any of them starts
                count = 1 if executor == "serial" else (workers or os.cpu_count() or 1)
                # a Dask LocalCluster starts all its workers; a pool only as many as there are tasks
                estimate = estimate_sweep(pending, count, by_budget=executor == "dask",
                                          processes=count if executor == "dask" else None)
                _check_estimate(estimate, allow_long=allow_long, local=True)
            if executor == "local":  # a pool of more processes than tasks would leave the rest idle
                workers = min(workers or os.cpu_count() or 1, len(tasks))
            with _sigterm_stops_the_sweep(), open_executor(executor, workers=workers, scheduler=scheduler) as ex:
                if estimate is None:  # a cluster's workers: known once connected (its memory is its own)
                    estimate = estimate_sweep(pending, ex.workers or 1, by_budget=True)
                    _check_estimate(estimate, allow_long=allow_long, local=False)
                summary.estimated_seconds, summary.estimated_bytes = estimate.seconds, estimate.total_bytes
                if progress and estimate.seconds > NOTICE_S:
                    sys.stderr.write(estimate.text() + "\n")
                summary.executor = ex.description
                if store is None:
                    store = Store(path, create=True)
                _drive(ex, tasks, runner, store, summary, progress, tqdm)
        elif store is None:
            store = Store(path, create=True)
        summary.store_counts = store.counts()
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        if store is not None:
            store.close()


def _drive(ex, tasks, runner, store: Store, summary: SweepSummary, progress: bool, tqdm) -> None:
    # keep a few tasks per worker in flight, so a concurrent sweep on the same store can take the rest
    window = max(2, 2 * (getattr(ex, "workers", None) or os.cpu_count() or 1))
    queue = list(reversed(tasks))
    in_flight: dict[Any, list[RunSpec]] = {}
    total_cost = sum(_cost(t) for t in tasks)
    # the bar advances by estimated work (not run count), so its ETA is fair to uneven runs
    # disable=None: no bar when stderr is not a terminal (a log file, a pipe), as tqdm decides
    bar = tqdm(total=total_cost, disable=None if progress else True, file=sys.stderr,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
               desc=f"simulate: 0/{summary.remaining} runs", dynamic_ncols=True, mininterval=0.5)
    ran = 0
    try:
        while queue or in_flight:
            while queue and len(in_flight) < window:
                task = queue.pop()
                # another sweep on the same store may have finished some of these meanwhile
                finished = store.finished_among([r.config_hash for r in task])
                if finished:
                    left = [r for r in task if r.config_hash not in finished]
                    summary.concurrent += len(task) - len(left)
                    summary.remaining -= len(task) - len(left)
                    bar.update(_cost(task) - (_cost(left) if left else 0.0))
                    if not left:
                        continue
                    task = left
                in_flight[ex.submit(_execute, runner, task)] = task
            if not in_flight:
                break
            done, _ = ex.wait(list(in_flight))
            for fut in done:
                task = in_flight.pop(fut)
                results = ex.result(fut)
                for run, res in zip(task, results):
                    status = res["status"]
                    written = store.record({"config_hash": run.config_hash, "config": run.to_config(),
                                            "metrics": {**(res.get("metrics") or {}),
                                                        "spent": run.cost_factor * run.params * run.samples},
                                            **{k: res.get(k) for k in ("status", "reason", "error",
                                                                       "error_se", "seconds")}})
                    summary.remaining -= 1
                    ran += 1
                    if not written:
                        summary.concurrent += 1
                    else:
                        setattr(summary, status, getattr(summary, status) + 1)
                        if status in ("done", "diverged"):
                            summary.pT += float(run.params) * float(run.samples)
                        if status == "failed" and len(summary.failures) < 5:
                            summary.failures.append(f"{_describe_run(run)}: {res.get('reason')}")
                bar.update(_cost(task))
                bar.set_description_str(f"simulate: {ran}/{ran + summary.remaining} runs", refresh=False)
    except KeyboardInterrupt as stop:
        summary.interrupted = True
        summary.stopped_by = "SIGTERM" if isinstance(stop, _Terminated) else "SIGINT"
        summary.store_counts = store.counts()
        bar.close()
        raise SweepInterrupted(summary) from None
    finally:
        bar.close()


def _describe_run(run: RunSpec) -> str:
    return f"d={run.d} K={run.K} {run.teacher} C={run.compute:g} n={run.width} seed={run.seed}"
