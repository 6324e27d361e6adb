"""Diagnostic figures of a parametric fit (approach 3): what to look at before trusting it.

:func:`fit_diagnostics` writes four PNGs for a fit of ``L(N, D) = E + A/N^alpha + B/D^beta``:

- ``residuals.png``: log residuals ``ln L_pred - ln L_obs`` against ``N``, ``D`` and ``C``
  (a trend means the law's form misses something);
- ``predicted_vs_observed.png``: predicted against observed loss, with the diagonal;
- ``isoflop.png``: the IsoFLOP slices (loss against ``N`` at each budget) with the fitted law's
  curve ``L(N, C/(cost N))`` through them (Hoffmann et al. 2022, Fig. 3 left);
- ``bootstrap.png``: the bootstrap distributions of ``alpha``, ``beta`` and
  ``a = beta/(alpha+beta)``, with the point estimate.

References
----------
Hoffmann et al. (2022), *Training Compute-Optimal Large Language Models*, Sec. 3.3 and App. D.2.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.data import FitData
from scaling_theory.numeric.analysis.plots import _save
from scaling_theory.numeric.analysis.results import FitResult

__all__ = ["fit_diagnostics", "law_loss", "DIAGNOSTIC_FIGURES"]

DIAGNOSTIC_FIGURES = ("residuals.png", "predicted_vs_observed.png", "isoflop.png", "bootstrap.png")
"""File names written by :func:`fit_diagnostics`."""

MAX_SHOWN = 20_000
"""Most points drawn in a figure; more are thinned to this many, evenly spaced, and the figure says so."""


def law_loss(params, N, D):
    """``L(N, D) = E + A/N^alpha + B/D^beta`` (Hoffmann et al. 2022, eq. 2) for a params dict.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.diagnostics import law_loss
    >>> p = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    >>> round(float(law_loss(p, 70e9, 1.4e12)), 4)
    1.9366
    """
    N, D = np.asarray(N, float), np.asarray(D, float)
    return params["E"] + params["A"] / N ** params["alpha"] + params["B"] / D ** params["beta"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def fit_diagnostics(data: FitData, result: FitResult, folder: str | os.PathLike) -> list[Path]:
    """Write the four diagnostic PNGs of approach 3's fit into ``folder`` (created if missing).

    Parameters
    ----------
    data : FitData
        The points that were fitted.
    result : FitResult
        Their fit, with approach 3 fitted (bootstrap replicates give the fourth figure; without
        them it says so in its title).
    folder : path
        Where the PNGs go; each is written atomically.

    Returns
    -------
    list of Path, in the order of :data:`DIAGNOSTIC_FIGURES`.

    Raises
    ------
    UserInputError
        approach 3 was not fitted, or a file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from scaling_theory.numeric.analysis.fit import fit, synthetic
    >>> from scaling_theory.numeric.analysis.diagnostics import fit_diagnostics
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20], noise=0.01)
    >>> res = fit(data, approach=3, bootstrap=10)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> [p.name for p in fit_diagnostics(data, res, tmp.name)]
    ['residuals.png', 'predicted_vs_observed.png', 'isoflop.png', 'bootstrap.png']
    >>> tmp.cleanup()
    """
    r3 = result.approaches.get(3)
    if r3 is None or not r3.ok:
        why = "it was not requested" if r3 is None else r3.message
        raise UserInputError(f"diagnostic figures need approach 3's fit, but {why}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserInputError(f"cannot write figures into {folder}: it is not a folder")
    p = r3.params
    pred = law_loss(p, data.N, data.D)
    resid = np.log(pred) - np.log(data.loss)
    rms = float(np.sqrt(np.mean(resid ** 2)))
    if len(data) > MAX_SHOWN:   # a million markers say no more than 20000 and take minutes to draw
        keep = np.linspace(0, len(data) - 1, MAX_SHOWN).astype(np.int64)
        shown = f" ({MAX_SHOWN} of {len(data)} points shown, evenly spaced)"
        data, pred, resid = data.subset(keep), pred[keep], resid[keep]
    else:
        shown = ""
    plt = _plt()
    out = []

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained", sharey=True)
    for ax, x, name in zip(axes, (data.N, data.D, data.C), ("model size N", "data size D", "compute C")):
        ax.scatter(x, resid, s=14, alpha=0.7)
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(name)
    axes[0].set_ylabel("ln L_pred - ln L_obs")
    fig.suptitle(f"approach 3 residuals ({result.loss['kind']} loss); rms {rms:.3g}{shown}")
    out.append(Path(_save(plt, fig, folder / DIAGNOSTIC_FIGURES[0])))

    fig, ax = plt.subplots(figsize=(5.2, 4.6), layout="constrained")
    ax.scatter(data.loss, pred, s=14, alpha=0.7)
    lo, hi = float(min(data.loss.min(), pred.min())), float(max(data.loss.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="predicted = observed")
    ax.set_xlabel("observed loss")
    ax.set_ylabel("predicted loss (fitted law)")
    if shown:
        ax.set_title(shown.strip(" ()"), fontsize=8)
    ax.legend(loc="upper left")
    out.append(Path(_save(plt, fig, folder / DIAGNOSTIC_FIGURES[1])))

    fig, ax = plt.subplots(figsize=(6.8, 4.6), layout="constrained")
    budgets = np.unique(data.budget)
    colors = plt.cm.viridis(np.linspace(0, 0.9, budgets.size))
    for color, Cb in zip(colors, budgets):
        m = data.budget == Cb
        ax.scatter(data.N[m], data.loss[m], s=16, color=color)
        grid = np.geomspace(data.N[m].min() / 1.5, data.N[m].max() * 1.5, 100)
        ax.plot(grid, law_loss(p, grid, Cb / (data.cost * grid)), color=color, lw=1.2,
                label=f"C = {Cb:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("model size N")
    ax.set_ylabel("loss")
    ax.set_title("IsoFLOP slices with the fitted law")
    if budgets.size <= 12:
        ax.legend(fontsize=7, ncol=2)
    out.append(Path(_save(plt, fig, folder / DIAGNOSTIC_FIGURES[2])))

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained")
    reps = r3.replicates
    for ax, key in zip(axes, ("alpha", "beta", "a")):
        if key == "a":
            vals = np.array([q["beta"] / (q["alpha"] + q["beta"]) for q in reps])
            point = r3.a
        else:
            vals = np.array([q[key] for q in reps])
            point = p[key]
        vals = vals[np.isfinite(vals)]
        if vals.size:
            ax.hist(vals, bins=min(30, max(5, vals.size // 5)), color="0.6")
        ax.axvline(point, color="C3", lw=1.5, label="point estimate")
        ax.set_xlabel(key)
        ax.legend(fontsize=7)
    fig.suptitle(f"bootstrap distributions ({len(reps)} replicates)" if reps else
                 "no bootstrap replicates (fit with --bootstrap N > 0)")
    out.append(Path(_save(plt, fig, folder / DIAGNOSTIC_FIGURES[3])))
    return out


