"""The student-training algorithm in plain NumPy: the specification every trainer must match.

This module *is* the definition of the algorithm; :mod:`scaling_theory.numeric.sim.train_cpu` (Numba) and
:mod:`scaling_theory.numeric.sim.train_cuda` (numba-cuda) are tested against it on the same data and initialisation.
Setting: docs/paper-setting.md, "Ours" (student form) and "Empirical check" (single-pass SGD, log-loss).

Model
-----
Student logit ``f(x) = sum_i v_i ReLU(h_i)``, ``h = W x``, with ``W (n, d)`` and ``v (n,)``, no
biases; prediction ``P(Y=1|x) = sigma(f(x))``; ``p = n (d + 1)`` parameters.

Initialisation (:func:`scaling_theory.numeric.sim.students.init_params`)
-----------------------------------------------------
``rng = np.random.default_rng(init_seed)``; ``W = rng.standard_normal((n, d)) / sqrt(d)``;
``v = rng.standard_normal(n) / sqrt(n)`` -- or ``config.init_W``, ``config.init_v`` verbatim.

Data and order
--------------
All students read the same stream, :func:`scaling_theory.numeric.sim.teacher.data_chunks` with ``seed=data_seed``:
student ``s`` consumes its first ``T_s`` samples, in stream order, each exactly once.

Loss and gradient (per sample)
------------------------------
``loss = softplus(f) - y f`` (log-loss in nats, computed as ``logaddexp(0, f) - y f``);
``g = dloss/df = sigma(f) - y``; ``dloss/dv_i = g ReLU(h_i)``;
``dloss/dW_ij = g v_i 1[h_i > 0] x_j`` (the ReLU derivative at 0 is taken as 0).

Minibatches and update order
----------------------------
Step ``k`` uses the samples ``[k B, (k+1) B)`` of the stream (the last step may be shorter, so
every sample is used once); a minibatch may straddle two data chunks.  Every sample of a step is
evaluated at the parameters *before* the step; their gradients are summed (in stream order) into
``G_W``, ``G_v``, and the step applies the mean ``G / m`` (``m`` = samples in the step) to ``W`` and
``v`` together:

* SGD: ``theta <- theta - lr_k * G / m``.
* Adam (k counted from 1): ``M <- b1 M + (1-b1) G/m``, ``V <- b2 V + (1-b2) (G/m)^2``,
  ``theta <- theta - lr_k * (M / (1 - b1^k)) / (sqrt(V / (1 - b2^k)) + eps)``,
  ``b1 = 0.9``, ``b2 = 0.999``, ``eps = 1e-8``.

Learning rate: ``lr_k = lr0 * s(t_k)`` with ``t_k`` the number of samples seen before step ``k``
and ``s(t) = 1`` (constant), ``1/(1 + t/t0)`` (inverse) or ``1/sqrt(1 + t/t0)`` (inverse_sqrt).
Layer ``W`` steps with ``c_W lr_k`` and ``v`` with ``c_v lr_k``, the factors of
:func:`scaling_theory.numeric.sim.students.layer_lr_factors` (both 1 under the standard
parametrisation; width-aware under ``"mup"``).

Progressive loss, online KL and divergence
------------------------------------------
Each sample's loss is recorded before its own step (the progressive-validation loss).  So is its
online KL, ``KL(Bern(sigma(F_t)) || Bern(sigma(f_t)))`` between the teacher's probability on the sample
(``F_t``, the logit its label was drawn with) and the student's, ``f_t`` computed with the weights
before the step that uses sample ``t`` (:func:`scaling_theory.numeric.sim.error.bernoulli_kl`, exact in
Y); ``TrainResult.online_kl`` is their mean over the samples seen (the time-averaged error the
paper's bound is about, docs/paper-setting.md "Framework").  After each
data chunk, a student that read rows of that chunk is stopped with ``status="diverged"`` when its
weights or that chunk's summed loss are not finite (reason ``"non-finite ..."``), or when that
chunk's mean loss exceeds ``max_loss`` (reason ``"mean log-loss ... > max_loss ..."``).  Its
``samples_seen`` is then the samples consumed up to the end of that chunk; the other students go on.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Sequence

import numpy as np

from scaling_theory.numeric.sim.error import bernoulli_kl
from scaling_theory.numeric.sim.teacher import DEFAULT_CHUNK, Teacher, chunk_triple, data_chunks, sigmoid
from scaling_theory.numeric.sim.students import (ADAM_BETA1, ADAM_BETA2, ADAM_EPS, StudentConfig, TrainResult,
                                                 divergence_reason, init_params, layer_lr_factors,
                                                 learning_rate, online_kl_summary)

__all__ = ["train_reference", "train_chunks_reference", "log_loss", "loss_gradients"]


def log_loss(W: np.ndarray, v: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """Summed log-loss ``sum_t softplus(f(x_t)) - y_t f(x_t)`` of a student on rows ``X``.

    Examples
    --------
    >>> W, v = np.zeros((2, 3)), np.zeros(2)
    >>> round(log_loss(W, v, np.ones((4, 3)), np.ones(4)) / 4, 6)   # ln 2 per sample
    0.693147
    """
    f = np.maximum(X @ W.T, 0.0) @ v
    return float(np.sum(np.logaddexp(0.0, f) - y * f))


def loss_gradients(W: np.ndarray, v: np.ndarray, X: np.ndarray, y: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """Summed gradients ``(G_W, G_v)`` of :func:`log_loss` over rows ``X``, and the summed loss.

    Examples
    --------
    >>> GW, Gv, loss = loss_gradients(np.ones((1, 2)), np.ones(1), np.array([[1.0, 0.0]]), np.ones(1))
    >>> np.round(GW, 4).tolist(), np.round(Gv, 4).tolist()
    ([[-0.2689, 0.0]], [-0.2689])
    """
    H = X @ W.T
    A = np.maximum(H, 0.0)
    f = A @ v
    loss = float(np.sum(np.logaddexp(0.0, f) - y * f))
    g = sigmoid(f) - y
    Gv = A.T @ g
    D = np.outer(g, v) * (H > 0.0)
    GW = D.T @ X
    return GW, Gv, loss


class _State:
    """One student's training state (parameters, optimiser moments, partial minibatch)."""

    def __init__(self, config: StudentConfig, d: int, T: int):
        self.config = config
        self.T = T
        self.W, self.v = init_params(config, d)
        if config.precision == "float32":  # weights and forward pass in float32, as the CPU kernel
            self.W, self.v = self.W.astype(np.float32), self.v.astype(np.float32)
        self.GW = np.zeros_like(self.W)
        self.Gv = np.zeros_like(self.v)
        self.filled = 0          # samples accumulated in the current (unfinished) minibatch
        self.steps = 0           # steps taken
        self.seen = 0            # samples consumed
        self.loss = 0.0          # summed progressive loss
        self.kl = 0.0            # summed online KL (before each sample's step)
        self.kl_sq = 0.0         # and its squares
        self.status = "done"
        self.reason = None
        if config.optimizer == "adam":
            self.MW, self.Mv = np.zeros_like(self.W), np.zeros_like(self.v)
            self.VW, self.Vv = np.zeros_like(self.W), np.zeros_like(self.v)

    @property
    def active(self) -> bool:
        return self.status == "done" and self.seen < self.T

    @np.errstate(all="ignore")
    def step(self) -> None:
        """Apply the accumulated minibatch (``self.filled`` samples)."""
        cfg, m = self.config, self.filled
        lr = learning_rate(cfg, self.seen - m)
        cW, cv = layer_lr_factors(cfg)
        gW, gv = self.GW / m, self.Gv / m
        self.steps += 1
        if cfg.optimizer == "sgd":
            self.W -= (lr * cW) * gW
            self.v -= (lr * cv) * gv
        else:
            b1, b2, k = ADAM_BETA1, ADAM_BETA2, self.steps
            for theta, M, V, G, c in ((self.W, self.MW, self.VW, gW, cW), (self.v, self.Mv, self.Vv, gv, cv)):
                M *= b1
                M += (1.0 - b1) * G
                V *= b2
                V += (1.0 - b2) * G * G
                theta -= (lr * c) * (M / (1.0 - b1 ** k)) / (np.sqrt(V / (1.0 - b2 ** k)) + ADAM_EPS)
        self.GW[...] = 0.0
        self.Gv[...] = 0.0
        self.filled = 0

    def consume(self, X: np.ndarray, y: np.ndarray, F: np.ndarray) -> tuple[float, int]:
        """Read this student's share of one chunk (teacher logits ``F``); return (summed loss, rows read)."""
        rows = min(X.shape[0], self.T - self.seen)
        B = self.config.batch_size
        chunk_loss = 0.0
        pos = 0
        while pos < rows:
            end = min(rows, pos + B - self.filled)
            Xb = X[pos:end].astype(self.W.dtype, copy=False)
            with np.errstate(all="ignore"):  # a diverging student is stopped by the rule, not a warning
                GW, Gv, loss = loss_gradients(self.W, self.v, Xb, y[pos:end])
                # rows [pos, end) lie in one minibatch: the weights are those before its step
                kl = bernoulli_kl(F[pos:end], (np.maximum(Xb @ self.W.T, 0.0) @ self.v).astype(np.float64))
                self.kl += float(kl.sum())
                self.kl_sq += float((kl * kl).sum())
            self.GW += GW
            self.Gv += Gv
            chunk_loss += loss
            self.filled += end - pos
            self.seen += end - pos
            pos = end
            if self.filled == B or self.seen == self.T:
                self.step()
        self.loss += chunk_loss
        return chunk_loss, rows


def train_reference(teacher: Teacher, students: Sequence[StudentConfig], Ts: Sequence[int], *,
                    data_seed: int, chunk_size: int = DEFAULT_CHUNK, progress: bool = False
                    ) -> list[TrainResult]:
    """Train students with the plain NumPy algorithm of this module (one Python loop per step).

    Use :func:`scaling_theory.numeric.sim.training.train` with ``device="numpy"``; arguments as there, with ``Ts``
    one sample budget per student.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> from scaling_theory.numeric.sim.students import StudentConfig
    >>> t = sample_teacher(3, 2, seed=0)
    >>> rs = train_reference(t, [StudentConfig(2), StudentConfig(2, batch_size=3)], [10, 7],
    ...                      data_seed=1, chunk_size=4)
    >>> [(r.status, r.samples_seen) for r in rs]
    [('done', 10), ('done', 7)]
    """
    T_max = max((int(T) for T in Ts), default=0)
    chunks = data_chunks(teacher, T_max, seed=data_seed, chunk_size=chunk_size, with_logits=True)
    if progress:
        from tqdm import tqdm
        chunks = tqdm(chunks, total=-(-T_max // chunk_size), desc="train (numpy)", unit="chunk",
                      file=sys.stderr)
    return train_chunks_reference(teacher.d, students, Ts, chunks)


def train_chunks_reference(d: int, students: Sequence[StudentConfig], Ts: Sequence[int],
                           chunks: Iterable[tuple[np.ndarray, ...]]) -> list[TrainResult]:
    """Train on given data chunks: the driver of :func:`train_reference`.

    ``chunks`` yields ``(X, y, F)`` with the teacher's logits ``F``, or ``(X, y)`` (the online KL is
    then NaN).
    """
    start = time.perf_counter()
    states = [_State(cfg, d, int(T)) for cfg, T in zip(students, Ts)]
    for item in chunks:
        X, y, F = chunk_triple(item)
        for s in states:
            if not s.active:
                continue
            chunk_loss, rows = s.consume(X, y, F)
            reason = divergence_reason(s.W, s.v, chunk_loss, rows, s.seen, s.config.max_loss)
            if reason is not None:
                s.status, s.reason = "diverged", reason
        if not any(s.active for s in states):
            break
    seconds = time.perf_counter() - start
    # float32 students report float64 weights (exactly), as every trainer does
    return [TrainResult(s.config, s.W.astype(np.float64), s.v.astype(np.float64), s.status, s.reason, s.seen,
                        seconds, s.loss / s.seen if s.seen else float("nan"), "numpy",
                        *online_kl_summary(s.kl, s.kl_sq, s.seen, s.status)) for s in states]

