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


MAX_FIT_BYTES = 64 * 2**20
"""Largest fit file read (a fit with 200 bootstrap replicates is about 40 KB)."""

MAX_FIT_DEPTH = 8
"""Deepest nesting of a fit file's JSON (``fit --json`` writes 5 levels)."""

MAX_REPLICATES = 100_000
"""Most bootstrap replicates read from a fit file."""

# the largest exponent a fit can return is approach 3's bound, 5; far beyond it a file is damaged
_EXPONENT_RANGE = (0.0, 100.0)


def _short(value) -> str:
    """A value echoed in a message: its repr, cut to 40 characters."""
    try:
        text = repr(value)
    except ValueError:   # an int beyond Python's 4300-digit conversion limit
        return "an integer of more than 4300 digits"
    return text if len(text) <= 40 else text[:37] + "..."


def _depth(obj) -> int:
    """Nesting depth of parsed JSON (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_FIT_DEPTH:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, level + 1) for v in node)
    return deepest


def _number(name: str, where: str, value, *, low: float = 0.0, strict: bool = True,
            high: float = math.inf) -> float:
    """A finite JSON number in ``(low, high]`` (``[low, high]`` if not ``strict``), or a one-line error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserInputError(f"{name}: {where} must be a number, got {_short(value)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise UserInputError(f"{name}: {where} must be a finite number, got {_short(value)}")
    if (x <= low if strict else x < low) or x > high:
        rel = ">" if strict else ">="
        bound = f"{rel} {low:g}" + (f" and at most {high:g}" if math.isfinite(high) else "")
        raise UserInputError(f"{name}: {where} must be {bound}, got {x:g}")
    return x


def _law(name: str, where: str, q) -> dict[str, float]:
    """The five constants of a fitted law, checked: E >= 0, A, B > 0, 0 < alpha, beta <= 100."""
    if not isinstance(q, dict):
        raise UserInputError(f"{name}: {where} must be an object with {', '.join(_KEYS)}, got {_short(q)}")
    out = {}
    for k in _KEYS:
        if k not in q:
            raise UserInputError(f"{name}: {where} has no {k}")
        if k == "E":
            out[k] = _number(name, f"{where} {k}", q[k], strict=False)
        elif k in ("alpha", "beta"):
            out[k] = _number(name, f"{where} {k}", q[k], low=_EXPONENT_RANGE[0], high=_EXPONENT_RANGE[1])
        else:
            out[k] = _number(name, f"{where} {k}", q[k])
    return out


def _read_fit_file(path) -> tuple[str, Any]:
    """The parsed JSON of a fit file: a regular file of at most :data:`MAX_FIT_BYTES`, UTF-8 JSON."""
    import stat

    name = os.fspath(path)
    try:
        st = os.stat(name)
    except FileNotFoundError:
        raise UserInputError(f"{name}: no such file") from None
    except OSError as err:
        raise UserInputError(f"{name}: cannot read ({err.strerror or err})") from None
    if not stat.S_ISREG(st.st_mode):   # a FIFO or device would block or never end: not opened
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise UserInputError(f"{name}: {what}, expected a fit JSON file")
    if st.st_size > MAX_FIT_BYTES:
        raise UserInputError(f"{name}: {st.st_size} bytes, more than a fit file holds "
                             f"(at most {MAX_FIT_BYTES // 2**20} MiB)")
    try:
        with open(name, "rb") as fh:
            raw = fh.read(MAX_FIT_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as err:
        raise UserInputError(f"{name}: cannot read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{name}: not a UTF-8 text file") from None
    try:
        return name, json.loads(text)
    except json.JSONDecodeError as err:
        raise UserInputError(f"{name}: not a fit JSON file ({err.msg}, line {err.lineno})") from None
    except RecursionError:
        raise UserInputError(f"{name}: not a fit JSON file (nested deeper than {MAX_FIT_DEPTH} levels)") from None
    except ValueError as err:   # e.g. an integer of more than 4300 digits
        raise UserInputError(f"{name}: not a fit JSON file ({str(err).splitlines()[0][:80]})") from None


def load_fit(fit: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """Approach 3 of a ``fit --json`` output, checked field by field before use.

    The file must be a regular file of at most :data:`MAX_FIT_BYTES`, nested at most
    :data:`MAX_FIT_DEPTH` deep, of format :data:`~scaling_theory.numeric.analysis.results.FIT_FORMAT`.
    Every number that is used is checked for type, finiteness and range: the cost and the constants
    ``A, B > 0``, ``E >= 0``, ``0 < alpha, beta <= 100`` (of the fit and of every replicate; a
    replicate ``fit`` could not fit is written with ``null`` values and skipped), the fitted ranges
    ``0 < min <= max``, the residual spread ``>= 0``.

    Parameters
    ----------
    fit : dict or path
        The parsed JSON, or the path of the file.

    Returns
    -------
    dict with ``params``, ``replicates``, ``cost``, ``ranges``, ``residual_sd``, ``loss``, ``source``.

    Raises
    ------
    UserInputError
        (one line) unreadable, oversized, deeply nested or malformed file, another format version,
        no approach 3 fit, a field of the wrong type or out of range, or fewer than
        :data:`MIN_REPLICATES` usable bootstrap replicates.

    Examples
    --------
    >>> from scaling_theory.numeric.analysis.planning import load_fit
    >>> load_fit({"format": "scaling-theory-fit/1"})
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: fit: format 'scaling-theory-fit/1', expected 'scaling-theory-fit/2' (rerun 'scaling-theory fit --json' with this version)
    >>> load_fit({"format": "scaling-theory-fit/2", "cost": 6, "approaches": {"3": {
    ...     "ok": True, "E": 1.7, "A": float("nan"), "B": 410.0, "alpha": 0.3, "beta": 0.3}}})
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: fit: approach 3 A must be a finite number, got nan
    """
    name = "fit"
    if not isinstance(fit, Mapping):
        name, fit = _read_fit_file(fit)
    if not isinstance(fit, Mapping):
        raise UserInputError(f"{name}: not a fit JSON file (expected an object)")
    if _depth(fit) > MAX_FIT_DEPTH:
        raise UserInputError(f"{name}: not a fit JSON file (nested deeper than {MAX_FIT_DEPTH} levels)")
    if "groups" in fit:
        raise UserInputError(f"{name}: holds several teacher settings; fit one setting for planning")
    if fit.get("format") != FIT_FORMAT:
        raise UserInputError(f"{name}: format {_short(fit.get('format'))}, expected {FIT_FORMAT!r} "
                             "(rerun 'scaling-theory fit --json' with this version)")
    approaches = fit.get("approaches")
    r3 = approaches.get("3") if isinstance(approaches, Mapping) else None
    if not isinstance(r3, Mapping) or r3.get("ok") is not True:
        raise UserInputError(f"{name}: no approach 3 fit (fit with --approach 3 or all)")
    if "cost" not in fit:
        raise UserInputError(f"{name}: no cost (C = cost * N * D)")
    cost = _number(name, "cost", fit["cost"])
    params = _law(name, "approach 3", r3)
    raw_reps = r3.get("replicates") or []
    if not isinstance(raw_reps, list):
        raise UserInputError(f"{name}: approach 3 replicates must be a list, got {_short(raw_reps)}")
    if len(raw_reps) > MAX_REPLICATES:
        raise UserInputError(f"{name}: {len(raw_reps)} bootstrap replicates, at most {MAX_REPLICATES} are read")
    reps = []
    for i, q in enumerate(raw_reps):
        if isinstance(q, Mapping) and any(q.get(k) is None for k in _KEYS):
            continue   # a replicate fit could not fit (written as null): not a law
        reps.append(_law(name, f"replicate {i + 1}", q))
    if len(reps) < MIN_REPLICATES:
        raise UserInputError(f"{name}: {len(reps)} bootstrap replicates, need at least "
                             f"{MIN_REPLICATES} (fit with --bootstrap 200)")
    ranges = {}
    raw_ranges = fit.get("ranges") or {}
    if not isinstance(raw_ranges, Mapping):
        raise UserInputError(f"{name}: ranges must be an object, got {_short(raw_ranges)}")
    for key in ("N", "D", "C"):
        if key not in raw_ranges:
            continue
        pair = raw_ranges[key]
        if not (isinstance(pair, list) and len(pair) == 2):
            raise UserInputError(f"{name}: ranges {key} must be [min, max], got {_short(pair)}")
        lo, hi = (_number(name, f"ranges {key}", v) for v in pair)
        if lo > hi:
            raise UserInputError(f"{name}: ranges {key} has min {lo:g} above max {hi:g}")
        ranges[key] = [lo, hi]
    rsd = r3.get("residual_sd")
    residual_sd = None if rsd is None else _number(name, "approach 3 residual_sd", rsd, strict=False)
    loss = fit.get("loss")
    if loss is not None:
        if not isinstance(loss, Mapping):
            raise UserInputError(f"{name}: loss must be an object, got {_short(loss)}")
        from scaling_theory.numeric.analysis.approach3 import LOSSES

        delta, weights = loss.get("delta"), loss.get("weights")
        loss = {"kind": loss.get("kind") if loss.get("kind") in LOSSES else None,
                "delta": delta if isinstance(delta, (int, float)) and not isinstance(delta, bool) else None,
                "weights": weights[:40] if isinstance(weights, str) and weights.isprintable() else None}
    return {"params": params, "replicates": reps, "cost": cost, "source": name,
            "ranges": ranges, "residual_sd": residual_sd, "loss": loss}


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
    if count > Ns.size:
        raise UserInputError(f"count {count} is more than the {Ns.size} distinct model sizes planned on the "
                             f"run budget's IsoFLOP line; ask for at most {Ns.size}")
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

    with np.errstate(all="ignore"):
        runs = [{"N": float(Ns[i]), "D": float(Ds[i]), "compute": float(min(cost * Ns[i] * Ds[i], budget)),
                 "expected_loss": float(law_loss(f["params"], Ns[i], Ds[i]))} for i in chosen]
    numbers = [N0, *(before or []), *(after or []), *(v for r in runs for v in r.values())]
    if not (all(math.isfinite(v) and v > 0 for v in numbers) and math.isfinite(ratio) and ratio >= 0):
        raise UserInputError(f"{f['source']}: the fitted law gives no finite, positive plan at run budget "
                             f"{budget:g} and target {target:g} (N*(target) = {N0:g}); check the fit's constants")
    notes = _extrapolation_notes(ranges, budget, target)
    return {"source": f["source"], "criterion": "Bayesian c-optimal design on ln N*(target): "
            "greedy maximal reduction of its linearised posterior variance, bootstrap covariance "
            "as prior, the fit's residual variance as the noise of a run",
            "target": float(target), "budget": float(budget), "model_optimal": N0, "runs": runs,
            "interval_before": before, "interval_after": after, "sd_ratio": ratio,
            "residual_sd": math.sqrt(s2), "notes": notes}


_FAR = 1e3   # a budget this many times beyond the fitted compute range is an extrapolation worth saying


def _extrapolation_notes(ranges, budget: float, target: float) -> list[str]:
    """One line each for a run budget or target far outside the fitted compute range."""
    if "C" not in ranges:
        return []
    lo, hi = ranges["C"]
    notes = []
    for what, v in (("run budget", budget), ("target", target)):
        if v > _FAR * hi:
            notes.append(f"the {what} {v:.3g} is {math.log10(v) - math.log10(hi):.1f} decades above the largest fitted "
                         f"compute {hi:.3g}: the law is extrapolated")
        elif v < lo / _FAR:
            notes.append(f"the {what} {v:.3g} is {math.log10(lo) - math.log10(v):.1f} decades below the smallest fitted "
                         f"compute {lo:.3g}: the law is extrapolated")
    return notes
