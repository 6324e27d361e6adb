"""Train student networks on a teacher's data stream: one entry point over the three trainers.

Students (:mod:`scaling_theory.numeric.sim.students`) are trained by single-pass SGD on the log-loss
(every sample used once, compute exactly ``p * T``; docs/paper-setting.md "Empirical check").  The
algorithm is specified once, in :mod:`scaling_theory.numeric.sim.reference` (plain NumPy); the Numba
CPU trainer (:mod:`~scaling_theory.numeric.sim.train_cpu`) and the CUDA trainer
(:mod:`~scaling_theory.numeric.sim.train_cuda`) implement the same thing and are tested against it.
This module only validates and dispatches.

Choose a trainer with ``device``: ``"cpu"`` (Numba, parallel over students), ``"numpy"``
(reference; slow), ``"cuda"`` (numba-cuda, the same signature).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.students import (ADAM_BETA1, ADAM_BETA2, ADAM_EPS, OPTIMIZERS, SCHEDULES,
                                                 StudentConfig, TrainResult, init_params, learning_rate,
                                                 param_count, sample_counts)
from scaling_theory.numeric.sim.teacher import DEFAULT_CHUNK, Teacher

__all__ = ["train", "train_many", "StudentConfig", "TrainResult", "param_count", "init_params",
           "learning_rate", "sample_counts", "SCHEDULES", "OPTIMIZERS", "ADAM_BETA1", "ADAM_BETA2", "ADAM_EPS"]

def train(teacher: Teacher, students: Sequence[StudentConfig], T, *, data_seed: int,
          device: str = "cpu", chunk_size: int = DEFAULT_CHUNK, progress: bool = False
          ) -> list[TrainResult]:
    """Train students by single-pass SGD on the teacher's stream (docs/paper-setting.md, "Empirical check").

    Every student sees the same samples, in the same order: the first ``T`` samples of
    ``data_chunks(teacher, ., seed=data_seed, chunk_size=chunk_size)``.  A student that diverges
    (non-finite weights or loss, or a chunk's mean progressive loss above ``max_loss``) stops with
    ``status="diverged"`` and a reason; the others go on.

    Parameters
    ----------
    teacher : the teacher labelling the data.
    students : configurations; different widths, learning rates, optimisers, batch sizes may mix.
    T : samples per student: one integer for all, or one integer per student (each student's stream
        is a prefix of the longest one, so an IsoFLOP row trains in one call).
    data_seed : seed of the training stream.
    device : ``"cpu"`` (Numba, threads over students), ``"numpy"`` (reference) or ``"cuda"``.
    chunk_size : rows per data chunk (part of the stream's definition).
    progress : show a tqdm bar on stderr.

    Returns
    -------
    list[TrainResult], in the order of ``students``.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(4, 2, seed=0)
    >>> [r] = train(t, [StudentConfig(3, lr=0.05)], 100, data_seed=0, device="numpy")
    >>> r.status, r.samples_seen, r.W.shape, round(r.mean_loss, 4)
    ('done', 100, (3, 4), 0.6971)
    >>> [r2] = train(t, [StudentConfig(3, lr=0.05)], 100, data_seed=0, device="numpy")
    >>> bool(np.array_equal(r.W, r2.W))   # seeded: reproducible
    True

    References
    ----------
    docs/paper-setting.md "Empirical check" (single-pass SGD, compute ``p * T``); Jeon & Van Roy, arXiv:2212.01365.
    """
    students = list(students)
    for s in students:
        if not isinstance(s, StudentConfig):
            raise UserInputError(f"students must be StudentConfig objects, got {type(s).__name__}")
        if s.init_W is not None and np.asarray(s.init_W).shape[1] != teacher.d:
            raise UserInputError(f"init_W has {np.asarray(s.init_W).shape[1]} columns, the teacher's "
                                 f"input dimension is {teacher.d}")
    Ts = sample_counts(T, len(students))
    if not students:
        return []
    if device == "numpy":
        from scaling_theory.numeric.sim import reference
        return reference.train_reference(teacher, students, Ts, data_seed=data_seed,
                                         chunk_size=chunk_size, progress=progress)
    if device == "cpu":
        from scaling_theory.numeric.sim import train_cpu
        return train_cpu.train_cpu(teacher, students, Ts, data_seed=data_seed,
                                   chunk_size=chunk_size, progress=progress)
    if device == "cuda":
        if any(cfg.precision != "float64" for cfg in students):
            raise UserInputError("precision float32 runs on the CPU engine only (device 'cpu' or 'numpy')")
        try:
            from scaling_theory.numeric.sim import train_cuda
        except ImportError as err:  # pragma: no cover - depends on the CUDA module being present
            raise UserInputError(f"device 'cuda' is not available: {err}") from None
        return train_cuda.train(teacher, students, Ts, data_seed=data_seed, chunk_size=chunk_size,
                                progress=progress)
    raise UserInputError(f"unknown device {device!r}; expected 'cpu', 'numpy' or 'cuda'")


def train_many(tasks: Sequence[tuple[Teacher, StudentConfig, int, int]], *, device: str = "cpu",
               chunk_size: int = DEFAULT_CHUNK, progress: bool = False) -> list[TrainResult]:
    """Train students of different teachers and data seeds in one call (threads over all of them).

    Each task is ``(teacher, config, T, data_seed)``; a student's result equals what
    :func:`train` gives it alone on ``(teacher, data_seed)``.  On ``"cpu"`` all students run in one
    parallel kernel per chunk (teachers must share ``d``; tasks of other ``d`` run in separate
    calls); other devices train one ``(teacher, data_seed)`` group at a time.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t1, t2 = sample_teacher(3, 2, seed=1), sample_teacher(3, 4, seed=2)
    >>> rs = train_many([(t1, StudentConfig(2), 50, 0), (t2, StudentConfig(4), 80, 1)])
    >>> [(r.status, r.samples_seen) for r in rs]
    [('done', 50), ('done', 80)]
    """
    tasks = list(tasks)
    for task in tasks:
        if len(task) != 4 or not isinstance(task[0], Teacher) or not isinstance(task[1], StudentConfig):
            raise UserInputError("each task must be (teacher, StudentConfig, T, data_seed)")
        sample_counts([task[2]], 1)
    results: list[TrainResult | None] = [None] * len(tasks)
    if device == "cpu":
        from scaling_theory.numeric.sim import train_cpu
        by_d: dict[int, list[int]] = {}
        for i, task in enumerate(tasks):
            by_d.setdefault(task[0].d, []).append(i)
        for idx in by_d.values():
            for s in idx:
                cfg = tasks[s][1]
                if cfg.init_W is not None and np.asarray(cfg.init_W).shape[1] != tasks[s][0].d:
                    raise UserInputError("init_W columns do not match the teacher's input dimension")
            out = train_cpu.train_cpu_many([tasks[i] for i in idx], chunk_size=chunk_size,
                                           progress=progress)
            for i, r in zip(idx, out):
                results[i] = r
        return results  # type: ignore[return-value]
    groups: dict = {}
    for i, (teacher, _, _, seed) in enumerate(tasks):
        groups.setdefault((id(teacher), int(seed)), []).append(i)
    for idx in groups.values():
        teacher, seed = tasks[idx[0]][0], tasks[idx[0]][3]
        out = train(teacher, [tasks[i][1] for i in idx], [tasks[i][2] for i in idx],
                    data_seed=seed, device=device, chunk_size=chunk_size, progress=progress)
        for i, r in zip(idx, out):
            results[i] = r
    return results  # type: ignore[return-value]
