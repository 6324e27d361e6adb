"""Planning runs from a fitted law: allocations with error bars, and which runs to do next.

Both start from approach 3's fit ``L(N, D) = E + A/N^alpha + B/D^beta`` as written by
``scaling-theory fit --json`` (format :data:`~scaling_theory.numeric.analysis.results.FIT_FORMAT`,
which carries the bootstrap replicates' fitted laws).

- :func:`allocate_from_fit`: ``N*``, ``D*``, ``L*`` at a budget ``C`` from the fitted law (the point
  value at high precision, verified, by :func:`scaling_theory.numeric.precision.allocate.allocate`)
  and their 95% percentile intervals over the bootstrap replicates.
- :func:`plan_runs`: the next ``k`` runs at a run budget that most shrink the interval of
  ``ln N*(target)``. The criterion is **Bayesian c-optimal design**: the bootstrap covariance
  ``S`` of ``theta = (ln A, alpha, ln B, beta, ln E)`` is the prior; a run at ``(N, D)`` observes
  ``ln L`` with noise variance ``s^2`` (the fit's residual variance) and gradient ``g``; the
  posterior variance of ``c^T theta`` (``c`` the gradient of ``ln N*(target)``) falls by
  ``(c^T S g)^2 / (s^2 + g^T S g)`` (rank-one update). Runs are chosen greedily, one at a time,
  among distinct model sizes on the run budget's IsoFLOP line.

References
----------
Hoffmann et al. (2022), *Training Compute-Optimal Large Language Models*, eq. 4 and App. D.2.
Chaloner & Verdinelli (1995), *Bayesian Experimental Design: A Review*, Statist. Sci. 10(3), Sec. 2.2
(c-optimality).
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.results import CI_LEVEL, FIT_FORMAT

__all__ = ["load_fit", "optimum", "allocate_from_fit", "plan_runs", "MIN_REPLICATES"]

MIN_REPLICATES = 10
"""Fewest usable bootstrap replicates for an interval."""

_KEYS = ("E", "A", "B", "alpha", "beta")


def load_fit(fit: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """Approach 3 of a ``fit --json`` output: ``{"params", "replicates", "cost", "ranges", ...}``.

    Parameters
    ----------
    fit : dict or path
        The parsed JSON, or the path of the file.

    Raises
    ------
    UserInputError
        unreadable file, another format version, no approach 3 fit, or fewer than
        :data:`MIN_REPLICATES` bootstrap replicates.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.planning import load_fit
    >>> load_fit({"format": "scaling-theory-fit/1"})
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: fit: format 'scaling-theory-fit/1', expected 'scaling-theory-fit/2' (rerun 'scaling-theory fit --json' with this version)
    """
    name = "fit"
    if not isinstance(fit, Mapping):
        name = os.fspath(fit)
        try:
            with open(name, encoding="utf-8") as fh:
                fit = json.load(fh)
        except FileNotFoundError:
            raise UserInputError(f"{name}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise UserInputError(f"{name}: cannot read ({err})") from None
        except json.JSONDecodeError as err:
            raise UserInputError(f"{name}: not a fit JSON file ({err.msg}, line {err.lineno})") from None
        if not isinstance(fit, Mapping):
            raise UserInputError(f"{name}: not a fit JSON file (expected an object)")
    if "groups" in fit:
        raise UserInputError(f"{name}: holds several teacher settings; fit one setting for planning")
    if fit.get("format") != FIT_FORMAT:
        raise UserInputError(f"{name}: format {fit.get('format')!r}, expected {FIT_FORMAT!r} "
                             "(rerun 'scaling-theory fit --json' with this version)")
    r3 = (fit.get("approaches") or {}).get("3")
    if not r3 or not r3.get("ok"):
        raise UserInputError(f"{name}: no approach 3 fit (fit with --approach 3 or all)")
    try:
        params = {k: float(r3[k]) for k in _KEYS}
        cost = float(fit["cost"])
        reps = [{k: float(q[k]) for k in _KEYS} for q in r3.get("replicates") or []
                if all(q.get(k) is not None for k in _KEYS)]
    except (KeyError, TypeError, ValueError) as err:
        raise UserInputError(f"{name}: approach 3 entry incomplete ({err})") from None
    if len(reps) < MIN_REPLICATES:
        raise UserInputError(f"{name}: {len(reps)} bootstrap replicates, need at least "
                             f"{MIN_REPLICATES} (fit with --bootstrap 200)")
    return {"params": params, "replicates": reps, "cost": cost, "source": name,
            "ranges": dict(fit.get("ranges") or {}),
            "residual_sd": r3.get("residual_sd"), "loss": fit.get("loss")}


def optimum(params: Mapping[str, float], C, cost: float = 6.0):
    """``(N*, D*, L*)`` of ``E + A/N^alpha + B/D^beta`` at ``C = cost N D`` (floats, vectorised).

    ``N* = G (C/cost)^(beta/(alpha+beta))`` with ``G = (alpha A / (beta B))^(1/(alpha+beta))``
    (Hoffmann et al. 2022, eq. 4), ``D* = C / (cost N*)``.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.planning import optimum
    >>> N, D, L = optimum(dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28), 5.76e23)
    >>> f"{N:.6e}", f"{D:.6e}", round(L, 6)
    ('3.218986e+10', '2.982306e+12', 1.930748)
    """
    E, A, B, al, be = (params[k] for k in _KEYS)
    with np.errstate(all="ignore"):
        lnG = (math.log(al * A) - math.log(be * B)) / (al + be)
        N = np.exp(lnG + be / (al + be) * np.log(np.asarray(C, float) / cost))
        D = np.asarray(C, float) / (cost * N)
        L = E + A / N ** al + B / D ** be
    return (float(N), float(D), float(L)) if np.ndim(N) == 0 else (N, D, L)


def _interval(values) -> list[float] | None:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size < MIN_REPLICATES:
        return None
    q = 100 * (1 - CI_LEVEL) / 2
    return [float(np.percentile(v, q)), float(np.percentile(v, 100 - q))]


def allocate_from_fit(fit, compute, *, digits: int = 30) -> dict[str, Any]:
    """``N*``, ``D*``, ``L*`` at ``compute`` from a fitted law, with 95% bootstrap intervals.

    Parameters
    ----------
    fit : dict or path
        ``fit --json`` output (see :func:`load_fit`).
    compute : str or float
        The budget ``C`` (a decimal string is read exactly).
    digits : int
        Significant digits of the verified point value.

    Returns
    -------
    dict with ``model``, ``data``, ``loss`` (point values, strings at ``digits`` digits),
    ``model_ci``, ``data_ci``, ``loss_ci`` (95% percentile intervals over the replicates),
    ``verified``, ``agreement_digits``, ``replicates`` and ``params``.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.fit import fit, synthetic
    >>> from scaling_theory.numeric.analysis.planning import allocate_from_fit
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20], noise=0.01)
    >>> j = fit(data, approach=3, bootstrap=12).to_json()
    >>> r = allocate_from_fit(j, "1e21")
    >>> lo, hi = r["model_ci"]
    >>> r["verified"], bool(lo <= float(r["model"]) <= hi)
    (True, True)
    """
    from scaling_theory.numeric.precision.allocate import allocate

    f = load_fit(fit)
    if f["cost"] != 6.0:
        raise UserInputError(f"{f['source']}: cost {f['cost']:g} per N*D; the verified allocation "
                             "uses the chinchilla law's C = 6*N*D")
    p = f["params"]
    res = allocate("chinchilla", compute, params={k: repr(v) for k, v in p.items()}, digits=digits)
    C = float(res.compute)
    reps = f["replicates"]
    opt = [optimum(q, C, f["cost"]) for q in reps]
    j = res.to_json()
    return {"source": f["source"], "compute": j["compute"], "model": j["model"], "data": j["data"],
            "loss": j["loss"],
            "model_ci": _interval([o[0] for o in opt]), "data_ci": _interval([o[1] for o in opt]),
            "loss_ci": _interval([o[2] for o in opt]), "verified": res.verified,
            "agreement_digits": res.agreement_digits, "method": j["method"],
            "replicates": len(reps), "params": p, "fit_loss": f["loss"]}


def _theta(q: Mapping[str, float]) -> np.ndarray:
    return np.array([math.log(q["A"]), q["alpha"], math.log(q["B"]), q["beta"],
                     math.log(q["E"]) if q["E"] > 0 else -40.0])


def _params(theta) -> dict[str, float]:
    return {"A": math.exp(theta[0]), "alpha": theta[1], "B": math.exp(theta[2]), "beta": theta[3],
            "E": math.exp(theta[4])}


def _grad_lnL(theta, N, D) -> np.ndarray:
    """Gradient of ``ln L(N, D)`` in ``theta``, one row per point (log-sum-exp weights)."""
    a, al, b, be, e = theta
    T = np.vstack([a - al * np.log(N), b - be * np.log(D), np.full_like(np.asarray(N, float), e)])
    W = np.exp(T - T.max(axis=0))
    W /= W.sum(axis=0)
    return np.column_stack([W[0], -W[0] * np.log(N), W[1], -W[1] * np.log(D), W[2]])


def _grad_lnN(theta, C, cost) -> np.ndarray:
    """Gradient of ``ln N*(C)`` in ``theta`` (central differences of the closed form)."""
    def f(t):
        return math.log(optimum(_params(t), C, cost)[0])
    g = np.zeros(5)
    for i in range(4):
        h = 1e-6 * max(1.0, abs(theta[i]))
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        g[i] = (f(tp) - f(tm)) / (2 * h)
    return g


def plan_runs(fit, budget: float, *, count: int = 1, target: float = 5.76e23,
              candidates: int = 61) -> dict[str, Any]:
    """The ``count`` runs at compute ``budget`` each that most shrink the interval of ``N*(target)``.

    Criterion: Bayesian c-optimal design on ``ln N*(target)`` (module docstring), with the
    bootstrap covariance of the fitted law as prior and the fit's residual variance as the noise
    of one new run; greedy over distinct model sizes on the line ``cost N D = budget`` with
    ``N`` and ``D`` at least the smallest fitted ones.

    Returns
    -------
    dict with ``criterion``, ``runs`` (list of ``{N, D, compute, expected_loss}``),
    ``model_optimal`` (N*(target) of the fit), ``interval_before`` (the bootstrap 95% interval
    of N*(target)), ``interval_after`` (that interval shrunk in log space by the predicted
    standard-deviation ratio) and ``sd_ratio``.

    Raises
    ------
    UserInputError
        a budget too small for the smallest fitted model and data size, count < 1.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.fit import fit, synthetic
    >>> from scaling_theory.numeric.analysis.planning import plan_runs
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20], noise=0.01)
    >>> j = fit(data, approach=3, bootstrap=12).to_json()
    >>> p = plan_runs(j, 1e21, count=2)
    >>> len(p["runs"]), p["sd_ratio"] < 1, p["runs"][0]["compute"] <= 1e21 * (1 + 1e-9)
    (2, True, True)
    >>> plan_runs(j, 1e10)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: run budget 1e+10 is below the smallest sensible run ...
    """
    f = load_fit(fit)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserInputError(f"count must be a positive integer, got {count!r}")
    for name, v in (("budget", budget), ("target", target)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise UserInputError(f"{name} must be a positive number, got {v!r}")
    cost = f["cost"]
    ranges = f["ranges"]
    N_min = float(ranges.get("N", [1.0])[0])
    D_min = float(ranges.get("D", [1.0])[0])
    smallest = cost * N_min * D_min
    if budget < smallest:
        raise UserInputError(f"run budget {budget:g} is below the smallest sensible run "
                             f"{smallest:.3g} = {cost:g} * {N_min:.3g} * {D_min:.3g} (the smallest "
                             "fitted model trained on the smallest fitted data size)")
    N_max = budget / (cost * D_min)
    Ns = np.geomspace(N_min, N_max, candidates) if N_max > N_min else np.array([N_min])
    Ds = budget / (cost * Ns)
    theta0 = _theta(f["params"])
    thetas = np.array([_theta(q) for q in f["replicates"]])
    keep = np.all(np.isfinite(thetas), axis=1)
    S = np.cov(thetas[keep].T)
    if theta0[4] <= -40.0 + 1e-9:  # E fixed at 0: ln E is no parameter
        S[4, :] = S[:, 4] = 0.0
    s2 = float(f["residual_sd"] or 0.0) ** 2
    s2 = max(s2, 1e-8)
    c = _grad_lnN(theta0, target, cost)
    G = _grad_lnL(theta0, Ns, Ds)
    var0 = float(c @ S @ c)
    var = var0
    chosen: list[int] = []
    for _ in range(min(count, len(Ns))):
        Sg = G @ S  # (m, 5)
        gain = (Sg @ c) ** 2 / (s2 + np.einsum("ij,ij->i", Sg, G))
        gain[chosen] = -np.inf
        i = int(np.argmax(gain))
        chosen.append(i)
        u = S @ G[i]
        S = S - np.outer(u, u) / (s2 + float(G[i] @ u))
        var = float(c @ S @ c)
    N0 = optimum(f["params"], target, cost)[0]
    before = _interval([optimum(q, target, cost)[0] for q in f["replicates"]])
    ratio = math.sqrt(max(var, 0.0) / var0) if var0 > 0 else 1.0
    after = None if before is None else [N0 * (before[0] / N0) ** ratio, N0 * (before[1] / N0) ** ratio]
    from scaling_theory.numeric.analysis.diagnostics import law_loss

    runs = [{"N": float(Ns[i]), "D": float(Ds[i]), "compute": float(min(cost * Ns[i] * Ds[i], budget)),
             "expected_loss": float(law_loss(f["params"], Ns[i], Ds[i]))} for i in chosen]
    return {"source": f["source"], "criterion": "Bayesian c-optimal design on ln N*(target): "
            "greedy maximal reduction of its linearised posterior variance, bootstrap covariance "
            "as prior, the fit's residual variance as the noise of a run",
            "target": float(target), "budget": float(budget), "model_optimal": N0, "runs": runs,
            "interval_before": before, "interval_after": after, "sd_ratio": ratio,
            "residual_sd": math.sqrt(s2)}
