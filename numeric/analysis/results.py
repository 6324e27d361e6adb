"""Result types of the scaling-law fits, their JSON and text, and the report number format.

A leaf of :mod:`scaling_theory.numeric.analysis`: the approaches
(:mod:`~scaling_theory.numeric.analysis.isoflop`, :mod:`~scaling_theory.numeric.analysis.approach3`)
build these, :func:`scaling_theory.numeric.analysis.fit.fit` collects them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

__all__ = ["ApproachResult", "FitResult", "format_number", "CI_LEVEL", "percentile_ci", "FIT_FORMAT"]

FIT_FORMAT = "scaling-theory-fit/2"
"""Format version of ``fit --json`` (version 2 adds the loss, the weights and the bootstrap replicates)."""

CI_LEVEL = 0.95
"""Level of every bootstrap percentile interval."""


@dataclass
class ApproachResult:
    """One approach's fit: exponents ``a`` (model) and ``b`` (data) with intervals, or why not.

    ``coefficients`` holds ``k_N``, ``k_D`` of ``N*(C) = k_N C^a``, ``D*(C) = k_D C^b``;
    ``params`` the fitted law (approach 3); ``points`` the per-budget optima (approaches 1, 2).

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.fit import fit, synthetic
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.0)
    >>> r = fit(data, approach=1, bootstrap=0).approaches[1]
    >>> r.ok, round(r.a, 4), round(r.b, 4), len(r.points)     # exact a = 0.28/0.62 = 0.4516
    (True, 0.4516, 0.5484, 4)
    >>> f"{float(r.model_optimal(1e20)):.3e}", f"{float(r.data_optimal(1e20)):.3e}"
    ('6.449e+08', '2.585e+10')
    >>> few = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19], per_budget=2)
    >>> r = fit(few, approach=2, bootstrap=0).approaches[2]
    >>> r.ok, r.a, r.message.startswith("not enough data to fit")   # a reason, never a NaN
    (False, None, True)
    """

    approach: int
    ok: bool
    message: str = ""
    a: float | None = None
    b: float | None = None
    coefficients: dict[str, float] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    ci: dict[str, list[float]] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)
    n_points: int = 0
    bootstrap: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    bins: int = 0
    replicates: list[dict[str, float]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (non-finite numbers as ``None``), for ``fit --json``."""
        out: dict[str, Any] = {"approach": self.approach, "ok": self.ok}
        if self.message:
            out["message"] = self.message
        if self.warnings:
            out["warnings"] = list(self.warnings)
        out.update({k: _num(v) for k, v in self.params.items()})
        out["a"] = _num(self.a)
        out["b"] = _num(self.b)
        out["coefficients"] = {k: _num(v) for k, v in self.coefficients.items()}
        out["ci"] = {k: [_num(x) for x in v] for k, v in self.ci.items()}
        out["n_points"] = self.n_points
        out["bootstrap"] = self.bootstrap
        if self.bins:
            out["bins"] = self.bins
        if self.skipped:
            out["skipped"] = [{"C": _num(s["C"]), "reason": s["reason"]} for s in self.skipped]
        if self.replicates:
            out["replicates"] = [{k: _num(v) for k, v in r.items()} for r in self.replicates]
        if self.points:
            out["points"] = [{k: ([_num(x) for x in v] if isinstance(v, list) else _num(v))
                              for k, v in p.items()} for p in self.points]
        return out

    def model_optimal(self, C):
        """``N*(C)`` from the fitted power law."""
        return self.coefficients["k_N"] * np.asarray(C, float) ** self.a

    def data_optimal(self, C):
        """``D*(C)`` from the fitted power law."""
        return self.coefficients["k_D"] * np.asarray(C, float) ** self.b


@dataclass
class FitResult:
    """The fits of one data set: ``approaches[k]`` for k in 1, 2, 3 (those requested).

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.fit import fit, synthetic
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.0)
    >>> res = fit(data, approach=3, bootstrap=0)
    >>> res.n_points, res.n_budgets, list(res.approaches)
    (36, 4, [3])
    >>> print(res.summary())
    synthetic: 36 points, 4 compute budgets (C = 6*N*D)
    approach 3 loss: huber (delta = 0.001) on log residuals, unweighted
    approach 3: a = 0.4516, b = 0.5484; E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28
    >>> sorted(res.to_json())
    ['approaches', 'cost', 'format', 'loss', 'n_budgets', 'n_points', 'ranges', 'source']
    """

    approaches: dict[int, ApproachResult]
    n_points: int
    n_budgets: int
    cost: float
    source: str
    loss: dict[str, Any] = field(default_factory=lambda: {"kind": "huber", "delta": 1e-3,
                                                          "weights": "none"})
    ranges: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON with one entry per approach (keys ``"1"``, ``"2"``, ``"3"``)."""
        return {"format": FIT_FORMAT, "source": self.source, "n_points": self.n_points,
                "n_budgets": self.n_budgets, "cost": self.cost, "loss": dict(self.loss),
                "ranges": {k: [float(x) for x in v] for k, v in self.ranges.items()},
                "approaches": {str(k): v.to_json() for k, v in sorted(self.approaches.items())}}

    def _repr_markdown_(self) -> str:
        """One table row per approach (Jupyter): exponents with intervals, or why not.

        Examples
        --------
        >>> from scaling_theory.numeric.analysis.fit import fit, synthetic
        >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.0)
        >>> print(fit(data, approach=3, bootstrap=0)._repr_markdown_().splitlines()[-1])
        | 3 | 0.4516 | 0.5484 |  |
        """
        lines = [f"**{self.source}**: {self.n_points} points, {self.n_budgets} compute budgets", "",
                 "| approach | a | b | note |", "|---|---|---|---|"]
        for k, r in sorted(self.approaches.items()):
            if r.ok:
                lines.append(f"| {k} | {_with_ci(r.a, r.ci.get('a'))} | {_with_ci(r.b, r.ci.get('b'))} | {r.message} |")
            else:
                lines.append(f"| {k} | | | {r.message} |")
        return "\n".join(lines)

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"{self.source}: {self.n_points} points, {self.n_budgets} compute budgets "
                 f"(C = {format_number(self.cost)}*N*D)"]
        if 3 in self.approaches:
            kind = self.loss["kind"]
            scale = f" (delta = {format_number(self.loss['delta'])})" if kind in ("huber", "log-cosh") else ""
            wt = self.loss["weights"]
            lines.append(f"approach 3 loss: {kind}{scale} on log residuals, "
                         + ("unweighted" if wt == "none" else f"weighted by {wt}"))
        for k, r in sorted(self.approaches.items()):
            if not r.ok:
                lines.append(f"approach {k}: {r.message}")
                continue
            text = (f"approach {k}: a = {_with_ci(r.a, r.ci.get('a'))}, "
                    f"b = {_with_ci(r.b, r.ci.get('b'))}")
            if k == 3:
                p = r.params
                text += (f"; E = {_with_ci(p['E'], r.ci.get('E'))}, A = {p['A']:.4g}, B = {p['B']:.4g}, "
                         f"alpha = {_with_ci(p['alpha'], r.ci.get('alpha'))}, "
                         f"beta = {_with_ci(p['beta'], r.ci.get('beta'))}")
            notes = r.message
            for w in r.warnings:   # warnings get a line each, where a reader cannot miss them
                notes = notes.replace(w, "")
            notes = "; ".join(part for part in notes.split("; ") if part.strip())
            if notes:
                text += f" ({notes})"
            lines.append(text)
            lines.extend(f"  warning (approach {k}): {w}" for w in r.warnings)
        return "\n".join(lines)


def _num(v):
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def format_number(x, digits: int = 4) -> str:
    """A number for a report: ``digits`` significant digits, ``"n/a"`` for None/NaN/inf, tiny -> ``"0"``.

    Examples
    --------
    >>> format_number(0.451612903), format_number(0.0183, 2), format_number(float("nan")), format_number(1e-15)
    ('0.4516', '0.018', 'n/a', '0')
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    return "0" if abs(x) < 1e-12 else f"{x:.{digits}g}"


def _with_ci(x, ci) -> str:
    if x is None:
        return "n/a"
    if not ci or any(c is None or not math.isfinite(c) for c in ci):
        return format_number(x) if not math.isfinite(x) or x == 0 or abs(x) >= 1e-12 else f"{x:.4g}"
    return f"{x:.4g} [{ci[0]:.4g}, {ci[1]:.4g}]"


def percentile_ci(draws: Mapping[str, list[float]]) -> dict[str, list[float]]:
    lo, hi = 100 * (1 - CI_LEVEL) / 2, 100 * (1 + CI_LEVEL) / 2
    out = {}
    for key, vals in draws.items():
        v = np.asarray(vals, float)
        v = v[np.isfinite(v)]
        if v.size >= 10:
            out[key] = [float(np.percentile(v, lo)), float(np.percentile(v, hi))]
    return out
