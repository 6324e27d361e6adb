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

__all__ = ["approach3", "one_blas_thread", "HUBER_DELTA", "LOSSES", "robust_loss", "fit_warnings"]

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
        with np.errstate(over="ignore"):
            # ln cosh z = ln(1 + 2 sinh^2(z/2)): exact for small z (no cancellation against ln 2, which
            # left nothing of z^2/2 once delta >> |r|); z + ln(1 + e^{-2z}) - ln 2 for large z
            small = np.log1p(2 * np.sinh(np.minimum(z, 20.0) / 2) ** 2)
        large = z + np.log1p(np.exp(-2 * z)) - math.log(2)
        return delta * delta * np.where(z < 20.0, small, large), delta * np.tanh(r / delta)
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")


def _lse_objective(theta, x, y, logL, with_e, delta, kind="huber", w=None, scale=None):
    """Weighted loss objective divided by ``scale`` (default ``delta``; see :func:`_scale`) and its
    gradient, for the log-sum-exp model."""
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
    scale = delta if scale is None else scale
    return float(val.sum()) / scale, np.array(g) / scale


KERNEL_POINTS = 20_000
"""Fits with more points than this evaluate the objective with the compiled kernel
(:mod:`~scaling_theory.numeric.analysis.approach3_kernel`; Numba is imported only then)."""


def _objective_for(points: int):
    """The objective for a fit of this many points: the NumPy reference, or above
    :data:`KERNEL_POINTS` its compiled twin (same values to rounding, no temporaries of the points' size)."""
    if points <= KERNEL_POINTS:
        return _lse_objective
    from scaling_theory.numeric.analysis.approach3_kernel import lse_objective

    return lse_objective


def _residual_rms(theta, x, y, logL, with_e) -> float:
    """Root mean square of the log residuals of the model ``theta``."""
    t = [theta[0] - theta[1] * x, theta[2] - theta[3] * y] + ([np.full_like(x, theta[4])] if with_e else [])
    return float(np.sqrt(np.mean((np.logaddexp.reduce(np.stack(t), axis=0) - logL) ** 2)))


def _scale(kind: str, delta: float, rms: float) -> float:
    """What the objective is divided by, so that L-BFGS-B's tolerances mean the same at every ``delta``.

    L-BFGS-B stops when the objective falls by less than ``ftol * max(|f|, 1)``: an objective far
    below 1 (Huber with ``delta`` much larger than the residuals is ``r^2/2``, and divided by such a
    ``delta`` it is tiny) stopped at the start point. The scale is ``delta`` (the published
    protocol's conditioning) unless the residuals at the start are smaller, then their rms.
    ``mse`` ignores ``delta``: its scale is the default ``delta``'s, or the rms.
    """
    rms = max(rms, 1e-12)
    return min(delta if kind in ("huber", "log-cosh") else HUBER_DELTA, rms)


_SCREEN_POINTS = 20_000     # the start screen ranks starts on at most this many points (evenly spaced)
_SCREEN_ELEMENTS = 1 << 21  # grid rows x points per chunk of the screen (16 MiB per float array)


def _grid_starts(x, y, logL, with_e, top: int, kind="huber", delta=HUBER_DELTA, w=None):
    """Starting points: a data-scaled grid of 1600 (E fitted) or 400 candidates, the ``top`` best.

    The screen only ranks candidates, so above :data:`_SCREEN_POINTS` points it uses that many,
    evenly spaced (deterministic), and it runs in chunks of :data:`_SCREEN_ELEMENTS` (grid x point)
    elements: memory stays below ~100 MB at any number of points (it was 1600 x points doubles per
    array, 24 GB at 1e6 rows).
    """
    xm, ym, lm, lmin = np.median(x), np.median(y), np.median(logL), np.min(logL)
    if x.size > _SCREEN_POINTS:
        keep = np.linspace(0, x.size - 1, _SCREEN_POINTS).astype(np.int64)
        x, y, logL, w = x[keep], y[keep], logL[keep], (None if w is None else w[keep])
    alphas = betas = np.array([0.1, 0.25, 0.5, 0.8, 1.2])
    fracs = np.log([0.05, 0.2, 0.5, 1.0])  # share of the median loss each term carries at the median
    es = np.log([0.3, 0.7, 0.9, 0.97]) + lmin if with_e else np.array([0.0])
    grid = np.array(np.meshgrid(alphas, betas, fracs, fracs, es, indexing="ij")).reshape(5, -1).T
    al, be, fa, fb, e = grid.T
    a = lm + fa + al * xm
    b = lm + fb + be * ym
    obj = np.empty(a.size)
    rows = max(1, _SCREEN_ELEMENTS // max(x.size, 1))
    for lo in range(0, a.size, rows):
        sl = slice(lo, lo + rows)
        pred = np.logaddexp(a[sl, None] - al[sl, None] * x[None, :], b[sl, None] - be[sl, None] * y[None, :])
        if with_e:
            pred = np.logaddexp(pred, e[sl, None])
        val, _ = robust_loss(pred - logL[None, :], kind, delta)
        obj[sl] = (val * (1.0 if w is None else w[None, :])).sum(axis=1)
    best = np.argsort(obj, kind="stable")[:top]
    cols = [a, al, b, be] + ([e] if with_e else [])
    return [np.array([c[i] for c in cols]) for i in best]


def _bounds(logL, with_e):
    lo_e = float(np.min(logL)) - 40.0  # E below e^-40 of the smallest loss is indistinguishable from 0
    return [(None, None), _EXPONENT_BOUNDS, (None, None), _EXPONENT_BOUNDS] + ([(lo_e, None)] if with_e else [])


def _fit_lse(x, y, logL, with_e, starts, delta=HUBER_DELTA, kind="huber", w=None, scale=None):
    """L-BFGS-B from each start, the best result (``scipy.optimize.OptimizeResult``) or ``None``.

    ``scale`` divides the objective (default :func:`_scale` at the first start's residuals).
    """
    from scipy.optimize import minimize

    bounds = _bounds(logL, with_e)
    lo_e = bounds[4][0] if with_e else None
    if scale is None:
        scale = _scale(kind, delta, _residual_rms(np.asarray(starts[0], float), x, y, logL, with_e))
    best = None
    for start in starts:
        start = np.array(start, float)
        if with_e:
            start[4] = max(start[4], lo_e)
        res = minimize(_objective_for(x.size), start, args=(x, y, logL, with_e, delta, kind, w, scale), jac=True,
                       method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 3000, "ftol": 1e-14, "gtol": 1e-10})
        if np.all(np.isfinite(res.x)) and (best is None or res.fun < best.fun):
            best = res
    return best


def _raw_objective(theta, x, y, logL, with_e, kind, delta, w) -> float:
    """``sum_i w_i rho(r_i)``, undivided."""
    return _objective_for(x.size)(theta, x, y, logL, with_e, delta, kind, w, 1.0)[0]


_RESTARTS = 4           # restarts of the polish before a fit counts as not converged
_STILL = 1e-9           # a restart that lowers the objective by less than this (relative) finds nothing
_RESIDUAL_FLOOR = 1e-8  # log residuals this small are an exact fit (float64 noise in ln L)
_MAE_STAGES = 6         # Huber stages of the mae fit, delta from rms/10 down to rms/1e6


def _converged_fit(x, y, logL, with_e, starts, *, kind, delta, w):
    """The best of the starts, polished: ``(theta, objective, converged)`` or ``None``.

    Convergence is checked, not assumed: the best point is restarted with the objective rescaled to
    one per point, so L-BFGS-B's tolerances are relative to where it stands; a converged point
    stays (the objective falls by less than :data:`_STILL`); one that still moves after
    :data:`_RESTARTS` restarts is reported as not converged. ``mae`` (not differentiable at zero
    residuals, where L-BFGS-B stalls at a scale-dependent kink) is minimised as the limit of Huber
    losses, ``huber_delta / delta -> |r|`` as ``delta -> 0``, each stage from the last; its
    result does not depend on ``delta``.
    """
    if kind == "mae":
        rms = max(_residual_rms(np.asarray(starts[0], float), x, y, logL, with_e), 1e-12)
        res = None
        for k in range(1, _MAE_STAGES + 1):
            d_k = rms * 10.0 ** -k
            res = _fit_lse(x, y, logL, with_e, starts if res is None else [res.x], delta=d_k, kind="huber",
                           w=w, scale=d_k)
            if res is None:
                return None
        theta = res.x
        value = _raw_objective(theta, x, y, logL, with_e, "mae", delta, w)
        finer = _fit_lse(x, y, logL, with_e, [theta], delta=d_k / 10, kind="huber", w=w, scale=d_k / 10)
        if finer is None:
            return theta, value, False
        finer_value = _raw_objective(finer.x, x, y, logL, with_e, "mae", delta, w)
        # one more stage changes the mae objective by at most ~delta per point once converged
        still = abs(value - finer_value) <= 1e-6 * max(value, 1e-300) + 10 * d_k * x.size
        if finer_value < value:
            theta, value = finer.x, finer_value
        return theta, value, bool(still)
    res = _fit_lse(x, y, logL, with_e, starts, delta=delta, kind=kind, w=w)
    if res is None:
        return None
    from scipy.optimize import minimize

    bounds = _bounds(logL, with_e)
    theta = res.x
    value = _raw_objective(theta, x, y, logL, with_e, kind, delta, w)
    weight = float(x.size if w is None else np.sum(w))
    # the objective of residuals of _RESIDUAL_FLOOR everywhere: below it a fit is exact to float precision
    floor = weight * float(robust_loss(np.array([_RESIDUAL_FLOOR]), kind, delta)[0][0])
    for _ in range(_RESTARTS):
        if not value > floor:
            return theta, value, True
        scale = value / weight       # the objective is one per point where the polish starts
        r = minimize(_objective_for(x.size), theta, args=(x, y, logL, with_e, delta, kind, w, scale), jac=True,
                     method="L-BFGS-B", bounds=bounds, options={"maxiter": 3000, "ftol": 1e-14, "gtol": 1e-10})
        new = r.fun * scale
        if not (np.all(np.isfinite(r.x)) and new < value):
            return theta, value, True
        drop = value - new
        theta, value = r.x, new
        if drop <= max(_STILL * value, floor):
            return theta, value, True
    return theta, value, False


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
    if x.size > _SCREEN_POINTS:
        # many points: the starts are first fitted on the screen's evenly spaced subsample, and only
        # their best (and the best grid start) on every point
        keep = np.linspace(0, x.size - 1, _SCREEN_POINTS).astype(np.int64)
        sub = _converged_fit(x[keep], y[keep], logL[keep], irreducible, starts,
                             w=None if w is None else w[keep], **opts)
        starts = ([sub[0]] if sub is not None else []) + starts[:1]
    fitted = _converged_fit(x, y, logL, irreducible, starts, w=w, **opts)
    if fitted is None:
        return ApproachResult(3, False, "fit failed: the optimiser found no finite optimum",
                              n_points=len(data))
    theta, objective, converged = fitted
    if not converged:
        return ApproachResult(3, False, f"fit did not converge: the {loss} objective still falls when the "
                                        f"optimiser is restarted ({_RESTARTS} restarts); no result is reported",
                              n_points=len(data))
    params, ea, eb, coef = _law_from_theta(theta, irreducible, data.cost)
    params["objective"] = float(objective)
    with np.errstate(all="ignore"):
        resid = np.log(params["E"] + params["A"] / data.N ** params["alpha"]
                       + params["B"] / data.D ** params["beta"]) - logL
    params["residual_sd"] = float(np.sqrt(np.mean(resid ** 2)))
    notes = [] if irreducible else ["E fixed at 0 (reducible error)"]
    warnings = fit_warnings(data, params)
    if not all(math.isfinite(v) for v in list(params.values()) + list(coef.values())):
        warnings.append("some fitted constants overflow: the data do not determine them")
    out = ApproachResult(3, True, "; ".join(notes + warnings), ea, eb, coef, params, n_points=len(data),
                         bootstrap=bootstrap, warnings=warnings)
    if bootstrap:
        keys = ["E", "A", "B", "alpha", "beta", "a", "b"]
        draws = {k: [] for k in keys}
        dropped = 0
        for _ in range(bootstrap):
            idx = rng.integers(0, len(data), len(data))
            r = _converged_fit(x[idx], y[idx], logL[idx], irreducible,
                               [theta] + (starts[:1] if x.size <= _SCREEN_POINTS else []),
                               w=None if w is None else w[idx], **opts)
            if r is None or not r[2]:
                dropped += 1
                continue
            p, a_, b_, _ = _law_from_theta(r[0], irreducible, data.cost)
            out.replicates.append({k: p[k] for k in ("E", "A", "B", "alpha", "beta")})
            p.update(a=a_, b=b_)
            for k in keys:
                draws[k].append(p[k])
        out.ci = percentile_ci(draws)
        if dropped:
            out.warnings.append(f"{dropped} of {bootstrap} bootstrap replicates did not converge and are "
                                "left out of the intervals")
        for name in ("alpha", "beta"):
            ends = out.ci.get(name, [])
            touch = [b for b in _EXPONENT_BOUNDS for e in ends if abs(e - b) < 1e-6 * max(1.0, b)]
            if touch and f"{name} at its bound" not in " ".join(warnings):
                out.warnings.append(f"the 95% interval of {name} reaches its bound {touch[0]:g}: the data "
                                    f"do not bound {name}")
        if "a" in out.ci and out.ci["a"][0] == out.ci["a"][1] and params["residual_sd"] > 0:
            # every replicate returned the same exponent although the data scatter: a stuck optimiser
            out.warnings.append("the bootstrap interval of a has zero width although the points scatter "
                                "about the fit: the replicates did not move from their start")
        out.message = "; ".join(notes + out.warnings)
    return out


def fit_warnings(data: FitData, params: dict) -> list[str]:
    """What a reader must know before trusting approach 3's fit: one budget, parameters on their bounds.

    Parameters
    ----------
    data : FitData
        The fitted points.
    params : dict
        The fitted law (``alpha``, ``beta``).

    Returns
    -------
    list of one-line warnings (empty when none applies).

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.data import synthetic
    >>> one = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e19], per_budget=9)
    >>> fit_warnings(one, {"alpha": 0.34, "beta": 5.0})
    ['rests on one compute budget (C = 1e+19): the exponents come from a single IsoFLOP profile and are not tested across budgets', 'beta at its bound 5: the data do not determine it']
    """
    out = []
    spread = float(np.ptp(np.log(data.loss))) if len(data) else 0.0
    if spread < 1e-6:
        out.append(f"the losses differ by only {spread:.2g} in ln L across the points: the data do not "
                   "determine the law")
    budgets = np.unique(data.budget)
    if budgets.size == 1:
        out.append(f"rests on one compute budget (C = {budgets[0]:.3g}): the exponents come from a single "
                   "IsoFLOP profile and are not tested across budgets")
    for name in ("alpha", "beta"):
        v = params.get(name)
        if v is not None and math.isfinite(v) and min(abs(v - b) for b in _EXPONENT_BOUNDS) < 1e-6 * max(1.0, abs(v)):
            out.append(f"{name} at its bound {v:g}: the data do not determine it")
    return out
