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

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from scaling_theory.errors import UserInputError

__all__ = ["reproduce", "ReproduceResult", "DEFAULT_OUT"]

DEFAULT_OUT = "reproduce-out"
_THEORY_LAW = "jeon-van-roy-finite"   # the sweeps sample finite teachers: compare with that law (Maurey route)


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


def _prepare_output(out_dir) -> Path:
    """The output folder with ``figures/`` in it; refuses a bad path before any work starts."""
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


def _simulate(config, store_path: Path, *, progress: bool, workers, runner) -> dict[str, Any]:
    from scaling_theory.numeric.sweep.runner import run_sweep

    kwargs: dict[str, Any] = {"progress": progress, "workers": workers}
    if runner is not None:
        kwargs["runner"] = runner
    return run_sweep(config, store_path, **kwargs).to_json()


def _fit_groups(config, store_path: Path, n_boot: int) -> tuple[dict, dict]:
    """One fit per teacher setting ``(d, K, kind)``, of this sweep's runs only."""
    from scaling_theory.numeric.analysis.fit import fit, from_store, split_groups

    # the store may also hold runs of other sweep configurations
    data = from_store(store_path, config_hashes={r.config_hash for r in config.expand()[0]})
    groups = split_groups(data)
    fits = {key: fit(part, "all", bootstrap=n_boot, seed=0, irreducible=False) for key, part in groups.items()}
    return groups, fits


def _theory_at_budgets(law, groups, main_key) -> dict[tuple, dict[str, Any]]:
    """The derived bound's optimum at each teacher setting's budgets (cross-checked for the main one)."""
    from scaling_theory.numeric.analysis.compare import law_params, theory_curve

    theory: dict[tuple, dict[str, Any]] = {}
    for key, part in groups.items():
        d, K, _kind = key
        budgets = sorted(set(part.budget.tolist()))
        try:
            theory[key] = theory_curve(law, law_params(law, int(d), int(K)), budgets, cross_check=key == main_key)
        except (ValueError, ArithmeticError, UserInputError) as err:
            theory[key] = {"law": law.name, "error": f"no derived optimum ({err})"}
    return theory


def _write_reports(result: "ReproduceResult", fits, theory, main_key, quick: bool, out: Path) -> None:
    from scaling_theory._files import write_atomic
    from scaling_theory.report import study_report, to_latex, to_markdown

    blocks = study_report(result, fits, theory, main_key, quick, out)
    write_atomic(result.report_md, to_markdown(blocks))
    write_atomic(result.report_tex, to_latex(blocks))


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
    runner : replaces the trainer (``scaling_theory.numeric.sweep.runner.run_sweep``'s ``runner``; for tests and demos).
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
    The quick study is the 14-run IsoFLOP sweep of :meth:`scaling_theory.numeric.sweep.config.SweepConfig.quick`
    (shown here without running it; ``reproduce(out, quick=True)`` takes well under a minute):

    >>> from scaling_theory.numeric.sweep.config import SweepConfig
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
    scaling_theory.errors.UserInputError: output path ... exists and is not a directory

    References
    ----------
    docs/paper-setting.md "Empirical check"; Jeon & Van Roy, arXiv:2212.01365; Hoffmann et al. (2022).
    """
    from scaling_theory.numeric.analysis.compare import best_sampled, compare
    from scaling_theory.numeric.analysis.plots import study_figures
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.theory.registry import get_law

    started = time.perf_counter()
    stages: dict[str, float] = {}
    out = _prepare_output(out_dir)
    store_path = out / "results.sqlite"
    n_boot = bootstrap if bootstrap is not None else (50 if quick else 200)
    config = SweepConfig.quick() if quick else SweepConfig.default()

    def stage(name: str, message: str, fn, *args, **kwargs):
        _log(progress, message)
        t0 = time.perf_counter()
        value = fn(*args, **kwargs)
        stages[name] = time.perf_counter() - t0
        return value

    check_result = stage("theory", "checking the derivations ..." if checks else "derivation checks skipped",
                         _run_checks, checks)
    _log(progress, check_result["message"])
    law = get_law(_THEORY_LAW)
    sweep = stage("simulate", f"simulating ({'quick' if quick else 'default'} sweep) into {store_path} ...",
                  _simulate, config, store_path, progress=progress, workers=workers, runner=runner)
    groups, fits = stage("fit", f"fitting (bootstrap {n_boot}) ...", _fit_groups, config, store_path, n_boot)
    main_key = max(fits, key=lambda k: (fits[k].n_budgets, fits[k].n_points))
    theory = stage("compare", f"comparing with law {law.name!r} ...", _theory_at_budgets, law, groups, main_key)
    comparison = compare(fits, theory, main_key, None)
    figures = stage("figures", "drawing figures ...", study_figures, groups, fits, theory, comparison, main_key,
                    out / "figures")

    stages["total"] = time.perf_counter() - started
    fit_json = [{"d": int(k[0]), "K": int(k[1]), "kind": str(k[2]), **r.to_json()} for k, r in fits.items()]
    result = ReproduceResult(out, out / "report.md", out / "report.tex", store_path, figures, stages["total"],
                             check_result, sweep, fit_json, comparison, stages, groups[main_key])
    comparison["best_sampled"] = best_sampled(groups[main_key])
    _write_reports(result, fits, theory, main_key, quick, out)
    result.seconds = time.perf_counter() - started
    _log(progress, f"done in {result.seconds:.1f} s: {result.report_md}")
    return result
