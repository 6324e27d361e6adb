"""How reliable is a design: refit synthetic data from a known law many times and measure the errors.

:func:`design_study` draws IsoFLOP data from ``L = E + A/N^alpha + B/D^beta`` with log-normal noise
(:func:`~scaling_theory.numeric.analysis.data.synthetic`), fits it by Chinchilla's approaches 1-3
(:func:`~scaling_theory.numeric.analysis.fit.fit`, no bootstrap) ``repeats`` times with different
noise seeds, and reports per approach the bias and spread of the recovered exponent
``a`` (``N* ~ C^a``) and of ``ln N*`` at a target budget, for a grid symmetric in ``ln N`` about
each budget's optimum and for one shifted by a factor ``offset`` (asymmetric).

References
----------
Hoffmann et al. (2022), Sec. 3 and App. D; Besiroglu et al. (2024), *Chinchilla Scaling: A
replication attempt* (approach 2's sensitivity to the IsoFLOP grid).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.data import synthetic
from scaling_theory.numeric.analysis.fit import fit
from scaling_theory.numeric.analysis.planning import optimum

__all__ = ["design_study", "format_design"]


def design_study(params: Mapping[str, float], budgets: Sequence[float], *, per_budget: int = 9,
                 noise: float = 0.01, repeats: int = 20, target: float = 5.76e23,
                 offsets: Sequence[float] = (1.0, 4.0), span: float = 16.0, cost: float = 6.0,
                 seed: int = 0) -> dict[str, Any]:
    """Bias and spread of each approach's ``a`` and ``N*(target)`` under a design, by simulation.

    Parameters
    ----------
    params : mapping
        The true law's ``E, A, B, alpha, beta``.
    budgets : sequence of float
        Compute budgets of the IsoFLOP profiles.
    per_budget : int
        Model sizes per budget (the widths).
    noise : float
        Standard deviation of the log-normal noise on each loss.
    repeats : int
        Simulated data sets per grid.
    target : float
        Budget at which ``N*`` is compared with the truth.
    offsets : sequence of float
        Grid centres as multiples of each budget's true optimum (1: symmetric in ``ln N``).
    span : float
        The grid covers a factor ``span`` either side of its centre.
    seed : int
        Base seed; repeat ``r`` uses noise seed ``(seed, r)``, the same for every grid.

    Returns
    -------
    dict with ``truth`` (``a``, ``model_optimal``) and ``grids``: per offset, per approach,
    ``a_bias``, ``a_sd``, ``lnN_bias`` (mean of ``ln(N*_fit / N*_true)``), ``lnN_sd`` and ``fits``
    (how many of the repeats that approach could fit).

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.design import design_study
    >>> p = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    >>> s = design_study(p, [1e18, 1e19, 1e20], noise=0.0, repeats=1, offsets=(1.0,))
    >>> round(s["truth"]["a"], 4), abs(s["grids"]["1"]["3"]["a_bias"]) < 1e-3
    (0.4516, True)
    """
    for key in ("E", "A", "B", "alpha", "beta"):
        if key not in params:
            raise UserInputError(f"design needs the law's {key} (a law E + A/N^alpha + B/D^beta)")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise UserInputError(f"repeats must be a positive integer, got {repeats!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise UserInputError(f"noise must be a non-negative number, got {noise!r}")
    if len(budgets) < 2:
        raise UserInputError("give at least two budgets (exponents need two IsoFLOP profiles)")
    if per_budget < 3:
        raise UserInputError(f"widths per budget must be at least 3 (a parabola), got {per_budget}")
    p = {k: float(params[k]) for k in ("E", "A", "B", "alpha", "beta")}
    a_true = p["beta"] / (p["alpha"] + p["beta"])
    N_true = optimum(p, target, cost)[0]
    grids = {}
    for off in offsets:
        est = {k: {"a": [], "lnN": []} for k in (1, 2, 3)}
        for r in range(repeats):
            data = synthetic(p["E"], p["A"], p["B"], p["alpha"], p["beta"], budgets=budgets,
                             per_budget=per_budget, span=span, noise=noise, cost=cost,
                             seed=int(np.random.SeedSequence([seed, r]).generate_state(1)[0]),
                             offset=off)
            res = fit(data, bootstrap=0)
            for k, ar in res.approaches.items():
                if ar.ok and ar.a is not None:
                    n = float(ar.model_optimal(target))
                    if math.isfinite(n) and n > 0:
                        est[k]["a"].append(ar.a)
                        est[k]["lnN"].append(math.log(n / N_true))
        grids[f"{off:g}"] = {str(k): _stats(v, a_true) for k, v in est.items()}
    return {"truth": {"a": a_true, "model_optimal": N_true, "target": float(target), **p},
            "budgets": [float(b) for b in budgets], "per_budget": per_budget, "noise": noise,
            "repeats": repeats, "span": span, "grids": grids}


def _stats(v, a_true) -> dict[str, Any]:
    a, ln = np.array(v["a"]), np.array(v["lnN"])
    if a.size == 0:
        return {"fits": 0}
    sd = (lambda x: float(np.std(x, ddof=1)) if x.size > 1 else 0.0)
    return {"fits": int(a.size), "a_bias": float(a.mean() - a_true), "a_sd": sd(a),
            "lnN_bias": float(ln.mean()), "lnN_sd": sd(ln)}


def format_design(study: Mapping[str, Any]) -> str:
    """A table of :func:`design_study`'s result.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.design import design_study, format_design
    >>> p = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    >>> print(format_design(design_study(p, [1e18, 1e19], noise=0.0, repeats=1, offsets=(1.0,))).splitlines()[2])
    grid (centre/optimum)  approach  fits  bias a    sd a      bias ln N*  sd ln N*
    """
    t = study["truth"]
    lines = [f"true law: E={t['E']:g}, A={t['A']:g}, B={t['B']:g}, alpha={t['alpha']:g}, "
             f"beta={t['beta']:g}; a = {t['a']:.4f}, N*({t['target']:.3g}) = {t['model_optimal']:.4g}",
             f"{len(study['budgets'])} budgets x {study['per_budget']} widths, span x{study['span']:g}, "
             f"noise {study['noise']:g}, {study['repeats']} repeats",
             f"{'grid (centre/optimum)':<22} {'approach':<9} {'fits':<5} {'bias a':<9} {'sd a':<9} "
             f"{'bias ln N*':<11} sd ln N*"]
    for off, per in study["grids"].items():
        name = "symmetric (1)" if float(off) == 1.0 else f"shifted x{off}"
        for k, s in per.items():
            if not s.get("fits"):
                lines.append(f"{name:<22} {k:<9} 0     (no fit)")
                continue
            lines.append(f"{name:<22} {k:<9} {s['fits']:<5} {s['a_bias']:<+9.4f} {s['a_sd']:<9.4f} "
                         f"{s['lnN_bias']:<+11.4f} {s['lnN_sd']:.4f}")
    return "\n".join(lines)
