"""Theory against experiment: the derived bound's optimum beside the fitted compute-optimal frontier.

The compute-optimal ``p*(C)``, ``T*(C)`` of the teacher-student runs, fitted by Chinchilla's
approaches 1-3 (:mod:`scaling_theory.numeric.analysis.fit`), against the optimum of the derived bound
(law ``jeon-van-roy-finite``, :mod:`scaling_theory.theory.jeon_van_roy`) at the same budgets and the same
``(d, K)``; the model share ``p*/T*`` against ``d`` and ``K``; a verdict per comparison
(docs/paper-setting.md, "Empirical check").
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision.allocate import allocate
from scaling_theory.numeric.precision.budget import BudgetCurve
from scaling_theory.theory.allocation import compute_optimal_allocation
from scaling_theory.theory.registry import resolve

__all__ = ["theory_curve", "compare", "trend", "verdict", "ratio_at", "best_sampled", "law_params", "label"]

_DIGITS = 20   # the theory curve's precision: far beyond what a comparison with fits needs


def law_params(law, d: int, K: int, sigma: float | None = None) -> dict[str, Any]:
    """The teacher's constants a law takes: ``{d, K}`` (and the Pitman-Yor discount ``sigma`` where the law has
    it), or ``{}`` for a law without them."""
    names = {c.name for c in law.constants}
    if {"d", "K"} <= names:
        out = {"d": d, "K": K}
        if "sigma" in names and sigma is not None:
            out["sigma"] = sigma
        return out
    return {}


def theory_curve(law, params: Mapping[str, Any], budgets: Sequence[float], *,
                 cross_check: bool = False, informative: bool = False) -> dict[str, Any]:
    """The derived optimum at each budget, plus the local exponent over the budgets' range.

    With ``cross_check`` also the symbolic asymptotic exponents (``compute_optimal_allocation``)
    and the engine's high-precision optimum at the largest budget (``scaling_theory.numeric.precision.allocate.allocate``).
    With ``cross_check`` or ``informative``, for Jeon-Van Roy laws: the trivial error, whether the bound
    is informative at each budget and from which budget on (``trivial_error``, ``informative``,
    ``informative_budget``).
    """
    out: dict[str, Any] = {"law": law.name, "params": dict(params)}
    if law.routes:
        out["routes_order"] = [r.name for r in law.routes]
    resolved = resolve(law, params)
    curve = BudgetCurve(law.expr, law.model, law.data, cost=law.cost, env=resolved.values)
    lo = float(params["d"]) + 1 if "d" in params else None  # n >= 1 hidden unit
    Ns, Ds, Ls = [], [], []
    for C in budgets:
        N, D, L = curve.optimum(float(C), lo=lo, hi=float(C), dps=_DIGITS)
        Ns.append(float(N))
        Ds.append(float(D))
        Ls.append(float(L))
    out.update(C=list(map(float, budgets)), N_opt=Ns, D_opt=Ds, loss_opt=Ls)
    out["optimum_method"] = f"budget-curve minimiser in ln p ({_DIGITS} digits)"
    if len(budgets) >= 2:
        out["a_local"] = float(np.polyfit(np.log(budgets), np.log(Ns), 1)[0])
        out["b_local"] = float(np.polyfit(np.log(budgets), np.log(Ds), 1)[0])
    _add_best_route(out, law, resolved.values, budgets)
    if cross_check or informative:
        _add_trivial(out, law, resolved.values, out.get("best_loss_opt", Ls))
    if not cross_check:
        return out
    try:
        alloc = compute_optimal_allocation(law, params or None)
        out["asymptotic_model_exponent"] = _to_float(alloc.model_exponent)
        out["asymptotic_data_exponent"] = _to_float(alloc.data_exponent)
        out["closed_form"] = bool(alloc.closed_form)
        out["method"] = "scaling_theory.theory.allocation.compute_optimal_allocation"
    except UserInputError as err:
        out["method"] = f"scaling_theory.theory.allocation failed: {err}"
    if budgets:
        try:
            # the curve above is the law's expression: its first route when the law has routes
            r = allocate(law, float(budgets[-1]), params=params or None, digits=15,
                         route=law.routes[0].name if law.routes else None)
            rel = abs(float(r.model) - Ns[-1]) / float(r.model)
            out["optimum_method"] += (f"; cross-checked at C = {float(budgets[-1]):.3g} against "
                                      f"scaling_theory.numeric.precision.allocate.allocate (verified: {r.verified}, relative "
                                      f"difference in p* {rel:.1e})")
        except (UserInputError, ArithmeticError, ValueError) as err:
            out["optimum_method"] += f"; scaling_theory.numeric.precision.allocate.allocate failed: {err}"
    return out


def _add_best_route(out: dict[str, Any], law, values, budgets: Sequence[float]) -> None:
    """Jeon-Van Roy laws: the optimum of the better proof route inside the law's validity window at each
    budget (the finite teacher's direct width-K route stops the model growing), and its local exponent
    ``a_best`` (``b_best`` for ``T*``), the exponents an experiment is compared with.  Left out when a budget is below the law's
    smallest budget."""
    from scaling_theory.numeric.precision import teacher_bounds

    if teacher_bounds.family_of(law) is None:
        return
    opts = []
    for C in budgets:
        try:
            opts.append(teacher_bounds.bound_optimum(law, values, float(C), dps=_DIGITS))
        except UserInputError:
            return
    out["best_N_opt"] = [float(o.model) for o in opts]
    out["best_D_opt"] = [float(o.data) for o in opts]
    out["best_loss_opt"] = [float(o.loss) for o in opts]
    out["route"] = [o.route for o in opts]
    if len(budgets) >= 2:
        out["a_best"] = float(np.polyfit(np.log(budgets), np.log(out["best_N_opt"]), 1)[0])
        out["b_best"] = float(np.polyfit(np.log(budgets), np.log(out["best_D_opt"]), 1)[0])
    # every route beside the best one: its optimum in its own window (None where it does not cover the budget)
    routes: dict[str, dict[str, Any]] = {}
    for o in opts:
        for r in o.routes:
            entry = routes.setdefault(r.name, {"N_opt": [], "D_opt": [], "loss_opt": []})
            entry["N_opt"].append(float(r.model) if r.valid else None)
            entry["D_opt"].append(float(r.data) if r.valid else None)
            entry["loss_opt"].append(float(r.loss) if r.valid else None)
    for entry in routes.values():
        Ns_ = [x for x in entry["N_opt"] if x is not None]
        if len(Ns_) >= 2 and len(Ns_) == len(budgets):
            entry["a_local"] = float(np.polyfit(np.log(budgets), np.log(Ns_), 1)[0])
    out["routes"] = routes


def _add_trivial(out: dict[str, Any], law, values, Ls: Sequence[float]) -> None:
    """Jeon-Van Roy laws: the trivial error (best input-independent predictor, Monte Carlo), whether the
    bound is informative at each budget, and the smallest budget where it becomes so (figures shade the rest)."""
    from scaling_theory.numeric.precision import teacher_bounds

    family = teacher_bounds.family_of(law)
    if family is None:
        return
    teacher, scale = family
    te = teacher_bounds.trivial_error(teacher, scale, int(values[law.symbols["d"]]),
                                      teacher_bounds._plain(values[law.symbols["K"]]))
    out["trivial_error"], out["trivial_error_se"] = te.value, te.stderr
    out["informative"] = [te.beaten_by(L) for L in Ls]
    c_inf = teacher_bounds.informative_budget(law, values, trivial=te.value)
    out["informative_budget"] = float(c_inf) if c_inf is not None else None


def _to_float(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def verdict(value: float | None, ci) -> str:
    if value is None:
        return "no theory value"
    if not ci:
        return "no interval (too little data)"
    return "agrees (inside the 95% interval)" if ci[0] <= value <= ci[1] else \
        ("disagrees: theory above the 95% interval" if value > ci[1] else
         "disagrees: theory below the 95% interval")


def ratio_at(points, C, cost):
    for p in points:
        if abs(p["C"] - C) <= 1e-9 * C:
            r = p["N_opt"] / p["D_opt"]
            ci = p.get("N_opt_ci")
            # r = cost N^2 / C is increasing in N: the N interval maps to the ratio interval
            rci = [cost * ci[0] ** 2 / C, cost * ci[1] ** 2 / C] if ci else None
            return r, rci
    return None, None


def trend(fits, theory, axis: str, fixed: str, fixed_value, budgets) -> dict[str, Any]:
    """Compute-optimal ratio p*/T* against ``axis`` (d or K) at fixed ``fixed``, per budget."""
    rows = []
    for key, res in fits.items():
        d, K, kind = key
        if (d if fixed == "d" else K) != fixed_value:
            continue
        r2 = res.approaches.get(2)
        for C in budgets:
            r, rci = (None, None)
            if r2 is not None and r2.ok:
                r, rci = ratio_at(r2.points, C, res.cost)
            th = theory.get(key)
            tr = None
            if th is not None and "C" in th:
                # the better proof route's optimum where the law has routes: the one the verdicts use
                Ns, Ds = th.get("best_N_opt", th["N_opt"]), th.get("best_D_opt", th["D_opt"])
                for Cth, N, D in zip(th["C"], Ns, Ds):
                    if abs(Cth - C) <= 1e-9 * C:
                        tr = N / D
            rows.append({axis: d if axis == "d" else K, "C": C, "kind": kind, "ratio": r,
                         "ratio_ci": rci, "theory_ratio": tr})
    rows.sort(key=lambda r: (r["C"], r[axis]))
    verdicts = []
    for C in budgets:
        sel = [r for r in rows if r["C"] == C and r["ratio"] is not None]
        if len({r[axis] for r in sel}) < 2:  # one value of the axis (e.g. two teacher kinds): no trend
            verdicts.append({"C": C, "empirical": "not enough data to fit", "theory": None})
            continue
        lo_r, hi_r = sel[0], sel[-1]
        if lo_r["ratio_ci"] and hi_r["ratio_ci"] and hi_r["ratio_ci"][0] > lo_r["ratio_ci"][1]:
            emp = "increasing (intervals separate)"
        elif lo_r["ratio_ci"] and hi_r["ratio_ci"] and hi_r["ratio_ci"][1] < lo_r["ratio_ci"][0]:
            emp = "decreasing (intervals separate)"
        else:
            direction = "up" if hi_r["ratio"] > lo_r["ratio"] else "down"
            emp = f"no clear trend (point estimates go {direction}; intervals overlap)"
        ths = [r["theory_ratio"] for r in sel if r["theory_ratio"] is not None]
        th = None
        if len(ths) == len(sel):
            th = "increasing" if ths[-1] > ths[0] else "decreasing"
        xs = np.log([r[axis] for r in sel])
        slope = float(np.polyfit(xs, np.log([r["ratio"] for r in sel]), 1)[0])
        th_slope = float(np.polyfit(xs, np.log(ths), 1)[0]) if th else None
        verdicts.append({"C": C, "empirical": emp, "theory": th,
                         "from": sel[0][axis], "to": sel[-1][axis],
                         "slope": slope, "theory_slope": th_slope})
    return {"axis": axis, "fixed": {fixed: fixed_value}, "rows": rows, "verdicts": verdicts}


def compare(fits, theory, main_key, law_note, secondary=None) -> dict[str, Any]:
    """The main teacher setting's fitted exponents against the bound's, and the d and K trends.

    ``secondary`` (optional) maps the same keys to fits of a secondary error (the final-weights KL);
    each exponent row then carries its point estimate as ``value_final``.  The bound's exponents are
    the better proof route's where the law has routes (``a_best``), else the law's (``a_local``).
    """
    res = fits[main_key]
    th = theory.get(main_key, {})
    second = (secondary or {}).get(main_key)
    rows = []
    for k in (1, 2, 3):
        r = res.approaches.get(k)
        if r is None:
            continue
        r2 = second.approaches.get(k) if second is not None else None
        for which in ("a", "b"):
            final = getattr(r2, which) if r2 is not None and r2.ok else None
            value = getattr(r, which) if r.ok else None
            ci = r.ci.get(which) if r.ok else None
            # the better proof route's exponent where the law has routes (as the estimators' verdicts)
            local = th.get(f"{which}_best", th.get(f"{which}_local"))
            asym = th.get("asymptotic_model_exponent" if which == "a" else "asymptotic_data_exponent")
            rows.append({"approach": k, "exponent": which, "value": value, "ci": ci, "value_final": final,
                         "message": r.message, "theory_local": local, "theory_asymptotic": asym,
                         "verdict_local": verdict(local, ci) if r.ok else "not enough data to fit",
                         "verdict_asymptotic": verdict(asym, ci) if r.ok else "not enough data to fit"})
    d0, K0, _ = main_key
    Cs = sorted({C for key, f in fits.items() for C in (p["C"] for p in
                 (f.approaches[2].points if f.approaches.get(2) and f.approaches[2].ok else []))})
    shared_d = [C for C in Cs if sum(1 for key in fits if key[1] == K0 and any(
        abs(p["C"] - C) < 1e-9 * C for p in (fits[key].approaches[2].points if fits[key].approaches[2].ok else []))) >= 2]
    shared_K = [C for C in Cs if sum(1 for key in fits if key[0] == d0 and any(
        abs(p["C"] - C) < 1e-9 * C for p in (fits[key].approaches[2].points if fits[key].approaches[2].ok else []))) >= 2]
    routes = sorted(set(th.get("route", []))) or None
    return {"main": {"d": int(d0), "K": int(K0), "kind": str(main_key[2])}, "law": th.get("law"), "route": routes,
            "law_note": law_note, "theory_method": th.get("method"), "theory_error": th.get("error"),
            "exponents": rows,
            "d_trend": trend(fits, theory, "d", "K", K0, shared_d),
            "K_trend": trend(fits, theory, "K", "d", d0, shared_K)}


def best_sampled(data) -> list[dict[str, Any]]:
    rows = []
    for C in sorted(set(data.budget.tolist())):
        m = np.flatnonzero(data.budget == C)
        i = m[int(np.argmin(data.loss[m]))]
        N = data.N[m]
        where = ("smallest sampled size" if data.N[i] == N.min() else
                 "largest sampled size" if data.N[i] == N.max() else "interior")
        rows.append({"C": C, "p": float(data.N[i]), "T": float(data.D[i]), "loss": float(data.loss[i]),
                     "se": float(data.loss_se[i]) if data.loss_se is not None else None,
                     "p_min": float(N.min()), "p_max": float(N.max()), "where": where})
    return rows


def label(key) -> str:
    d, K, kind = key
    return f"d={d}, K={K}, {kind}"
