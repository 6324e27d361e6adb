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

import hashlib
import math
from collections import OrderedDict

import numpy as np
from numba import njit, prange

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sim.teacher import (DEFAULT_CHUNK, EVAL_STREAM, Teacher, input_chunks, sigmoid,
                                                teacher_logits, teacher_logits_fast)
# the compiled Bernoulli KL from logits (the trainers' online KL uses the same one) and the
# unit-major forward pass (vectorised over units)
from scaling_theory.numeric.sim.kernels import (FASTMATH, _bernoulli_kl, _hidden, _kl_from_parts, _relu_dot,
                                                _relu_logits, _softplus, _teacher_parts)

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
    The earlier evaluation kernel, kept for the speed benchmark (:func:`_kl_sums_rows` is used).
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


_ROW_BLOCK = 1024      # rows per block of the row-vectorised pass: 8 x 1024 inputs stay in L1/L2
_ROWS_BELOW_WIDTH = 256  # d = 8 students narrower than this take the row-vectorised pass


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _relu_logits_rows8(Xt, Wt, v, g):  # pragma: no cover - compiled
    """``g[r] = sum_k v_k ReLU(sum_j Wt[j, k] Xt[j, r])`` for ``d = 8``, vectorised over rows.

    Input-major ``Xt (8, N)``: the rows are the contiguous inner loop (4 per AVX2 instruction)
    and two units' weights are held in registers, so a narrow student (a few units, for which the
    unit-vectorised :func:`scaling_theory.numeric.sim.kernels._relu_logits` runs mostly loop
    overhead) is not dominated by overhead.  Rows in blocks of ``_ROW_BLOCK``.
    """
    N = Xt.shape[1]
    n = Wt.shape[1]
    n2 = n - n % 2
    for r0 in range(0, N, _ROW_BLOCK):
        r1 = min(N, r0 + _ROW_BLOCK)
        m = r1 - r0
        gb = g[r0:r1]
        for r in range(m):
            gb[r] = 0.0
        X0 = Xt[0, r0:r1]
        X1 = Xt[1, r0:r1]
        X2 = Xt[2, r0:r1]
        X3 = Xt[3, r0:r1]
        X4 = Xt[4, r0:r1]
        X5 = Xt[5, r0:r1]
        X6 = Xt[6, r0:r1]
        X7 = Xt[7, r0:r1]
        for k in range(0, n2, 2):
            w0 = Wt[0, k]
            w1 = Wt[1, k]
            w2 = Wt[2, k]
            w3 = Wt[3, k]
            w4 = Wt[4, k]
            w5 = Wt[5, k]
            w6 = Wt[6, k]
            w7 = Wt[7, k]
            a = v[k]
            u0 = Wt[0, k + 1]
            u1 = Wt[1, k + 1]
            u2 = Wt[2, k + 1]
            u3 = Wt[3, k + 1]
            u4 = Wt[4, k + 1]
            u5 = Wt[5, k + 1]
            u6 = Wt[6, k + 1]
            u7 = Wt[7, k + 1]
            b = v[k + 1]
            for r in range(m):
                x0 = X0[r]
                x1 = X1[r]
                x2 = X2[r]
                x3 = X3[r]
                x4 = X4[r]
                x5 = X5[r]
                x6 = X6[r]
                x7 = X7[r]
                p = w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7
                q = u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3 + u4 * x4 + u5 * x5 + u6 * x6 + u7 * x7
                gb[r] += a * max(p, 0.0) + b * max(q, 0.0)
        for k in range(n2, n):
            w0 = Wt[0, k]
            w1 = Wt[1, k]
            w2 = Wt[2, k]
            w3 = Wt[3, k]
            w4 = Wt[4, k]
            w5 = Wt[5, k]
            w6 = Wt[6, k]
            w7 = Wt[7, k]
            a = v[k]
            for r in range(m):
                p = (w0 * X0[r] + w1 * X1[r] + w2 * X2[r] + w3 * X3[r]
                     + w4 * X4[r] + w5 * X5[r] + w6 * X6[r] + w7 * X7[r])
                gb[r] += a * max(p, 0.0)


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _kl_sums_rows(X, Xt, P, Wf, vf, woff, voff, width, h, G, sums, sqs):  # pragma: no cover - compiled
    """:func:`_kl_sums_many` with the teacher's KL parts precomputed and narrow students by rows.

    ``P`` holds the teacher's logits and their ``softplus`` and ``sigma`` (rows 0, 1, 2; see
    :func:`scaling_theory.numeric.sim.kernels._teacher_parts`), computed once per chunk for every
    student, so each row costs one ``softplus`` of the student's logit.  For ``d = 8`` a student
    narrower than ``_ROWS_BELOW_WIDTH`` units runs :func:`_relu_logits_rows8` on the input-major
    copy ``Xt``; the others the unit-vectorised forward pass.
    """
    N, d = X.shape
    for s in range(width.shape[0]):
        n = width[s]
        Wt = Wf[woff[s]:woff[s] + n * d].reshape((d, n))
        v = vf[voff[s]:voff[s] + n]
        g = G[:N]
        if d == 8 and n < _ROWS_BELOW_WIDTH:
            _relu_logits_rows8(Xt, Wt, v, g)
        else:
            _relu_logits(X, Wt, v, h[:n], g)
        t = 0.0
        t2 = 0.0
        for r in range(N):
            gr = g[r]
            kl = _kl_from_parts(_softplus(gr), gr, P[1, r], P[2, r], P[0, r])
            t += kl
            t2 += kl * kl
        sums[s] += t
        sqs[s] += t2


#: evaluation chunks kept per process (inputs, their transpose, the teacher's KL parts): the rows
#: of one teacher at several budgets share their evaluation and validation streams; the least
#: recently used streams are dropped once the kept ones exceed ``_EVAL_CACHE_BYTES`` in all
_EVAL_CACHE: "OrderedDict[tuple, list]" = OrderedDict()
_EVAL_CACHE_BYTES = 1 << 26   # 64 MiB: 44 streams of the protocol's 10000 inputs at d = 8


def _eval_chunks(teacher: Teacher, n_samples: int, seed: int, chunk_size: int) -> list:
    """The evaluation stream's chunks ``(X, Xt, P)`` for ``teacher``, drawn once per process.

    ``X`` as :func:`scaling_theory.numeric.sim.teacher.input_chunks` yields it, ``Xt`` its
    input-major copy and ``P`` the teacher's logits with their softplus and sigma.  Keyed by the
    teacher's weights (a digest of their bytes), the seed, ``n_samples`` and ``chunk_size``, so a
    re-sampled identical teacher hits; the arrays are read-only.
    """
    W = np.ascontiguousarray(teacher.W, dtype=np.float64)
    a = np.ascontiguousarray(teacher.a, dtype=np.float64)
    digest = hashlib.blake2b(W.tobytes(), digest_size=16)
    digest.update(a.tobytes())
    digest.update(repr(W.shape).encode())
    key = (digest.hexdigest(), int(teacher.d), int(seed), int(n_samples), int(chunk_size))
    hit = _EVAL_CACHE.get(key)
    if hit is not None:
        _EVAL_CACHE.move_to_end(key)
        return hit
    chunks = []
    for X in input_chunks(teacher.d, n_samples, seed=seed, chunk_size=chunk_size, stream=EVAL_STREAM):
        P = np.empty((3, X.shape[0]))
        P[0] = teacher_logits_fast(teacher, X)
        _teacher_parts(P[0], P[1], P[2])
        Xt = np.ascontiguousarray(X.T)
        for arr in (X, Xt, P):
            arr.setflags(write=False)
        chunks.append((X, Xt, P))
    if _stream_bytes(chunks) <= _EVAL_CACHE_BYTES:
        _EVAL_CACHE[key] = chunks
        while sum(_stream_bytes(c) for c in _EVAL_CACHE.values()) > _EVAL_CACHE_BYTES:
            _EVAL_CACHE.popitem(last=False)
    return chunks


def _stream_bytes(chunks: list) -> int:
    return sum(arr.nbytes for chunk in chunks for arr in chunk)


def reducible_errors(teacher: Teacher, students, *, n_samples: int = DEFAULT_EVAL_SAMPLES, seed: int = 0,
                     chunk_size: int = DEFAULT_CHUNK) -> list[tuple[float, float]]:
    """:func:`reducible_error` of several students on the *same* evaluation inputs, in one pass.

    The inputs and the teacher's logits (with their softplus and sigma) are computed once per
    chunk for all students (the sweep evaluates every student of an IsoFLOP row this way) and kept
    for the process's next call with the same teacher, seed and size (:func:`_eval_chunks`: the
    rows of one teacher at several budgets share their streams); narrow students run a
    row-vectorised forward pass (:func:`_kl_sums_rows`).  Single-threaded, so a sweep worker
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
    for X, Xt, P in _eval_chunks(teacher, n_samples, seed, chunk_size):
        _kl_sums_rows(X, Xt, P, Wf, vf, woff, voff, width, h, G, sums, sqs)
    return [_finish(float(a), float(b), n_samples) for a, b in zip(sums, sqs)]
