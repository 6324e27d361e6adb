"""An exactly computable case: the finite teacher with ``d = 1``, ``K = 1`` (validation of the SMC estimate).

``F(x) = a ReLU(w x)`` with ``a, w ~ N(0, 1)``.  Since ``ReLU(w x) = |w| ReLU(s x)`` with ``s = sign(w)``,
the likelihood depends on ``(s, c)`` with ``c = a |w|`` only; ``s`` is ``+-1`` with probability 1/2 each,
independent of ``c``, and ``c`` (a product of two independent standard normals, up to a sign) has density
``K_0(|c|)/pi`` (modified Bessel function).  So the marginal likelihood is the one-dimensional integral

    p(y_1..T | x) = 1/2 sum_{s = +-1} int K_0(|c|)/pi prod_t sigma((2 y_t - 1) c ReLU(s x_t)) dc,

computed here by adaptive quadrature (QUADPACK, integrable log singularity of ``K_0`` at 0, breakpoints
at the likelihood's mode), and ``L = (log p(y | F, x) - log p(y | x)) / T`` per data set exactly, up to
quadrature error (~1e-9 relative).

The same integral gives the width-1 restricted learners of docs/bayes.md ("The restricted learner") at
``d = 1``, whatever teacher labelled the data: the finite learner of width 1 has this prior
(``scale = 1``), and the Dirichlet-process learner of width 1 (one atom, renormalised: weight 1) has
``F(x) = K a ReLU(w x)``, this prior scaled by ``scale = K``.  Since ``scale ReLU(w x) = ReLU(w scale x)``
for ``scale > 0``, its evidence is this one at the inputs ``scale x``.

References
----------
docs/bayes.md ("Validation"); the product-normal density ``K_0(|z|)/pi``: Craig (1936), Ann. Math.
Statist. 7, "On the frequency function of xy".
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special

__all__ = ["log_evidence_d1k1", "exact_error_d1k1"]


def _ll(c: np.ndarray, r: np.ndarray, sgn: np.ndarray) -> np.ndarray:
    """sum_t log sigma(sgn_t c r_t) for an array of c."""
    z = np.multiply.outer(np.atleast_1d(c), sgn * r)
    return np.sum(-np.logaddexp(0.0, -z), axis=-1)


def log_evidence_d1k1(x: np.ndarray, y: np.ndarray, scale: float = 1.0) -> float:
    """``log p(y_1..T | x_1..T)`` under the prior ``F(x) = scale a ReLU(w x)``, ``a, w ~ N(0, 1)`` (module docstring).

    Parameters
    ----------
    x : ``(T,)`` or ``(T, 1)`` inputs.
    y : ``(T,)`` labels in {0, 1}.
    scale : the prior's output scale (1: the d = 1, K = 1 finite teacher; ``K``: the width-1 learner of the
        Dirichlet-process teacher with concentration ``K``).

    Returns
    -------
    float, in nats.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.exact import log_evidence_d1k1
    >>> round(log_evidence_d1k1(np.array([-1.0]), np.array([1.0])), 10)   # symmetric prior: one label is a coin
    -0.6931471806
    >>> round(float(np.exp(log_evidence_d1k1(np.array([2.0]), np.array([1.0])))), 12)   # symmetric prior: 1/2
    0.5
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be positive and finite, got {scale!r}")
    x = float(scale) * np.asarray(x, dtype=np.float64).reshape(-1)    # scale ReLU(w x) = ReLU(w scale x)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    sgn = 2.0 * y - 1.0
    parts = []
    for s in (1.0, -1.0):
        r = np.maximum(s * x, 0.0)
        grid = np.concatenate([-np.geomspace(60, 1e-6, 600), np.geomspace(1e-6, 60, 600)])
        vals = _ll(grid, r, sgn) + np.log(special.k0(np.abs(grid)) / math.pi)
        top = float(np.max(vals))
        c_hat = float(grid[np.argmax(vals)])
        info = float(np.sum(r * r)) / 4.0 + 1.0                   # >= posterior curvature scale
        width = 1.0 / math.sqrt(info)
        f = lambda c: special.k0(abs(c)) / math.pi * math.exp(_ll(c, r, sgn)[0] - top)
        total = 0.0
        for lo, hi in ((-60.0, 0.0), (0.0, 60.0)):
            brk = [b for b in (c_hat + k * width for k in (-8, -3, -1, 0, 1, 3, 8)) if lo < b < hi]
            val, _ = integrate.quad(f, lo, hi, points=brk or None, limit=400, epsabs=0.0, epsrel=1e-9)
            total += val
        parts.append(top + math.log(total))
    return float(np.logaddexp(parts[0], parts[1]) - math.log(2.0))


def exact_error_d1k1(x: np.ndarray, y: np.ndarray, f_true: np.ndarray, scale: float = 1.0) -> float:
    """``(log p(y | F, x) - log p(y | x)) / T`` exactly (up to quadrature): the error of the Bayes learner with
    the prior of :func:`log_evidence_d1k1` on data labelled by a teacher with logits ``f_true``.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.bayes.exact import exact_error_d1k1
    >>> round(exact_error_d1k1(np.array([2.0]), np.array([1.0]), np.array([0.0])), 12)   # log(1/2) - log(1/2)
    0.0
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    f = np.asarray(f_true, dtype=np.float64).reshape(-1)
    ll_true = float(np.sum(-np.logaddexp(0.0, np.where(y > 0.5, -f, f))))
    return (ll_true - log_evidence_d1k1(x, y, scale)) / y.shape[0]
