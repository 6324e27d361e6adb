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
def _bernoulli_kl(F, G):
    """KL(Bern(sigma(F)) || Bern(sigma(G))) from the logits, exact in Y, clipped at 0 against rounding.

    ``softplus(G) - softplus(F) - sigma(F) (G - F)`` (docs/paper-setting.md, "Framework"): the one
    compiled helper, used by the trainers' online KL and by :mod:`scaling_theory.numeric.sim.error`
    (whose :func:`~scaling_theory.numeric.sim.error.bernoulli_kl` is its NumPy reference).
    """
    kl = _softplus(G) - _softplus(F) - _sigmoid(F) * (G - F)
    return 0.0 if kl < 0.0 else kl   # a NaN stays NaN (a diverged student is reported, not hidden)


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
    """``sum_k v[k] ReLU(h[k])`` (branch-free: a sign branch mispredicts half the time)."""
    f = 0.0
    for k in range(h.shape[0]):
        f += v[k] * max(h[k], 0.0)
    return f


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _relu_logits(X, Wt, a, h, out):  # pragma: no cover - compiled
    """``out[r] = sum_k a_k ReLU((Wt^T X[r])_k)`` for every row; ``h`` is scratch of length n."""
    for r in range(X.shape[0]):
        _hidden(Wt, X[r], h)
        out[r] = _relu_dot(a, h)


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
