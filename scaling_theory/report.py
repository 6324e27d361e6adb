"""The study report as one document model, rendered to Markdown and to LaTeX.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Bullets`,
:class:`Table`, :class:`Figure`); :func:`to_markdown` and :func:`to_latex` render the same list, so
the Markdown and LaTeX reports say the same thing and every table is built once.  Inline code is
written between backticks in plain text (``\\texttt`` in LaTeX).  :func:`study_report` builds the
blocks of ``scaling-theory reproduce``'s report.

Examples
--------
>>> blocks = [Heading(1, "Study"), Paragraph("Run `scaling-theory reproduce` & read."),
...           Table(["a", "b [95% CI]"], [["0.5", "0.4 [0.3, 0.6]"]])]
>>> print(to_markdown(blocks))
# Study
<BLANKLINE>
Run `scaling-theory reproduce` & read.
<BLANKLINE>
| a | b [95% CI] |
|---|---|
| 0.5 | 0.4 [0.3, 0.6] |
<BLANKLINE>
>>> tex = to_latex(blocks)
>>> "\\\\texttt{scaling-theory reproduce} \\\\& read." in tex, "0.5 & 0.4 [0.3, 0.6] \\\\\\\\" in tex
(True, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, Union

from scaling_theory.numeric.analysis.compare import best_sampled, label
from scaling_theory.numeric.analysis.results import format_number
from scaling_theory.theory.latex import latex_preamble, latex_text

__all__ = ["Heading", "Paragraph", "Bullets", "Table", "Figure", "to_markdown", "to_latex", "study_report",
           "rates_by_round"]


@dataclass(frozen=True)
class Heading:
    """A section heading; ``level`` 1 is the title."""

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (backticks mark inline code)."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A bulleted list of plain-text items."""

    items: Sequence[str]


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells, one header row."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Figure:
    """A figure: an image path relative to the report, and a caption."""

    path: str
    caption: str


Block = Union[Heading, Paragraph, Bullets, Table, Figure]


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Paragraph):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(b.columns) + " |")
            out.append("|" + "---|" * len(b.columns))
            out += ["| " + " | ".join(str(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{b.caption}]({b.path})", ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    """Plain text with `code` spans, escaped for LaTeX text mode."""
    parts = str(text).split("`")
    return "".join(latex_text(p) if i % 2 == 0 else r"\texttt{" + latex_text(p) + "}" for i, p in enumerate(parts))


def to_latex(blocks: Sequence[Block]) -> str:
    """The blocks as a complete LaTeX document (the toolkit's one preamble)."""
    out = [latex_preamble().rstrip("\n")]
    for b in blocks:
        if isinstance(b, Heading):
            command = {1: r"\section*", 2: r"\subsection*"}.get(b.level, r"\subsubsection*")
            out.append(f"{command}{{{_inline(b.text)}}}")
        elif isinstance(b, Paragraph):
            out += [_inline(b.text), ""]
        elif isinstance(b, Bullets):
            out += [r"\begin{itemize}", *(r"\item " + _inline(item) for item in b.items), r"\end{itemize}"]
        elif isinstance(b, Table):
            out += [r"\begin{center}\small", r"\begin{tabular}{" + "l" * len(b.columns) + "}", r"\toprule",
                    " & ".join(_inline(c) for c in b.columns) + r" \\", r"\midrule",
                    *(" & ".join(_inline(c) for c in row) + r" \\" for row in b.rows),
                    r"\bottomrule", r"\end{tabular}", r"\end{center}"]
        elif isinstance(b, Figure):
            path = b.path.replace(os.sep, "/")
            out += [r"\begin{figure}[h]\centering", rf"\includegraphics[width=0.8\linewidth]{{{path}}}",
                    r"\caption{" + _inline(b.caption) + "}", r"\end{figure}"]
    out += [r"\end{document}", ""]
    return "\n".join(out)


# -- the study report ------------------------------------------------------------------------------

def _fmt_ci(x, ci) -> str:
    if x is None:
        return "not enough data to fit"
    if not ci:
        return f"{format_number(x)} (no interval)"
    return f"{format_number(x)} [{format_number(ci[0])}, {format_number(ci[1])}]"


def _fit_table(fits) -> Table:
    rows = []
    for key, res in fits.items():
        for k, r in sorted(res.approaches.items()):
            if r.ok:
                rows.append([label(key), str(k), _fmt_ci(r.a, r.ci.get("a")), _fmt_ci(r.b, r.ci.get("b")),
                             r.message or ""])
            else:
                rows.append([label(key), str(k), "-", "-", r.message])
    return Table(["teacher", "approach", "a (model) [95% CI]", "b (data) [95% CI]", "note"], rows)


def _theory_section(result, theory, main_key) -> list[Block]:
    cmp = result.comparison
    items = [f"Derivation checks: {result.checks['message']}."]
    if cmp.get("law_note"):
        items.append(f"Note: {cmp['law_note']}.")
    th = theory.get(main_key, {})
    if th.get("asymptotic_model_exponent") is not None:
        items.append(f"Law `{th['law']}`: asymptotic exponents p* ~ C^{format_number(th['asymptotic_model_exponent'])}, "
                     f"T* ~ C^{format_number(th['asymptotic_data_exponent'])} (up to log factors; "
                     f"theory.allocation, closed form: {th.get('closed_form')}).")
    if th.get("a_local") is not None:
        items.append(f"At the sweep's budgets ({label(main_key)}), the bound's optimum has local "
                     f"exponents a = {format_number(th['a_local'])}, b = {format_number(th['b_local'])} (log "
                     f"factors included; optimum from {th.get('optimum_method')}).")
    if th.get("error"):
        items.append(th["error"])
    return [Heading(2, "1. Theory"), Bullets(items)]


def rates_by_round(refinement: dict) -> str:
    """The sweep calls' rates as `` (coarse 2.7e+09 pT/s in 14.8 s; refinement 1 ...)``, or ``""``.

    ``refinement`` is :class:`scaling_theory.reproduce.ReproduceResult`'s ``refinement`` record; a call
    that trained nothing (a resumed sweep) is left out.

    Examples
    --------
    >>> rates_by_round({"speed": [{"round": "coarse", "runs": 4, "pT": 3e10, "seconds": 12.0,
    ...                            "throughput": 2.5e9}]})
    ' (coarse 2.5e+09 pT/s in 12.0 s)'
    >>> rates_by_round({})
    ''
    """
    parts = [f"{r['round']} {r['throughput']:.2g} pT/s in {r['seconds']:.1f} s"
             for r in (refinement or {}).get("speed", []) if r.get("throughput")]
    return f" ({'; '.join(parts)})" if parts else ""


def _simulation_section(result) -> list[Block]:
    s = result.sweep
    counts = s.get("store_counts", {})
    items = [f"Store: `{result.store}` ({counts.get('done', 0)} runs done, {counts.get('diverged', 0)} diverged, "
             f"{counts.get('failed', 0)} failed; this call ran {s.get('done', 0)}, {s.get('already', 0)} were "
             "already stored).",
             f"Configurations skipped (too few samples): {s.get('skipped', 0)}."]
    if s.get("training"):
        items.append(f"Training: {s['training']}.")
    if not s.get("complete", True):
        items.append(f"The sweep is incomplete ({s.get('failed', 0)} runs failed, {s.get('remaining', 0)} not "
                     "run): the fits below use the finished runs only; rerun the same command to retry.")
    if getattr(result, "throughput", None):
        items.append(f"Speed: {result.throughput:.3g} p T (parameters times samples) per second over the "
                     f"whole stage{rates_by_round(getattr(result, 'refinement', {}))}.")
    items.append("Model size = student parameters p = n(d+1); data = samples T; loss = reducible error "
                 "(Monte-Carlo KL), mean over seeds; compute C = p T.")
    return [Heading(2, "2. Simulation"), Bullets(items)]


def _trend_blocks(cmp) -> list[Block]:
    out: list[Block] = []
    for name in ("d", "K"):
        tr = cmp[f"{name}_trend"]
        fixed = ", ".join(f"{k} = {v}" for k, v in tr["fixed"].items())
        out.append(Heading(3, f"Model share against {name} ({fixed}; ratio p*/T* from approach 2)"))
        if len({r[name] for r in tr["rows"]}) < 2:
            out.append(Paragraph(f"Not enough data to fit: the sweep has fewer than two values of {name} "
                                 "sharing a budget."))
            continue
        out.append(Table(["C", name, "measured p*/T* [95% CI]", "bound p*/T*"],
                         [[f"{r['C']:.3g}", str(r[name]), _fmt_ci(r["ratio"], r["ratio_ci"]),
                           format_number(r["theory_ratio"])] for r in tr["rows"]]))
        items = []
        for v in tr["verdicts"]:
            if v.get("theory") is None and v["empirical"].startswith("not enough"):
                items.append(f"C = {v['C']:.3g}: not enough data to fit.")
                continue
            agree = ("agree in direction" if v["theory"] and v["empirical"].startswith(v["theory"])
                     else "do not agree" if v["theory"] and not v["empirical"].startswith("no clear")
                     else "cannot be compared (no clear measured trend)" if v["theory"]
                     else "theory value unavailable")
            items.append(f"C = {v['C']:.3g}, {name} from {v.get('from')} to {v.get('to')}: measured "
                         f"{v['empirical']}; bound {v['theory'] or 'n/a'}; they {agree}. Log-log slope of "
                         f"p*/T* in {name} (least squares, point estimate): measured "
                         f"{format_number(v.get('slope'), 3)}, bound {format_number(v.get('theory_slope'), 3)}.")
        out.append(Bullets(items))
    return out


def _bayes_section(rows) -> list[Block]:
    """The Bayes-optimal error L_T (SMC) against the bound it is about and SGD on the same samples."""
    if not rows:
        return []
    first = rows[0]
    failing = [r for r in rows if not r["holds"]]
    verdict = ("The bound lies above every measurement (within 2 standard errors)." if not failing else
               f"THE BOUND FAILS at {len(failing)} setting(s): a bug in a derivation (see the table).")
    return [
        Heading(2, "5. The Bayes-optimal error"),
        Paragraph(f"The bound is about the Bayesian learner's time-averaged error L_T = I(F; D_T)/T. It is measured "
                  f"here by sequential Monte Carlo on small teachers (d={first['d']}, K={first['K']}; "
                  f"{first['teachers']} teachers x {first['particles']} particles), beside the bound minimised "
                  f"over model size and the best SGD student's time-averaged online excess loss on the same "
                  f"samples. {verdict}"),
        Table(["teacher", "T", "L_T (SMC) +/- se", "bound", "bound / L_T", "SGD online", "holds", "min ESS"],
              [[r["teacher"], str(r["T"]), f"{format_number(r['error'])} +/- {format_number(r['error_se'], 2)}",
                format_number(r["bound"]), format_number(r["ratio"], 3),
                "-" if r["sgd_error"] is None else format_number(r["sgd_error"]),
                "yes" if r["holds"] else "NO", f"{r['ess_min']:.2f} P"] for r in rows]),
    ]


def _protocol_blocks(result) -> list[Block]:
    """The tuned protocol's comparisons (``reproduce --json``'s ``comparisons``), the width refinement
    and the learning-rate optima, as tables."""
    rows = getattr(result, "comparisons", None) or []
    out: list[Block] = []
    if rows:
        kinds = sorted({r["error_kind"] for r in rows})
        out += [Heading(3, "Estimators side by side (tuned protocol; intervals from a bootstrap over seeds)"),
                Paragraph(f"Model exponent a in p* ~ C^a per teacher and estimator, against the bound's local "
                          f"exponent at the same budgets; error used: {', '.join(kinds)}. A verdict is "
                          "`inconclusive` when the interval is wider than 0.15, when two estimators' intervals "
                          "do not overlap, or when a budget's minimum is not bracketed by two sampled widths on "
                          "each side."),
                Table(["teacher", "estimator", "exponent [95% CI]", "bound exponent", "error kind", "verdict"],
                      [[r["teacher"], r["estimator"], _fmt_ci(r["exponent"], r["ci"]),
                        format_number(r["bound_exponent"]) if r["bound_exponent"] is not None else "-",
                        r["error_kind"], r["verdict"]] for r in rows])]
        notes = sorted({f"{r['teacher']}: {r['note']}" for r in rows if r.get("note")})
        if notes:
            out.append(Bullets(notes))
    ref = getattr(result, "refinement", None) or {}
    if ref.get("added") or ref.get("unbracketable"):
        items = [f"{teacher}: " + "; ".join(f"C = {C}: widths {', '.join(map(str, ws))}" for C, ws in by_c.items())
                 for teacher, by_c in ref.get("added", {}).items()]
        items += [f"{teacher}, C = {C}: cannot be bracketed ({why})"
                  for teacher, by_c in ref.get("unbracketable", {}).items() for C, why in by_c.items()]
        out += [Heading(3, f"Width refinement ({ref.get('rounds', 0)} round{'' if ref.get('rounds') == 1 else 's'} "
                                    "after the coarse pass)"), Bullets(items)]
    opt = getattr(result, "lr_optima", None) or []
    if opt:
        out += [Heading(3, "Best learning rate per width (seed mean of the reported error)"),
                Table(["teacher", "C", "best lr0 by width p", "stable across widths"],
                      [[o["teacher"], f"{o['C']:.3g}", ", ".join(f"{p}: {lr:g}" for p, lr in o["best"].items()),
                        "yes" if o["stable"] else f"no ({o['spread_steps']} grid steps apart)"] for o in opt])]
    return out


def _comparison_section(result, theory, main_key) -> list[Block]:
    cmp = result.comparison
    out: list[Block] = [Heading(2, f"4. Theory against experiment ({label(main_key)})"),
                        Paragraph("Best sampled configuration per budget (lowest mean reducible error over seeds):")]
    out.append(Table(["C", "best p (sampled range)", "T", "reducible error", "where"],
                     [[f"{row['C']:.3g}", f"{row['p']:.4g} ({row['p_min']:.4g} to {row['p_max']:.4g})",
                       f"{row['T']:.4g}", f"{format_number(row['loss'])} +/- {format_number(row['se'], 2)}",
                       row["where"]] for row in best_sampled(result.main_data)]))
    th = theory.get(main_key, {})
    if "N_opt" in th:
        out.append(Paragraph("Optimum of the derived bound at the same budgets: " + ", ".join(
            f"C = {C:.3g}: p* = {N:.4g}, T* = {D:.4g}" for C, N, D in zip(th["C"], th["N_opt"], th["D_opt"])) + "."))
    if cmp.get("theory_error"):
        out.append(Paragraph(f"Theory optimum unavailable: {cmp['theory_error']}"))
    out.append(Table(["approach", "exponent", "measured [95% CI]", "bound, local", "verdict", "bound, asymptotic",
                      "verdict"],
                     [[str(r["approach"]), r["exponent"], _fmt_ci(r["value"], r["ci"]),
                       format_number(r["theory_local"]), r["verdict_local"], format_number(r["theory_asymptotic"]),
                       r["verdict_asymptotic"]] for r in cmp["exponents"]]))
    return out + _protocol_blocks(result) + _trend_blocks(cmp)


_CAVEATS = ("The bound is an upper bound on the Bayes-optimal error; the runs use single-pass SGD, so levels "
            "differ; exponents and trends are what is compared.",
            "Intervals of the fits in section 3 are bootstrap percentile intervals resampling points within each "
            "budget; those of the tuned protocol's estimators resample seeds (teachers, then seeds within a "
            "teacher). With few budgets or widths they are wide and some approaches cannot be fitted.",
            "Approach 1 takes the best sampled width per budget, so its exponents move in steps of the width grid.")


def study_report(result: Any, fits, theory, main_key, quick: bool, out: Path) -> list[Block]:
    """The blocks of the study report (``reproduce``): theory, simulation, fits, comparison, figures.

    ``result`` is a :class:`scaling_theory.reproduce.ReproduceResult`; ``fits`` and ``theory`` map each
    teacher setting ``(d, K, kind)`` to its fit and derived optimum; ``out`` is the report's folder
    (figure paths are written relative to it).
    """
    st = result.stage_seconds
    compiling = st.get("compile_simulate", 0) + st.get("compile_bayes", 0)  # waits for a first run's compilation
    blocks: list[Block] = [
        Heading(1, f"Scaling-theory study ({'quick' if quick else 'default'} run)"),
        Paragraph(f"Produced by `scaling-theory reproduce{' --quick' if quick else ''}` in "
                  f"{st.get('total', result.seconds):.1f} s (theory {st.get('theory', 0):.1f} s, "
                  + (f"compiling kernels {compiling:.1f} s, " if compiling >= 0.5 else "")
                  + f"simulate "
                  f"{st.get('simulate', 0):.1f} s, fit {st.get('fit', 0):.1f} s)."),
        *_theory_section(result, theory, main_key),
        *_simulation_section(result),
        Heading(2, "3. Fits (Chinchilla approaches; E fixed at 0 for reducible error)"),
        _fit_table(fits),
        *_comparison_section(result, theory, main_key),
        *_bayes_section(getattr(result, "bayes", [])),
        Heading(2, "6. Figures"),
        *(Figure(os.path.relpath(f, out), Path(f).stem.replace("_", " ")) for f in result.figures),
        Heading(2, "Caveats"),
        Bullets(_CAVEATS),
    ]
    return blocks
