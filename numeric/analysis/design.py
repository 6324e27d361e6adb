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
from scaling_theory.numeric.analysis.data import check_fit_memory, fit_memory, synthetic
from scaling_theory.numeric.analysis.fit import fit
from scaling_theory.numeric.analysis.planning import optimum

__all__ = ["design_study", "design_estimate", "format_design", "MAX_REPEATS", "MAX_WIDTHS_PER_BUDGET",
           "MAX_NOISE", "MAX_SPAN"]

MAX_REPEATS = 10_000
"""Most repeats without ``allow_large`` (about an hour at 0.2 s per fit and two grids)."""

MAX_WIDTHS_PER_BUDGET = 10_000
"""Most model sizes per budget without ``allow_large``."""

MAX_NOISE = 5.0
"""Largest log-normal noise: ``exp(5 z)`` already scatters a loss over a factor 3e6 at 3 sigma."""

MAX_SPAN = 1e6
"""Largest span of a grid either side of its centre (beyond it the sizes leave float range)."""


def _check(params, budgets, per_budget, noise, repeats, target, offsets, span, cost, seed, allow_large) -> None:
    """Every input's sign, range and finiteness, and the documented size limits (one-line errors)."""
    for key in ("E", "A", "B", "alpha", "beta"):
        if key not in params:
            raise UserInputError(f"design needs the law's {key} (a law E + A/N^alpha + B/D^beta)")
        v = params[key]
        if not (isinstance(v, (int, float)) and math.isfinite(v) and (v >= 0 if key == "E" else v > 0)):
            raise UserInputError(f"design: the law's {key} must be a finite number "
                                 f"{'>= 0' if key == 'E' else '> 0'}, got {v!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise UserInputError(f"repeats must be a positive integer, got {repeats!r}")
    if isinstance(per_budget, bool) or not isinstance(per_budget, int) or per_budget < 3:
        raise UserInputError(f"widths per budget must be at least 3 (a parabola), got {per_budget}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserInputError(f"seed must be an integer >= 0, got {seed!r}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and 0 <= noise <= MAX_NOISE):
        raise UserInputError(f"noise must be a number in [0, {MAX_NOISE:g}] (log-normal sigma), got {noise!r}")
    if not (math.isfinite(span) and 1 < span <= MAX_SPAN):
        raise UserInputError(f"span must exceed 1 and be at most {MAX_SPAN:g}, got {span:g}")
    for name, v in [("target", target), ("cost", cost)] + [("budget", b) for b in budgets] + \
            [("offset", o) for o in offsets]:
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise UserInputError(f"{name} must be a positive finite number, got {v!r}")
    if len(budgets) < 2:
        raise UserInputError("give at least two budgets (exponents need two IsoFLOP profiles)")
    for o in offsets:
        if not 1 / MAX_SPAN <= o <= MAX_SPAN:
            raise UserInputError(f"offset must lie in [{1 / MAX_SPAN:g}, {MAX_SPAN:g}], got {o:g}")
    if not allow_large:
        if repeats > MAX_REPEATS:
            raise UserInputError(f"repeats {repeats} is above the limit {MAX_REPEATS} (pass allow_large, "
                                 "--allow-large on the command line, to run it anyway)")
        if per_budget > MAX_WIDTHS_PER_BUDGET:
            raise UserInputError(f"widths per budget {per_budget} is above the limit {MAX_WIDTHS_PER_BUDGET} "
                                 "(pass allow_large, --allow-large on the command line, to run it anyway)")
    check_fit_memory(len(budgets) * per_budget, "design")


def design_estimate(params: Mapping[str, float], budgets: Sequence[float], *, per_budget: int = 9,
                    noise: float = 0.01, repeats: int = 20, offsets: Sequence[float] = (1.0, 4.0),
                    span: float = 16.0, cost: float = 6.0) -> dict[str, float]:
    """Expected run time (s) and peak memory (bytes) of :func:`design_study`, from one timed fit.

    Examples
    --------
    >>> p = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
    >>> est = design_estimate(p, [1e18, 1e19], repeats=20)
    >>> 0 < est["seconds"] < 600, est["memory"] < 2**30
    (True, True)
    """
    import time

    p = {k: float(params[k]) for k in ("E", "A", "B", "alpha", "beta")}
    start = time.perf_counter()
    data = synthetic(p["E"], p["A"], p["B"], p["alpha"], p["beta"], budgets=budgets, per_budget=per_budget,
                     span=span, noise=noise, cost=cost, seed=0, offset=1.0)
    fit(data, bootstrap=0)
    one = time.perf_counter() - start
    return {"seconds": one * repeats * len(offsets), "memory": fit_memory(len(budgets) * per_budget)}


def design_study(params: Mapping[str, float], budgets: Sequence[float], *, per_budget: int = 9,
                 noise: float = 0.01, repeats: int = 20, target: float = 5.76e23,
                 offsets: Sequence[float] = (1.0, 4.0), span: float = 16.0, cost: float = 6.0,
                 seed: int = 0, allow_large: bool = False) -> dict[str, Any]:
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
        Base seed (``>= 0``); repeat ``r`` uses noise seed ``(seed, r)``, the same for every grid.
    allow_large : bool
        Run above the documented limits :data:`MAX_REPEATS` and :data:`MAX_WIDTHS_PER_BUDGET` (the
        memory check still applies).

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
    _check(params, budgets, per_budget, noise, repeats, target, offsets, span, cost, seed, allow_large)
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
