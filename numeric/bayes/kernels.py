"""Particle kernels of the SMC estimator: the likelihood of every particle, the reweighting step, the MH move.

A particle is a standard-normal latent vector ``z`` (the prior is ``N(0, I_D)`` in every case), mapped
to a network ``F(x) = sum_j A_j ReLU(W_j . x)`` with ``m`` units by :func:`unpack`:

* ``kind = FINITE`` (K units): ``z = (a_1..a_m, w_1..w_m)``, ``A = a``, ``W = w``, so ``D = m (d+1)``
  and the prior is exactly the law of :func:`scaling_theory.numeric.sim.teacher.sample_teacher`.
* ``kind = DIRICHLET`` (Dirichlet-process teacher, concentration ``c``, stick truncated at ``m`` atoms):
  ``z = (s_1..s_{m-1}, a_1..a_m, w_1..w_m)``; the stick fractions are ``beta_j = 1 - Phi(-s_j)^{1/c}``
  (the inverse-CDF map of ``Beta(1, c)``), ``pi_j = beta_j prod_{i<j} (1 - beta_i)``, the last atom takes
  the rest of the stick (``beta_m = 1``, Ishwaran & James 2001), and ``A_j = c pi_j a_j``;
  ``D = m-1 + m(d+1)``.
* ``kind = DP_RENORMALISED`` (the width-``m`` learner of the Dirichlet-process teacher, docs/bayes.md
  "The restricted learner"): the first ``m`` atoms of the same stick, renormalised:
  ``z = (s_1..s_m, a_1..a_m, w_1..w_m)``, ``A_j = c pi_j a_j / sum_{i<=m} pi_i``; ``D = m + m(d+1)``.
* The Pitman-Yor teacher (discount ``sigma``, concentration ``c``) uses the same two maps with its own
  stick: ``conc = (c, sigma)`` (:func:`stick_parameters`) and ``1 - beta_j ~ Beta(c + j sigma, 1 - sigma)``
  by its inverse CDF at ``Phi(-s_j)`` (:func:`log_keep`; Newton's method on the regularised incomplete Beta
  function in log space, solved in its smaller tail).  At ``sigma = 0`` that is ``Phi(-s_j)^{1/c}``, the
  Dirichlet process's map, computed by the same expression as before.

Every Numba kernel here has a plain NumPy reference (suffix ``_reference``) and tests that they agree.
The kernels are deterministic and each particle's arithmetic is independent of the others: the random
numbers (proposal increments, log-uniforms) are drawn by the caller, so runs reproduce whatever the
thread count.

Layout and arithmetic (the speed levers of docs/bayes.md, "Throughput"):

* **Observations innermost** in the Metropolis-Hastings move, which rescores a proposal on all ``t``
  observations so far: the inputs are stored transposed, ``XT (n, d, T)``, and one unit's
  pre-activations run over a chunk of 256 observations as one vectorised loop (the unit's weights are
  scalars in registers).
* **Particles innermost** in the reweighting step, which scores every particle at one new input: the
  particles' networks are cached unpacked and transposed, ``A (n, m, P)`` and ``W (n, m, d, P)``, so
  the step is a vectorised loop over particles; the cache of an accepted proposal is written by the move,
  so the stick map (``erfc``, ``log``, ``exp`` per atom) is never recomputed per observation.
* **One logarithm per chunk.** ``log p(y | f) = -softplus(g)`` with ``g = -f`` for ``y = 1`` and
  ``g = f`` for ``y = 0``, and ``softplus(g) = max(g, 0) + log(1 + e^{-|g|})``.  Every factor
  ``1 + e^{-|g|}`` lies in ``(1, 2]``, so the product over a chunk of 256 observations cannot overflow:
  a chunk costs one ``log`` in place of 256 ``log1p``.
* **A vectorisable exp** (:func:`exp_nonpositive`): Cody-Waite range reduction, a degree-12 Taylor
  polynomial, and ``2^k`` written into the exponent bits (an integer shift and a bit cast, where a table
  lookup became a slow gather); float64 throughout, within 2 ulp of ``math.exp`` (a test checks).
* LLVM fast-math flags ``reassoc``, ``contract`` (sums may be reordered and fused, so the chunk sums
  vectorise), as in :mod:`scaling_theory.numeric.sim.kernels`; results agree with the references to
  rounding (about ``1e-15`` relative per observation).

References
----------
Ishwaran & James, "Gibbs sampling methods for stick-breaking priors", JASA 96 (2001) (truncated stick).
Cody & Waite, "Software Manual for the Elementary Functions" (1980) (range reduction of exp).
docs/bayes.md (the estimator, its speed).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

__all__ = ["FINITE", "DIRICHLET", "DP_RENORMALISED", "latent_dim", "stick_parameters", "log_keep",
           "log_keep_reference", "unpack", "unpack_reference", "logits",
           "logits_reference", "log_lik_bernoulli", "exp_nonpositive", "network_log_lik",
           "network_log_lik_reference", "network_cache", "advance", "advance_reference", "mh_sweep",
           "mh_sweep_reference", "mh_moves", "mh_moves_reference", "weighted_covariance",
           "weighted_covariance_reference", "cholesky", "CHUNK"]

FINITE = 0
DIRICHLET = 1
DP_RENORMALISED = 2

FASTMATH = {"reassoc", "contract"}
#: observations per chunk of the likelihood: the product of 256 factors in (1, 2] stays below 2^256
CHUNK = 256
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238        # ln 2 split so that k * _LN2_HI is exact for |k| < 2^11 (fdlibm)
_LN2_LO = 1.9082149292705877e-10
_EXP_FLOOR = -40.0                  # e^-40 < 2^-57: 1 + e^-40 == 1 in float64, so clamping there is exact
_BLOCKS = 512                       # parallel blocks of the particle loops (thread count does not matter)


def latent_dim(kind: int, d: int, m: int) -> int:
    """Length ``D`` of the latent vector of ``m`` units (finite) or ``m`` atoms (the two stick maps).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.kernels import latent_dim, FINITE, DIRICHLET, DP_RENORMALISED
    >>> latent_dim(FINITE, 2, 3), latent_dim(DIRICHLET, 2, 3), latent_dim(DP_RENORMALISED, 2, 3)
    (9, 11, 12)
    """
    return m * (d + 1) + {FINITE: 0, DIRICHLET: m - 1, DP_RENORMALISED: m}[kind]


@njit(cache=True, inline="always")
def _log_phi_upper(s):
    # log Phi(-s), accurate in both tails: the small tail directly, the large one through log1p
    if s > 0.0:
        v = 0.5 * math.erfc(s / math.sqrt(2.0))
        return math.log(v) if v > 0.0 else -np.inf          # erfc underflows to 0 for s > ~38
    return math.log1p(-0.5 * math.erfc(-s / math.sqrt(2.0)))


def stick_parameters(conc) -> np.ndarray:
    """``[c, sigma]`` as the kernels take them: a concentration ``c`` alone is the Dirichlet process
    (``sigma = 0``), a pair ``(c, sigma)`` the Pitman-Yor stick.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.kernels import stick_parameters
    >>> stick_parameters(2.0).tolist(), stick_parameters((2.0, 0.5)).tolist()
    ([2.0, 0.0], [2.0, 0.5])
    """
    if np.ndim(conc) == 0:
        return np.array([float(conc), 0.0])
    c, sig = (float(v) for v in conc)
    if not (c > 0 and 0.0 <= sig < 1.0):
        raise ValueError(f"stick parameters need c > 0 and 0 <= sigma < 1, got {(c, sig)}")
    return np.array([c, sig])


_CF_EPS = 1e-16
_CF_TINY = 1e-300


@njit(cache=True)
def _log_betainc_lower(t, p, q, lbeta):
    """``log I_x(p, q)`` at ``x = e^t`` (``t < 0``) by its continued fraction (Lentz), for ``x`` below the mode
    region ``(p+1)/(p+q+2)`` where it converges fast; otherwise through the complement."""
    x = math.exp(t)
    if x > (p + 1.0) / (p + q + 2.0):
        # I_x(p, q) = 1 - I_{1-x}(q, p)
        return math.log1p(-math.exp(_log_betainc_cf(math.log1p(-x), t, q, p, lbeta)))
    return _log_betainc_cf(t, math.log1p(-x), p, q, lbeta)


@njit(cache=True, inline="always")
def _lentz_step(aa, dd, c):
    # one step of the modified Lentz method: the updated (D, C) and the factor D C of the convergent
    dd = 1.0 + aa * dd
    if abs(dd) < _CF_TINY:
        dd = _CF_TINY
    c = 1.0 + aa / c
    if abs(c) < _CF_TINY:
        c = _CF_TINY
    dd = 1.0 / dd
    return dd, c, dd * c


@njit(cache=True)
def _log_betainc_cf(lx, l1x, p, q, lbeta):
    # log[x^p (1-x)^q / (p B(p, q)) * cf]: the modified Lentz evaluation of the incomplete Beta's fraction
    x = math.exp(lx)
    qab, qap, qam = p + q, p + 1.0, p - 1.0
    c = 1.0
    dd = 1.0 - qab * x / qap
    if abs(dd) < _CF_TINY:
        dd = _CF_TINY
    dd = 1.0 / dd
    h = dd
    for k in range(1, 500):
        m2 = 2.0 * k
        dd, c, delta = _lentz_step(k * (q - k) * x / ((qam + m2) * (p + m2)), dd, c)       # even term
        h *= delta
        dd, c, delta = _lentz_step(-(p + k) * (qab + k) * x / ((p + m2) * (qap + m2)), dd, c)   # odd term
        h *= delta
        if abs(delta - 1.0) < _CF_EPS:
            break
    return p * lx + q * l1x - lbeta - math.log(p) + math.log(h)


@njit(cache=True)
def _log_beta_quantile(log_target, p, q):
    """``t = log x`` with ``I_x(p, q) = exp(log_target)`` (Newton's method on ``log I`` in ``t``, kept inside a
    bracket by bisection); ``-inf`` for a zero target."""
    if log_target == -np.inf:
        return -np.inf
    lbeta = math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)
    lo, hi = -1e4, 0.0
    # the small-x form I ~ x^p / (p B(p, q)) as the start
    t = min((log_target + math.log(p) + lbeta) / p, math.log(0.5))
    t = max(t, lo + 1.0)
    for _ in range(200):
        g = _log_betainc_lower(t, p, q, lbeta) - log_target
        if g > 0.0:
            hi = t
        else:
            lo = t
        x = math.exp(t)
        # d log I / dt = x^p (1-x)^(q-1) / (B I)
        slope = math.exp(p * t + (q - 1.0) * math.log1p(-x) - lbeta - (g + log_target)) if x < 1.0 else 0.0
        if g == 0.0:
            return t
        if slope > 0.0:
            t_new = t - g / slope
            if abs(t_new - t) <= 1e-14 * max(1.0, abs(t)):
                return t_new
        if slope <= 0.0 or not (lo < t_new < hi):      # Newton left the bracket: bisect (or step down)
            t_new = 0.5 * (lo + hi) if lo > -1e4 else t - max(1.0, abs(t))
        t = t_new
    return t


@njit(cache=True, inline="always")
def _log_keep(s, j, c, sig):
    # log(1 - beta_j) at latent s for stick j (0-based): Beta(1, c) (sigma = 0), else Beta(1 - sigma, c + (j+1) sigma)
    if sig == 0.0:
        return _log_phi_upper(s) / c
    p, q = c + (j + 1) * sig, 1.0 - sig            # 1 - beta_j ~ Beta(p, q), lower tail Phi(-s)
    if s > 0.0:
        return _log_beta_quantile(_log_phi_upper(s), p, q)
    # the upper tail is the smaller one: beta_j = y with I_y(q, p) = Phi(s)
    ly = _log_beta_quantile(_log_phi_upper(-s), q, p)
    return math.log1p(-math.exp(ly))


@njit(cache=True)
def _log_keep_many(s, j, c, sig, out):
    for i in range(s.shape[0]):
        out[i] = _log_keep(s[i], j[i], c, sig)


def log_keep(s, j, conc) -> np.ndarray:
    """``log(1 - beta_j)`` of stick ``j`` (0-based) at latent values ``s`` (Numba; the map of the module
    docstring): ``1 - beta_j`` is the ``Phi(-s)`` quantile of ``Beta(c + (j+1) sigma, 1 - sigma)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import log_keep, log_keep_reference
    >>> s = np.array([-3.0, -0.5, 0.0, 1.0, 6.0]); j = np.array([0, 1, 2, 3, 9])
    >>> bool(np.allclose(log_keep(s, j, 2.0), log_keep_reference(s, j, 2.0), rtol=1e-14))
    True
    >>> bool(np.allclose(log_keep(s, j, (2.0, 0.5)), log_keep_reference(s, j, (2.0, 0.5)), rtol=1e-10))
    True
    """
    c, sig = stick_parameters(conc)
    s = np.ascontiguousarray(s, dtype=np.float64).ravel()
    j = np.ascontiguousarray(np.broadcast_to(j, s.shape), dtype=np.int64)
    out = np.empty_like(s)
    _log_keep_many(s, j, c, sig, out)
    return out


def log_keep_reference(s, j, conc) -> np.ndarray:
    """SciPy reference of :func:`log_keep` (``betaincinv`` in the lower tail of ``1 - beta_j``, ``betaincinv`` of
    ``beta_j`` in the other; ``log_ndtr`` for the Dirichlet process)."""
    from scipy.special import betaincinv, log_ndtr, ndtr

    c, sig = stick_parameters(conc)
    s = np.asarray(s, dtype=np.float64)
    j = np.broadcast_to(np.asarray(j), s.shape)
    if sig == 0.0:
        return log_ndtr(-s) / c
    p, q = c + (j + 1) * sig, 1.0 - sig
    lower = np.log(betaincinv(p, q, ndtr(-s)))
    upper = np.log1p(-betaincinv(q, p, ndtr(s)))
    return np.where(s > 0.0, lower, upper)


@njit(cache=True)
def _unpack_into(z, kind, m, d, conc, A, W):
    """Write the network of latent ``z`` into ``A`` (m,) and ``W`` (m, d); ``conc = [c, sigma]``."""
    off = 0
    if kind == DIRICHLET:
        off = m - 1
    elif kind == DP_RENORMALISED:
        off = m
    for j in range(m):
        for k in range(d):
            W[j, k] = z[off + m + j * d + k]
    if kind == FINITE:
        for j in range(m):
            A[j] = z[j]
        return
    c, sig = conc[0], conc[1]
    log_rest = 0.0  # log prod_{i<j} (1 - beta_i)
    for j in range(m):
        if kind == DIRICHLET and j == m - 1:
            pi = math.exp(log_rest)                             # the last atom takes the rest
        else:
            lk = _log_keep(z[j], j, c, sig)                     # log(1 - beta_j)
            beta = -math.expm1(lk) if lk > -np.inf else 1.0
            pi = math.exp(log_rest) * beta
            log_rest += lk
        A[j] = c * pi * z[off + j]
    if kind == DP_RENORMALISED:
        total = -math.expm1(log_rest) if log_rest > -np.inf else 1.0   # sum_{j<=m} pi_j
        for j in range(m):
            # every beta_j == 0 needs s_j < -8 for all j (prior mass < 1e-15 each): equal weights then
            A[j] = A[j] / total if total > 0.0 else c * z[off + j] / m


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
    _unpack_into(np.ascontiguousarray(z, dtype=np.float64), kind, m, d, stick_parameters(conc), A, W)
    return A, W


def unpack_reference(z: np.ndarray, kind: int, m: int, d: int, conc: float = 1.0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference of :func:`unpack`; ``z`` may carry leading batch axes (``(..., D)``).

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import unpack_reference, DP_RENORMALISED
    >>> A, _ = unpack_reference(np.array([0.3, 1.0, 2.0]), DP_RENORMALISED, 1, 1, 2.0)
    >>> A.tolist()   # one atom renormalised carries the whole stick: A = c a
    [2.0]
    """
    from scipy.special import log_ndtr

    z = np.asarray(z, dtype=np.float64)
    off = {FINITE: 0, DIRICHLET: m - 1, DP_RENORMALISED: m}[kind]
    W = z[..., off + m: off + m + m * d].reshape(z.shape[:-1] + (m, d))
    a = z[..., off: off + m]
    if kind == FINITE:
        return a.copy(), W.copy()
    sticks = m - 1 if kind == DIRICHLET else m
    c, sig = stick_parameters(conc)
    if sig == 0.0:
        lk = log_ndtr(-z[..., :sticks]) / c                          # log(1 - beta_j), Beta(1, c) by inverse CDF
    else:
        lk = log_keep_reference(z[..., :sticks], np.arange(sticks), (c, sig))
    beta = -np.expm1(lk)
    log_rest = np.concatenate([np.zeros(z.shape[:-1] + (1,)), np.cumsum(lk, axis=-1)], axis=-1)
    if kind == DIRICHLET:
        pi = np.exp(log_rest) * np.concatenate([beta, np.ones(z.shape[:-1] + (1,))], axis=-1)
    else:
        pi = np.exp(log_rest[..., :m]) * beta
        pi = pi / -np.expm1(log_rest[..., m:])                       # first m atoms, renormalised
    return c * pi * a, W.copy()


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
    _logits_kernel(Z, kind, m, d, stick_parameters(conc), np.ascontiguousarray(x, dtype=np.float64), out)
    return out


def logits_reference(Z, kind, m, d, conc, x) -> np.ndarray:
    """NumPy reference of :func:`logits`."""
    A, W = unpack_reference(Z, kind, m, d, conc)                       # (n, P, m), (n, P, m, d)
    H = np.einsum("npmk,nk->npm", W, np.asarray(x, dtype=np.float64))
    return np.sum(A * np.maximum(H, 0.0), axis=-1)


# ---------------------------------------------------------------------------------------------------------
# vectorisable arithmetic


@intrinsic
def _bits_as_float64(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits`` (an LLVM bit cast; it vectorises)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@njit(cache=True, inline="always")
def _exp_nonpositive(u):
    # exp(u) for u <= 0 (clamped at -40, where 1 + e^u == 1): u = k ln2 + r, |r| <= ln2/2, exp(r) by its
    # Taylor polynomial of degree 12 (truncation < 2e-16 relative), 2^k (k in [-58, 0], a normal number) put
    # in the exponent bits; no call and no table, so it vectorises
    u = max(u, _EXP_FLOOR)
    k = math.floor(u * _LOG2E + 0.5)
    r = (u - k * _LN2_HI) - k * _LN2_LO
    p = 2.08767569878681e-09
    p = p * r + 2.505210838544172e-08
    p = p * r + 2.755731922398589e-07
    p = p * r + 2.755731922398589e-06
    p = p * r + 2.48015873015873e-05
    p = p * r + 0.0001984126984126984
    p = p * r + 0.001388888888888889
    p = p * r + 0.008333333333333333
    p = p * r + 0.041666666666666664
    p = p * r + 0.16666666666666666
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _bits_as_float64((np.int64(k) + 1023) << 52)


@njit(cache=True)
def _exp_nonpositive_array(u, out):
    for i in range(u.shape[0]):
        out[i] = _exp_nonpositive(u[i])


def exp_nonpositive(u: np.ndarray) -> np.ndarray:
    """``exp(u)`` for ``u <= 0`` by the kernels' vectorisable polynomial (``u < -40`` gives ``e^-40``).

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import exp_nonpositive
    >>> u = -np.linspace(0, 40, 1001)
    >>> bool(np.max(np.abs(exp_nonpositive(u) / np.exp(u) - 1)) < 5e-16)
    True
    """
    u = np.ascontiguousarray(u, dtype=np.float64)
    out = np.empty_like(u)
    _exp_nonpositive_array(u, out)
    return out


# ---------------------------------------------------------------------------------------------------------
# one network, many observations (the Metropolis-Hastings rescoring): observations innermost


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def _chunk_unit_pairs(A, W, XT, s0, n, m, d, fb):
    """Units two at a time for ``d <= 4``: each input row is loaded once for both (the loop is bound by
    loads, not arithmetic).  Returns the first unit left over (``m`` or ``m - 1``)."""
    x0 = XT[0, s0:s0 + n]
    x1 = XT[min(1, d - 1), s0:s0 + n]
    x2 = XT[min(2, d - 1), s0:s0 + n]
    x3 = XT[min(3, d - 1), s0:s0 + n]
    j = 0
    while j + 2 <= m:
        a, b = A[j], A[j + 1]
        if d == 1:
            u0, v0 = W[j, 0], W[j + 1, 0]
            for s in range(n):
                fb[s] += a * max(u0 * x0[s], 0.0) + b * max(v0 * x0[s], 0.0)
        elif d == 2:
            u0, u1, v0, v1 = W[j, 0], W[j, 1], W[j + 1, 0], W[j + 1, 1]
            for s in range(n):
                fb[s] += a * max(u0 * x0[s] + u1 * x1[s], 0.0) + b * max(v0 * x0[s] + v1 * x1[s], 0.0)
        elif d == 3:
            u0, u1, u2 = W[j, 0], W[j, 1], W[j, 2]
            v0, v1, v2 = W[j + 1, 0], W[j + 1, 1], W[j + 1, 2]
            for s in range(n):
                fb[s] += (a * max(u0 * x0[s] + u1 * x1[s] + u2 * x2[s], 0.0)
                          + b * max(v0 * x0[s] + v1 * x1[s] + v2 * x2[s], 0.0))
        else:
            u0, u1, u2, u3 = W[j, 0], W[j, 1], W[j, 2], W[j, 3]
            v0, v1, v2, v3 = W[j + 1, 0], W[j + 1, 1], W[j + 1, 2], W[j + 1, 3]
            for s in range(n):
                fb[s] += (a * max(u0 * x0[s] + u1 * x1[s] + u2 * x2[s] + u3 * x3[s], 0.0)
                          + b * max(v0 * x0[s] + v1 * x1[s] + v2 * x2[s] + v3 * x3[s], 0.0))
        j += 2
    return j


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def _chunk_unit_pairs_wide(A, W, XT, s0, n, m, d, fb, hb):
    """Units two at a time for ``d > 4``: pre-activations of both in ``hb[:n]`` and ``hb[CHUNK:]``, the
    input rows loaded once for the pair, in blocks of 4 coordinates.  Returns the first unit left over."""
    ha = hb[:n]
    hc = hb[CHUNK:CHUNK + n]
    j = 0
    while j + 2 <= m:
        for s in range(n):
            ha[s] = 0.0
            hc[s] = 0.0
        k = 0
        while k + 4 <= d:
            u0, u1, u2, u3 = W[j, k], W[j, k + 1], W[j, k + 2], W[j, k + 3]
            v0, v1, v2, v3 = W[j + 1, k], W[j + 1, k + 1], W[j + 1, k + 2], W[j + 1, k + 3]
            x0, x1 = XT[k, s0:s0 + n], XT[k + 1, s0:s0 + n]
            x2, x3 = XT[k + 2, s0:s0 + n], XT[k + 3, s0:s0 + n]
            for s in range(n):
                ha[s] += u0 * x0[s] + u1 * x1[s] + u2 * x2[s] + u3 * x3[s]
                hc[s] += v0 * x0[s] + v1 * x1[s] + v2 * x2[s] + v3 * x3[s]
            k += 4
        while k < d:
            u0, v0 = W[j, k], W[j + 1, k]
            x0 = XT[k, s0:s0 + n]
            for s in range(n):
                ha[s] += u0 * x0[s]
                hc[s] += v0 * x0[s]
            k += 1
        a, b = A[j], A[j + 1]
        for s in range(n):
            fb[s] += a * max(ha[s], 0.0) + b * max(hc[s], 0.0)
        j += 2
    return j


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def _chunk_logits(A, W, XT, s0, n, m, d, fb, hb):
    """``fb[s] = F(x_{s0+s})`` for ``s < n`` (``XT (d, T)``: observations contiguous); ``hb``: scratch of
    ``2 * CHUNK``."""
    for s in range(n):
        fb[s] = 0.0
    j0 = 0
    if m >= 2:
        if d <= 4:
            j0 = _chunk_unit_pairs(A, W, XT, s0, n, m, d, fb)
        else:
            j0 = _chunk_unit_pairs_wide(A, W, XT, s0, n, m, d, fb, hb)
    for j in range(j0, m):
        a = A[j]
        if d == 1:
            w0 = W[j, 0]
            x0 = XT[0, s0:s0 + n]
            for s in range(n):
                fb[s] += a * max(w0 * x0[s], 0.0)
            continue
        if d == 2:
            w0, w1 = W[j, 0], W[j, 1]
            x0, x1 = XT[0, s0:s0 + n], XT[1, s0:s0 + n]
            for s in range(n):
                fb[s] += a * max(w0 * x0[s] + w1 * x1[s], 0.0)
            continue
        if d == 3:
            w0, w1, w2 = W[j, 0], W[j, 1], W[j, 2]
            x0, x1, x2 = XT[0, s0:s0 + n], XT[1, s0:s0 + n], XT[2, s0:s0 + n]
            for s in range(n):
                fb[s] += a * max(w0 * x0[s] + w1 * x1[s] + w2 * x2[s], 0.0)
            continue
        if d == 4:
            w0, w1, w2, w3 = W[j, 0], W[j, 1], W[j, 2], W[j, 3]
            x0, x1, x2, x3 = XT[0, s0:s0 + n], XT[1, s0:s0 + n], XT[2, s0:s0 + n], XT[3, s0:s0 + n]
            for s in range(n):
                fb[s] += a * max(w0 * x0[s] + w1 * x1[s] + w2 * x2[s] + w3 * x3[s], 0.0)
            continue
        # d > 4: pre-activations in blocks of 4 coordinates into hb, then the ReLU into fb
        for s in range(n):
            hb[s] = 0.0
        k = 0
        while k + 4 <= d:
            w0, w1, w2, w3 = W[j, k], W[j, k + 1], W[j, k + 2], W[j, k + 3]
            x0, x1 = XT[k, s0:s0 + n], XT[k + 1, s0:s0 + n]
            x2, x3 = XT[k + 2, s0:s0 + n], XT[k + 3, s0:s0 + n]
            for s in range(n):
                hb[s] += w0 * x0[s] + w1 * x1[s] + w2 * x2[s] + w3 * x3[s]
            k += 4
        while k < d:
            w0 = W[j, k]
            x0 = XT[k, s0:s0 + n]
            for s in range(n):
                hb[s] += w0 * x0[s]
            k += 1
        for s in range(n):
            fb[s] += a * max(hb[s], 0.0)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _network_log_lik(A, W, XT, sg, t, m, d, fb, hb):
    """``sum_{s<t} log p(y_s | F(x_s)) = -sum softplus(sg_s F(x_s))``, one log per chunk of observations."""
    pos = 0.0
    logprod = 0.0
    for s0 in range(0, t, CHUNK):
        n = min(CHUNK, t - s0)
        _chunk_logits(A, W, XT, s0, n, m, d, fb, hb)
        sgc = sg[s0:s0 + n]
        prod = 1.0
        for s in range(n):
            g = sgc[s] * fb[s]
            pos += max(g, 0.0)
            prod *= 1.0 + _exp_nonpositive(-abs(g))          # a factor in (1, 2]
        logprod += math.log(prod)
    return -(pos + logprod)


def network_log_lik(A: np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """``sum_s log p(y_s | F(x_s))`` of one network ``F(x) = sum_j A_j ReLU(W_j . x)`` (the move's kernel).

    Parameters
    ----------
    A : ``(m,)``; W : ``(m, d)``; X : ``(t, d)`` inputs; y : ``(t,)`` labels in {0, 1}.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import network_log_lik, network_log_lik_reference
    >>> rng = np.random.default_rng(0)
    >>> A, W, X = rng.standard_normal(3), rng.standard_normal((3, 6)), rng.standard_normal((700, 6))
    >>> y = (rng.random(700) < 0.5) * 1.0
    >>> a, b = network_log_lik(A, W, X, y), network_log_lik_reference(A, W, X, y)
    >>> bool(abs(a - b) < 1e-12 * abs(b))
    True
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    XT = np.ascontiguousarray(np.asarray(X, dtype=np.float64).T)
    sg = np.where(np.asarray(y) > 0.5, -1.0, 1.0)
    m, d = W.shape
    return float(_network_log_lik(A, W, XT, sg, XT.shape[1], m, d, np.empty(CHUNK), np.empty(2 * CHUNK)))


def network_log_lik_reference(A, W, X, y) -> float:
    """NumPy reference of :func:`network_log_lik`."""
    F = np.maximum(np.asarray(X, dtype=np.float64) @ np.asarray(W).T, 0.0) @ np.asarray(A)
    return float(np.sum(-np.logaddexp(0.0, np.where(np.asarray(y) > 0.5, -F, F))))


# ---------------------------------------------------------------------------------------------------------
# the particles' networks, cached unpacked with particles innermost


@njit(cache=True, parallel=True)
def _cache_kernel(Z, kind, m, d, conc, Ac, Wc):
    n, P, D = Z.shape
    for c in prange(_BLOCKS):
        A = np.empty(m)
        W = np.empty((m, d))
        for q in range(c, n * P, _BLOCKS):
            b, i = q % n, q // n
            _unpack_into(Z[b, i], kind, m, d, conc, A, W)
            for j in range(m):
                Ac[b, j, i] = A[j]
                for k in range(d):
                    Wc[b, j, k, i] = W[j, k]


_cache_serial = njit(cache=True, nogil=True)(_cache_kernel.py_func)


def network_cache(Z: np.ndarray, kind: int, m: int, d: int, conc: float = 1.0, parallel: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every particle's network unpacked, particles innermost: ``A (n, m, P)``, ``W (n, m, d, P)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import network_cache, unpack_reference, DIRICHLET
    >>> Z = np.random.default_rng(0).standard_normal((2, 5, 11))
    >>> Ac, Wc = network_cache(Z, DIRICHLET, 3, 2, 1.5)
    >>> A, W = unpack_reference(Z, DIRICHLET, 3, 2, 1.5)
    >>> bool(np.allclose(Ac, A.transpose(0, 2, 1)) and np.array_equal(Wc, W.transpose(0, 2, 3, 1)))
    True
    """
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    n, P, _ = Z.shape
    Ac = np.empty((n, m, P))
    Wc = np.empty((n, m, d, P))
    (_cache_kernel if parallel else _cache_serial)(Z, kind, m, d, stick_parameters(conc), Ac, Wc)
    return Ac, Wc


# ---------------------------------------------------------------------------------------------------------
# the reweighting step: every particle at one new observation, particles innermost


@njit(cache=True, inline="always", fastmath=FASTMATH, error_model="numpy")
def _particle_logits(Ac, Wc, x, m, d, fb, hb):
    """``fb[i] = F_i(x)`` for every particle ``i`` of one run (``Ac (m, P)``, ``Wc (m, d, P)``)."""
    P = fb.shape[0]
    for i in range(P):
        fb[i] = 0.0
    for j in range(m):
        a = Ac[j]
        for i in range(P):
            hb[i] = 0.0
        k = 0
        while k + 4 <= d:
            x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
            w0, w1, w2, w3 = Wc[j, k], Wc[j, k + 1], Wc[j, k + 2], Wc[j, k + 3]
            for i in range(P):
                hb[i] += w0[i] * x0 + w1[i] * x1 + w2[i] * x2 + w3[i] * x3
            k += 4
        while k < d:
            x0 = x[k]
            w0 = Wc[j, k]
            for i in range(P):
                hb[i] += w0[i] * x0
            k += 1
        for i in range(P):
            fb[i] += a[i] * max(hb[i], 0.0)


@njit(cache=True, inline="always")
def _kl_bernoulli(f, q1, q0):
    """KL(Bern(sigma(f)) || Bern(q1)), with ``q0 = 1 - q1`` computed on its own (no cancellation)."""
    q1 = max(q1, 1e-300)
    q0 = max(q0, 1e-300)
    if f > 0.0:   # log sigma(f), log sigma(-f), stably
        lp1 = -math.log1p(math.exp(-f))
        lp0 = -f + lp1
    else:
        lp0 = -math.log1p(math.exp(f))
        lp1 = f + lp0
    p = math.exp(lp1)
    return max(p * (lp1 - math.log(q1)) + (1.0 - p) * (lp0 - math.log(q0)), 0.0)


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _advance_one(Ac, Wc, XT, sg, f_true, t0, T, w, pos, prod, ll, ess_floor, kl, log_pred, fb, hb, lik):
    """Absorb observations ``t0, t0+1, ...`` of one run until its ESS drops below ``ess_floor * P`` (before
    the last observation) or ``T`` is reached; returns ``(t, ess_min, need)`` with ``t`` the observations
    absorbed."""
    m, d, P = Wc.shape
    x = np.empty(d)
    ess_min = 1.0
    t = t0
    while t < T:
        for k in range(d):
            x[k] = XT[k, t]
        _particle_logits(Ac, Wc, x, m, d, fb, hb)
        sgt = sg[t]
        # separate passes, each with few arrays, so that LLVM vectorises every one (one fused loop over
        # five arrays needs more run-time alias checks than it will emit, and stays scalar)
        for i in range(P):
            lik[i] = _exp_nonpositive(-abs(sgt * fb[i]))                # e = exp(-|g|)
        z_obs = 0.0
        z_oth = 0.0
        for i in range(P):
            # sigma(-g) = (e if g > 0 else 1)/(1 + e), the observed label's probability, and sigma(g) the
            # other's; selects between loaded values (a load inside a branch keeps LLVM from vectorising)
            e = lik[i]
            pos_g = sgt * fb[i] > 0.0
            wi = w[i] / (1.0 + e)
            z_obs += wi * (e if pos_g else 1.0)
            z_oth += wi * (1.0 if pos_g else e)
        for i in range(P):
            pos[i] += max(sgt * fb[i], 0.0)
            prod[i] *= 1.0 + lik[i]
        ss = 0.0
        if not z_obs > 1e-250:
            # every weighted likelihood (nearly) underflowed: redo the step in logs (never seen in practice)
            z_obs, z_oth = _reweight_in_logs(fb, sgt, w)
            for i in range(P):
                ss += w[i] * w[i]
        else:
            inv_z = 1.0 / z_obs
            for i in range(P):
                e = lik[i]
                wi = w[i] * (e if sgt * fb[i] > 0.0 else 1.0) / (1.0 + e) * inv_z
                w[i] = wi
                ss += wi * wi
        # predictive of y = 1 and y = 0 from the weights before the step (sg = -1 marks y = 1)
        q1, q0 = (z_obs, z_oth) if sgt < 0.0 else (z_oth, z_obs)
        kl[t] = _kl_bernoulli(f_true[t], q1, q0)
        log_pred[t] = math.log(z_obs)
        if t % 512 == 511:   # fold the running products into the log-likelihoods before they can overflow
            for i in range(P):
                ll[i] -= pos[i] + math.log(prod[i])
                pos[i] = 0.0
                prod[i] = 1.0
        t += 1
        ess = 1.0 / (ss * P)
        ess_min = min(ess_min, ess)
        if ess < ess_floor and t < T:
            return t, ess_min, True
    return t, ess_min, False


@njit(cache=True)
def _reweight_in_logs(fb, sgt, w):
    P = fb.shape[0]
    lw = np.empty(P)
    lo = np.empty(P)
    top = -np.inf
    for i in range(P):
        g = sgt * fb[i]
        sp = max(g, 0.0) + math.log1p(math.exp(-abs(g)))
        lw[i] = (math.log(w[i]) if w[i] > 0.0 else -np.inf) - sp
        lo[i] = (math.log(w[i]) if w[i] > 0.0 else -np.inf) - (sp - g)
        top = max(top, lw[i])
    tot = 0.0
    oth_tot = 0.0
    for i in range(P):
        w[i] = math.exp(lw[i] - top)
        tot += w[i]
        oth_tot += math.exp(lo[i] - top)
    for i in range(P):
        w[i] /= tot
    return math.exp(top) * tot, math.exp(top) * oth_tot


@njit(cache=True, parallel=True)
def _advance_kernel(Ac, Wc, XT, sg, f_true, t_now, T, w, pos, prod, ll, ess_floor, kl, log_pred, ess_min, need):
    n, m, d, P = Wc.shape
    for b in prange(n):
        if t_now[b] >= T:
            need[b] = False
            continue
        fb = np.empty(P)
        hb = np.empty(P)
        lik = np.empty(P)
        t, e_min, nd = _advance_one(Ac[b], Wc[b], XT[b], sg[b], f_true[b], t_now[b], T, w[b], pos[b], prod[b],
                                    ll[b], ess_floor, kl[b], log_pred[b], fb, hb, lik)
        t_now[b] = t
        ess_min[b] = min(ess_min[b], e_min)
        need[b] = nd


# the same loop without threads, releasing the GIL: for runs driven from several Python threads at once
_advance_serial = njit(cache=True, nogil=True)(_advance_kernel.py_func)


def advance(Ac, Wc, XT, sg, f_true, t_now, w, pos, prod, ll, ess_floor, kl, log_pred, ess_min, parallel=True
            ) -> np.ndarray:
    """Reweight every run on its next observations until its ESS falls below ``ess_floor * P`` (in place).

    Run ``b`` absorbs observations ``t_now[b], t_now[b] + 1, ...``: each particle's weight is multiplied
    by ``p(y_t | F_i, x_t)`` and renormalised, the weighted predictive gives ``kl[b, t]`` (KL of the true
    conditional, logit ``f_true[b, t]``, from the predictive) and ``log_pred[b, t]`` (log predictive
    probability of the observed label).  The particles' log-likelihoods are kept as
    ``ll - pos - log(prod)`` (running sum of ``max(g, 0)`` and product of ``1 + e^{-|g|}``; folded into
    ``ll`` every 512 observations and by :func:`mh_moves`).  It stops after the first observation whose
    ESS is below the floor (unless it was the last one) and sets ``t_now[b]`` to the count absorbed.

    Parameters
    ----------
    Ac, Wc : the particles' networks (:func:`network_cache`).
    XT : ``(n, d, T)`` inputs, observations contiguous; sg : ``(n, T)``, -1 where ``y = 1``, +1 where ``y = 0``.
    f_true : ``(n, T)`` true logits.
    t_now : ``(n,)`` int64, observations absorbed so far (updated).
    w : ``(n, P)`` normalised weights; pos, prod, ll : ``(n, P)`` log-likelihood parts (updated).
    kl, log_pred : ``(n, T)`` outputs; ess_min : ``(n,)`` running minimum of ESS / P (updated).
    parallel : runs on Numba's threads (``True``), or on the calling thread with the GIL released.

    Returns
    -------
    ``(n,)`` bool: which runs stopped to be resampled and moved.
    """
    need = np.zeros(t_now.shape[0], dtype=np.bool_)
    kernel = _advance_kernel if parallel else _advance_serial
    kernel(Ac, Wc, XT, sg, f_true, t_now, XT.shape[2], w, pos, prod, ll, float(ess_floor), kl, log_pred, ess_min,
           need)
    return need


def advance_reference(Z, kind, m, d, conc, X, y, f_true, t_now, logw, ll, ess_floor, kl, log_pred, ess_min
                      ) -> np.ndarray:
    """NumPy reference of :func:`advance`, in log weights (``logw``) and from the latent particles ``Z``.

    The same stopping rule; ``ll`` is updated every step (no running product).
    """
    n, T = y.shape
    P = Z.shape[1]
    need = np.zeros(n, dtype=bool)
    for b in range(n):
        t = int(t_now[b])
        while t < T:
            f = logits_reference(Z[b][None], kind, m, d, conc, X[b, t][None])[0]
            g = np.where(y[b, t] > 0.5, -f, f)
            lp = -np.logaddexp(0.0, g)                                  # log p(observed label)
            lo = -np.logaddexp(0.0, -g)                                 # log p(other label)
            w = np.exp(logw[b] - logw[b].max())
            w /= w.sum()
            z_obs, z_oth = np.sum(w * np.exp(lp)), np.sum(w * np.exp(lo))
            q1, q0 = (z_obs, z_oth) if y[b, t] > 0.5 else (z_oth, z_obs)
            kl[b, t] = _kl_reference(f_true[b, t], q1, q0)
            log_pred[b, t] = np.log(z_obs)
            logw[b] += lp
            ll[b] += lp
            w = np.exp(logw[b] - logw[b].max())
            w /= w.sum()
            ess = 1.0 / np.sum(w * w) / P
            ess_min[b] = min(ess_min[b], ess)
            t += 1
            if ess < ess_floor and t < T:
                need[b] = True
                break
        t_now[b] = t
    return need


def _kl_reference(f, q1, q0) -> float:
    q1, q0 = max(q1, 1e-300), max(q0, 1e-300)
    lp1, lp0 = -np.logaddexp(0.0, -f), -np.logaddexp(0.0, f)
    p = np.exp(lp1)
    return float(max(p * (lp1 - np.log(q1)) + (1 - p) * (lp0 - np.log(q0)), 0.0))


# ---------------------------------------------------------------------------------------------------------
# the proposal's covariance (compiled, single-threaded: small BLAS calls on a
# loaded machine spend their time in thread hand-offs)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def _weighted_cov_kernel(Z, w, C):
    P, D = Z.shape
    mu = np.zeros(D)
    for i in range(P):
        wi = w[i]
        for k in range(D):
            mu[k] += wi * Z[i, k]
    for a in range(D):
        for b in range(D):
            C[a, b] = 0.0
    dz = np.empty(D)
    for i in range(P):
        wi = w[i]
        for k in range(D):
            dz[k] = Z[i, k] - mu[k]
        for a in range(D):
            ca = wi * dz[a]
            for b in range(a + 1):
                C[a, b] += ca * dz[b]
    for a in range(D):
        for b in range(a):
            C[b, a] = C[a, b]


def weighted_covariance(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_i w_i (z_i - mu)(z_i - mu)^T`` with ``mu = sum_i w_i z_i`` for normalised weights (``Z (P, D)``).

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import weighted_covariance, weighted_covariance_reference
    >>> rng = np.random.default_rng(0)
    >>> Z, w = rng.standard_normal((50, 4)), rng.random(50)
    >>> w /= w.sum()
    >>> bool(np.allclose(weighted_covariance(Z, w), weighted_covariance_reference(Z, w), rtol=1e-12))
    True
    """
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    C = np.empty((Z.shape[1], Z.shape[1]))
    _weighted_cov_kernel(Z, np.ascontiguousarray(w, dtype=np.float64), C)
    return C


def weighted_covariance_reference(Z, w) -> np.ndarray:
    """NumPy reference of :func:`weighted_covariance`."""
    mu = w @ Z
    return (Z - mu).T @ ((Z - mu) * w[:, None])


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def _cholesky_kernel(C, L):
    D = C.shape[0]
    for a in range(D):
        for b in range(D):
            L[a, b] = 0.0
    for j in range(D):
        Lj = L[j]
        s = C[j, j]
        for k in range(j):
            s -= Lj[k] * Lj[k]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        Lj[j] = d
        for i in range(j + 1, D):
            Li = L[i]
            s = C[i, j]
            for k in range(j):
                s -= Li[k] * Lj[k]
            Li[j] = s / d
    return True


def cholesky(C: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive-definite ``C`` (compiled, single-threaded; NumPy's
    LAPACK call spent 150 ms on a 136 x 136 matrix on the loaded 2-core machine, in thread hand-offs).
    Its reference is :func:`numpy.linalg.cholesky`; a matrix that is not positive definite raises
    :class:`numpy.linalg.LinAlgError` as it does.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.kernels import cholesky
    >>> A = np.random.default_rng(0).standard_normal((6, 6)); C = A @ A.T + np.eye(6)
    >>> bool(np.allclose(cholesky(C), np.linalg.cholesky(C), rtol=1e-12))
    True
    """
    C = np.ascontiguousarray(C, dtype=np.float64)
    L = np.empty_like(C)
    if not _cholesky_kernel(C, L):
        raise np.linalg.LinAlgError("Matrix is not positive definite")
    return L


# ---------------------------------------------------------------------------------------------------------
# the Metropolis-Hastings move: each proposal rescored on all observations so far


@njit(cache=True, inline="always")
def _mh_one(Z, ll, XT, sg, t, b, i, kind, m, d, conc, zp, lu, Ac, Wc, write_cache, A, W, fb, hb):
    """Accept or reject the proposal ``zp`` of particle ``(b, i)``; ``Z``, ``ll`` and the cache updated."""
    D = zp.shape[0]
    sq_old = 0.0
    sq_new = 0.0
    for k in range(D):
        sq_old += Z[b, i, k] * Z[b, i, k]
        sq_new += zp[k] * zp[k]
    _unpack_into(zp, kind, m, d, conc, A, W)
    lp = _network_log_lik(A, W, XT[b], sg[b], t[b], m, d, fb, hb)
    if lu < lp - ll[b, i] - 0.5 * (sq_new - sq_old):
        for k in range(D):
            Z[b, i, k] = zp[k]
        ll[b, i] = lp
        if write_cache:
            for j in range(m):
                Ac[b, j, i] = A[j]
                for k in range(d):
                    Wc[b, j, k, i] = W[j, k]
        return True
    return False


@njit(cache=True, parallel=True)
def _mh_kernel(Z, ll, XT, sg, t, active, kind, m, d, conc, step, log_u, accepted, Ac, Wc, write_cache):
    n, P, D = Z.shape
    for c in prange(_BLOCKS):
        zp = np.empty(D)
        A = np.empty(m)
        W = np.empty((m, d))
        fb = np.empty(CHUNK)
        hb = np.empty(2 * CHUNK)
        # interleaved over runs, so that runs with different t share the threads evenly
        for q in range(c, n * P, _BLOCKS):
            b, i = q % n, q // n
            accepted[b, i] = False
            if not active[b]:
                continue
            for k in range(D):
                zp[k] = Z[b, i, k] + step[b, i, k]
            accepted[b, i] = _mh_one(Z, ll, XT, sg, t, b, i, kind, m, d, conc, zp, log_u[b, i], Ac, Wc,
                                     write_cache, A, W, fb, hb)


@njit(cache=True, nogil=True, fastmath=FASTMATH, error_model="numpy")
def _propose(z, L, e, scale, zp):
    """``zp = z + scale L e`` for a lower-triangular ``L`` (its own fast-math function: the row dot products
    vectorise)."""
    for k in range(z.shape[0]):
        acc = 0.0
        Lk = L[k]
        for j in range(k + 1):
            acc += Lk[j] * e[j]
        zp[k] = z[k] + scale * acc


@njit(cache=True, parallel=True)
def _mh_moves_kernel(Z, ll, XT, sg, t, rows, kind, m, d, conc, E, log_u, L, scale, rates, Ac, Wc):
    n, P, D = Z.shape
    na, moves = E.shape[0], E.shape[1]
    accepted = np.zeros((na, P), dtype=np.bool_)
    for mv in range(moves):
        for c in prange(_BLOCKS):
            zp = np.empty(D)
            A = np.empty(m)
            W = np.empty((m, d))
            fb = np.empty(CHUNK)
            hb = np.empty(2 * CHUNK)
            for q in range(c, na * P, _BLOCKS):
                a, i = q % na, q // na
                b = rows[a]
                _propose(Z[b, i], L[a], E[a, mv, i], scale[b], zp)
                accepted[a, i] = _mh_one(Z, ll, XT, sg, t, b, i, kind, m, d, conc, zp, log_u[a, mv, i], Ac, Wc,
                                         True, A, W, fb, hb)
        for a in range(na):
            cnt = 0
            for i in range(P):
                cnt += accepted[a, i]
            rate = cnt / P
            rates[a, mv] = rate
            # adapt the scale toward ~25% acceptance (between moves: each move is a valid MH kernel)
            scale[rows[a]] *= math.exp(min(max(rate - 0.25, -0.5), 0.5))


_mh_moves_serial = njit(cache=True, nogil=True)(_mh_moves_kernel.py_func)


def mh_moves(Z, ll, XT, sg, t, rows, kind, m, d, conc, E, log_u, L, scale, Ac, Wc, parallel=True) -> np.ndarray:
    """``moves`` Metropolis-Hastings moves of the runs ``rows`` in one call: the SMC sampler's move step.

    Run ``b = rows[a]`` makes ``E.shape[1]`` moves; move ``v`` proposes ``z + scale[b] L[a] E[a, v, i]``
    (``L`` the lower Cholesky factor of the proposal covariance, ``E`` standard normals drawn by the caller)
    and accepts it as :func:`mh_sweep` does (targeting the posterior given the first ``t[b]`` observations,
    ``XT``/``sg`` as in :func:`advance`), writing accepted networks into the cache ``Ac``, ``Wc``.  After
    each move ``scale[b]`` is multiplied by ``exp(clip(rate - 0.25, -0.5, 0.5))`` (toward 25% acceptance).
    One call for all moves: no Python between them, so the threads never wait on the interpreter
    (``parallel=False``: on the calling thread, the GIL released).

    Returns
    -------
    ``(len(rows), moves)`` acceptance rates.
    """
    rows = np.asarray(rows, dtype=np.int64)
    rates = np.zeros((rows.shape[0], E.shape[1]))
    kernel = _mh_moves_kernel if parallel else _mh_moves_serial
    kernel(Z, ll, XT, sg, t, rows, kind, m, d, stick_parameters(conc), np.ascontiguousarray(E), np.ascontiguousarray(log_u),
           np.ascontiguousarray(L), scale, rates, Ac, Wc)
    return rates


def mh_moves_reference(Z, ll, X, y, t, rows, kind, m, d, conc, E, log_u, L, scale) -> np.ndarray:
    """NumPy reference of :func:`mh_moves` (no cache)."""
    rows = np.asarray(rows, dtype=np.int64)
    n, P, D = Z.shape
    rates = np.zeros((rows.shape[0], E.shape[1]))
    for v in range(E.shape[1]):
        step = np.zeros((n, P, D))
        lu = np.zeros((n, P))
        active = np.zeros(n, dtype=bool)
        for a, b in enumerate(rows):
            step[b] = scale[b] * E[a, v] @ L[a].T
            lu[b] = log_u[a, v]
            active[b] = True
        acc = mh_sweep_reference(Z, ll, X, y, t, active, kind, m, d, conc, step, lu)
        for a, b in enumerate(rows):
            rates[a, v] = acc[b].mean()
            scale[b] *= np.exp(np.clip(rates[a, v] - 0.25, -0.5, 0.5))
    return rates


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
    n = Z.shape[0]
    XT = np.ascontiguousarray(np.asarray(X, dtype=np.float64).transpose(0, 2, 1))
    sg = np.where(np.asarray(y) > 0.5, -1.0, 1.0)
    accepted = np.zeros(Z.shape[:2], dtype=np.bool_)
    dummy = np.empty((1, 1, 1, 1))
    _mh_kernel(Z, ll, XT, sg, np.full(n, int(t), dtype=np.int64), np.asarray(active, dtype=np.bool_), kind, m, d,
               stick_parameters(conc), np.ascontiguousarray(step), np.ascontiguousarray(log_u), accepted, dummy[0], dummy,
               False)
    return accepted


def mh_sweep_reference(Z, ll, X, y, t, active, kind, m, d, conc, step, log_u) -> np.ndarray:
    """NumPy reference of :func:`mh_sweep` (same arguments, same in-place updates; ``t`` an int or ``(n,)``)."""
    n = Z.shape[0]
    ts = np.broadcast_to(np.asarray(t, dtype=np.int64), (n,))
    active = np.asarray(active, dtype=bool)
    accept = np.zeros(Z.shape[:2], dtype=bool)
    for b in range(n):
        tb = int(ts[b])
        Zp = Z[b] + step[b]
        A, W = unpack_reference(Zp, kind, m, d, conc)                  # (P, m), (P, m, d)
        H = np.maximum(np.einsum("pmk,sk->psm", W, X[b, :tb]), 0.0)
        F = np.sum(H * A[:, None, :], axis=-1)                          # (P, t)
        Y = y[b, None, :tb]
        lp = np.sum(-np.logaddexp(0.0, np.where(Y > 0.5, -F, F)), axis=-1)
        log_ratio = lp - ll[b] - 0.5 * (np.sum(Zp ** 2, axis=-1) - np.sum(Z[b] ** 2, axis=-1))
        acc = (log_u[b] < log_ratio) & active[b]
        Z[b][acc] = Zp[acc]
        ll[b][acc] = lp[acc]
        accept[b] = acc
    return accept
