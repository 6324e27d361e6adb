"""Particle kernels of the SMC estimator: teacher logits of every particle, and the Metropolis-Hastings sweep.

A particle is a standard-normal latent vector ``z`` (the prior is ``N(0, I_D)`` in every case), mapped
to a teacher network ``F(x) = sum_j A_j ReLU(W_j . x)`` by :func:`unpack`:

* ``kind = 0`` (finite teacher, K units): ``z = (a_1..a_K, w_1..w_K)``, ``A = a``, ``W = w``, so ``D = K (d+1)``
  and the prior is exactly the law of :func:`scaling_theory.numeric.sim.teacher.sample_teacher`.
* ``kind = 1`` (Dirichlet-process teacher, concentration ``c``, truncated at ``M`` atoms):
  ``z = (s_1..s_{M-1}, a_1..a_M, w_1..w_M)``; the stick fractions are ``beta_j = 1 - Phi(-s_j)^{1/c}``
  (the inverse-CDF map of ``Beta(1, c)``), ``pi_j = beta_j prod_{i<j} (1 - beta_i)``, the last atom takes
  the rest of the stick (``beta_M = 1``, Ishwaran & James 2001), and ``A_j = c pi_j a_j``; ``D = M-1 + M(d+1)``.

Every Numba kernel here has a plain NumPy reference (suffix ``_reference``) and tests that they agree.
The kernels are deterministic: the random numbers (proposal increments, log-uniforms) are drawn by the
caller, so runs reproduce whatever the thread count.

References
----------
Ishwaran & James, "Gibbs sampling methods for stick-breaking priors", JASA 96 (2001) (truncated stick).
docs/bayes.md (the estimator).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["FINITE", "DIRICHLET", "latent_dim", "unpack", "unpack_reference", "logits", "logits_reference",
           "log_lik_bernoulli", "mh_sweep", "mh_sweep_reference"]

FINITE = 0
DIRICHLET = 1


def latent_dim(kind: int, d: int, m: int) -> int:
    """Length ``D`` of the latent vector for ``m`` units (finite) or ``m`` atoms (Dirichlet process).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.kernels import latent_dim, FINITE, DIRICHLET
    >>> latent_dim(FINITE, 2, 3), latent_dim(DIRICHLET, 2, 3)
    (9, 11)
    """
    return m * (d + 1) + (m - 1 if kind == DIRICHLET else 0)


@njit(cache=True, inline="always")
def _log_phi_upper(s):
    # log Phi(-s) = log(erfc(s / sqrt 2) / 2); erfc underflows to 0 for s > ~38, giving -inf
    v = 0.5 * math.erfc(s / math.sqrt(2.0))
    return math.log(v) if v > 0.0 else -np.inf


@njit(cache=True)
def _unpack_into(z, kind, m, d, conc, A, W):
    """Write the network of latent ``z`` into ``A`` (m,) and ``W`` (m, d)."""
    off = 0
    if kind == DIRICHLET:
        off = m - 1
    for j in range(m):
        for k in range(d):
            W[j, k] = z[off + m + j * d + k]
    if kind == FINITE:
        for j in range(m):
            A[j] = z[j]
        return
    log_rest = 0.0  # log prod_{i<j} (1 - beta_i)
    for j in range(m):
        if j < m - 1:
            log_keep = _log_phi_upper(z[j]) / conc          # log(1 - beta_j)
            beta = -math.expm1(log_keep) if log_keep > -np.inf else 1.0
            pi = math.exp(log_rest) * beta
            log_rest += log_keep
        else:
            pi = math.exp(log_rest)
        A[j] = conc * pi * z[off + j]


def unpack(z: np.ndarray, kind: int, m: int, d: int, conc: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The network ``(A, W)`` of one latent vector (Numba; see the module docstring for the map).

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import unpack, unpack_reference, FINITE, DIRICHLET
    >>> A, W = unpack(np.arange(6.0), FINITE, 2, 2)
    >>> A.tolist(), W.tolist()
    ([0.0, 1.0], [[2.0, 3.0], [4.0, 5.0]])
    >>> z = np.random.default_rng(0).standard_normal(11)
    >>> A, W = unpack(z, DIRICHLET, 3, 2, 2.0)
    >>> Ar, Wr = unpack_reference(z, DIRICHLET, 3, 2, 2.0)
    >>> bool(np.allclose(A, Ar, rtol=1e-13) and np.array_equal(W, Wr))
    True
    """
    A = np.empty(m)
    W = np.empty((m, d))
    _unpack_into(np.ascontiguousarray(z, dtype=np.float64), kind, m, d, float(conc), A, W)
    return A, W


def unpack_reference(z: np.ndarray, kind: int, m: int, d: int, conc: float = 1.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference of :func:`unpack`; ``z`` may carry leading batch axes (``(..., D)``)."""
    from scipy.special import log_ndtr

    z = np.asarray(z, dtype=np.float64)
    off = m - 1 if kind == DIRICHLET else 0
    W = z[..., off + m: off + m + m * d].reshape(z.shape[:-1] + (m, d))
    a = z[..., off: off + m]
    if kind == FINITE:
        return a.copy(), W.copy()
    log_keep = log_ndtr(-z[..., : m - 1]) / conc                     # log(1 - beta_j), Beta(1, c) by inverse CDF
    beta = -np.expm1(log_keep)
    log_rest = np.concatenate([np.zeros(z.shape[:-1] + (1,)), np.cumsum(log_keep, axis=-1)], axis=-1)
    pi = np.exp(log_rest) * np.concatenate([beta, np.ones(z.shape[:-1] + (1,))], axis=-1)
    return conc * pi * a, W.copy()


@njit(cache=True, inline="always")
def _logit(A, W, x, m, d):
    f = 0.0
    for j in range(m):
        h = 0.0
        for k in range(d):
            h += W[j, k] * x[k]
        if h > 0.0:
            f += A[j] * h
    return f


@njit(cache=True, inline="always")
def log_lik_bernoulli(f, y):
    """``log p(y | f) = log sigma(f)`` for ``y = 1``, ``log sigma(-f)`` for ``y = 0`` (stable)."""
    g = -f if y > 0.5 else f          # log p = -softplus(g)
    if g > 0.0:
        return -(g + math.log1p(math.exp(-g)))
    return -math.log1p(math.exp(g))


@njit(cache=True)
def _logits_kernel(Z, kind, m, d, conc, x, out):
    # serial: one observation is too little work per particle to pay for a thread launch
    n, P = Z.shape[0], Z.shape[1]
    A = np.empty(m)
    W = np.empty((m, d))
    for b in range(n):
        for i in range(P):
            _unpack_into(Z[b, i], kind, m, d, conc, A, W)
            out[b, i] = _logit(A, W, x[b], m, d)


def logits(Z: np.ndarray, kind: int, m: int, d: int, conc: float, x: np.ndarray) -> np.ndarray:
    """Logits ``F_z(x_b)`` of every particle ``Z[b, i]`` of every teacher ``b`` at that teacher's input ``x[b]``.

    Parameters
    ----------
    Z : ``(n, P, D)`` particles of ``n`` independent runs.
    kind, m, d, conc : the latent map (see :func:`unpack`).
    x : ``(n, d)``, one input per run.

    Returns
    -------
    ``(n, P)`` array of logits.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import logits, logits_reference, FINITE
    >>> Z = np.random.default_rng(1).standard_normal((2, 5, 6))
    >>> x = np.ones((2, 2))
    >>> bool(np.allclose(logits(Z, FINITE, 2, 2, 1.0, x), logits_reference(Z, FINITE, 2, 2, 1.0, x)))
    True
    """
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    out = np.empty(Z.shape[:2])
    _logits_kernel(Z, kind, m, d, float(conc), np.ascontiguousarray(x, dtype=np.float64), out)
    return out


def logits_reference(Z, kind, m, d, conc, x) -> np.ndarray:
    """NumPy reference of :func:`logits`."""
    A, W = unpack_reference(Z, kind, m, d, conc)                       # (n, P, m), (n, P, m, d)
    H = np.einsum("npmk,nk->npm", W, np.asarray(x, dtype=np.float64))
    return np.sum(A * np.maximum(H, 0.0), axis=-1)


@njit(cache=True, parallel=True)
def _mh_kernel(Z, ll, X, y, t, active, kind, m, d, conc, step, log_u, accepted):
    n, P, D = Z.shape
    for q in prange(n * P):
        b, i = q // P, q % P
        accepted[b, i] = False
        if not active[b]:
            continue
        zp = np.empty(D)
        sq_old = 0.0
        sq_new = 0.0
        for k in range(D):
            zp[k] = Z[b, i, k] + step[b, i, k]
            sq_old += Z[b, i, k] * Z[b, i, k]
            sq_new += zp[k] * zp[k]
        A = np.empty(m)
        W = np.empty((m, d))
        _unpack_into(zp, kind, m, d, conc, A, W)
        lp = 0.0
        for s in range(t):
            lp += log_lik_bernoulli(_logit(A, W, X[b, s], m, d), y[b, s])
        if log_u[b, i] < lp - ll[b, i] - 0.5 * (sq_new - sq_old):
            for k in range(D):
                Z[b, i, k] = zp[k]
            ll[b, i] = lp
            accepted[b, i] = True


def mh_sweep(Z, ll, X, y, t, active, kind, m, d, conc, step, log_u) -> np.ndarray:
    """One random-walk Metropolis-Hastings move of every particle, targeting its run's posterior given ``t`` data.

    The target of run ``b`` is ``N(z; 0, I) prod_{s<t} p(y[b, s] | F_z(X[b, s]))``; the proposal is
    ``z + step[b, i]`` (symmetric: the caller draws ``step`` from a fixed centred Gaussian), accepted when
    ``log_u < log target(z') - log target(z)``.  ``Z`` and the stored log-likelihoods ``ll`` (``(n, P)``) are
    updated in place; runs with ``active[b]`` false are left alone.

    Returns
    -------
    ``(n, P)`` boolean array: which proposals were accepted.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import mh_sweep, mh_sweep_reference, FINITE
    >>> rng = np.random.default_rng(2)
    >>> Z, X = rng.standard_normal((1, 4, 3)), rng.standard_normal((1, 6, 2))
    >>> y, step, lu = (rng.random((1, 6)) < .5) * 1.0, .3 * rng.standard_normal((1, 4, 3)), np.log(rng.random((1, 4)))
    >>> ll = np.zeros((1, 4)); Z2, ll2 = Z.copy(), ll.copy()
    >>> _ = mh_sweep_reference(Z2, ll2, X, y, 0, np.array([True]), FINITE, 1, 2, 1.0, step, lu)
    >>> acc = mh_sweep(Z, ll, X, y, 0, np.array([True]), FINITE, 1, 2, 1.0, step, lu)
    >>> bool(np.array_equal(Z, Z2))   # the kernel and its reference make the same moves
    True

    References
    ----------
    Metropolis et al. (1953); Hastings (1970). docs/bayes.md ("The estimator").
    """
    accepted = np.zeros(Z.shape[:2], dtype=np.bool_)
    _mh_kernel(Z, ll, X, y, int(t), np.asarray(active, dtype=np.bool_), kind, m, d, float(conc),
               np.ascontiguousarray(step), np.ascontiguousarray(log_u), accepted)
    return accepted


def mh_sweep_reference(Z, ll, X, y, t, active, kind, m, d, conc, step, log_u) -> np.ndarray:
    """NumPy reference of :func:`mh_sweep` (same arguments, same in-place updates)."""
    Zp = Z + step
    A, W = unpack_reference(Zp, kind, m, d, conc)                      # (n, P, m), (n, P, m, d)
    H = np.maximum(np.einsum("npmk,nsk->npsm", W, X[:, :t]), 0.0)
    F = np.sum(H * A[:, :, None, :], axis=-1)                          # (n, P, t)
    Y = y[:, None, :t]
    lp = np.sum(-np.logaddexp(0.0, np.where(Y > 0.5, -F, F)), axis=-1)
    log_ratio = lp - ll - 0.5 * (np.sum(Zp ** 2, axis=-1) - np.sum(Z ** 2, axis=-1))
    accept = (log_u < log_ratio) & np.asarray(active, dtype=bool)[:, None]
    Z[accept] = Zp[accept]
    ll[accept] = lp[accept]
    return accept
