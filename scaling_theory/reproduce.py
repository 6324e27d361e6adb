"""The whole study in one call: derive and check the theory, simulate, fit, compare, report.

:func:`reproduce` writes into ``out_dir``:

- ``results.sqlite``: the sweep's result store (a rerun resumes from it; finished runs are kept),
- ``report.md`` and ``report.tex``: the findings, with agreement and disagreement stated plainly,
- ``figures/*.png``: IsoFLOP profiles, the compute-optimal frontier, model share against ``d`` and
  ``K``, and the fitted law's contours with its efficient frontier.

The comparison follows NOTES.md ("Empirical check"): the compute-optimal ``p*(C)``, ``T*(C)`` of the
teacher-student runs, fitted by Chinchilla's approaches 1-3 (:mod:`numeric.fit`), against the
optimum of the derived bound (law ``jeon-van-roy``, :mod:`theory.jeon_van_roy`) at the same
budgets and the same ``(d, K)``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from numeric.fit import format_number
from theory.errors import UserInputError

__all__ = ["reproduce", "ReproduceResult", "DEFAULT_OUT"]

DEFAULT_OUT = "reproduce-out"
_THEORY_LAW = "jeon-van-roy"
_FALLBACK_LAW = "chinchilla"


@dataclass
class ReproduceResult:
    """What :func:`reproduce` wrote and found (``to_json()`` for machines).

    Parameters
    ----------
    out_dir : the output folder; ``report_md``, ``report_tex``, ``store`` and ``figures`` lie in it.
    seconds, stage_seconds : wall time, in total and per stage (theory, simulate, fit, compare, ...).
    checks : the derivation checks' outcome (``ok``, ``message``, counts).
    sweep : :meth:`numeric.sweep.SweepSummary.to_json` of the simulation.
    fits : one :meth:`numeric.fit.FitResult.to_json` per ``(d, K, kind)``, with those keys added.
    comparison : fitted exponents and ``p*/T*`` against the derived law's optimum, with verdicts.
    main_data : the :class:`numeric.fit.FitData` of the main teacher setting (not serialised).

    Examples
    --------
    Constructed by hand here (running the study takes minutes; see :func:`reproduce`):

    >>> out = Path("reproduce-out")
    >>> r = ReproduceResult(out, out / "report.md", out / "report.tex", out / "results.sqlite",
    ...                     [out / "figures" / "frontier.png"], 1.5, {"ok": True}, {"done": 14}, [], {})
    >>> j = r.to_json()
    >>> j["report_md"], j["figures"], j["sweep"]
    ('reproduce-out/report.md', ['reproduce-out/figures/frontier.png'], {'done': 14})
    >>> "main_data" in j    # the fitted data stay in Python
    False
    """

    out_dir: Path
    report_md: Path
    report_tex: Path
    store: Path
    figures: list[Path]
    seconds: float
    checks: dict[str, Any]
    sweep: dict[str, Any]
    fits: list[dict[str, Any]]
    comparison: dict[str, Any]
    stage_seconds: dict[str, float] = field(default_factory=dict)
    main_data: Any = None

    def to_json(self) -> dict[str, Any]:
        """Paths as strings and the findings as plain JSON (for ``reproduce --json``)."""
        return {"out_dir": str(self.out_dir), "report_md": str(self.report_md),
                "report_tex": str(self.report_tex), "store": str(self.store),
                "figures": [str(f) for f in self.figures], "seconds": self.seconds,
                "stage_seconds": self.stage_seconds, "checks": self.checks, "sweep": self.sweep,
                "fits": self.fits, "comparison": self.comparison}


# --------------------------------------------------------------------------------------------
# stages


def _log(progress: bool, text: str) -> None:
    if progress:
        sys.stderr.write(f"[reproduce] {text}\n")
        sys.stderr.flush()


def _run_checks() -> dict[str, Any]:
    """Derivation checks (``derivations.check.run_checks``), summarised for the report."""
    from derivations.check import run_checks

    report = run_checks()
    return {"available": True, "ok": bool(report.ok), "steps_verified": int(report.steps_verified),
            "failed": int(report.failed),
            "message": f"{report.steps_verified} derivation steps verified, {report.failed} failed"}


def _theory_law():
    from theory.laws import get_law

    try:
        return get_law(_THEORY_LAW), None
    except UserInputError:
        return get_law(_FALLBACK_LAW), (f"law {_THEORY_LAW!r} not registered in this build; "
                                        f"compared with {_FALLBACK_LAW!r} instead")


def _law_params(law, d: int, K: int) -> dict[str, Any]:
    names = {c.name for c in law.constants}
    if {"d", "K"} <= names:
        return {"d": d, "K": K}
    return {}


def _optimizer(law, params: Mapping[str, Any]) -> Callable[[float], tuple[float, float, float]]:
    """``C -> (p*, T*, L*)`` minimising the law on ``cost = C`` numerically (bounded, in ln p)."""
    import sympy as sp
    from scipy.optimize import minimize_scalar

    subs = law.parameters(None, params)  # default set, overridden by (d, K)
    expr = law.expr.subs(subs)
    budget = sp.Symbol("C_", positive=True)
    solutions = sp.solve(sp.Eq(law.cost.subs(subs), budget), law.data)
    if len(solutions) != 1:
        raise ValueError("cost not solvable for the data size")
    data_of = sp.lambdify((law.model, budget), solutions[0], "math")
    loss_of = sp.lambdify((law.model, law.data), expr, "math")
    lo = math.log(float(params["d"]) + 1) if "d" in params else 0.0  # n >= 1 hidden unit

    def optimum(C: float) -> tuple[float, float, float]:
        res = minimize_scalar(lambda x: float(loss_of(math.exp(x), data_of(math.exp(x), C))),
                              bounds=(lo, math.log(C)), method="bounded",
                              options={"xatol": 1e-10, "maxiter": 500})
        N = math.exp(res.x)
        return N, float(data_of(N, C)), float(res.fun)

    return optimum


def _theory_curve(law, params: Mapping[str, Any], budgets: Sequence[float], *,
                  cross_check: bool = False) -> dict[str, Any]:
    """The derived optimum at each budget, plus the local exponent over the budgets' range.

    With ``cross_check`` also the symbolic asymptotic exponents (``compute_optimal_allocation``)
    and the engine's high-precision optimum at the largest budget (``numeric.precision.allocate``).
    """
    out: dict[str, Any] = {"law": law.name, "params": dict(params)}
    optimum = _optimizer(law, params)
    Ns, Ds, Ls = [], [], []
    for C in budgets:
        N, D, L = optimum(float(C))
        Ns.append(N)
        Ds.append(D)
        Ls.append(L)
    out.update(C=list(map(float, budgets)), N_opt=Ns, D_opt=Ds, loss_opt=Ls)
    out["optimum_method"] = "scipy bounded minimisation in ln p"
    if len(budgets) >= 2:
        out["a_local"] = float(np.polyfit(np.log(budgets), np.log(Ns), 1)[0])
        out["b_local"] = float(np.polyfit(np.log(budgets), np.log(Ds), 1)[0])
    if not cross_check:
        return out
    try:
        from theory.allocation import compute_optimal_allocation

        alloc = compute_optimal_allocation(law, params or None)
        out["asymptotic_model_exponent"] = _to_float(alloc.model_exponent)
        out["asymptotic_data_exponent"] = _to_float(alloc.data_exponent)
        out["closed_form"] = bool(alloc.closed_form)
        out["method"] = "theory.allocation.compute_optimal_allocation"
    except UserInputError as err:
        out["method"] = f"theory.allocation failed: {err}"
    if budgets:
        try:
            from numeric.precision import allocate

            r = allocate(law, float(budgets[-1]), params=params or None, digits=15)
            rel = abs(float(r.model) - Ns[-1]) / float(r.model)
            out["optimum_method"] += (f"; cross-checked at C = {float(budgets[-1]):.3g} against "
                                      f"numeric.precision.allocate (verified: {r.verified}, relative "
                                      f"difference in p* {rel:.1e})")
        except (UserInputError, ArithmeticError, ValueError) as err:
            out["optimum_method"] += f"; numeric.precision.allocate failed: {err}"
    return out


def _to_float(x) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------------------------
# comparison


def _verdict(value: float | None, ci) -> str:
    if value is None:
        return "no theory value"
    if not ci:
        return "no interval (too little data)"
    return "agrees (inside the 95% interval)" if ci[0] <= value <= ci[1] else \
        ("disagrees: theory above the 95% interval" if value > ci[1] else
         "disagrees: theory below the 95% interval")


def _ratio_at(points, C, cost):
    for p in points:
        if abs(p["C"] - C) <= 1e-9 * C:
            r = p["N_opt"] / p["D_opt"]
            ci = p.get("N_opt_ci")
            # r = cost N^2 / C is increasing in N: the N interval maps to the ratio interval
            rci = [cost * ci[0] ** 2 / C, cost * ci[1] ** 2 / C] if ci else None
            return r, rci
    return None, None


def _trend(fits, theory, axis: str, fixed: str, fixed_value, budgets) -> dict[str, Any]:
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
                r, rci = _ratio_at(r2.points, C, res.cost)
            th = theory.get(key)
            tr = None
            if th is not None:
                for Cth, N, D in zip(th["C"], th["N_opt"], th["D_opt"]):
                    if abs(Cth - C) <= 1e-9 * C:
                        tr = N / D
            rows.append({axis: d if axis == "d" else K, "C": C, "kind": kind, "ratio": r,
                         "ratio_ci": rci, "theory_ratio": tr})
    rows.sort(key=lambda r: (r["C"], r[axis]))
    verdicts = []
    for C in budgets:
        sel = [r for r in rows if r["C"] == C and r["ratio"] is not None]
        if len(sel) < 2:
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


# --------------------------------------------------------------------------------------------
# writing


def _fmt_ci(x, ci) -> str:
    if x is None:
        return "not enough data to fit"
    if not ci:
        return f"{format_number(x)} (no interval)"
    return f"{format_number(x)} [{format_number(ci[0])}, {format_number(ci[1])}]"


def _label(key) -> str:
    d, K, kind = key
    return f"d={d}, K={K}, {kind}"


# --------------------------------------------------------------------------------------------
# main entry


def reproduce(out_dir: str | os.PathLike = DEFAULT_OUT, *, quick: bool = False, progress: bool = True,
              bootstrap: int | None = None, workers: int | None = None,
              runner: Callable | None = None, checks: bool = True) -> ReproduceResult:
    """Run the whole study and write the report, figures and result store into ``out_dir``.

    Parameters
    ----------
    out_dir : output folder (created); ``results.sqlite`` there is reused, so a rerun resumes.
    quick : the tiny sweep (``SweepConfig.quick()``, well under a minute) instead of the default.
    progress : progress lines and the sweep's progress bar on stderr.
    bootstrap : bootstrap resamples of the fits (default 200, quick 50).
    workers : sweep worker processes (default: all cores).
    runner : replaces the trainer (``numeric.sweep.run_sweep``'s ``runner``; for tests and demos).
    checks : run the derivation checks (``False`` skips them, and the report says so).

    Returns
    -------
    ReproduceResult listing every file written and the findings.

    Raises
    ------
    UserInputError
        If ``out_dir`` (or a report path in it) cannot be written; checked before any work starts.

    Examples
    --------
    The quick study is the 14-run IsoFLOP sweep of :meth:`numeric.sweep.SweepConfig.quick`
    (shown here without running it; ``reproduce(out, quick=True)`` takes well under a minute):

    >>> from numeric.sweep import SweepConfig
    >>> runs, _ = SweepConfig.quick().expand()
    >>> len(runs), sorted({r.compute for r in runs}), sorted({(r.d, r.K) for r in runs})
    (14, [10000.0, 100000.0, 1000000.0], [(4, 8)])
    >>> len(SweepConfig.default().expand()[0])      # the full study
    435

    A bad output path is refused at once, before any work:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     reproduce(f.name, quick=True, progress=False)
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: output path ... exists and is not a directory

    References
    ----------
    NOTES.md "Empirical check"; Jeon & Van Roy, arXiv:2212.01365; Hoffmann et al. (2022).
    """
    from numeric import plots
    from scaling_theory._files import write_atomic
    from numeric.fit import fit, from_store, split_groups
    from numeric.sweep import SweepConfig, run_sweep

    started = time.perf_counter()
    stages: dict[str, float] = {}
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"output path {out} exists and is not a directory")
    for name in ("report.md", "report.tex"):  # refuse before hours of work, not after
        if (out / name).is_dir():
            raise UserInputError(f"cannot write {out / name}: it is a directory")
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserInputError(f"cannot create output directory {out}: {err.strerror or err}") from None
    store_path = out / "results.sqlite"
    n_boot = bootstrap if bootstrap is not None else (50 if quick else 200)

    # 1. theory: derivation checks and the symbolic allocation
    t0 = time.perf_counter()
    if checks:
        _log(progress, "checking the derivations ...")
        check_result = _run_checks()
    else:
        check_result = {"available": True, "ok": None, "message": "derivation checks skipped (checks=False)"}
    _log(progress, check_result["message"])
    law, law_note = _theory_law()
    stages["theory"] = time.perf_counter() - t0

    # 2. simulate (resumes from the store)
    t0 = time.perf_counter()
    config = SweepConfig.quick() if quick else SweepConfig.default()
    _log(progress, f"simulating ({'quick' if quick else 'default'} sweep) into {store_path} ...")
    kwargs: dict[str, Any] = {"progress": progress, "workers": workers}
    if runner is not None:
        kwargs["runner"] = runner
    summary = run_sweep(config, store_path, **kwargs)
    sweep = summary.to_json()
    stages["simulate"] = time.perf_counter() - t0

    # 3. fit each teacher setting
    t0 = time.perf_counter()
    _log(progress, f"fitting (bootstrap {n_boot}) ...")
    # only this sweep's runs: the store may also hold runs of other sweep configurations
    data = from_store(store_path, config_hashes={r.config_hash for r in config.expand()[0]})
    groups = split_groups(data)
    fits = {key: fit(part, "all", bootstrap=n_boot, seed=0, irreducible=False)
            for key, part in groups.items()}
    stages["fit"] = time.perf_counter() - t0

    # 4. compare with the derived bound's optimum at the same budgets
    t0 = time.perf_counter()
    _log(progress, f"comparing with law {law.name!r} ...")
    main_key = max(fits, key=lambda k: (fits[k].n_budgets, fits[k].n_points))
    theory: dict[tuple, dict[str, Any]] = {}
    for key, part in groups.items():
        d, K, _kind = key
        budgets = sorted(set(part.budget.tolist()))
        try:
            theory[key] = _theory_curve(law, _law_params(law, int(d), int(K)), budgets,
                                        cross_check=key == main_key)
        except (ValueError, ArithmeticError, UserInputError) as err:
            theory[key] = {"law": law.name, "error": f"no derived optimum ({err})"}
    comparison = _compare(fits, theory, main_key, law_note)
    stages["compare"] = time.perf_counter() - t0

    # 5. figures
    t0 = time.perf_counter()
    _log(progress, "drawing figures ...")
    figures = _figures(plots, groups, fits, theory, comparison, main_key, out / "figures")
    stages["figures"] = time.perf_counter() - t0

    # 6. reports (atomic)
    stages["total"] = time.perf_counter() - started
    fit_json = [{"d": int(k[0]), "K": int(k[1]), "kind": str(k[2]), **r.to_json()}
                for k, r in fits.items()]
    result = ReproduceResult(out, out / "report.md", out / "report.tex", store_path, figures,
                             stages["total"], check_result, sweep, fit_json, comparison, stages,
                             groups[main_key])
    comparison["best_sampled"] = _best_sampled(groups[main_key])
    write_atomic(result.report_md, _markdown(result, fits, theory, main_key, quick, out))
    write_atomic(result.report_tex, _latex(result, fits, theory, main_key, quick, out))
    result.seconds = time.perf_counter() - started
    _log(progress, f"done in {result.seconds:.1f} s: {result.report_md}")
    return result


def _compare(fits, theory, main_key, law_note) -> dict[str, Any]:
    res = fits[main_key]
    th = theory.get(main_key, {})
    rows = []
    for k in (1, 2, 3):
        r = res.approaches.get(k)
        if r is None:
            continue
        for which in ("a", "b"):
            value = getattr(r, which) if r.ok else None
            ci = r.ci.get(which) if r.ok else None
            local = th.get(f"{which}_local")
            asym = th.get("asymptotic_model_exponent" if which == "a" else "asymptotic_data_exponent")
            rows.append({"approach": k, "exponent": which, "value": value, "ci": ci,
                         "message": r.message, "theory_local": local, "theory_asymptotic": asym,
                         "verdict_local": _verdict(local, ci) if r.ok else "not enough data to fit",
                         "verdict_asymptotic": _verdict(asym, ci) if r.ok else "not enough data to fit"})
    d0, K0, _ = main_key
    Cs = sorted({C for key, f in fits.items() for C in (p["C"] for p in
                 (f.approaches[2].points if f.approaches.get(2) and f.approaches[2].ok else []))})
    shared_d = [C for C in Cs if sum(1 for key in fits if key[1] == K0 and any(
        abs(p["C"] - C) < 1e-9 * C for p in (fits[key].approaches[2].points if fits[key].approaches[2].ok else []))) >= 2]
    shared_K = [C for C in Cs if sum(1 for key in fits if key[0] == d0 and any(
        abs(p["C"] - C) < 1e-9 * C for p in (fits[key].approaches[2].points if fits[key].approaches[2].ok else []))) >= 2]
    return {"main": {"d": int(d0), "K": int(K0), "kind": str(main_key[2])}, "law": th.get("law"),
            "law_note": law_note, "theory_method": th.get("method"), "theory_error": th.get("error"),
            "exponents": rows,
            "d_trend": _trend(fits, theory, "d", "K", K0, shared_d),
            "K_trend": _trend(fits, theory, "K", "d", d0, shared_K)}


def _figures(plots, groups, fits, theory, comparison, main_key, folder: Path) -> list[Path]:
    figs: list[Path] = []
    data = groups[main_key]
    res = fits[main_key]
    r2 = res.approaches[2]
    pts2 = {p["C"]: p for p in (r2.points if r2.ok else [])}
    curves = []
    for C in sorted(set(data.budget.tolist())):
        m = data.budget == C
        c = {"C": C, "N": data.N[m], "loss": data.loss[m]}
        if C in pts2:
            c.update(N_opt=pts2[C]["N_opt"], loss_opt=pts2[C]["loss_opt"], parabola=pts2[C]["parabola"])
        curves.append(c)
    figs.append(Path(plots.isoflop_curves(
        curves, folder / "isoflop.png", title=f"IsoFLOP profiles ({_label(main_key)}; stars: approach 2)")))
    ref = res.approaches[1]
    pts = r2.points if r2.ok else (ref.points if ref.ok else [])
    if pts:
        fitted = {f"approach {k}": (r.coefficients["k_N"], r.a, r.coefficients["k_D"], r.b)
                  for k, r in sorted(res.approaches.items())
                  if r.ok and all(math.isfinite(v) for v in r.coefficients.values())}
        th = theory.get(main_key, {})
        derived = {}
        if "N_opt" in th:
            derived[f"derived bound ({th['law']})"] = (th["C"], th["N_opt"], th["D_opt"])
        figs.append(Path(plots.frontier([p["C"] for p in pts], [p["N_opt"] for p in pts],
                                        [p["D_opt"] for p in pts], folder / "frontier.png",
                                        fitted=fitted, derived=derived,
                                        points_label="per-budget optima (approach %d)" % (2 if r2.ok else 1),
                                        title=f"Compute-optimal frontier ({_label(main_key)})")))
    for name, trend in (("d", comparison["d_trend"]), ("K", comparison["K_trend"])):
        rows = [r for r in trend["rows"] if r["ratio"] is not None]
        if not rows:
            continue
        C = max(r["C"] for r in rows)  # largest shared budget: furthest from small-size effects
        sel = [r for r in rows if r["C"] == C]
        theory_vals = [r["theory_ratio"] for r in sel]
        figs.append(Path(plots.model_share(
            [r[name] for r in sel], [r["ratio"] for r in sel], folder / f"share_vs_{name}.png",
            xlabel=name, ci=[tuple(r["ratio_ci"]) if r["ratio_ci"] else (math.nan, math.nan) for r in sel],
            theory=theory_vals if all(v is not None for v in theory_vals) else None,
            title=f"p*/T* against {name} at C = {C:.3g} ({'K' if name == 'd' else 'd'} = "
                  f"{list(trend['fixed'].values())[0]})")))
    r3 = res.approaches[3]
    if r3.ok and all(math.isfinite(v) for v in r3.params.values()):
        figs.append(Path(plots.law_contours(
            r3.params, folder / "law_contours.png", N_range=(data.N.min() / 3, data.N.max() * 3),
            D_range=(data.D.min() / 3, data.D.max() * 3), cost=res.cost, points=(data.N, data.D),
            title=f"Approach-3 fit, {_label(main_key)}", xlabel="model size p (parameters)",
            ylabel="data size T (samples)")))
    return figs


# --------------------------------------------------------------------------------------------
# report text


def _best_sampled(data) -> list[dict[str, Any]]:
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


def _fit_table_md(fits) -> list[str]:
    lines = ["| teacher | approach | a (model) [95% CI] | b (data) [95% CI] | note |",
             "|---|---|---|---|---|"]
    for key, res in fits.items():
        for k, r in sorted(res.approaches.items()):
            if r.ok:
                lines.append(f"| {_label(key)} | {k} | {_fmt_ci(r.a, r.ci.get('a'))} | "
                             f"{_fmt_ci(r.b, r.ci.get('b'))} | {r.message or ''} |")
            else:
                lines.append(f"| {_label(key)} | {k} | - | - | {r.message} |")
    return lines


def _markdown(result: ReproduceResult, fits, theory, main_key, quick, out: Path) -> str:
    cmp = result.comparison
    s = result.sweep
    L = [f"# Scaling-theory study ({'quick' if quick else 'default'} run)", "",
         f"Produced by `scaling-theory reproduce{' --quick' if quick else ''}` in "
         f"{result.stage_seconds.get('total', result.seconds):.1f} s "
         f"(theory {result.stage_seconds.get('theory', 0):.1f} s, simulate "
         f"{result.stage_seconds.get('simulate', 0):.1f} s, fit {result.stage_seconds.get('fit', 0):.1f} s).",
         "", "## 1. Theory", "", f"- Derivation checks: {result.checks['message']}."]
    if cmp.get("law_note"):
        L.append(f"- Note: {cmp['law_note']}.")
    th = theory.get(main_key, {})
    if th.get("asymptotic_model_exponent") is not None:
        L.append(f"- Law `{th['law']}`: asymptotic exponents p* ~ C^{format_number(th['asymptotic_model_exponent'])}, "
                 f"T* ~ C^{format_number(th['asymptotic_data_exponent'])} (up to log factors; "
                 f"theory.allocation, closed form: {th.get('closed_form')}).")
    if th.get("a_local") is not None:
        L.append(f"- At the sweep's budgets ({_label(main_key)}), the bound's optimum has local "
                 f"exponents a = {format_number(th['a_local'])}, b = {format_number(th['b_local'])} (log factors included; "
                 f"optimum from {th.get('optimum_method')}).")
    if th.get("error"):
        L.append(f"- {th['error']}")
    L += ["", "## 2. Simulation", "",
          f"- Store: `{result.store}` ({s.get('store_counts', {}).get('done', 0)} runs done, "
          f"{s.get('store_counts', {}).get('diverged', 0)} diverged, "
          f"{s.get('store_counts', {}).get('failed', 0)} failed; this call ran {s.get('done', 0)}, "
          f"{s.get('already', 0)} were already stored).",
          f"- Configurations skipped (too few samples): {s.get('skipped', 0)}.",
          *([f"- The sweep is incomplete ({s.get('failed', 0)} runs failed, {s.get('remaining', 0)} not "
             "run): the fits below use the finished runs only; rerun the same command to retry."]
            if not s.get("complete", True) else []),
          "- Model size = student parameters p = n(d+1); data = samples T; loss = reducible error "
          "(Monte-Carlo KL), mean over seeds; compute C = p T.", "",
          "## 3. Fits (Chinchilla approaches; E fixed at 0 for reducible error)", ""]
    L += _fit_table_md(fits)
    L += ["", f"## 4. Theory against experiment ({_label(main_key)})", "",
          "Best sampled configuration per budget (lowest mean reducible error over seeds):", "",
          "| C | best p (sampled range) | T | reducible error | where |", "|---|---|---|---|---|"]
    for row in _best_sampled(result.main_data):
        L.append(f"| {row['C']:.3g} | {row['p']:.4g} ({row['p_min']:.4g} to {row['p_max']:.4g}) | "
                 f"{row['T']:.4g} | {format_number(row['loss'])} +/- {format_number(row['se'], 2)} | {row['where']} |")
    th_row = theory.get(main_key, {})
    if "N_opt" in th_row:
        L += ["", "Optimum of the derived bound at the same budgets: " + ", ".join(
            f"C = {C:.3g}: p* = {N:.4g}, T* = {D:.4g}" for C, N, D in
            zip(th_row["C"], th_row["N_opt"], th_row["D_opt"])) + ".", ""]
    if cmp.get("theory_error"):
        L.append(f"Theory optimum unavailable: {cmp['theory_error']}")
    L += ["| approach | exponent | measured [95% CI] | bound, local | verdict | bound, asymptotic | verdict |",
          "|---|---|---|---|---|---|---|"]
    for r in cmp["exponents"]:
        L.append(f"| {r['approach']} | {r['exponent']} | {_fmt_ci(r['value'], r['ci'])} | "
                 f"{format_number(r['theory_local'])} | {r['verdict_local']} | {format_number(r['theory_asymptotic'])} | "
                 f"{r['verdict_asymptotic']} |")
    for name in ("d", "K"):
        tr = cmp[f"{name}_trend"]
        fixed = ", ".join(f"{k} = {v}" for k, v in tr["fixed"].items())
        L += ["", f"### Model share against {name} ({fixed}; ratio p*/T* from approach 2)", ""]
        if not tr["rows"]:
            L.append(f"Not enough data to fit: the sweep has fewer than two values of {name} "
                     "sharing a budget.")
            continue
        L += [f"| C | {name} | measured p*/T* [95% CI] | bound p*/T* |", "|---|---|---|---|"]
        for r in tr["rows"]:
            L.append(f"| {r['C']:.3g} | {r[name]} | {_fmt_ci(r['ratio'], r['ratio_ci'])} | "
                     f"{format_number(r['theory_ratio'])} |")
        L.append("")
        for v in tr["verdicts"]:
            if v.get("theory") is None and v["empirical"].startswith("not enough"):
                L.append(f"- C = {v['C']:.3g}: not enough data to fit.")
            else:
                agree = ("agree in direction" if v["theory"] and v["empirical"].startswith(v["theory"])
                         else "do not agree" if v["theory"] and not v["empirical"].startswith("no clear")
                         else "cannot be compared (no clear measured trend)" if v["theory"]
                         else "theory value unavailable")
                L.append(f"- C = {v['C']:.3g}, {name} from {v.get('from')} to {v.get('to')}: measured "
                         f"{v['empirical']}; bound {v['theory'] or 'n/a'}; they {agree}. "
                         f"Log-log slope of p*/T* in {name} (least squares, point estimate): measured "
                         f"{format_number(v.get('slope'), 3)}, bound {format_number(v.get('theory_slope'), 3)}.")
    L += ["", "## 5. Figures", ""]
    for f in result.figures:
        rel = os.path.relpath(f, out)
        L.append(f"![{Path(f).stem}]({rel})")
    L += ["", "## Caveats", "",
          "- The bound is an upper bound on the Bayes-optimal error; the runs use single-pass SGD, "
          "so levels differ; exponents and trends are what is compared.",
          "- Intervals are bootstrap percentile intervals (resampling points within each budget); "
          "with few budgets or widths they are wide and some approaches cannot be fitted.",
          "- Approach 1 takes the best sampled width per budget, so its exponents move in steps of the "
          "width grid.", ""]
    return "\n".join(L)


def _tex_escape(text: str) -> str:
    rep = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    return "".join(rep.get(ch, ch) for ch in str(text))


def _latex(result: ReproduceResult, fits, theory, main_key, quick, out: Path) -> str:
    cmp = result.comparison
    e = _tex_escape
    L = [r"\documentclass{article}", r"\usepackage{graphicx}", r"\usepackage{booktabs}",
         r"\usepackage[margin=2cm]{geometry}", r"\begin{document}",
         r"\section*{Scaling-theory study (" + ("quick" if quick else "default") + " run)}",
         e(f"Derivation checks: {result.checks['message']}. Total time "
           f"{result.stage_seconds.get('total', result.seconds):.1f} s."), "",
         r"\subsection*{Fits}", r"\begin{tabular}{llll}", r"\toprule",
         r"teacher & approach & $a$ [95\% CI] & $b$ [95\% CI] \\", r"\midrule"]
    for key, res in fits.items():
        for k, r in sorted(res.approaches.items()):
            if r.ok:
                L.append(f"{e(_label(key))} & {k} & {e(_fmt_ci(r.a, r.ci.get('a')))} & "
                         f"{e(_fmt_ci(r.b, r.ci.get('b')))} \\\\")
            else:
                L.append(f"{e(_label(key))} & {k} & \\multicolumn{{2}}{{l}}{{{e(r.message[:60])}}} \\\\")
    L += [r"\bottomrule", r"\end{tabular}", "",
          r"\subsection*{Theory against experiment (" + e(_label(main_key)) + ")}",
          r"\begin{tabular}{lllll}", r"\toprule",
          r"approach & exponent & measured & bound (local) & verdict \\", r"\midrule"]
    for r in cmp["exponents"]:
        L.append(f"{r['approach']} & ${r['exponent']}$ & {e(_fmt_ci(r['value'], r['ci']))} & "
                 f"{e(format_number(r['theory_local']))} & {e(r['verdict_local'])} \\\\")
    L += [r"\bottomrule", r"\end{tabular}", ""]
    for name in ("d", "K"):
        for v in cmp[f"{name}_trend"]["verdicts"]:
            L.append(e(f"Model share vs {name} at C = {v['C']:.3g}: measured {v['empirical']}; "
                       f"bound {v['theory'] or 'n/a'}.") + r"\par")
    for f in result.figures:
        rel = os.path.relpath(f, out).replace(os.sep, "/")
        L += [r"\begin{figure}[h]\centering", rf"\includegraphics[width=0.8\linewidth]{{{rel}}}",
              r"\caption{" + e(Path(f).stem.replace("_", " ")) + "}", r"\end{figure}"]
    L += [r"\end{document}", ""]
    return "\n".join(L)
