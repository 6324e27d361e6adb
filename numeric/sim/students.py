"""The student: configuration, result type, parameter count, initialisation, schedules, divergence rule.

A student is a one-hidden-layer ReLU network with a sigmoid output and no biases (the teacher's
form, docs/paper-setting.md "Student"): logit ``f(x) = sum_i v_i ReLU(W_i . x)`` with ``W`` of shape
``(n, d)`` and ``v`` of shape ``(n,)``, so ``p = n (d + 1)`` parameters.

This is a leaf module: the NumPy reference (:mod:`scaling_theory.numeric.sim.reference`, the
specification of the algorithm), the Numba and CUDA trainers and the dispatcher
(:mod:`scaling_theory.numeric.sim.training`) all take these types and constants from here, so no
trainer imports another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scaling_theory.errors import UserInputError

__all__ = ["StudentConfig", "TrainResult", "param_count", "init_params", "learning_rate", "layer_lr_factors",
           "sample_counts", "divergence_reason", "online_kl_summary", "SCHEDULES", "OPTIMIZERS",
           "PARAMETRISATIONS", "PRECISIONS", "ADAM_BETA1", "ADAM_BETA2", "ADAM_EPS"]

#: learning-rate schedules: lr_k = lr * factor(t_k), t_k = samples seen before step k
SCHEDULES = ("constant", "inverse", "inverse_sqrt")
OPTIMIZERS = ("sgd", "adam")
#: "standard" (one rate for both layers, v ~ N(0, 1/n)) or "mup" (width-aware, see layer_lr_factors)
PARAMETRISATIONS = ("standard", "mup")
#: arithmetic of the weights: "float64" (default) or "float32" (online SGD on the CPU engine only)
PRECISIONS = ("float64", "float32")
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
    parametrisation : ``"standard"`` (default) or ``"mup"``, the maximal-update parametrisation
        (muP) relative to ``base_width``: output weights drawn with standard deviation
        ``sqrt(base_width)/n`` instead of ``1/sqrt(n)``, and per-layer learning-rate factors
        (:func:`layer_lr_factors`) so that one ``lr`` trains every width alike.  At
        ``width == base_width`` it is the standard parametrisation.
    base_width : the width at which ``"mup"`` coincides with ``"standard"`` (default 1).
    precision : ``"float64"`` (default) or ``"float32"``: the dtype of the weights and of the
        forward and update arithmetic.  Single precision doubles the SIMD lanes (steps of students
        with 84 or more units run 1.45-2x faster, ``benchmarks/precision_speed.py``; the default
        study's results do not change, ``benchmarks/precision_study.py``); the per-sample loss,
        online KL and learning rate stay in float64.  Supported for online SGD (``batch_size=1``,
        ``optimizer="sgd"``) on the CPU engine; elsewhere it is refused.

    Examples
    --------
    >>> cfg = StudentConfig(8, lr=0.1, schedule="inverse_sqrt", t0=100)
    >>> cfg.to_json()["width"], learning_rate(cfg, 300)
    (8, 0.05)
    >>> StudentConfig(0)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: student width must be a positive integer, got 0
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
    parametrisation: str = "standard"
    base_width: int = 1
    precision: str = "float64"

    def __post_init__(self):
        for name in ("width", "batch_size", "base_width"):
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
        if self.parametrisation not in PARAMETRISATIONS:
            raise UserInputError(f"unknown parametrisation {self.parametrisation!r}; expected one of "
                                 f"{PARAMETRISATIONS}")
        if self.precision not in PRECISIONS:
            raise UserInputError(f"unknown precision {self.precision!r}; expected one of {PRECISIONS}")
        if self.precision == "float32" and (self.batch_size != 1 or self.optimizer != "sgd"):
            raise UserInputError("precision float32 is implemented for online SGD only (batch_size=1, "
                                 f"optimizer='sgd'), got batch_size={self.batch_size}, optimizer={self.optimizer!r}")
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
                "explicit_init": self.init_W is not None,
                **({} if self.parametrisation == "standard" else
                   {"parametrisation": self.parametrisation, "base_width": int(self.base_width)}),
                **({} if self.precision == "float64" else {"precision": self.precision})}


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
    online_kl : time-averaged online KL, ``(1/T) sum_t KL(Bern(sigma(F(x_t))) || Bern(sigma(f_{t-1}(x_t))))``
        over the samples the student saw, each with the weights *before* the step that uses it (for
        ``B > 1``: before the step of its minibatch), exact in Y; NaN when diverged, or when the
        trainer was not given the teacher's logits.  The quantity the paper's bound is about
        (docs/paper-setting.md, "Framework"); see :func:`online_kl_summary`.
    online_kl_se : standard error of ``online_kl``: the per-sample KLs' standard deviation over
        ``sqrt(T)`` (the spread includes the decrease over training, so it overstates the noise of
        the inputs; seeds give the spread of trajectories).

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> from scaling_theory.numeric.sim.training import train
    >>> t = sample_teacher(4, 2, seed=0)
    >>> ok, bad = train(t, [StudentConfig(3, lr=0.05), StudentConfig(3, lr=1e4)], 200, data_seed=0,
    ...                 device="numpy")
    >>> ok.status, ok.reason, ok.samples_seen, round(ok.mean_loss, 4)
    ('done', None, 200, 0.7058)
    >>> bad.status, bad.reason
    ('diverged', 'non-finite weights or loss after 200 samples')
    >>> sorted(ok.to_json())
    ['config', 'device', 'mean_loss', 'online_kl', 'online_kl_se', 'reason', 'samples_seen', 'seconds', 'status']
    >>> round(ok.online_kl, 4), bad.online_kl, bad.to_json()["online_kl"]
    (0.0414, nan, None)
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
    online_kl: float = float("nan")
    online_kl_se: float = float("nan")

    def to_json(self) -> dict:
        """Plain JSON values (weights left out) for stores and reports."""
        return {"config": self.config.to_json(), "status": self.status, "reason": self.reason,
                "samples_seen": int(self.samples_seen), "seconds": float(self.seconds),
                "mean_loss": float(self.mean_loss), "device": self.device,
                # null, not NaN, when not available (diverged): the JSON stays standard
                "online_kl": _finite_or_none(self.online_kl),
                "online_kl_se": _finite_or_none(self.online_kl_se)}


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def online_kl_summary(total: float, total_sq: float, seen: int, status: str) -> tuple[float, float]:
    """``(online_kl, online_kl_se)`` from the summed per-sample KLs and their squares.

    The mean ``total / seen`` and the standard error ``sqrt(s^2 / seen)`` with ``s^2`` the sample
    variance of the per-sample KLs; both NaN for a diverged student or one that saw no sample, the
    error NaN below two samples.  Every trainer finishes its sums with this.

    Examples
    --------
    >>> online_kl_summary(3.0, 5.0, 2, "done")   # KLs 1 and 2
    (1.5, 0.5)
    >>> online_kl_summary(3.0, 5.0, 2, "diverged")
    (nan, nan)
    """
    seen = int(seen)
    if status != "done" or seen < 1:
        return float("nan"), float("nan")
    mean = float(total) / seen
    if seen < 2 or not math.isfinite(mean):
        return mean, float("nan")
    var = max(float(total_sq) / seen - mean * mean, 0.0) * seen / (seen - 1)
    return mean, math.sqrt(var / seen)


def param_count(d: int, n: int) -> int:
    """Number of student parameters ``p = n (d + 1)`` (docs/paper-setting.md, "Ours").

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
    ``x ~ N(0, I_d)`` and the initial logit is O(1).  Under ``parametrisation="mup"`` the same draw
    of ``v`` is scaled by ``sqrt(base_width / n)`` (standard deviation ``sqrt(base_width)/n``: the
    muP output layer, Yang et al. 2022, Table 3), so the initial logit shrinks like
    ``1/sqrt(n)``.  Returns fresh C-contiguous float64 copies.

    Examples
    --------
    >>> W, v = init_params(StudentConfig(4, init_seed=3), 2)
    >>> W.shape, v.shape, W.flags.c_contiguous
    ((4, 2), (4,), True)
    >>> _, v_mup = init_params(StudentConfig(4, init_seed=3, parametrisation="mup"), 2)
    >>> bool(np.allclose(v_mup, v / 2))   # sqrt(1/4)
    True
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
    if config.parametrisation == "mup":
        v *= math.sqrt(config.base_width / n)
    return W, v


def layer_lr_factors(config: StudentConfig) -> tuple[float, float]:
    """Per-layer learning-rate factors ``(c_W, c_v)``: layer ``W`` steps with ``c_W lr_k``, ``v`` with ``c_v lr_k``.

    ``"standard"``: ``(1, 1)``.  ``"mup"`` with width multiplier ``m = n / base_width`` (the
    maximal-update parametrisation of a network whose input layer has a fixed fan-in ``d``; Yang
    et al. 2022, Table 3): SGD ``(m, 1/m)``, Adam ``(1, 1/m)``.  Then one step changes the logit by
    O(lr) through each layer and every hidden unit's weights move by O(lr), whatever the width:
    under the standard parametrisation the output layer's share grows like ``n``, so the largest
    stable rate falls like ``1/n`` (docs/tuned-protocol.md, "Learning rate").

    Examples
    --------
    >>> layer_lr_factors(StudentConfig(8))
    (1.0, 1.0)
    >>> layer_lr_factors(StudentConfig(8, parametrisation="mup", base_width=2))
    (4.0, 0.25)
    >>> layer_lr_factors(StudentConfig(8, parametrisation="mup", optimizer="adam"))
    (1.0, 0.125)

    References
    ----------
    G. Yang, E. J. Hu et al., "Tensor Programs V: Tuning Large Neural Networks via Zero-Shot
    Hyperparameter Transfer", arXiv:2203.03466 (2022), Table 3 (muP: input weights, output weights;
    SGD and Adam learning rates).
    """
    if config.parametrisation == "standard":
        return 1.0, 1.0
    m = int(config.width) / int(config.base_width)
    return (1.0 if config.optimizer == "adam" else m), 1.0 / m


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
    scaling_theory.errors.UserInputError: T must be an integer or one integer per student, got '12'
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


def divergence_reason(W: np.ndarray, v: np.ndarray, chunk_loss: float, rows: int, seen: int,
                      max_loss: float) -> str | None:
    """The divergence rule applied after each chunk (see the module docstring); ``None`` if fine.

    Examples
    --------
    >>> divergence_reason(np.zeros((1, 1)), np.zeros(1), 5000.0, 2, 10, 1000.0)
    'mean log-loss 2.5e+03 > max_loss 1000 over samples [8, 10)'
    >>> divergence_reason(np.full((1, 1), np.nan), np.zeros(1), 1.0, 2, 10, 1000.0)
    'non-finite weights or loss after 10 samples'
    """
    if not (np.isfinite(chunk_loss) and np.all(np.isfinite(W)) and np.all(np.isfinite(v))):
        return f"non-finite weights or loss after {seen} samples"
    if rows > 0 and chunk_loss / rows > max_loss:
        return (f"mean log-loss {chunk_loss / rows:.3g} > max_loss {max_loss:g} "
                f"over samples [{seen - rows}, {seen})")
    return None
