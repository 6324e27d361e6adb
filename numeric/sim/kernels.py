"""Compiled primitives shared by the teacher stream, the trainers and the error estimator.

A leaf module (it imports no other part of the simulator), so :mod:`scaling_theory.numeric.sim.teacher`,
:mod:`scaling_theory.numeric.sim.train_cpu` and :mod:`scaling_theory.numeric.sim.error` all use the same
compiled code: the stable ``softplus`` and ``sigmoid``, the Bernoulli KL from logits, and the
*unit-major* forward pass of a one-hidden-layer ReLU network.

Unit-major layout: the hidden weights are stored transposed, ``Wt`` of shape ``(d, n)``, so that the
pre-activations ``h = W x`` are computed as ``h[:] = sum_j Wt[j, :] x[j]`` with the unit index
innermost and contiguous: LLVM vectorises that loop over units (4 doubles per AVX2 instruction)
whatever the width, where the row-major dot products ``W[i, :] . x`` of length ``d = 8`` vectorise
poorly.  The input dimension is taken in blocks of 8 (one pass over ``h`` per block), then one pass
per leftover coordinate.  Floating-point: LLVM fast-math flags ``reassoc``, ``contract``, ``nsz``,
``arcp`` (sums reordered and fused), never ``nnan``/``ninf``, so NaN and inf propagate; results agree
with the NumPy expressions to rounding (tests: ``tests/numeric/sim/test_kernels.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["relu_logits", "relu_logits_reference"]

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, inline="always")
def _softplus(f):
    # log(1 + e^f) without overflow
    if f > 0.0:
        return f + math.log1p(math.exp(-f))
    return math.log1p(math.exp(f))


@njit(cache=True, inline="always")
def _sigmoid(f):
    if f >= 0.0:
        return 1.0 / (1.0 + math.exp(-f))
    e = math.exp(f)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
def _kl_from_parts(sp_G, G, sp_F, sg_F, F):
    """The Bernoulli KL from ``softplus(G)``, ``G``, ``softplus(F)``, ``sigma(F)`` and ``F``.

    ``softplus(G) - softplus(F) - sigma(F) (G - F)`` (docs/paper-setting.md, "Framework"), clipped at
    0 against rounding; a NaN stays NaN (a diverged student is reported, not hidden).  The trainers
    pass the teacher's parts computed once per chunk (:func:`_teacher_parts`, shared by every
    student) and the softplus their loss already needs.
    """
    kl = sp_G - sp_F - sg_F * (G - F)
    return 0.0 if kl < 0.0 else kl


@njit(cache=True, inline="always")
def _bernoulli_kl(F, G):
    """KL(Bern(sigma(F)) || Bern(sigma(G))) from the logits, exact in Y, clipped at 0 against rounding.

    The one compiled helper (:func:`_kl_from_parts` of the logits), used by the trainers' online KL
    and by :mod:`scaling_theory.numeric.sim.error`; its NumPy reference is
    :func:`scaling_theory.numeric.sim.error.bernoulli_kl`.
    """
    return _kl_from_parts(_softplus(G), G, _softplus(F), _sigmoid(F), F)


@njit(cache=True, nogil=True)
def _teacher_parts(F, sp_F, sg_F):  # pragma: no cover - compiled
    """``sp_F = softplus(F)`` and ``sg_F = sigma(F)`` elementwise (the teacher's share of the KL)."""
    for t in range(F.shape[0]):
        sp_F[t] = _softplus(F[t])
        sg_F[t] = _sigmoid(F[t])


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _hidden(Wt, x, h):
    """``h[k] = sum_j Wt[j, k] x[j]`` (unit-major weights ``Wt (d, n)``), units innermost."""
    d, n = Wt.shape
    d8 = d - d % 8
    if d8 == 0:
        for k in range(n):
            h[k] = 0.0
    for j in range(0, d8, 8):
        x0 = x[j]
        x1 = x[j + 1]
        x2 = x[j + 2]
        x3 = x[j + 3]
        x4 = x[j + 4]
        x5 = x[j + 5]
        x6 = x[j + 6]
        x7 = x[j + 7]
        if j == 0:
            for k in range(n):
                h[k] = (Wt[j, k] * x0 + Wt[j + 1, k] * x1 + Wt[j + 2, k] * x2 + Wt[j + 3, k] * x3
                        + Wt[j + 4, k] * x4 + Wt[j + 5, k] * x5 + Wt[j + 6, k] * x6 + Wt[j + 7, k] * x7)
        else:
            for k in range(n):
                h[k] += (Wt[j, k] * x0 + Wt[j + 1, k] * x1 + Wt[j + 2, k] * x2 + Wt[j + 3, k] * x3
                         + Wt[j + 4, k] * x4 + Wt[j + 5, k] * x5 + Wt[j + 6, k] * x6 + Wt[j + 7, k] * x7)
    for j in range(d8, d):
        xj = x[j]
        for k in range(n):
            h[k] += Wt[j, k] * xj


@njit(cache=True, inline="always", fastmath=FASTMATH)
def _relu_dot(v, h):
    """``sum_k v[k] ReLU(h[k])`` (branch-free: a sign branch mispredicts half the time), in ``v``'s dtype."""
    zero = v.dtype.type(0.0)  # a float64 literal would promote float32 students' sums
    f = zero
    for k in range(h.shape[0]):
        f += v[k] * max(h[k], zero)
    return f


_UNIT_BLOCK = 256  # units per block of the many-row forward pass: 8 x 256 weights stay in L1


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _relu_logits(X, Wt, a, h, out):  # pragma: no cover - compiled
    """``out[r] = sum_k a_k ReLU((Wt^T X[r])_k)`` for every row; ``h`` is scratch of length n.

    Units are taken in blocks of ``_UNIT_BLOCK`` (the block's weights stay in L1 while every row
    passes); for ``d = 8`` the pre-activation, ReLU and output sum run in one pass (no scratch).
    """
    N, d = X.shape
    n = Wt.shape[1]
    for r in range(N):
        out[r] = 0.0
    for kb in range(0, n, _UNIT_BLOCK):
        ke = min(n, kb + _UNIT_BLOCK)
        m = ke - kb
        ab = a[kb:ke]
        if d == 8:
            W0 = Wt[0, kb:ke]
            W1 = Wt[1, kb:ke]
            W2 = Wt[2, kb:ke]
            W3 = Wt[3, kb:ke]
            W4 = Wt[4, kb:ke]
            W5 = Wt[5, kb:ke]
            W6 = Wt[6, kb:ke]
            W7 = Wt[7, kb:ke]
            for r in range(N):
                x0 = X[r, 0]
                x1 = X[r, 1]
                x2 = X[r, 2]
                x3 = X[r, 3]
                x4 = X[r, 4]
                x5 = X[r, 5]
                x6 = X[r, 6]
                x7 = X[r, 7]
                f = 0.0
                for k in range(m):
                    acc = (W0[k] * x0 + W1[k] * x1 + W2[k] * x2 + W3[k] * x3
                           + W4[k] * x4 + W5[k] * x5 + W6[k] * x6 + W7[k] * x7)
                    f += ab[k] * max(acc, 0.0)
                out[r] += f
        else:
            Wb = np.ascontiguousarray(Wt[:, kb:ke])
            hb = h[:m]
            for r in range(N):
                _hidden(Wb, X[r], hb)
                out[r] += _relu_dot(ab, hb)


def relu_logits(X: np.ndarray, W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Logits ``ReLU(X W^T) a`` of a one-hidden-layer ReLU network by the unit-major kernel.

    Parameters
    ----------
    X : inputs ``(N, d)``.
    W : hidden weights ``(n, d)`` (row-major, as everywhere else; transposed here).
    a : output weights ``(n,)``.

    Returns
    -------
    ``(N,)`` float64 logits, equal to :func:`relu_logits_reference` up to rounding.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, W, a = rng.standard_normal((50, 11)), rng.standard_normal((9, 11)), rng.standard_normal(9)
    >>> bool(np.allclose(relu_logits(X, W, a), relu_logits_reference(X, W, a), rtol=1e-12, atol=1e-12))
    True
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    Wt = np.ascontiguousarray(np.asarray(W, dtype=np.float64).T)
    a = np.ascontiguousarray(a, dtype=np.float64)
    out = np.empty(X.shape[0])
    _relu_logits(X, Wt, a, np.empty(Wt.shape[1]), out)
    return out


def relu_logits_reference(X: np.ndarray, W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """NumPy reference of :func:`relu_logits`: ``np.maximum(X @ W.T, 0) @ a``.

    Examples
    --------
    >>> relu_logits_reference(np.array([[3.0, 1.0]]), np.array([[1.0, -1.0]]), np.array([2.0])).tolist()
    [4.0]
    """
    return np.maximum(np.asarray(X, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T, 0.0) @ np.asarray(
        a, dtype=np.float64)
