"""Chinchilla's approach 3: the parametric law ``E + A/N^alpha + B/D^beta`` fitted to all points.

Fitted in log space as ``LSE(a - alpha ln N, b - beta ln D, e)`` with a Huber loss (delta = 1e-3)
on the log residuals, by L-BFGS-B from a grid of starting points keeping the best; then
``a = beta/(alpha+beta)``, ``b = alpha/(alpha+beta)``; seeded bootstrap over points for intervals.

References
----------
Hoffmann et al. (2022), App. D.2; Besiroglu et al. (2024), *Chinchilla Scaling: A replication attempt*.
"""

from __future__ import annotations

import contextlib
import ctypes
import math

import numpy as np

from scaling_theory.numeric.analysis.data import FitData
from scaling_theory.numeric.analysis.results import ApproachResult, percentile_ci

__all__ = ["approach3", "one_blas_thread", "HUBER_DELTA", "LOSSES", "robust_loss"]

HUBER_DELTA = 1e-3
"""Huber threshold on log-loss residuals (Hoffmann et al. 2022, App. D.2)."""

LOSSES = ("huber", "mse", "mae", "log-cosh")
"""Losses on the log residuals that approach 3 can minimise (``huber`` is the published protocol)."""


@contextlib.contextmanager
def one_blas_thread():
    """Run with OpenBLAS at one thread (restored after).

    L-BFGS-B's few-parameter steps call BLAS; on a small shared machine OpenBLAS threads spinning
    against other processes made each fit ~10x slower (measured: 7 s vs 0.85 s). Linux-only; a
    no-op where the libraries cannot be found.
    """
    import scipy.optimize  # noqa: F401 - load its BLAS first, so it is found below

    handles = []
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
    except OSError:
        paths = set()
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", ""), ("scipy_openblas", "64_"), ("openblas", "")):
            try:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}")
            except AttributeError:
                continue
            handles.append((put, int(get())))
            put(1)
            break
    try:
        yield
    finally:
        for put, n in handles:
            put(n)


def _huber(r: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss and its derivative."""
    small = np.abs(r) <= delta
    value = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    grad = np.where(small, r, delta * np.sign(r))
    return value, grad


def robust_loss(r: np.ndarray, kind: str = "huber", delta: float = HUBER_DELTA):
    """A loss ``rho(r)`` on residuals and its derivative ``rho'(r)``.

    ``huber``: ``r^2/2`` for ``|r| <= delta``, else ``delta (|r| - delta/2)``;
    ``mse``: ``r^2/2``; ``mae``: ``|r|``; ``log-cosh``: ``delta^2 ln cosh(r/delta)`` (smooth,
    quadratic below ``delta`` and linear with slope ``delta`` above, like Huber).

    Parameters
    ----------
    r : ndarray
        Residuals (here ``ln L_pred - ln L_obs``).
    kind : str
        One of :data:`LOSSES`.
    delta : float
        Scale of ``huber`` and ``log-cosh`` (ignored by ``mse`` and ``mae``).

    Returns
    -------
    (value, derivative) : tuple of ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.analysis.approach3 import robust_loss
    >>> r = np.array([-0.01, 0.0005, 0.01])
    >>> [np.round(robust_loss(r, k, 1e-3)[0] * 1e6, 3).tolist() for k in ("huber", "mse", "mae")]
    [[9.5, 0.125, 9.5], [50.0, 0.125, 50.0], [10000.0, 500.0, 10000.0]]
    >>> v, g = robust_loss(r, "log-cosh", 1e-3)
    >>> bool(np.allclose(g, 1e-3 * np.tanh(r / 1e-3)))
    True
    """
    if kind == "huber":
        return _huber(r, delta)
    if kind == "mse":
        return 0.5 * r * r, r
    if kind == "mae":
        return np.abs(r), np.sign(r)
    if kind == "log-cosh":
        z = np.abs(r) / delta
        # ln cosh z = z + ln(1 + e^{-2z}) - ln 2, stable for large z
        return delta * delta * (z + np.log1p(np.exp(-2 * z)) - math.log(2)), delta * np.tanh(r / delta)
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")


def _lse_objective(theta, x, y, logL, with_e, delta, kind="huber", w=None):
    """Weighted loss objective (divided by delta for conditioning) and gradient of the log-sum-exp model."""
    if with_e:
        a, alpha, b, beta, e = theta
    else:
        a, alpha, b, beta = theta
    t = [a - alpha * x, b - beta * y]
    if with_e:
        t.append(np.full_like(x, e))
    T = np.vstack(t)
    m = T.max(axis=0)
    W = np.exp(T - m)
    s = W.sum(axis=0)
    pred = m + np.log(s)
    W /= s
    val, dr = robust_loss(pred - logL, kind, delta)
    if w is not None:
        val, dr = val * w, dr * w
    g = [np.sum(dr * W[0]), -np.sum(dr * W[0] * x), np.sum(dr * W[1]), -np.sum(dr * W[1] * y)]
    if with_e:
        g.append(np.sum(dr * W[2]))
    return float(val.sum()) / delta, np.array(g) / delta


def _grid_starts(x, y, logL, with_e, top: int, kind="huber", delta=HUBER_DELTA, w=None):
    """Starting points: a data-scaled grid, evaluated in one pass; the ``top`` best are returned."""
    xm, ym, lm, lmin = np.median(x), np.median(y), np.median(logL), np.min(logL)
    alphas = betas = np.array([0.1, 0.25, 0.5, 0.8, 1.2])
    fracs = np.log([0.05, 0.2, 0.5, 1.0])  # share of the median loss each term carries at the median
    es = np.log([0.3, 0.7, 0.9, 0.97]) + lmin if with_e else np.array([0.0])
    grid = np.array(np.meshgrid(alphas, betas, fracs, fracs, es, indexing="ij")).reshape(5, -1).T
    al, be, fa, fb, e = grid.T
    a = lm + fa + al * xm
    b = lm + fb + be * ym
    T1 = a[:, None] - al[:, None] * x[None, :]
    T2 = b[:, None] - be[:, None] * y[None, :]
    stack = [T1, T2] + ([np.broadcast_to(e[:, None], T1.shape)] if with_e else [])
    pred = np.logaddexp.reduce(np.stack(stack), axis=0)
    val, _ = robust_loss(pred - logL[None, :], kind, delta)
    obj = (val * (1.0 if w is None else w[None, :])).sum(axis=1)
    best = np.argsort(obj)[:top]
    cols = [a, al, b, be] + ([e] if with_e else [])
    return [np.array([c[i] for c in cols]) for i in best]


def _fit_lse(x, y, logL, with_e, starts, delta=HUBER_DELTA, kind="huber", w=None):
    from scipy.optimize import minimize

    lo_e = float(np.min(logL)) - 40.0  # E below e^-40 of the smallest loss is indistinguishable from 0
    bounds = [(None, None), _EXPONENT_BOUNDS, (None, None), _EXPONENT_BOUNDS] + ([(lo_e, None)] if with_e else [])
    best = None
    for start in starts:
        start = np.array(start, float)
        if with_e:
            start[4] = max(start[4], lo_e)
        res = minimize(_lse_objective, start, args=(x, y, logL, with_e, delta, kind, w), jac=True,
                       method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 3000, "ftol": 1e-14, "gtol": 1e-10})
        if np.all(np.isfinite(res.x)) and (best is None or res.fun < best.fun):
            best = res
    return best


def _exp(x: float) -> float:
    """``exp`` that gives ``inf`` instead of raising (degenerate bootstrap resamples)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _law_from_theta(theta, with_e, cost):
    a, alpha, b, beta = (float(t) for t in theta[:4])
    E = _exp(float(theta[4])) if with_e else 0.0
    A, B = _exp(a), _exp(b)
    ea, eb = beta / (alpha + beta), alpha / (alpha + beta)
    # N* = G (C/cost)^ea, D* = (C/cost)^eb / G   (Hoffmann et al. 2022, eq. 4)
    lnG = (math.log(alpha) + a - math.log(beta) - b) / (alpha + beta)
    k_N = _exp(lnG - ea * math.log(cost))
    k_D = _exp(-lnG - eb * math.log(cost))
    return {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta}, ea, eb, {"k_N": k_N, "k_D": k_D}


_EXPONENT_BOUNDS = (1e-4, 5.0)


def approach3(data: FitData, bootstrap: int, rng, irreducible: bool, *, loss: str = "huber",
              delta: float = HUBER_DELTA, weights: np.ndarray | None = None) -> ApproachResult:
    """Fit ``L = E + A/N^alpha + B/D^beta`` by minimising ``sum_i w_i rho(ln L_pred,i - ln L_i)``.

    ``rho`` is :func:`robust_loss` of kind ``loss`` with scale ``delta``; ``weights`` (one
    non-negative number per point, default all 1) weight the points. The bootstrap resamples
    points with their weights and keeps each replicate's fitted law in ``replicates``.
    """
    n_par = 5 if irreducible else 4
    if len(data) < n_par + 1:
        return ApproachResult(3, False, f"not enough data to fit: {len(data)} points for {n_par} "
                                        "parameters", n_points=len(data))
    x, y, logL = np.log(data.N), np.log(data.D), np.log(data.loss)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return ApproachResult(3, False, "not enough data to fit: model or data size never varies",
                              n_points=len(data))
    w = None if weights is None else np.asarray(weights, float)
    opts = dict(kind=loss, delta=delta)
    starts = _grid_starts(x, y, logL, irreducible, top=8, w=w, **opts)
    res = _fit_lse(x, y, logL, irreducible, starts, w=w, **opts)
    if res is None:
        return ApproachResult(3, False, "fit failed: the optimiser found no finite optimum",
                              n_points=len(data))
    params, ea, eb, coef = _law_from_theta(res.x, irreducible, data.cost)
    params["objective"] = float(res.fun) * delta
    with np.errstate(all="ignore"):
        resid = np.log(params["E"] + params["A"] / data.N ** params["alpha"]
                       + params["B"] / data.D ** params["beta"]) - logL
    params["residual_sd"] = float(np.sqrt(np.mean(resid ** 2)))
    notes = [] if irreducible else ["E fixed at 0 (reducible error)"]
    for name in ("alpha", "beta"):
        if min(abs(params[name] - b) for b in _EXPONENT_BOUNDS) < 1e-6:
            notes.append(f"{name} at its bound {params[name]:g}: the data do not determine it")
    if not all(math.isfinite(v) for v in list(params.values()) + list(coef.values())):
        notes.append("some fitted constants overflow: the data do not determine them")
    out = ApproachResult(3, True, "; ".join(notes), ea, eb, coef, params, n_points=len(data),
                         bootstrap=bootstrap)
    if bootstrap:
        keys = ["E", "A", "B", "alpha", "beta", "a", "b"]
        draws = {k: [] for k in keys}
        for _ in range(bootstrap):
            idx = rng.integers(0, len(data), len(data))
            r = _fit_lse(x[idx], y[idx], logL[idx], irreducible, [res.x] + starts[:1],
                         w=None if w is None else w[idx], **opts)
            if r is None:
                continue
            p, a_, b_, _ = _law_from_theta(r.x, irreducible, data.cost)
            out.replicates.append({k: p[k] for k in ("E", "A", "B", "alpha", "beta")})
            p.update(a=a_, b=b_)
            for k in keys:
                draws[k].append(p[k])
        out.ci = percentile_ci(draws)
    return out
