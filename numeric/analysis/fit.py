"""Fitting compute-optimal scaling laws to measured losses: Chinchilla's three approaches.

Data are points ``(N, D, loss)`` with compute ``C`` (``C = cost * N * D`` unless given): model
size ``N`` (for our own runs the student's parameter count ``p``), data size ``D`` (samples ``T``)
and the loss (for our runs the reducible error, which has no irreducible term).

- **Approach 1** (lower envelope): per compute budget the best configuration; power laws
  ``N_opt(C) = k_N C^a`` and ``D_opt(C) = k_D C^b`` by least squares in log-log.
- **Approach 2** (IsoFLOP profiles): per budget a parabola of ``ln loss`` against ``ln N``; its vertex
  gives ``N*(C)``, and ``D*(C) = C / (cost N*)``; then the same power laws.
- **Approach 3** (parametric): ``L(N, D) = E + A/N^alpha + B/D^beta`` fitted in log space as
  ``LSE(a - alpha ln N, b - beta ln D, e)`` with a Huber loss (delta = 1e-3) on the log residuals,
  by L-BFGS-B from a grid of starting points keeping the best; then ``a = beta/(alpha+beta)``,
  ``b = alpha/(alpha+beta)``.

Each approach reports ``a``, ``b`` with seeded bootstrap percentile intervals.

References
----------
Hoffmann et al. (2022), *Training Compute-Optimal Large Language Models*, Sec. 3 and App. D.
Besiroglu et al. (2024), *Chinchilla Scaling: A replication attempt*.
"""

from __future__ import annotations

import math
import os

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.approach3 import HUBER_DELTA, LOSSES, approach3, one_blas_thread
from scaling_theory.numeric.analysis.data import FitData, from_store, load_csv, split_groups, synthetic
from scaling_theory.numeric.analysis.isoflop import approach12
from scaling_theory.numeric.analysis.results import ApproachResult, FitResult, format_number

__all__ = ["fit", "fit_estimate", "FitData", "ApproachResult", "FitResult", "load_csv", "from_store", "synthetic",
           "split_groups", "format_number", "HUBER_DELTA", "LOSSES", "point_weights", "MAX_BOOTSTRAP"]


MAX_BOOTSTRAP = 100_000
"""Most bootstrap resamples: their percentiles are settled long before, and each is a full refit."""


def fit(data: FitData | str | os.PathLike, approach: str | int = "all", *, bootstrap: int = 200, seed: int = 0,
        irreducible: bool = True, loss: str = "huber", delta: float = HUBER_DELTA,
        weights=None) -> FitResult:
    """Fit compute-optimal scaling by Chinchilla's approaches 1, 2 and 3.

    Parameters
    ----------
    data : FitData or path
        From :func:`load_csv`, :func:`from_store` or :func:`synthetic`; or the path of a CSV file
        (``*.csv``, read with :func:`load_csv`) or of a result store (read with :func:`from_store`).
    approach : 1, 2, 3 or ``"all"``.
    bootstrap : number of bootstrap resamples for the 95% percentile intervals (0: none).
    seed : seed of the bootstrap resampling (results are reproducible).
    irreducible : fit the irreducible term ``E >= 0`` (approach 3); ``False`` fixes ``E = 0``,
        right for a reducible error, which vanishes as ``N, D -> oo``.
    loss : ``"huber"`` (default, the published protocol), ``"mse"``, ``"mae"`` or ``"log-cosh"``:
        the loss on the log residuals minimised by approach 3 (see
        :func:`~scaling_theory.numeric.analysis.approach3.robust_loss`).
    delta : scale of ``huber`` and ``log-cosh`` (default 1e-3).
    weights : approach 3's point weights: ``None`` (the data's own ``weight`` column if read with
        ``load_csv(..., weight_column=...)``, else none), ``"none"``, ``"compute"`` (proportional to
        ``C``) or an array of non-negative numbers; see :func:`point_weights`.

    Returns
    -------
    FitResult with one :class:`ApproachResult` per approach; an approach that cannot be fitted
    says why in ``message`` (``ok`` false) instead of returning NaN.

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21],
    ...                  noise=0.0)
    >>> res = fit(data, bootstrap=0)
    >>> [round(res.approaches[k].a, 2) for k in (1, 2, 3)]  # exact: 0.28/0.62 = 0.4516
    [0.45, 0.45, 0.45]
    >>> round(res.approaches[3].params["alpha"], 3), round(res.approaches[3].params["E"], 2)
    (0.34, 1.69)

    With bootstrap resamples each exponent gets a seeded 95% percentile interval:

    >>> r2 = fit(data, approach=2, bootstrap=20, seed=0).approaches[2]
    >>> lo, hi = r2.ci["a"]
    >>> bool(lo <= r2.a <= hi and lo < 0.4516 < hi)
    True
    >>> r2.ci == fit(data, approach=2, bootstrap=20, seed=0).approaches[2].ci   # reproducible
    True

    Another loss on the log residuals (noise-free data: every loss finds the same law):

    >>> r3 = fit(data, approach=3, bootstrap=0, loss="mse").approaches[3]
    >>> round(r3.params["alpha"], 3), fit(data, approach=3, bootstrap=0, loss="mse").loss["kind"]
    (0.34, 'mse')
    """
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        data = load_csv(path) if path.lower().endswith(".csv") else from_store(path)
    if approach not in ("all", 1, 2, 3, "1", "2", "3"):
        raise UserInputError(f"approach must be 1, 2, 3 or all, got {approach!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or not 0 <= bootstrap <= MAX_BOOTSTRAP:
        raise UserInputError(f"bootstrap must be an integer in [0, {MAX_BOOTSTRAP}], got {bootstrap!r}")
    if loss not in LOSSES:
        raise UserInputError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
        raise UserInputError(f"delta must be a positive number, got {delta!r}")
    wanted = (1, 2, 3) if approach == "all" else (int(approach),)
    if len(data) == 0:
        raise UserInputError(f"{data.source}: no data points to fit")
    w, w_name = point_weights(data, weights)
    out = {}
    with one_blas_thread():
        for k in wanted:
            rng = np.random.default_rng([seed, k])
            out[k] = (approach3(data, bootstrap, rng, irreducible, loss=loss, delta=float(delta),
                                weights=w) if k == 3
                      else approach12(data, k, bootstrap, rng))
    return FitResult(out, len(data), int(np.unique(data.budget).size), data.cost, data.source,
                     {"kind": loss, "delta": float(delta), "weights": w_name},
                     {k: [float(v.min()), float(v.max())] for k, v in (("N", data.N), ("D", data.D), ("C", data.C))})


def fit_estimate(data: FitData, approach: str | int = "all", *, bootstrap: int = 200,
                 loss: str = "huber") -> dict[str, float]:
    """Expected run time and peak memory of :func:`fit` on ``data``, before it starts.

    The time is measured, not guessed: one evaluation of approach 3's objective on these points is
    timed and multiplied by the evaluations a fit takes (counted on 1e4 and 1e5-point fits: about
    600 for the point fit, 120 per bootstrap replicate; on more than 20000 points the starts are
    fitted on a 20000-point subsample, so about 150 full evaluations and 55 per replicate);
    approaches 1 and 2 cost about 1 us per point and replicate. ``mae`` runs seven Huber stages (x4 on approach 3's share).

    Returns
    -------
    dict with ``seconds``, ``point_seconds`` (with ``bootstrap=0``) and ``memory`` (bytes, see
    :func:`~scaling_theory.numeric.analysis.data.fit_memory`).

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20], per_budget=5)
    >>> est = fit_estimate(data, bootstrap=200)
    >>> 0 < est["point_seconds"] < est["seconds"] < 60, est["memory"] < 2**30
    (True, True)
    """
    import time

    from scaling_theory.numeric.analysis.approach3 import _SCREEN_POINTS, _objective_for
    from scaling_theory.numeric.analysis.data import fit_memory

    n = len(data)
    wanted = (1, 2, 3) if approach == "all" else (int(approach),)
    x, y, logL = np.log(data.N), np.log(data.D), np.log(data.loss)
    theta = np.array([float(np.median(logL)) + 0.25 * float(np.median(x)), 0.25,
                      float(np.median(logL)) + 0.25 * float(np.median(y)), 0.25, float(np.min(logL)) - 1.0])
    objective = _objective_for(n)
    objective(theta, x, y, logL, True, HUBER_DELTA)   # compiled on first use: not part of the time
    start = time.perf_counter()
    repeats = 0
    while repeats < 3 or time.perf_counter() - start < 0.01:
        objective(theta, x, y, logL, True, HUBER_DELTA)
        repeats += 1
    per_eval = (time.perf_counter() - start) / repeats
    big = n > _SCREEN_POINTS
    point_evals = 150 + 700 * _SCREEN_POINTS / n if big else 600
    rep_evals = 55 if big else 120
    factor = 4.0 if loss == "mae" else 1.0
    a3_point = per_eval * point_evals * factor if 3 in wanted else 0.0
    a3_boot = per_eval * rep_evals * factor * bootstrap if 3 in wanted else 0.0
    a12 = sum(1e-6 * n * (1 + bootstrap) for k in wanted if k in (1, 2))
    return {"seconds": a3_point + a3_boot + a12, "point_seconds": a3_point + sum(1e-6 * n for k in wanted if k in (1, 2)),
            "memory": fit_memory(n)}


def point_weights(data: FitData, weights=None) -> tuple[np.ndarray | None, str]:
    """Approach 3's weight per point, normalised to mean 1, and its description.

    Parameters
    ----------
    data : FitData
    weights : None, ``"none"``, ``"compute"`` or array
        ``None``: the data's ``weight`` column if they carry one, else none; ``"compute"``:
        proportional to each point's compute ``C``; an array: one non-negative number per point.

    Returns
    -------
    (weights or None, description)

    Raises
    ------
    UserInputError
        a negative, non-finite or all-zero weight, or an array of the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_theory.numeric.analysis.fit import point_weights, synthetic
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19], per_budget=3)
    >>> w, name = point_weights(data, "compute")
    >>> name, np.round(w, 3).tolist()
    ('compute', [0.182, 0.182, 0.182, 1.818, 1.818, 1.818])
    >>> point_weights(data, [1, 1, 1, 1, 1, -1])
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: weights: point 6 has a negative weight (-1)
    """
    if weights is None:
        if data.weight is None:
            return None, "none"
        w, name = data.weight, data.weight_name or "column"
    elif isinstance(weights, str):
        if weights == "none":
            return None, "none"
        if weights != "compute":
            raise UserInputError(f"weights must be none, compute or an array, got {weights!r}")
        w, name = data.C, "compute"
    else:
        w, name = weights, "given"
    w = np.asarray(w, float).ravel()
    if w.size != len(data):
        raise UserInputError(f"weights: {w.size} values for {len(data)} points")
    bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
    if bad.size:
        i = int(bad[0])
        what = "a negative" if np.isfinite(w[i]) else "a non-finite"
        raise UserInputError(f"weights: point {i + 1} has {what} weight ({w[i]:g})")
    if not np.any(w > 0):
        raise UserInputError("weights: all weights are zero")
    return w / w.mean(), name
