"""Reducible error of a student: ``E_X[ KL( Bern(sigma(F(X))) || Bern(sigma(F_hat(X))) ) ]``.

docs/paper-setting.md, "Framework" (the reducible log-loss) and "Empirical check" (measured by Monte Carlo on
fresh inputs, exact in Y).  For teacher logit ``F`` and student logit ``G`` the Bernoulli KL is, with
``softplus(z) = log(1 + e^z)`` and ``log sigma(z) = -softplus(-z)``,

    KL = softplus(G) - softplus(F) - sigma(F) (G - F),

which is exact in Y (no label sampling) and never overflows.  Rounding can make it a hair below 0
when ``G`` is within ~1e-16 |F| of ``F``; values are clipped at 0.  Inputs ``X ~ N(0, I_d)`` come from
:func:`scaling_theory.numeric.sim.teacher.input_chunks` with ``stream=EVAL_STREAM`` (never the training stream).  The
estimate is the sample mean over ``n_samples`` inputs; its standard error is the sample standard
deviation over ``sqrt(n_samples)``.

:func:`reducible_error` uses a Numba kernel (threads over inputs);
:func:`reducible_error_reference` is the plain NumPy version it is tested against.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.teacher import (DEFAULT_CHUNK, EVAL_STREAM, Teacher, input_chunks, sigmoid,
                                                teacher_logits)
# the compiled Bernoulli KL from logits (the trainers' online KL uses the same one) and the
# unit-major forward pass (vectorised over units)
from scaling_theory.numeric.sim.kernels import FASTMATH, _bernoulli_kl, _hidden, _relu_dot, _relu_logits

__all__ = ["reducible_error", "reducible_errors", "reducible_error_reference", "bernoulli_kl", "DEFAULT_EVAL_SAMPLES"]

#: default Monte Carlo sample size of the error estimate
DEFAULT_EVAL_SAMPLES = 1 << 16


def bernoulli_kl(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    """``KL(Bern(sigma(F)) || Bern(sigma(G)))`` elementwise, stable for any logits (NumPy).

    Examples
    --------
    >>> bernoulli_kl(np.array([0.0, 3.0, 800.0]), np.array([0.0, 3.0, 800.0])).tolist()
    [0.0, 0.0, 0.0]
    >>> p, q = 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(1.0))
    >>> bool(np.isclose(bernoulli_kl(np.array([1.0]), np.array([-1.0]))[0],
    ...                 p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))))
    True
    """
    F = np.asarray(F, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    kl = np.logaddexp(0.0, G) - np.logaddexp(0.0, F) - sigmoid(F) * (G - F)
    return np.maximum(kl, 0.0)


def _check(teacher: Teacher, W, v, n_samples) -> tuple[np.ndarray, np.ndarray, int]:
    W = np.ascontiguousarray(W, dtype=np.float64)
    v = np.ascontiguousarray(v, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] != teacher.d or v.shape != (W.shape[0],):
        raise UserInputError(f"student weights must be W (n, {teacher.d}) and v (n,), got "
                             f"{W.shape} and {v.shape}")
    n_samples = int(n_samples)
    if n_samples < 2:
        raise UserInputError(f"n_samples must be at least 2, got {n_samples}")
    return W, v, n_samples


def _finish(total: float, total_sq: float, N: int) -> tuple[float, float]:
    mean = total / N
    var = max(total_sq / N - mean * mean, 0.0) * N / (N - 1)
    return mean, math.sqrt(var / N)


def reducible_error_reference(teacher: Teacher, W: np.ndarray, v: np.ndarray, *,
                              n_samples: int = DEFAULT_EVAL_SAMPLES, seed: int = 0,
                              chunk_size: int = DEFAULT_CHUNK) -> tuple[float, float]:
    """Plain NumPy version of :func:`reducible_error` (same inputs, same estimate).

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> reducible_error_reference(t, t.W, t.a, n_samples=100)
    (0.0, 0.0)
    """
    W, v, n_samples = _check(teacher, W, v, n_samples)
    total = total_sq = 0.0
    for X in input_chunks(teacher.d, n_samples, seed=seed, chunk_size=chunk_size, stream=EVAL_STREAM):
        F = teacher_logits(teacher, X)
        G = np.maximum(X @ W.T, 0.0) @ v
        kl = bernoulli_kl(F, G)
        total += float(kl.sum())
        total_sq += float((kl * kl).sum())
    return _finish(total, total_sq, n_samples)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _kl_sums(X, Wt, at, Ws, vs):
    """Sum and sum of squares of the per-row KL over rows of X (threads over row blocks).

    ``Wt`` (d, m) and ``Ws`` (d, n) are the teacher's and the student's hidden weights, unit-major.
    """
    N = X.shape[0]
    nblocks = (N + 255) // 256
    sums = np.zeros(nblocks)
    sqs = np.zeros(nblocks)
    for b in prange(nblocks):
        ht = np.empty(Wt.shape[1])
        hs = np.empty(Ws.shape[1])
        s = 0.0
        s2 = 0.0
        for r in range(b * 256, min(N, (b + 1) * 256)):
            _hidden(Wt, X[r], ht)
            _hidden(Ws, X[r], hs)
            kl = _bernoulli_kl(_relu_dot(at, ht), _relu_dot(vs, hs))  # teacher, student
            s += kl
            s2 += kl * kl
        sums[b] = s
        sqs[b] = s2
    return sums.sum(), sqs.sum()


def reducible_error(teacher: Teacher, W: np.ndarray, v: np.ndarray, *,
                    n_samples: int = DEFAULT_EVAL_SAMPLES, seed: int = 0,
                    chunk_size: int = DEFAULT_CHUNK) -> tuple[float, float]:
    """Monte Carlo estimate of the reducible error of student ``(W, v)`` and its standard error.

    ``E_X[KL(Bern(sigma(F(X))) || Bern(sigma(F_hat(X))))]`` over ``n_samples`` fresh inputs of the
    evaluation stream with seed ``seed`` (docs/paper-setting.md, "Empirical check"); exact in Y.

    Parameters
    ----------
    teacher : the teacher F.
    W, v : student weights, ``(n, d)`` and ``(n,)``.
    n_samples : Monte Carlo sample size (>= 2).
    seed : seed of the evaluation inputs.
    chunk_size : rows generated at a time (memory stays ``O(chunk_size * d)``).

    Returns
    -------
    (mean, stderr) in nats.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> reducible_error(t, t.W, t.a, n_samples=1000)
    (0.0, 0.0)
    >>> m, se = reducible_error(t, np.zeros((1, 3)), np.zeros(1), n_samples=1000)
    >>> bool(m > 0 and 0 < se < m)
    True
    >>> ref = reducible_error_reference(t, np.zeros((1, 3)), np.zeros(1), n_samples=1000)
    >>> bool(np.allclose((m, se), ref, rtol=1e-9))   # the Numba kernel agrees with plain NumPy
    True

    References
    ----------
    Jeon & Van Roy, arXiv:2212.01365 (reducible error as expected KL); docs/paper-setting.md "Framework",
    "Empirical check".
    """
    W, v, n_samples = _check(teacher, W, v, n_samples)
    Wt = np.ascontiguousarray(np.asarray(teacher.W, dtype=np.float64).T)
    at = np.ascontiguousarray(teacher.a, dtype=np.float64)
    Ws = np.ascontiguousarray(W.T)
    total = total_sq = 0.0
    for X in input_chunks(teacher.d, n_samples, seed=seed, chunk_size=chunk_size, stream=EVAL_STREAM):
        s, s2 = _kl_sums(X, Wt, at, Ws, v)
        total += s
        total_sq += s2
    return _finish(total, total_sq, n_samples)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _kl_sums_many(X, F, Wf, vf, woff, voff, width, h, G, sums, sqs):  # pragma: no cover - compiled
    """Add each student's KL sum and sum of squares over the rows of ``X`` (teacher logits ``F``).

    Student ``s``'s hidden weights are ``Wf[woff[s]:...]`` as a unit-major ``(d, n)`` array, so the
    forward pass (:func:`scaling_theory.numeric.sim.kernels._relu_logits`) runs over its units
    innermost, vectorised; ``h`` (at least ``n``) and ``G`` (at least the rows) are scratch.
    """
    N, d = X.shape
    for s in range(width.shape[0]):
        n = width[s]
        Wt = Wf[woff[s]:woff[s] + n * d].reshape((d, n))
        g = G[:N]
        _relu_logits(X, Wt, vf[voff[s]:voff[s] + n], h[:n], g)
        t = 0.0
        t2 = 0.0
        for r in range(N):
            kl = _bernoulli_kl(F[r], g[r])
            t += kl
            t2 += kl * kl
        sums[s] += t
        sqs[s] += t2


def reducible_errors(teacher: Teacher, students, *, n_samples: int = DEFAULT_EVAL_SAMPLES, seed: int = 0,
                     chunk_size: int = DEFAULT_CHUNK) -> list[tuple[float, float]]:
    """:func:`reducible_error` of several students on the *same* evaluation inputs, in one pass.

    The inputs and the teacher's logits are computed once per chunk for all students (the sweep
    evaluates every student of an IsoFLOP row this way); single-threaded, so a sweep worker
    stays on its own core.  Each result equals :func:`reducible_error` of that student alone
    (to rounding).

    Parameters
    ----------
    teacher : the teacher F.
    students : sequence of ``(W, v)`` pairs.
    n_samples, seed, chunk_size : as in :func:`reducible_error`.

    Returns
    -------
    list of (mean, stderr) in nats, in the order of ``students``.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> rng = np.random.default_rng(1)
    >>> pairs = [(rng.standard_normal((k, 3)), rng.standard_normal(k)) for k in (1, 4)]
    >>> many = reducible_errors(t, pairs, n_samples=500, seed=2)
    >>> alone = [reducible_error_reference(t, W, v, n_samples=500, seed=2) for W, v in pairs]
    >>> bool(np.allclose(many, alone, rtol=1e-9))
    True

    References
    ----------
    docs/paper-setting.md "Empirical check" (reducible error on fresh inputs).
    """
    checked = [_check(teacher, W, v, n_samples)[:2] for W, v in students]
    n_samples = int(n_samples)
    if n_samples < 2:
        raise UserInputError(f"n_samples must be at least 2, got {n_samples}")
    if not checked:
        return []
    from scaling_theory.numeric.sim.teacher import teacher_logits_fast

    d = teacher.d
    width = np.array([W.shape[0] for W, _ in checked], dtype=np.int64)
    woff = np.zeros(len(checked), dtype=np.int64)
    woff[1:] = np.cumsum(width * d)[:-1]
    voff = np.zeros(len(checked), dtype=np.int64)
    voff[1:] = np.cumsum(width)[:-1]
    Wf = np.concatenate([W.T.ravel() for W, _ in checked])   # unit-major (d, n) per student
    vf = np.concatenate([v for _, v in checked])
    h = np.empty(int(width.max()))
    G = np.empty(min(int(chunk_size), n_samples))
    sums = np.zeros(len(checked))
    sqs = np.zeros(len(checked))
    for X in input_chunks(d, n_samples, seed=seed, chunk_size=chunk_size, stream=EVAL_STREAM):
        _kl_sums_many(X, teacher_logits_fast(teacher, X), Wf, vf, woff, voff, width, h, G, sums, sqs)
    return [_finish(float(a), float(b), n_samples) for a, b in zip(sums, sqs)]
