"""The compute study: the restricted Bayes learner, SGD and every proof route on the same teachers (docs/bayes.md).

A bound's compute-optimal width ``n*(C)`` is a prediction about the best learner that uses a width-``n`` model
with ``T = C/(n (d + 1))`` samples.  This module measures that learner (the restricted Bayes learner of
:func:`scaling_theory.numeric.bayes.study.bayes_study`) over a grid of widths at each budget, trains SGD
students on the **same teachers and data streams** (single-pass SGD in the maximal-update parametrisation,
the learning rate chosen per budget and width on the time-averaged online KL over a grid, as the tuned
protocol does, docs/tuned-protocol.md), and puts beside them each proof route of the teacher's law
(:mod:`scaling_theory.numeric.precision.routes`): its bound at every measured cell (checked to lie above the
Bayes error there) and its own ``n*(C)``.  The error is the one the bounds are about for both learners: the
time-averaged KL of the true conditional from the learner's prediction, ``(1/T) sum_t KL``.

Per teacher: ``n*(C)`` of each learner with a bootstrap interval over teachers, the exponent of ``n*(C)``
with its interval, each route's exponent over the same budgets, and a verdict per route
(:func:`route_verdict`): ``agrees`` when the route's exponent is inside the Bayes learner's 95% interval,
``disagrees`` when outside it, ``inconclusive`` when that interval is too wide to tell (wider than 0.5).

References
----------
Jeon & Van Roy, arXiv:2212.01365 and arXiv:2407.01456 (the allocation the bound predicts); docs/bayes.md.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np
import sympy as sp

from scaling_theory.numeric.bayes.study import bayes_study, n_star_smooth, samples_at, study_teachers
from scaling_theory.theory.teachers import canonical_kind, check_discount

__all__ = ["compute_study", "sgd_study", "route_predictions", "route_verdict", "figure_data", "SGD_RATES",
           "WIDE_INTERVAL"]

SGD_RATES = (0.03, 0.1, 0.3, 1.0)
"""Learning rates tried per budget and width (the tuned protocol's grid, docs/tuned-protocol.md)."""
WIDE_INTERVAL = 0.5
"""A 95% interval of an exponent wider than this cannot tell routes apart: the verdict is ``inconclusive``."""


def _law(kind: str, scale: str = "barron", sigma: float | None = None):
    from scaling_theory.theory.jeon_van_roy import law_name
    from scaling_theory.theory.registry import get_law

    return get_law(law_name(kind, scale, sigma=sigma))


def _law_values(kind: str, d: int, K: float, sigma: float | None):
    """The teacher's law and its constants' values (the discount where the law has one: at ``sigma = 0`` the
    Pitman-Yor teacher is the DP and its law is the DP's)."""
    law = _law(kind, sigma=sigma)
    given = {"d": d, "K": K}
    if any(str(c) == "sigma" for c in law.constants):
        given["sigma"] = str(sigma)
    return law, law.parameters(None, given, defaults=False)


def route_bounds(kind: str, d: int, K: float, sigma: float | None = None
                 ) -> dict[str, Callable[[int, int], float | None]]:
    """``{route: f(n, T)}``: each route's bound at width ``n`` (``p = n (d + 1)``) and ``T`` samples, ``None``
    outside the route's validity window (what :func:`~scaling_theory.numeric.bayes.study.bayes_study` checks)."""
    from scaling_theory.numeric.precision.routes import route_value

    law, values = _law_values(kind, d, K, sigma)

    def make(route):
        return lambda n, T: route_value(law, route, values, int(n) * (int(d) + 1), int(T), dps=20)

    return {r.name: make(r) for r in law.routes}


def route_predictions(kind: str, d: int, K: float, budgets: Sequence[float], sigma: float | None = None
                      ) -> dict[str, dict]:
    """Each route's own compute-optimal width at each budget (continuous ``n* = p*/(d+1)`` inside its window,
    ``None`` where it does not cover the budget), its local exponent over the budgets, and its asymptotic model
    exponent.

    Examples
    --------
    >>> pred = route_predictions("finite", 2, 2, [1e3, 1e4])
    >>> pred["direct"]["n_star"], pred["direct"]["exponent"], pred["direct"]["asymptotic_exponent"]
    ([2.0, 2.0], 0.0, 0.0)
    """
    from scaling_theory.numeric.precision.routes import route_optimum

    law, values = _law_values(kind, d, K, sigma)
    out = {}
    for r in law.routes:
        ns, Ls = [], []
        for C in budgets:
            o = route_optimum(law, r, values, float(C), digits=15)
            ns.append(float(o.model) / (int(d) + 1) if o.valid else None)
            Ls.append(float(o.loss) if o.valid else None)
        ok = [(math.log(C), math.log(n)) for C, n in zip(budgets, ns) if n is not None]
        exponent = float(np.polyfit(*zip(*ok), 1)[0]) if len(ok) >= 2 else None
        asym = None
        if r.model_exponent is not None:
            asym = float(sp.sympify(r.model_exponent).subs(values))     # a Pitman-Yor route's depends on sigma
        else:
            from scaling_theory.theory.routes import route_allocations

            alloc = route_allocations(law, r.name)[0]
            asym = float(alloc.model_exponent) if alloc.model_exponent is not None else None
        out[r.name] = {"n_star": ns, "loss": Ls, "exponent": None if exponent is None else round(exponent, 12),
                       "asymptotic_exponent": asym}
    return out


def route_verdict(value: float | None, interval: Sequence[float | None] | None) -> str:
    """``agrees`` / ``disagrees`` / ``inconclusive`` for a route's exponent against a measured one's 95% interval.

    Examples
    --------
    >>> route_verdict(0.2, [0.15, 0.25]), route_verdict(0.5, [0.15, 0.25]), route_verdict(0.2, [-0.5, 0.9])
    ('agrees', 'disagrees', 'inconclusive')
    """
    if value is None or not interval or interval[0] is None or interval[1] is None:
        return "inconclusive"
    lo, hi = float(interval[0]), float(interval[1])
    if hi - lo > WIDE_INTERVAL:
        return "inconclusive"
    return "agrees" if lo <= value <= hi else "disagrees"


def sgd_study(kind: str, d: int, K: float, budgets: Sequence[float], widths: Sequence[int], *, teachers: int,
              seed: int = 0, rates: Sequence[float] = SGD_RATES, bootstrap: int = 1000,
              progress: Callable[[str], None] | None = None, sigma: float | None = None) -> dict:
    """SGD students on the Bayes study's teachers and data (:func:`~scaling_theory.numeric.bayes.study.study_teachers`).

    At each budget and width every rate of ``rates`` trains one student per teacher (single pass, muP, batch
    1); the rate with the smallest mean time-averaged online KL is kept (a rate with a diverged student is
    not kept); ``n*(C)`` is the width of least error, with a bootstrap interval over teachers.

    Returns
    -------
    dict with ``budgets`` (one entry per budget: ``C``, ``widths``, ``T``, ``sgd_error``, ``sgd_error_se``,
    ``lr``, ``diverged``, ``n_star``, ``n_star_ci``, ``n_star_smooth``) and ``exponent`` ``[a, lo, hi]``.
    """
    from scaling_theory.numeric.sim.students import StudentConfig
    from scaling_theory.numeric.sim.training import train_many

    pairs = study_teachers(kind, d, K, teachers, seed, sigma=sigma)
    Cs, ws = sorted(float(c) for c in budgets), sorted(int(n) for n in widths)
    tasks, keys = [], []
    for j, C in enumerate(Cs):
        for k, n in enumerate(ws):
            T = samples_at(C, n, d)
            if T < 1:
                continue
            for lr in rates:
                cfg = StudentConfig(n, lr=float(lr), init_seed=seed, parametrisation="mup")
                for i, (t, data_seed) in enumerate(pairs):
                    tasks.append((t, cfg, T, data_seed))
                    keys.append((j, k, float(lr), i))
    if progress is not None:
        progress(f"{kind} teacher: {len(tasks)} SGD students ({len(rates)} rates x widths x budgets x "
                 f"{teachers} teachers)")
    results = train_many(tasks)
    kl = np.full((len(Cs), len(ws), len(rates), teachers), np.nan)
    for (j, k, lr, i), r in zip(keys, results):
        if r.status == "done" and math.isfinite(r.online_kl):
            kl[j, k, list(map(float, rates)).index(lr), i] = r.online_kl
    entries = []
    E = np.full((teachers, len(Cs), len(ws)), np.nan)
    for j, C in enumerate(Cs):
        have, errs, ses, lrs, div, Ts = [], [], [], [], [], []
        for k, n in enumerate(ws):
            T = samples_at(C, n, d)
            if T < 1:
                continue
            ok = [q for q in range(len(rates)) if np.all(np.isfinite(kl[j, k, q]))]
            div.append([float(rates[q]) for q in range(len(rates)) if q not in ok])
            if not ok:
                continue
            q = min(ok, key=lambda q: kl[j, k, q].mean())
            have.append(n)
            Ts.append(T)
            E[:, j, k] = kl[j, k, q]
            errs.append(float(kl[j, k, q].mean()))
            ses.append(float(kl[j, k, q].std(ddof=1) / math.sqrt(teachers)))
            lrs.append(float(rates[q]))
        entries.append({"C": C, "widths": have, "T": Ts, "sgd_error": errs, "sgd_error_se": ses, "lr": lrs,
                        "diverged_rates": div})
    rng = np.random.default_rng([int(seed), 0x56D])
    idx = rng.integers(0, teachers, size=(bootstrap, teachers))
    smooth, boot_smooth = np.full(len(Cs), np.nan), np.full((bootstrap, len(Cs)), np.nan)
    for j, e in enumerate(entries):
        cols = [ws.index(n) for n in e["widths"]]
        if not cols:
            e.update(n_star=None, n_star_ci=None, n_star_smooth=None)
            continue
        m = np.asarray(e["sgd_error"])
        e["n_star"] = int(e["widths"][int(np.argmin(m))])
        smooth[j] = n_star_smooth(e["widths"], m)[0]
        e["n_star_smooth"] = float(smooth[j])
        boot = E[idx][:, :, j, :][:, :, cols].mean(axis=1)        # (bootstrap, widths)
        argmins = np.asarray(e["widths"])[np.argmin(boot, axis=1)]
        e["n_star_ci"] = [float(np.percentile(argmins, 2.5)), float(np.percentile(argmins, 97.5))]
        boot_smooth[:, j] = [n_star_smooth(e["widths"], row)[0] for row in boot]
    lnC = np.log(np.asarray(Cs))
    ok = np.isfinite(smooth)
    exponent = [None, None, None]
    if ok.sum() >= 2:
        a = float(np.polyfit(lnC[ok], np.log(smooth[ok]), 1)[0])
        slopes = [float(np.polyfit(lnC[ok], np.log(row[ok]), 1)[0]) for row in boot_smooth
                  if np.all(np.isfinite(row[ok]))]
        exponent = [a, float(np.percentile(slopes, 2.5)), float(np.percentile(slopes, 97.5))] if slopes else [a, None,
                                                                                                              None]
    return {"budgets": entries, "exponent": exponent, "rates": [float(r) for r in rates],
            "error_estimator": "time-averaged online KL of each student (exact in Y), rate chosen on it"}


def compute_study(teacher: str, d: int, K: float, budgets: Sequence[float], widths: Sequence[int], *,
                  teachers: int = 32, particles: int = 300, seed: int = 0, sgd: bool = True, bootstrap: int = 1000,
                  allow_long: bool = False, progress: Callable[[str], None] | None = None,
                  sigma: float | None = None) -> dict:
    """The Bayes learner, SGD and every route of the teacher's law on paired teachers (module docstring).

    Parameters
    ----------
    teacher : ``"finite"``, ``"dp"`` or ``"pitman-yor"``.
    d, K : input dimension; teacher units (finite) or concentration (dp, pitman-yor).
    budgets, widths : compute budgets ``C = n (d + 1) T`` and the width grid.
    teachers, particles, seed : paired teachers, SMC particles, seed.
    sgd : also train SGD students on the same teachers and data.
    bootstrap : resamples of the teachers for the intervals.
    allow_long, progress : passed to :func:`~scaling_theory.numeric.bayes.study.bayes_study`.
    sigma : the Pitman-Yor teacher's discount (``teacher="pitman-yor"`` only; its law is
        ``jeon-van-roy-pitman-yor``, the DP's at ``sigma = 0``).

    Returns
    -------
    dict, JSON-able: ``teacher``, ``d``, ``K`` (``sigma`` for the Pitman-Yor teacher), ``law``, ``budgets`` (per budget ``C``, ``widths``,
    ``bayes_error``, ``bayes_error_se``, ``sgd_error``, ``n_star``, ``n_star_ci``, ``sgd_n_star``,
    ``routes`` (each route's own ``n*``), ``route_grid`` (each route's argmin over the measured widths),
    ``bounds``, ``bound_holds``), ``exponents`` (``bayes`` and ``sgd`` as ``[a, lo, hi]``, each route's
    exponent over the budgets), ``asymptotic_exponents``, ``verdicts`` (per route), and the Bayes and SGD
    studies in full (``bayes_study``, ``sgd_study``).

    Raises
    ------
    scaling_theory.numeric.bayes.study.BoundFailure
        A route's bound below the measured Bayes error at some cell (named in the message).

    Examples
    --------
    >>> s = compute_study("finite", 1, 2, [200, 800], [1, 2, 3], teachers=3, particles=100, bootstrap=50)
    >>> [b["C"] for b in s["budgets"]], sorted(s["verdicts"]), all(b["bound_holds"] for b in s["budgets"])
    ([200.0, 800.0], ['direct', 'maurey'], True)
    >>> s["budgets"][1]["routes"]["direct"]        # the direct route stops at n = K
    2.0
    """
    kind = canonical_kind(teacher)
    if kind == "pitman-yor":     # one discount for the teachers, the sampler and the law (0: the DP's)
        sigma = check_discount(0.0 if sigma is None else sigma)
    bayes = bayes_study(kind, d, K, budgets, widths, teachers=teachers, particles=particles, seed=seed,
                        bounds=route_bounds(kind, d, K, sigma), bootstrap=bootstrap, allow_long=allow_long,
                        progress=progress, sigma=sigma)
    Cs = [b["C"] for b in bayes["budgets"]]
    routes = route_predictions(kind, d, K, Cs, sigma)
    sgd_res = sgd_study(kind, d, K, Cs, widths, teachers=teachers, seed=seed, bootstrap=bootstrap,
                        progress=progress, sigma=sigma) if sgd else None
    entries = []
    for j, b in enumerate(bayes["budgets"]):
        s = sgd_res["budgets"][j] if sgd_res else None
        sgd_err = None
        if s is not None:
            by_w = dict(zip(s["widths"], s["sgd_error"]))
            sgd_err = [by_w.get(n) for n in b["widths"]]
        entries.append({"C": b["C"], "widths": b["widths"], "T": b["T"], "bayes_error": b["bayes_error"],
                        "bayes_error_se": b["bayes_error_se"], "sgd_error": sgd_err,
                        "sgd_lr": None if s is None else dict(zip(map(str, s["widths"]), s["lr"])),
                        "n_star": b["n_star"], "n_star_ci": b["n_star_ci"], "n_star_smooth": b["n_star_smooth"],
                        "sgd_n_star": None if s is None else s["n_star"],
                        "sgd_n_star_ci": None if s is None else s["n_star_ci"],
                        "routes": {r: v["n_star"][j] for r, v in routes.items()},
                        "route_bound_at_n_star": {r: (vals[b["widths"].index(b["n_star"])] if vals else None)
                                                  for r, vals in (b.get("bounds") or {}).items()},
                        "route_grid": b.get("routes") or {}, "bounds": b.get("bounds") or {},
                        "bound_holds": b["bound_holds"], "bound_cells_checked": b.get("bound_cells_checked", 0)})
    exponents = {"bayes": bayes["exponents"]["bayes"], "sgd": sgd_res["exponent"] if sgd_res else None,
                 **{r: v["exponent"] for r, v in routes.items()}}
    return {"teacher": kind, "d": int(d), "K": K,
            **{k: bayes[k] for k in ("sigma", "teacher_atoms", "teacher_dropped_share") if k in bayes},
            "law": _law(kind, sigma=bayes.get("sigma")).name, "teachers": int(teachers),
            "particles": int(particles), "seed": int(seed), "budgets": entries, "exponents": exponents,
            "asymptotic_exponents": {r: v["asymptotic_exponent"] for r, v in routes.items()},
            "verdicts": {r: route_verdict(v["exponent"], bayes["exponents"]["bayes"][1:]) for r, v in routes.items()},
            "sgd_verdicts": ({r: route_verdict(v["exponent"], sgd_res["exponent"][1:]) for r, v in routes.items()}
                             if sgd_res else None),
            "bayes_study": bayes, "sgd_study": sgd_res}


def _teacher_label(s: Mapping) -> str:
    if s["teacher"] == "pitman-yor":
        return f"Pitman-Yor (sigma={s.get('sigma', 0):g})"
    return "infinite-width (dp)" if s["teacher"] == "dp" else s["teacher"]


def figure_data(studies: Sequence[Mapping]) -> dict:
    """The two figures' data from :func:`compute_study` results (one per teacher): ``width_curves`` (the Bayes
    learner's error against width at each budget, SGD's and each route's bound beside it) for
    :func:`scaling_theory.numeric.analysis.plots.bayes_width_curves`, and ``n_star`` (each learner's
    ``n*(C)`` and each route's own) for :func:`~scaling_theory.numeric.analysis.plots.bayes_n_star`.

    Examples
    --------
    >>> s = {"teacher": "dp", "d": 1, "K": 1.0, "exponents": {"bayes": [0.1, 0.0, 0.2], "sgd": [0.2, 0.1, 0.3]},
    ...      "budgets": [{"C": 1e3, "widths": [1, 2], "bayes_error": [0.02, 0.01], "bayes_error_se": [1e-3, 1e-3],
    ...                   "sgd_error": [0.05, 0.04], "n_star": 2, "n_star_ci": [1, 2], "n_star_smooth": 1.8,
    ...                   "sgd_n_star": 2, "sgd_n_star_ci": [2, 2], "routes": {"truncation": 1.5}, "bounds": {}}]}
    >>> d = figure_data([s])
    >>> d["n_star"][0]["routes"], d["n_star"][0]["sgd"]["n_star"]
    ({'truncation': [1.5]}, [2])
    """
    panels, series = [], []
    for s in studies:
        label = f"{_teacher_label(s)}, d={s['d']}, K={s['K']:g}"
        bs = s["budgets"]
        panels.append({"teacher": label, "curves": [
            {"C": b["C"], "widths": b["widths"], "error": b["bayes_error"], "error_se": b["bayes_error_se"],
             "sgd_error": b.get("sgd_error"), "n_star": b["n_star"], "bounds": b.get("bounds") or {}} for b in bs]})
        routes = sorted({r for b in bs for r in (b.get("routes") or {})})
        entry = {"teacher": label, "C": [b["C"] for b in bs], "n_star": [b["n_star"] for b in bs],
                 "lo": [(b.get("n_star_ci") or [b["n_star"]] * 2)[0] for b in bs],
                 "hi": [(b.get("n_star_ci") or [b["n_star"]] * 2)[1] for b in bs],
                 "n_star_smooth": [b.get("n_star_smooth") for b in bs], "exponent": s["exponents"]["bayes"],
                 "routes": {r: [(b.get("routes") or {}).get(r) for b in bs] for r in routes}}
        if any(b.get("sgd_n_star") is not None for b in bs):
            entry["sgd"] = {"n_star": [b.get("sgd_n_star") for b in bs],
                            "lo": [(b.get("sgd_n_star_ci") or [None, None])[0] for b in bs],
                            "hi": [(b.get("sgd_n_star_ci") or [None, None])[1] for b in bs],
                            "exponent": s["exponents"].get("sgd")}
        series.append(entry)
    return {"width_curves": panels, "n_star": series}
