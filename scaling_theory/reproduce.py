"""The whole study in one call: derive and check the theory, simulate, fit, compare, report.

:func:`reproduce` writes into ``out_dir``:

- ``results.sqlite``: the sweep's result store (a rerun resumes from it; finished runs are kept),
- ``report.md`` and ``report.tex``: the findings, with agreement and disagreement stated plainly,
- ``figures/*.png``: IsoFLOP profiles, the compute-optimal frontier, model share against ``d`` and
  ``K``, and the fitted law's contours with its efficient frontier.

This module only orchestrates the stages: checks (:mod:`scaling_theory.derivations.check`),
simulation (:mod:`scaling_theory.numeric.sweep`), fits (:mod:`scaling_theory.numeric.analysis.fit`),
the comparison with the derived bound (:mod:`scaling_theory.numeric.analysis.compare`), figures
(:mod:`scaling_theory.numeric.analysis.plots`) and the report (:mod:`scaling_theory.report`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scaling_theory.errors import UserInputError
from scaling_theory.theory.jeon_van_roy import law_name
from scaling_theory.theory.teachers import kind_label

__all__ = ["reproduce", "ReproduceResult", "DEFAULT_OUT", "DEFAULT_QUICK_OUT", "default_out"]

DEFAULT_OUT = "reproduce-out"
#: the quick study's own folder, so that it never replaces the default study's report or joins its store
DEFAULT_QUICK_OUT = "reproduce-quick-out"
_THEORY_LAW = "jeon-van-roy"   # the paper's setting: the infinite-width teacher
#: the derived law each teacher kind is compared with (theory.jeon_van_roy.law_name: the one map of kinds to laws)
TEACHER_LAW = {kind: law_name(kind) for kind in ("dp", "finite")}
#: report labels of the teacher kinds
TEACHER_LABEL = {kind: kind_label(kind) for kind in ("dp", "finite")}
#: width-refinement rounds after the coarse pass (the first adds midpoints around each minimum, the
#: later ones only widths that bracket it; :func:`scaling_theory.numeric.analysis.protocol.refine_widths`)
REFINE_ROUNDS = 3


@dataclass
class ReproduceResult:
    """What :func:`reproduce` wrote and found (``to_json()`` for machines).

    Parameters
    ----------
    out_dir : the output folder; ``report_md``, ``report_tex``, ``store`` and ``figures`` lie in it.
    seconds, stage_seconds : wall time, in total and per stage (theory, simulate, fit, compare, ...).
    checks : the derivation checks' outcome (``ok``, ``message``, counts).
    sweep : :meth:`scaling_theory.numeric.sweep.runner.SweepSummary.to_json` of the simulation.
    fits : one :meth:`scaling_theory.numeric.analysis.fit.FitResult.to_json` per ``(d, K, kind)``, with those keys added.
    comparison : fitted exponents and ``p*/T*`` against the derived law's optimum, with verdicts.
    main_data : the :class:`scaling_theory.numeric.analysis.fit.FitData` of the main teacher setting (not serialised).

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

    comparisons: list = field(default_factory=list)
    throughput: float | None = None
    compute_study: dict = field(default_factory=dict)
    exponent_map: dict = field(default_factory=dict)
    refinement: dict = field(default_factory=dict)
    lr_optima: list = field(default_factory=list)
    theory: dict = field(default_factory=dict)
    diverged: dict = field(default_factory=dict)
    main_data_final: Any = None
    fits_final: dict = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Paths as strings and the findings as plain JSON (for ``reproduce --json``).

        ``seconds`` is the per-stage wall time (``total``, ``theory``, ``simulate``, ``fit``, ...),
        ``throughput`` the simulation's sum of p*T per second of the ``simulate`` stage (runs
        trained by this call only), ``throughput_rounds`` the same per sweep call (the coarse pass,
        then each refinement round: ``round``, ``runs``, ``pT``, ``seconds``, ``throughput``),
        ``comparisons`` one row per teacher and estimator (``exponent`` on the time-averaged online KL,
        ``exponent_final`` the same estimator on the final-weights KL at the same rates,
        ``exponent_val_choice`` with the rates chosen on the validation stream), ``headline`` the rows of
        the headline estimator, ``theory`` the bound's optimum per teacher (best route, trivial
        error, ``informative`` per budget), ``diverged`` the diverged runs per teacher and learning rate,
        ``compute_study`` the restricted Bayes learner, SGD and every route on the same teachers
        (``{"setting", "teachers": [{"teacher", "d", "K", "budgets": [...], "exponents", "verdicts"}]}``),
        ``exponent_map`` the model exponent by teacher, discount and route with the measured ones attached
        (``{"pitman_yor": {"rows": [...]}, "finite": {...}, "answer"}``).
        """
        return {"out_dir": str(self.out_dir), "report_md": str(self.report_md),
                "report_tex": str(self.report_tex), "store": str(self.store),
                "figures": [str(f) for f in self.figures],
                "seconds": {"total": self.seconds, **{k: v for k, v in self.stage_seconds.items() if k != "total"}},
                "stage_seconds": self.stage_seconds, "throughput": self.throughput,
                "throughput_rounds": self.refinement.get("speed", []),
                "checks": self.checks, "sweep": self.sweep,
                "fits": self.fits, "comparison": self.comparison, "comparisons": self.comparisons,
                "compute_study": self.compute_study, "exponent_map": self.exponent_map, "refinement": self.refinement, "lr_optima": self.lr_optima,
                "headline": headline_rows(self.comparisons), "theory": self.theory, "diverged": self.diverged}


def headline_rows(comparisons: list) -> list:
    """The comparison rows of the headline estimator
    (:data:`scaling_theory.numeric.analysis.protocol.HEADLINE_ESTIMATOR`), one per teacher.

    Examples
    --------
    >>> headline_rows([{"estimator": "best-sampled", "teacher": "t"}, {"estimator": "approach-3", "teacher": "t"}])
    [{'estimator': 'approach-3', 'teacher': 't'}]
    """
    from scaling_theory.numeric.analysis.protocol import HEADLINE_ESTIMATOR

    return [r for r in comparisons if r.get("estimator") == HEADLINE_ESTIMATOR]


_THEORY_KEYS = ("law", "routes_order", "routes", "C", "N_opt", "D_opt", "best_N_opt", "best_D_opt", "best_loss_opt",
                "loss_opt", "route",
                "a_local", "b_local", "a_best", "b_best", "trivial_error", "informative", "informative_budget",
                "error")


_STUDY_BUDGET_KEYS = ("C", "widths", "T", "bayes_error", "bayes_error_se", "sgd_error", "sgd_lr", "n_star",
                      "n_star_ci", "n_star_smooth", "sgd_n_star", "sgd_n_star_ci", "routes", "route_grid", "bounds",
                      "route_bound_at_n_star", "bound_holds", "bound_cells_checked")


def _study_json(study: dict) -> dict:
    """The compute study as the JSON ``reproduce --json`` reports (the per-run details of the SMC left out)."""
    teachers = []
    for t in study.get("teachers", []):
        teachers.append({"teacher": t["teacher"], "d": t["d"], "K": t["K"],
                         **{k: t[k] for k in ("sigma", "teacher_atoms", "teacher_dropped_share") if k in t},
                         "law": t["law"],
                         "teachers": t["teachers"], "particles": t["particles"],
                         "budgets": [{k: b.get(k) for k in _STUDY_BUDGET_KEYS} for b in t["budgets"]],
                         "exponents": t["exponents"], "asymptotic_exponents": t["asymptotic_exponents"],
                         "verdicts": t["verdicts"], "sgd_verdicts": t["sgd_verdicts"],
                         "seconds": t["bayes_study"]["seconds"]})
    return {"setting": study.get("setting"), "teachers": teachers}


def _theory_json(th: dict) -> dict:
    """The bound's optimum of one teacher setting as plain JSON (what the report's summary uses)."""
    return {k: th[k] for k in _THEORY_KEYS if k in th}


def _diverged_summary(analyses) -> dict:
    """``{teacher: {lr: [diverged runs, runs]}}`` over every budget and width of the study."""
    return {_teacher_label(key): analyses[key].get("runs_by_lr", {})
            for key in sorted(analyses, key=lambda k: (k[2] != "dp", k))}


# --------------------------------------------------------------------------------------------
# stages


def _log(progress: bool, text: str) -> None:
    if progress:
        sys.stderr.write(f"[reproduce] {text}\n")
        sys.stderr.flush()


def default_out(quick: bool) -> str:
    """The output folder :func:`reproduce` uses when none is given: one per protocol.

    Examples
    --------
    >>> default_out(False), default_out(True)
    ('reproduce-out', 'reproduce-quick-out')
    """
    return DEFAULT_QUICK_OUT if quick else DEFAULT_OUT


def _check_store_protocol(store_path: Path, config, quick: bool) -> None:
    """Refuse, in one line and before any work, a result store holding runs of another study.

    A run belongs to this study when its teacher setting and budget ``(d, K, kind, C)`` are among the
    protocol's (width refinement adds widths only) and its training settings (learning rate, seed)
    are too; the quick and default protocols share none, so neither can mix its runs into the
    other's store (docs/tuned-protocol.md)."""
    if not store_path.is_file():
        return
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.store import Store

    def keys(cfg) -> set[tuple]:
        return {(r.d, r.K, r.teacher, float(r.compute), float(r.lr), int(r.seed)) for r in cfg.expand()[0]}

    ours = keys(config)
    with Store(store_path) as store:
        rows = store.rows()
    foreign = [r for r in rows if (int(r["d"]), int(r["K"]), str(r["teacher"]), float(r["compute"]),
                                   float(r["lr"]), int(r["seed"])) not in ours]
    if not foreign:
        return
    other = keys(SweepConfig.protocol(quick=not quick))
    theirs = all((int(r["d"]), int(r["K"]), str(r["teacher"]), float(r["compute"]), float(r["lr"]),
                  int(r["seed"])) in other for r in foreign)
    made_by = (f"the {'default' if quick else 'quick'} study (reproduce{'' if quick else ' --quick'})" if theirs
               else "another sweep")
    raise UserInputError(f"{store_path} holds {len(foreign)} runs of {made_by}; the "
                         f"{'quick' if quick else 'default'} study keeps its own store: choose another output "
                         f"folder (default {default_out(quick)})")


def _prepare_output(out_dir, config=None, quick: bool = False) -> Path:
    """The output folder with ``figures/`` in it; refuses a bad path, or a store made by another
    study (:func:`_check_store_protocol`), before any work starts and before anything is written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"output path {out} exists and is not a directory")
    for name in ("report.md", "report.tex"):  # refuse before hours of work, not after
        if (out / name).is_dir():
            raise UserInputError(f"cannot write {out / name}: it is a directory")
    from scaling_theory.numeric.sweep.store import check_regular_file

    check_regular_file(out / "results.sqlite")  # a FIFO there would block the sweep's first read
    if config is not None:
        _check_store_protocol(out / "results.sqlite", config, quick)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserInputError(f"cannot create output directory {out}: {err.strerror or err}") from None
    return out


def _run_checks(checks: bool) -> dict[str, Any]:
    """Derivation checks (:func:`scaling_theory.derivations.check.run_checks`), summarised for the report."""
    if not checks:
        return {"available": True, "ok": None, "message": "derivation checks skipped (checks=False)"}
    from scaling_theory.derivations.check import run_checks

    report = run_checks()
    return {"available": True, "ok": bool(report.ok), "steps_verified": int(report.steps_verified),
            "failed": int(report.failed),
            "message": f"{report.steps_verified} derivation steps verified, {report.failed} failed"}


def _warm_kernels(stage: str, quick: bool) -> None:
    """Compile the kernels of ``stage`` (or load them from Numba's on-disk cache) on a tiny problem with
    the study's settings, so that the cache holds every signature the stage then calls.  Run in a
    child process by :func:`_start_warmup`.

    ``"simulate"``: two runs of the protocol's grid (the sweep workers' trainer, its parallel kernel and
    the evaluator); ``"bayes"``: the compute study's SMC sampler (restricted learners) and SGD students.
    """
    if stage == "simulate":
        from scaling_theory.numeric.sweep.config import SweepConfig
        from scaling_theory.numeric.sweep.runner import train_runs

        grid = {k: v for k, v in SweepConfig.protocol(quick=quick).to_dict()["grid"][0].items() if k != "name"}
        tiny = SweepConfig.from_dict({**grid, "kind": grid["kind"][:1], "budgets": [2e3], "widths": [1, 2],
                                      "seeds": [0], "lr": grid["lr"][:1], "eval_samples": 100, "min_samples": 10})
        train_runs(tiny.expand()[0])  # two students: the parallel kernel and everything it calls
    elif stage == "bayes":
        from scaling_theory.numeric.analysis.compute_study import compute_study
        from scaling_theory.numeric.bayes.study import SETTINGS

        for teacher, s in SETTINGS["quick"].items():   # the restricted learners and the SGD students, tiny
            compute_study(teacher, s["d"], s["K"], s["budgets"][:1], s["widths"][:2], teachers=2, particles=100,
                          bootstrap=2, sigma=s.get("sigma"))
    else:
        raise ValueError(f"no kernels to warm for stage {stage!r}")


def _start_warmup(stage: str, quick: bool, runner=None):
    """:func:`_warm_kernels` in a child process, started while this one runs single-threaded work
    (the derivation checks before ``simulate``, the analysis before ``bayes``), so a first run on a
    fresh machine compiles on the idle core instead of in the stage (in every sweep worker at
    once); with a warm cache it is a few seconds of the idle core.  ``None`` for a custom sweep
    ``runner``.  If it fails, the stage compiles as it would have."""
    import subprocess

    if runner is not None:
        return None
    # the child ends with this process, however it ends (kill -9 included)
    code = (f"from scaling_theory.numeric.sweep.executors import exit_with_parent; exit_with_parent({os.getpid()}); "
            f"from scaling_theory.reproduce import _warm_kernels; _warm_kernels({stage!r}, {bool(quick)})")
    try:
        return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    except OSError:
        return None


@contextlib.contextmanager
def _warming(child):
    """Stop a warm-up child that is still running when the block ends (an error, Ctrl-C)."""
    try:
        yield child
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()


def _simulate(config, store_path: Path, *, progress: bool, workers, runner) -> dict[str, Any]:
    from scaling_theory.numeric.sweep.runner import run_sweep

    kwargs: dict[str, Any] = {"progress": progress, "workers": workers}
    if runner is not None:
        kwargs["runner"] = runner
    return run_sweep(config, store_path, **kwargs).to_json()



def _rows_by_teacher(config, store_path: Path, status: str = "done") -> dict[tuple, list]:
    """This sweep's runs of one ``status`` (finished ones by default) from the store, by teacher
    setting ``(d, K, kind)``."""
    from scaling_theory.numeric.sweep.store import Store

    wanted = {r.config_hash for r in config.expand()[0]}
    with Store(store_path) as store:
        rows = [r for r in store.rows(status) if r["config_hash"] in wanted]
    by_key: dict[tuple, list] = {}
    for r in rows:
        by_key.setdefault((int(r["d"]), int(r["K"]), str(r["teacher"])), []).append(r)
    return by_key


def _merge_sweeps(first: dict[str, Any] | None, later: dict[str, Any]) -> dict[str, Any]:
    """One summary for the coarse pass and its refinement rounds (counts added, the store's state last)."""
    if first is None:
        return later
    out = dict(later)
    for k in ("done", "diverged", "concurrent", "seconds", "pT"):
        out[k] = first.get(k, 0) + later.get(k, 0)
    # the later sweep holds the earlier one: what it found in the store, less what the earlier calls wrote
    out["already"] = later.get("already", 0) - sum(first.get(k, 0) for k in ("done", "diverged", "concurrent"))
    return out


def _simulate_refined(config, store_path: Path, *, progress: bool, workers, runner) -> tuple[Any, dict, dict]:
    """The coarse sweep, then up to :data:`REFINE_ROUNDS` rounds of widths around each budget's minimum
    (same store, so a rerun resumes). Returns the refined config, the merged summary and the
    refinement record ``{"rounds", "added": {teacher: {C: widths}}, "unbracketable": {teacher: {C: why}}}``."""
    from scaling_theory.numeric.analysis.protocol import cell_table, error_key, refine_widths

    sweep = _merge_sweeps(None, _simulate(config, store_path, progress=progress, workers=workers, runner=runner))
    record: dict[str, Any] = {"rounds": 0, "added": {}, "unbracketable": {}, "speed": [_round_speed("coarse", sweep)]}
    for round_ in range(REFINE_ROUNDS):
        added, stuck = {}, {}
        for key, part in _rows_by_teacher(config, store_path).items():
            cells = cell_table(part, key=error_key(part))
            more, why = refine_widths(cells, key[0], min_samples=config.min_samples,
                                      cost_factor=config.cost_factor, midpoints=round_ == 0)
            if more:
                added[key] = more
            if why:
                stuck[key] = why
        record["unbracketable"] = {_teacher_label(k): {f"{C:g}": w for C, w in v.items()} for k, v in stuck.items()}
        if not added:
            break
        record["rounds"] = round_ + 1
        for key, more in added.items():
            into = record["added"].setdefault(_teacher_label(key), {})
            for C, ws in more.items():
                into[f"{C:g}"] = sorted(set(into.get(f"{C:g}", [])) | set(ws))
        _log(progress, f"refinement round {round_ + 1}: "
                       + "; ".join(f"{_teacher_label(k)}: " + ", ".join(f"C={C:g} +{len(w)}" for C, w in m.items())
                                   for k, m in added.items()))
        config = config.with_widths(added)
        later = _simulate(config, store_path, progress=progress, workers=workers, runner=runner)
        record["speed"].append(_round_speed(f"refinement {round_ + 1}", later))
        sweep = _merge_sweeps(sweep, later)
    sweep["training"] = _training_description(config)
    return config, sweep, record


def _round_speed(name: str, summary: dict[str, Any]) -> dict[str, Any]:
    """One sweep call's share of the ``simulate`` stage: runs it trained, their p*T, its wall seconds
    (pool start-up and store writes included) and the rate (``None`` when it trained nothing)."""
    runs = summary.get("done", 0) + summary.get("diverged", 0)
    pT, seconds = float(summary.get("pT", 0.0)), float(summary.get("seconds", 0.0))
    return {"round": name, "runs": runs, "pT": pT, "seconds": seconds,
            "throughput": pT / seconds if runs and seconds > 0 else None}


def _training_description(config) -> str:
    """How the students were trained, in one line (every value the sweep's grids cross)."""
    def values(name):
        return sorted({v for g in config.grids for v in getattr(g, name)})

    schedules = {"constant": "lr0", "inverse": "lr0/(1 + t/t0)", "inverse_sqrt": "lr0/sqrt(1 + t/t0)"}
    pars = {"standard": "standard parametrisation", "mup": "muP parametrisation (base width 1)"}
    return (f"single-pass {'/'.join(o.upper() if o == 'sgd' else o.capitalize() for o in values('optimizer'))}, "
            f"batch size {', '.join(map(str, values('batch_size')))}, "
            f"{' and '.join(pars[p] for p in values('parametrisation'))}, "
            f"{' and '.join(values('precision'))} weights, "
            f"rate {' or '.join(schedules[x] for x in values('schedule'))} with t0 in "
            f"{{{', '.join(f'{t:g}' for t in values('t0'))}}} and lr0 in {{{', '.join(f'{x:g}' for x in values('lr'))}}} "
            f"(chosen per budget and width on the time-averaged online KL), seeds {{{', '.join(map(str, values('seeds')))}}}")


def _teacher_law(teacher: str) -> tuple[str, float | None]:
    """The law of a teacher named as the store names it (``dp``, ``pitman-yor(sigma=0.5)``) and its discount;
    :data:`_THEORY_LAW` for a name that is no teacher kind."""
    from scaling_theory.numeric.sweep.config import split_teacher_tag

    if teacher in TEACHER_LAW:
        return TEACHER_LAW[teacher], None
    try:
        kind, sigma = split_teacher_tag(teacher)
    except UserInputError:
        return _THEORY_LAW, None
    return law_name(kind, sigma=sigma), sigma


def _teacher_label(key) -> str:
    return f"{TEACHER_LABEL.get(key[2], key[2])} d={key[0]} K={key[1]}"


def _protocol(config, store_path: Path, n_boot: int) -> tuple[dict, set]:
    """Learning-rate choice and estimators per teacher setting (:mod:`scaling_theory.numeric.analysis.protocol`).

    Returns the analyses by ``(d, K, kind)`` (each with its ``lr_curves``) and the config hashes of
    the runs at the chosen rates.
    """
    from scaling_theory.numeric.analysis.protocol import analyse, diverged_counts, lr_curves

    analyses, chosen = {}, set()
    diverged = _rows_by_teacher(config, store_path, "diverged")
    for key, part in _rows_by_teacher(config, store_path).items():
        analyses[key] = analyse(part, bootstrap=n_boot, seed=0)
        analyses[key]["lr_curves"] = lr_curves(part, key=analyses[key]["error_key"])
        analyses[key]["diverged"] = diverged_counts(part + diverged.get(key, []))
        by_lr: dict[str, list[int]] = {}
        for r in part + diverged.get(key, []):
            acc = by_lr.setdefault(f"{float(r['lr']):g}", [0, 0])
            acc[0] += r["status"] == "diverged"
            acc[1] += 1
        analyses[key]["runs_by_lr"] = dict(sorted(by_lr.items(), key=lambda kv: float(kv[0])))
        cells = analyses[key]["cells"]
        for r in part:
            cell = cells.get((float(r["compute"]), int(r["params"])))
            if cell is not None and float(r["lr"]) == cell["lr"]:
                chosen.add(r["config_hash"])
    return analyses, chosen


def _comparisons(analyses, theory, unbracketable=None) -> list[dict[str, Any]]:
    """One row per teacher setting and estimator, with the verdict against the bound.

    A budget whose minimum is not bracketed by two sampled widths on each side makes every row of
    its teacher ``inconclusive``, with a ``note`` naming the budgets (and why more widths could not
    be added, from ``unbracketable``)."""
    from scaling_theory.numeric.analysis.protocol import ESTIMATORS, MIN_SIDE, verdict

    out = []
    for key in sorted(analyses, key=lambda k: (k[2] != "dp", k)):
        res = analyses[key]
        th = theory.get(key) or {}
        bound = th.get("a_best", th.get("a_local"))  # the better proof route's exponent (finite: direct)
        if bound is not None and abs(bound) < 1e-9:
            bound = 0.0  # a flat p* (finite teacher's direct route): the fitted slope's rounding residue
        cis = [res["ci"][e] for e in ESTIMATORS if res["estimates"].get(e) is not None]
        why = (unbracketable or {}).get(_teacher_label(key), {})
        note = ""
        if res["unbracketed"]:
            note = (f"minimum not bracketed by {MIN_SIDE} sampled widths on each side at C = "
                    + ", ".join(f"{C:g}" + (f" ({why[f'{C:g}']})" if f"{C:g}" in why else "")
                                for C in res["unbracketed"]))
        for est in ESTIMATORS:
            value = res["estimates"].get(est)
            ci = res["ci"].get(est)
            out.append({"teacher": _teacher_label(key),
                        "kind": key[2], "d": key[0], "K": key[1], "law": th.get("law"),
                        "estimator": est, "exponent": value, "ci": ci, "bound_exponent": bound,
                        "exponent_final": res.get("final_estimates", {}).get(est),
                        "exponent_val_choice": res.get("val_choice", {}).get(est),
                        "lr_choice": res.get("lr_choice"),
                        "bound_route": sorted(set(th.get("route", []))) or None,
                        "error_kind": res["error_kind"], "seeds": res["seeds"], "teachers": res["teachers"],
                        "verdict": verdict(value, ci, bound, cis, bracketed=not res["unbracketed"]),
                        "note": note})
    return out


def _arm_comparisons(config, store_path: Path, n_boot: int) -> tuple[dict, list[dict[str, Any]]]:
    """The analyses (:func:`_protocol`) and comparison rows (:func:`_comparisons`) of one sweep in a
    store, against each teacher kind's own law at the sweep's budgets: what ``reproduce`` reports,
    for studies that run the protocol in arms (``benchmarks/optimizer_study.py``,
    ``benchmarks/precision_study.py``)."""
    from scaling_theory.numeric.analysis.compare import law_params, theory_curve
    from scaling_theory.theory.registry import get_law

    analyses, _ = _protocol(config, store_path, n_boot)
    theory = {}
    for key, res in analyses.items():
        name, sigma = _teacher_law(key[2])
        law = get_law(name)
        theory[key] = theory_curve(law, law_params(law, key[0], key[1], sigma), sorted({C for C, _ in res["cells"]}))
    return analyses, _comparisons(analyses, theory)


def _lr_optima(analyses) -> list[dict[str, Any]]:
    """Per teacher and budget: each width's best learning rate (seed mean) and whether it is stable."""
    from scaling_theory.numeric.analysis.protocol import lr_optima

    out = []
    for key in sorted(analyses, key=lambda k: (k[2] != "dp", k)):
        for C, o in lr_optima(analyses[key]["lr_curves"]).items():
            out.append({"teacher": _teacher_label(key), "C": C, "mode": o["mode"], "stable": o["stable"],
                        "spread_steps": o["spread_steps"], "best": {str(p): lr for p, lr in o["best"].items()}})
    return out


def _fit_groups(analyses, n_boot: int, cost: float) -> tuple[dict, dict, dict, dict]:
    """Chinchilla's approaches 1-3 per teacher setting ``(d, K, kind)`` on the protocol's cells: the
    same runs, learning rates and error kind as the estimators (approach 3 with the ``approach-3``
    estimator's weights, so its point estimate is that estimator's).  Returns the data and fits of the
    reported error, then those of the final-weights KL at the same rates (point estimates only)."""
    from scaling_theory.numeric.analysis.fit import fit
    from scaling_theory.numeric.analysis.protocol import approach3_weights, cells_to_data

    groups, fits, groups_final, fits_final = {}, {}, {}, {}
    for key, res in analyses.items():
        d, K, kind = key
        cells = res["cells"]
        groups[key] = cells_to_data(cells, d=d, K=K, kind=kind, cost=cost, source=res["error_kind"])
        groups_final[key] = cells_to_data(cells, d=d, K=K, kind=kind, cost=cost, final=True,
                                          source="final-weights KL")
        fits[key] = fit(groups[key], "all", bootstrap=n_boot, seed=0, irreducible=False,
                        weights=approach3_weights(cells))
        final_cells = {k: {**c, "error": c["final"], "se": c["final_se"]} for k, c in cells.items()}
        fits_final[key] = fit(groups_final[key], "all", bootstrap=0, seed=0, irreducible=False,
                              weights=approach3_weights(final_cells))
    return groups, fits, groups_final, fits_final


def _theory_at_budgets(law, groups, main_key) -> dict[tuple, dict[str, Any]]:
    """The derived bound's optimum at each teacher setting's budgets (cross-checked for the main one);
    ``law=None``: each teacher kind's own law (:data:`TEACHER_LAW`)."""
    from scaling_theory.numeric.analysis.compare import law_params, theory_curve
    from scaling_theory.theory.registry import get_law

    theory: dict[tuple, dict[str, Any]] = {}
    fixed = law
    for key, part in groups.items():
        d, K, _kind = key
        name, sigma = _teacher_law(_kind)
        law = fixed if fixed is not None else get_law(name)
        budgets = sorted(set(part.budget.tolist()))
        try:
            theory[key] = theory_curve(law, law_params(law, int(d), int(K), sigma), budgets, cross_check=key == main_key,
                                       informative=True)
        except (ValueError, ArithmeticError, UserInputError) as err:
            theory[key] = {"law": law.name, "error": f"no derived optimum ({err})"}
    return theory


def study_mode(quick: bool, full: bool) -> str:
    """The compute study's setting (:data:`scaling_theory.numeric.bayes.study.SETTINGS`) for a reproduce call."""
    if quick and full:
        raise UserInputError("--quick and --full exclude each other")
    return "quick" if quick else ("full" if full else "default")


def _compute_study(mode: str, out: Path, progress: bool) -> tuple[dict[str, Any], list[Path]]:
    """The compute study for both teachers (:func:`scaling_theory.numeric.analysis.compute_study.compute_study`):
    the restricted Bayes learner over a width grid at each budget, SGD on the same teachers, every route of the
    teacher's law beside them, and the two figures.  A route below the measured Bayes error at some cell stops
    the study loudly (:class:`scaling_theory.numeric.bayes.study.BoundFailure` names the cell)."""
    from scaling_theory.numeric.analysis.compute_study import compute_study, figure_data
    from scaling_theory.numeric.analysis.plots import bayes_n_star, bayes_width_curves
    from scaling_theory.numeric.bayes.study import SETTINGS

    teachers = []
    for kind in ("dp", "finite", "pitman-yor"):
        s = dict(SETTINGS[mode][kind])
        res = compute_study(kind, s.pop("d"), s.pop("K"), s.pop("budgets"), s.pop("widths"), **s,
                            bootstrap=200 if mode == "quick" else 1000,
                            progress=(lambda m: _log(progress, "  " + m)))
        teachers.append(res)
    data = figure_data(teachers)
    figs = [Path(bayes_width_curves(data["width_curves"], out / "figures" / "compute_width.png")),
            Path(bayes_n_star(data["n_star"], out / "figures" / "compute_n_star.png"))]
    return {"setting": mode, "teachers": teachers}, figs


def _exponent_map(study: dict, out: Path) -> tuple[dict[str, Any], list[Path]]:
    """The exponent map (:func:`scaling_theory.numeric.analysis.exponent_map.exponent_map`) of the Pitman-Yor
    teacher at its default discounts and of the finite teacher, with the compute study's measured exponents
    attached to their discounts (the DP at 0, the Pitman-Yor teacher at its own), and its figure."""
    from scaling_theory.numeric.analysis.exponent_map import exponent_map, measured_from_studies

    measured = measured_from_studies(study["teachers"])
    py = exponent_map("pitman-yor", measured={k: v for k, v in measured.items() if k != "finite"})
    finite = exponent_map("finite", measured={k: v for k, v in measured.items() if k == "finite"})
    both = dataclasses.replace(py, rows=py.rows + finite.rows)      # one figure: the finite teacher in its own slot
    fig = Path(both.figure(out / "figures" / "exponent_map.png"))
    return {"pitman_yor": py.to_json(), "finite": finite.to_json(), "answer": py.answer()}, [fig]


def _lr_figure(analyses, out: Path) -> Path:
    """``figures/lr_sensitivity.png``: error against learning rate per width, for every teacher and budget."""
    from scaling_theory.numeric.analysis.plots import lr_sensitivity

    panels, kinds = [], set()
    for key in sorted(analyses, key=lambda k: (k[2] != "dp", k)):
        res = analyses[key]
        kinds.add(res["error_kind"])
        for C in sorted({C for C, _ in res["lr_curves"]}):
            panels.append({"teacher": _teacher_label(key), "C": C,
                           "curves": {p: c for (c_, p), c in res["lr_curves"].items() if c_ == C},
                           "diverged": {p: c for (c_, p), c in res.get("diverged", {}).items() if c_ == C}})
    return Path(lr_sensitivity(panels, out / "figures" / "lr_sensitivity.png",
                               ylabel=" / ".join(sorted(kinds)) + " (nats)"))


def _write_reports(result: "ReproduceResult", fits, theory, main_key, quick: bool, out: Path) -> None:
    from scaling_theory._files import write_atomic
    from scaling_theory.report import study_report, to_latex, to_markdown

    blocks = study_report(result, fits, theory, main_key, quick, out)
    write_atomic(result.report_md, to_markdown(blocks))
    write_atomic(result.report_tex, to_latex(blocks))


# --------------------------------------------------------------------------------------------
# main entry


def reproduce(out_dir: str | os.PathLike | None = None, *, quick: bool = False, progress: bool = True,
              bootstrap: int | None = None, workers: int | None = None,
              runner: Callable | None = None, checks: bool = True, full: bool = False) -> ReproduceResult:
    """Run the whole study and write the report, figures and result store into ``out_dir``.

    Parameters
    ----------
    out_dir : output folder (created); ``results.sqlite`` there is reused, so a rerun resumes.  Default
        ``reproduce-out``, and ``reproduce-quick-out`` for the quick study (:func:`default_out`); a
        folder whose store holds another study's runs is refused.
    quick : the toy study (``SweepConfig.protocol(quick=True)``, well under a minute) instead of
        the default (``SweepConfig.protocol()``).
    progress : progress lines and the sweep's progress bar on stderr.
    bootstrap : bootstrap resamples of the fits (default 200, quick 50).
    workers : sweep worker processes (default: all cores).
    runner : replaces the trainer (``scaling_theory.numeric.sweep.runner.run_sweep``'s ``runner``; for tests and demos).
    checks : run the derivation checks (``False`` skips them, and the report says so).
    full : the larger compute study (2.5 decades of compute, d = 8; about 20 minutes on 2 cores) in place
        of the default one (1.8 decades, d = 4); the SGD sweep is the default one either way.

    Returns
    -------
    ReproduceResult listing every file written and the findings.

    Raises
    ------
    UserInputError
        If ``out_dir`` (or a report path in it) cannot be written, or its ``results.sqlite`` holds runs
        of another study (the quick one in the default one's folder, or the reverse); checked before
        any work starts.

    Examples
    --------
    The quick study is the toy version of :meth:`scaling_theory.numeric.sweep.config.SweepConfig.protocol`
    (shown here without running it; ``reproduce(out, quick=True)`` takes well under a minute):

    >>> from scaling_theory.numeric.sweep.config import SweepConfig
    >>> runs, _ = SweepConfig.protocol(quick=True).expand()
    >>> len(runs), sorted({r.compute for r in runs}), sorted({(r.d, r.K, r.kind) for r in runs})
    (256, [10000.0, 100000.0, 1000000.0], [(4, 8, 'dp'), (4, 8, 'finite')])
    >>> len(SweepConfig.protocol().expand()[0])      # the full study
    1360

    A bad output path is refused at once, before any work:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     reproduce(f.name, quick=True, progress=False)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: output path ... exists and is not a directory

    References
    ----------
    docs/paper-setting.md "Empirical check"; Jeon & Van Roy, arXiv:2212.01365; Hoffmann et al. (2022).
    """
    from scaling_theory.numeric.analysis.compare import best_sampled, compare
    from scaling_theory.numeric.analysis.plots import study_figures
    from scaling_theory.numeric.sweep.config import SweepConfig

    started = time.perf_counter()
    stages: dict[str, float] = {}
    mode = study_mode(quick, full)
    config = SweepConfig.protocol(quick=quick)
    out = _prepare_output(default_out(quick) if out_dir is None else out_dir, config, quick)
    store_path = out / "results.sqlite"
    n_boot = bootstrap if bootstrap is not None else (50 if quick else 200)

    def stage(name: str, message: str, fn, *args, **kwargs):
        _log(progress, message)
        t0 = time.perf_counter()
        value = fn(*args, **kwargs)
        stages[name] = time.perf_counter() - t0
        return value

    def compiled(name: str, child) -> None:
        """Wait for a warm-up child still compiling (its own stage, so no other stage's time has it)."""
        if child is not None and child.poll() is None:
            what = {"compile_simulate": "simulator's", "compile_bayes": "SMC sampler's"}[name]
            stage(name, f"compiling the {what} kernels (once per machine) ...", child.wait)

    with _warming(_start_warmup("simulate", quick, runner)) as warm:  # compiles on the core the checks leave idle
        check_result = stage("theory", "checking the derivations ..." if checks else "derivation checks skipped",
                             _run_checks, checks)
        _log(progress, check_result["message"])
        compiled("compile_simulate", warm)
    config, sweep, refinement = stage(
        "simulate", f"simulating ({'quick' if quick else 'default'} sweep, then width refinement) into "
        f"{store_path} ...", _simulate_refined, config, store_path, progress=progress, workers=workers, runner=runner)
    with _warming(_start_warmup("bayes", quick)) as warm_bayes:  # compiles while the analysis runs on one core
        analyses, _chosen = stage("protocol", "choosing learning rates, estimators (bootstrap "
                                  f"{n_boot} over seeds) ...", _protocol, config, store_path, n_boot)
        groups, fits, groups_final, fits_final = stage(
            "fit", f"fitting Chinchilla's approaches on the same cells (bootstrap {n_boot}) ...", _fit_groups,
            analyses, n_boot, float(config.cost_factor))
        # the paper's setting first: the infinite-width teacher is the main one when it was run
        main_key = max(fits, key=lambda k: (k[2] == "dp", fits[k].n_budgets, fits[k].n_points))
        theory = stage("compare", "comparing with the derived laws "
                       f"({', '.join(f'{k}: {v}' for k, v in TEACHER_LAW.items())}) ...",
                       _theory_at_budgets, None, groups, main_key)
        comparisons, comparison, lr_opt = stage(
            "tables", "tabulating the verdicts ...", lambda: (
                _comparisons(analyses, theory, refinement["unbracketable"]),
                compare(fits, theory, main_key, None, fits_final), _lr_optima(analyses)))
        comparison["best_sampled"] = best_sampled(groups[main_key])
        figures = stage("figures", "drawing figures ...", study_figures, groups, fits, theory, comparison, main_key,
                        out / "figures")
        compiled("compile_bayes", warm_bayes)
    study, study_figures = stage("bayes", f"the compute study ({mode} setting): the restricted Bayes learner over "
                                 "widths at each budget, SGD on the same teachers, every proof route ...",
                                 _compute_study, mode, out, progress)
    emap, map_figures = stage("exponent_map", "the exponent map: each teacher's model exponent by proof route, "
                              "the measured ones beside them ...", _exponent_map, study, out)
    figures = [*figures, *study_figures, *map_figures]
    figures.append(stage("figures_lr", "drawing the learning-rate figure ...", _lr_figure, analyses, out))

    stages["total"] = time.perf_counter() - started
    # what no stage holds (output folder, bookkeeping between stages), so the stages add up to the total
    stages["other"] = max(0.0, stages["total"] - sum(v for k, v in stages.items() if k != "total"))
    fit_json = [{"d": int(k[0]), "K": int(k[1]), "kind": str(k[2]), **r.to_json(),
                 "final_weights": {str(a): {"a": f.a, "b": f.b} for a, f in fits_final[k].approaches.items() if f.ok}}
                for k, r in fits.items()]
    result = ReproduceResult(out, out / "report.md", out / "report.tex", store_path, figures, stages["total"],
                             check_result, sweep, fit_json, comparison, stages, groups[main_key])
    result.comparisons = comparisons
    result.compute_study = _study_json(study)
    result.exponent_map = emap
    result.refinement = refinement
    result.lr_optima = lr_opt
    result.theory = {_teacher_label(k): _theory_json(v) for k, v in theory.items()}
    result.diverged = _diverged_summary(analyses)
    result.main_data_final = groups_final[main_key]
    result.fits_final = fits_final
    trained = sweep.get("done", 0) + sweep.get("diverged", 0)
    if trained and not sweep.get("already") and stages.get("simulate"):  # a resumed sweep has no rate
        spent = sweep.get("pT", 0.0)  # p*T of the runs the sweep calls recorded
        result.throughput = spent / stages["simulate"] if spent else None
    t0 = time.perf_counter()
    _write_reports(result, fits, theory, main_key, quick, out)
    stages["report"] = time.perf_counter() - t0
    result.seconds = stages["total"] = stages["total"] + stages["report"]
    _log(progress, f"done in {result.seconds:.1f} s: {result.report_md}")
    return result
