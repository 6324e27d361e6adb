"""Train student networks on a teacher's data stream: the public API over the three trainers.

A student is a one-hidden-layer ReLU network with a sigmoid output and no biases (the teacher's
form, NOTES.md "Ours"): logit ``f(x) = sum_i v_i ReLU(W_i . x)`` with ``W`` of shape ``(n, d)`` and
``v`` of shape ``(n,)``, so ``p = n (d + 1)`` parameters.  It is trained by single-pass SGD on the
log-loss (every sample used once, compute exactly ``p * T``, NOTES.md "Empirical check").  The
algorithm is specified once, in :mod:`numeric.reference` (plain NumPy); the Numba CPU trainer
(:mod:`numeric.train_cpu`) and the CUDA trainer (:mod:`numeric.train_cuda`) implement the same thing
and are tested against it.

Choose a trainer with ``device``: ``"cpu"`` (Numba, parallel over students), ``"numpy"``
(reference; slow), ``"cuda"`` (numba-cuda; ``numeric.train_cuda.train`` with this module's
signature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from theory.errors import UserInputError
from numeric.teacher import DEFAULT_CHUNK, Teacher

__all__ = ["StudentConfig", "TrainResult", "param_count", "init_params", "learning_rate", "sample_counts", "train",
           "train_many",
           "SCHEDULES", "OPTIMIZERS", "ADAM_BETA1", "ADAM_BETA2", "ADAM_EPS"]

#: learning-rate schedules: lr_k = lr * factor(t_k), t_k = samples seen before step k
SCHEDULES = ("constant", "inverse", "inverse_sqrt")
OPTIMIZERS = ("sgd", "adam")
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8


@dataclass(frozen=True, eq=False)
class StudentConfig:
    """One student: width, optimiser, learning-rate schedule, initialisation.

    Parameters
    ----------
    width : n, the number of hidden ReLU units.
    lr : base learning rate ``lr0`` (> 0).
    batch_size : B, samples per SGD step (1 = online SGD); the step uses the mean gradient.
    optimizer : ``"sgd"`` (plain) or ``"adam"`` (beta1 = 0.9, beta2 = 0.999, eps = 1e-8, bias-corrected).
    init_seed : seed of the initialisation (see :func:`init_params`).
    schedule : ``"constant"`` (``lr0``), ``"inverse"`` (``lr0 / (1 + t/t0)``) or ``"inverse_sqrt"``
        (``lr0 / sqrt(1 + t/t0)``), where ``t`` counts samples seen before the step.
    t0 : time scale of the schedule, in samples (> 0).
    max_loss : divergence threshold: a data chunk whose mean progressive log-loss exceeds it stops
        the student (default 1000 nats, far above any trained or untrained student's loss).
    init_W, init_v : explicit initial weights (e.g. the teacher's) instead of the seeded draw.

    Examples
    --------
    >>> cfg = StudentConfig(8, lr=0.1, schedule="inverse_sqrt", t0=100)
    >>> cfg.to_json()["width"], learning_rate(cfg, 300)
    (8, 0.05)
    >>> StudentConfig(0)
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: student width must be a positive integer, got 0
    """

    width: int
    lr: float = 0.05
    batch_size: int = 1
    optimizer: str = "sgd"
    init_seed: int = 0
    schedule: str = "constant"
    t0: float = 1e4
    max_loss: float = 1e3
    init_W: np.ndarray | None = field(default=None, repr=False)
    init_v: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        for name in ("width", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise UserInputError(f"student {name.replace('_', ' ')} must be a positive integer, "
                                     f"got {value!r}")
        for name in ("lr", "t0", "max_loss"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value) \
                    or value <= 0:
                raise UserInputError(f"student {name} must be a positive finite number, got {value!r}")
        if self.optimizer not in OPTIMIZERS:
            raise UserInputError(f"unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise UserInputError(f"unknown schedule {self.schedule!r}; expected one of {SCHEDULES}")
        if (self.init_W is None) != (self.init_v is None):
            raise UserInputError("give both init_W and init_v, or neither")
        if self.init_W is not None:
            W, v = np.asarray(self.init_W), np.asarray(self.init_v)
            if W.ndim != 2 or W.shape[0] != self.width or v.shape != (self.width,):
                raise UserInputError(f"init_W must be (width, d) and init_v (width,) with width "
                                     f"{self.width}, got {W.shape} and {v.shape}")

    def to_json(self) -> dict:
        """The configuration as plain JSON values (explicit initial weights are flagged, not stored)."""
        return {"width": int(self.width), "lr": float(self.lr), "batch_size": int(self.batch_size),
                "optimizer": self.optimizer, "init_seed": int(self.init_seed),
                "schedule": self.schedule, "t0": float(self.t0), "max_loss": float(self.max_loss),
                "explicit_init": self.init_W is not None}


@dataclass(eq=False)
class TrainResult:
    """Outcome of training one student.

    Parameters
    ----------
    config : the student's configuration.
    W, v : final weights, ``(n, d)`` and ``(n,)``.
    status : ``"done"`` or ``"diverged"``.
    reason : why it diverged (``None`` when done).
    samples_seen : samples consumed (``T`` when done).
    seconds : wall time of the call that trained it (shared by all students of one call).
    mean_loss : mean progressive log-loss (each sample's loss before its own update), in nats.
    device : the trainer used.

    Examples
    --------
    >>> from numeric.teacher import sample_teacher
    >>> t = sample_teacher(4, 2, seed=0)
    >>> ok, bad = train(t, [StudentConfig(3, lr=0.05), StudentConfig(3, lr=1e4)], 200, data_seed=0,
    ...                 device="numpy")
    >>> ok.status, ok.reason, ok.samples_seen, round(ok.mean_loss, 4)
    ('done', None, 200, 0.7058)
    >>> bad.status, bad.reason
    ('diverged', 'non-finite weights or loss after 200 samples')
    >>> sorted(ok.to_json())
    ['config', 'device', 'mean_loss', 'reason', 'samples_seen', 'seconds', 'status']
    """

    config: StudentConfig
    W: np.ndarray
    v: np.ndarray
    status: str
    reason: str | None
    samples_seen: int
    seconds: float
    mean_loss: float = float("nan")
    device: str = "cpu"

    def to_json(self) -> dict:
        """Plain JSON values (weights left out) for stores and reports."""
        return {"config": self.config.to_json(), "status": self.status, "reason": self.reason,
                "samples_seen": int(self.samples_seen), "seconds": float(self.seconds),
                "mean_loss": float(self.mean_loss), "device": self.device}


def param_count(d: int, n: int) -> int:
    """Number of student parameters ``p = n (d + 1)`` (NOTES.md, "Ours").

    Examples
    --------
    >>> param_count(32, 8)
    264
    """
    return int(n) * (int(d) + 1)


def init_params(config: StudentConfig, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights of a student: ``W ~ N(0, 1/d)``, ``v ~ N(0, 1/n)`` (or the explicit ones).

    Drawn as ``rng = np.random.default_rng(init_seed)``, ``W = rng.standard_normal((n, d)) / sqrt(d)``,
    then ``v = rng.standard_normal(n) / sqrt(n)``, so ``W . x`` has unit variance per unit for
    ``x ~ N(0, I_d)`` and the initial logit is O(1).  Returns fresh C-contiguous float64 copies.

    Examples
    --------
    >>> W, v = init_params(StudentConfig(4, init_seed=3), 2)
    >>> W.shape, v.shape, W.flags.c_contiguous
    ((4, 2), (4,), True)
    """
    n = int(config.width)
    if config.init_W is not None:
        W = np.array(config.init_W, dtype=np.float64, order="C", copy=True)
        v = np.array(config.init_v, dtype=np.float64, order="C", copy=True)
        if W.shape != (n, d):
            raise UserInputError(f"init_W has shape {W.shape}, expected {(n, d)}")
        return W, v
    rng = np.random.default_rng(int(config.init_seed))
    W = rng.standard_normal((n, d)) / math.sqrt(d)
    v = rng.standard_normal(n) / math.sqrt(n)
    return W, v


def learning_rate(config: StudentConfig, t: float) -> float:
    """Learning rate of a step taken after ``t`` samples were seen (see :class:`StudentConfig`).

    Examples
    --------
    >>> learning_rate(StudentConfig(1, lr=0.5, schedule="inverse", t0=10), 10)
    0.25
    """
    if config.schedule == "constant":
        return float(config.lr)
    if config.schedule == "inverse":
        return float(config.lr) / (1.0 + t / float(config.t0))
    return float(config.lr) / math.sqrt(1.0 + t / float(config.t0))


def sample_counts(T, count: int) -> list[int]:
    """Samples per student: one integer for all ``count`` students, or one integer each.

    Examples
    --------
    >>> sample_counts(100, 2), sample_counts([10, 20], 2)
    ([100, 100], [10, 20])
    >>> sample_counts("12", 2)
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: T must be an integer or one integer per student, got '12'
    """
    if isinstance(T, (int, np.integer)) and not isinstance(T, bool):
        Ts = [int(T)] * count
    else:
        try:
            if isinstance(T, (str, bytes)):  # a string is iterable but is not a list of budgets
                raise TypeError
            Ts = [int(t) for t in T]
        except (TypeError, ValueError):
            raise UserInputError(f"T must be an integer or one integer per student, got {T!r}") from None
        if len(Ts) != count:
            raise UserInputError(f"got {len(Ts)} sample budgets for {count} students")
    for t in Ts:
        if t < 0:
            raise UserInputError(f"number of samples T must be >= 0, got {t}")
    return Ts


def train(teacher: Teacher, students: Sequence[StudentConfig], T, *, data_seed: int,
          device: str = "cpu", chunk_size: int = DEFAULT_CHUNK, progress: bool = False
          ) -> list[TrainResult]:
    """Train students by single-pass SGD on the teacher's stream (NOTES.md, "Empirical check").

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
    >>> from numeric.teacher import sample_teacher
    >>> t = sample_teacher(4, 2, seed=0)
    >>> [r] = train(t, [StudentConfig(3, lr=0.05)], 100, data_seed=0, device="numpy")
    >>> r.status, r.samples_seen, r.W.shape, round(r.mean_loss, 4)
    ('done', 100, (3, 4), 0.6971)
    >>> [r2] = train(t, [StudentConfig(3, lr=0.05)], 100, data_seed=0, device="numpy")
    >>> bool(np.array_equal(r.W, r2.W))   # seeded: reproducible
    True

    References
    ----------
    NOTES.md "Empirical check" (single-pass SGD, compute ``p * T``); Jeon & Van Roy, arXiv:2212.01365.
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
        from numeric import reference
        return reference.train_reference(teacher, students, Ts, data_seed=data_seed,
                                         chunk_size=chunk_size, progress=progress)
    if device == "cpu":
        from numeric import train_cpu
        return train_cpu.train_cpu(teacher, students, Ts, data_seed=data_seed,
                                   chunk_size=chunk_size, progress=progress)
    if device == "cuda":
        try:
            from numeric import train_cuda
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
    >>> from numeric.teacher import sample_teacher
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
        from numeric import train_cpu
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
