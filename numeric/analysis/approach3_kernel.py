"""Approach 3's objective and gradient in one compiled pass over the points (Numba), for large fits.

:func:`lse_objective` computes exactly what the NumPy reference
:func:`scaling_theory.numeric.analysis.approach3._lse_objective` computes: the weighted loss
``sum_i w_i rho(ln L_pred,i - ln L_i)`` of the log-sum-exp model
``ln L_pred = LSE(a - alpha ln N, b - beta ln D, e)`` (Hoffmann et al. 2022, App. D.2) divided by
``scale``, and its gradient in ``(a, alpha, b, beta[, e])``. The reference makes about a dozen
temporary arrays of the points' size per call; this loop makes none and reads each point once
(``python benchmarks/fit_speed.py`` prints the ratio, measured side by side). The sums run in
point order, so they agree with NumPy's pairwise sums to rounding, not bit for bit: approach 3
uses the kernel only above ``approach3.KERNEL_POINTS`` points (tests:
``tests/numeric/analysis/test_approach3_kernel.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["lse_objective", "LOSS_CODES"]

LOSS_CODES = {"huber": 0, "mse": 1, "mae": 2, "log-cosh": 3}
_LN2 = math.log(2.0)


@njit(cache=True, inline="always")
def _rho(r, kind, delta):
    """The loss and its derivative at residual ``r`` (as ``robust_loss`` in approach3)."""
    if kind == 0:   # huber
        if abs(r) <= delta:
            return 0.5 * r * r, r
        return delta * (abs(r) - 0.5 * delta), delta * (1.0 if r > 0 else (-1.0 if r < 0 else 0.0))
    if kind == 1:   # mse
        return 0.5 * r * r, r
    if kind == 2:   # mae
        return abs(r), (1.0 if r > 0 else (-1.0 if r < 0 else 0.0))
    z = abs(r) / delta   # log-cosh: ln(1 + 2 sinh^2(z/2)) below z = 20, z + ln(1 + e^-2z) - ln 2 above
    if z < 20.0:
        s = math.sinh(0.5 * z)
        value = math.log1p(2.0 * s * s)
    else:
        value = z + math.log1p(math.exp(-2.0 * z)) - _LN2
    return delta * delta * value, delta * math.tanh(r / delta)


@njit(cache=True, nogil=True)
def _objective(theta, x, y, logL, w, weighted, with_e, kind, delta, scale, grad):
    a, alpha, b, beta = theta[0], theta[1], theta[2], theta[3]
    e = theta[4] if with_e else 0.0
    total = 0.0
    for k in range(grad.size):
        grad[k] = 0.0
    for i in range(x.size):
        t1 = a - alpha * x[i]
        t2 = b - beta * y[i]
        # the largest term is exp(0) = 1: two exponentials per point, not three
        if t1 >= t2 and (not with_e or t1 >= e):
            m, e1 = t1, 1.0
            e2 = math.exp(t2 - m)
            e3 = math.exp(e - m) if with_e else 0.0
        elif t2 >= e or not with_e:
            m, e2 = t2, 1.0
            e1 = math.exp(t1 - m)
            e3 = math.exp(e - m) if with_e else 0.0
        else:
            m, e3 = e, 1.0
            e1 = math.exp(t1 - m)
            e2 = math.exp(t2 - m)
        s = e1 + e2 + e3
        value, dr = _rho(m + math.log(s) - logL[i], kind, delta)
        if weighted:
            value *= w[i]
            dr *= w[i]
        total += value
        dr /= s
        grad[0] += dr * e1
        grad[1] -= dr * e1 * x[i]
        grad[2] += dr * e2
        grad[3] -= dr * e2 * y[i]
        if with_e:
            grad[4] += dr * e3
    for k in range(grad.size):
        grad[k] /= scale
    return total / scale


def lse_objective(theta, x, y, logL, with_e, delta, kind="huber", w=None, scale=None):
    """Compiled twin of ``approach3._lse_objective``: ``(objective / scale, gradient / scale)``.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.analysis.approach3 import _lse_objective
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.uniform(10, 20, 50), rng.uniform(15, 25, 50)
    >>> logL = np.log(1.7 + np.exp(6 - 0.34 * x) + np.exp(6 - 0.28 * y)) + 0.01 * rng.standard_normal(50)
    >>> theta = np.array([6.0, 0.3, 6.0, 0.3, 0.5])
    >>> v, g = lse_objective(theta, x, y, logL, True, 1e-3)
    >>> v0, g0 = _lse_objective(theta, x, y, logL, True, 1e-3)
    >>> bool(np.isclose(v, v0, rtol=1e-12) and np.allclose(g, g0, rtol=1e-10))
    True
    """
    theta = np.asarray(theta, dtype=np.float64)
    grad = np.empty(5 if with_e else 4)
    weighted = w is not None
    weights = np.asarray(w, dtype=np.float64) if weighted else np.empty(0)
    value = _objective(theta, np.ascontiguousarray(x, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
                       np.ascontiguousarray(logL, dtype=np.float64), weights, weighted, bool(with_e),
                       LOSS_CODES[kind], float(delta), float(delta if scale is None else scale), grad)
    return float(value), grad
