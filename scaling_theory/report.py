r"""The study report as one document model, rendered to Markdown and to LaTeX.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Bullets`,
:class:`Table`, :class:`Figure`); :func:`to_markdown` and :func:`to_latex` render the same list, so
the Markdown and LaTeX reports say the same thing and every table is built once.  Inline code is
written between backticks in plain text (``\\texttt`` in LaTeX), inline math between dollar signs
(kept as it is in Markdown, which GitHub typesets; set as math in LaTeX).  Section headings
(level 2) are numbered by the renderers, in order.  Tables too wide for the page wrap their text
columns (``tabularx``).  :func:`study_report` builds the blocks of ``scaling-theory reproduce``'s
report.

Examples
--------
>>> blocks = [Heading(1, "Study"), Heading(2, "Setting"), Paragraph("Run `scaling-theory reproduce` & read $p^* \\propto C^{a}$."),
...           Table(["a", "b [95% CI]"], [["0.5", "0.4 [0.3, 0.6]"]])]
>>> print(to_markdown(blocks))
# Study
<BLANKLINE>
## 1. Setting
<BLANKLINE>
Run `scaling-theory reproduce` & read $p^* \propto C^{a}$.
<BLANKLINE>
| a | b [95% CI] |
|---|---|
| 0.5 | 0.4 [0.3, 0.6] |
<BLANKLINE>
>>> tex = to_latex(blocks)
>>> "\\& read $p^* \\propto C^{a}$." in tex, "0.5 & 0.4 [0.3, 0.6] \\\\" in tex
(True, True)
>>> print(_inline("`reproduce-out/report.md`"))     # code breaks after / . _ -
\texttt{reproduce-\allowbreak{}out/\allowbreak{}report.\allowbreak{}md}
>>> "\\subsection*{1. Setting}" in tex
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence, Union

from scaling_theory.numeric.analysis.compare import label
from scaling_theory.numeric.analysis.results import format_number
from scaling_theory.theory.latex import latex_preamble, latex_text

__all__ = ["Heading", "Paragraph", "Bullets", "Table", "Figure", "to_markdown", "to_latex", "study_report",
           "rates_by_round", "number_sections", "stage_line"]


@dataclass(frozen=True)
class Heading:
    """A section heading; ``level`` 1 is the title, level 2 a section (numbered unless ``numbered`` is false)."""

    level: int
    text: str
    numbered: bool = True


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text (backticks mark inline code, dollar signs inline math)."""

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


def number_sections(blocks: Sequence[Block]) -> list[Block]:
    """The blocks with every numbered level-2 heading prefixed ``1.``, ``2.``, ... in order.

    Examples
    --------
    >>> [b.text for b in number_sections([Heading(1, "T"), Heading(2, "A"), Heading(3, "a"), Heading(2, "B"),
    ...                                   Heading(2, "Summary", numbered=False)])]
    ['T', '1. A', 'a', '2. B', 'Summary']
    """
    out: list[Block] = []
    n = 0
    for b in blocks:
        if isinstance(b, Heading) and b.level == 2 and b.numbered:
            n += 1
            b = Heading(b.level, f"{n}. {b.text}", False)
        out.append(b)
    return out


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for b in number_sections(blocks):
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
            out += [f"![{Path(b.path).stem.replace('_', ' ')}]({b.path})", "", f"*{b.caption}*", ""]
    return "\n".join(out)


def _code(text: str) -> str:
    """A code span for LaTeX: typewriter, breakable after ``/``, ``.``, ``_`` and ``-`` (paths, module names)."""
    out = []
    for ch in text:
        out.append(latex_text(ch))
        if ch in "/._-":
            out.append(r"\allowbreak{}")
    return r"\texttt{" + "".join(out) + "}"


#: characters of the report's plain text that LaTeX sets as math (no text-companion bitmap fonts)
_MATH_CHARS = {"±": r"$\pm$", "×": r"$\times$"}


def _text(text: str) -> str:
    return "".join(_MATH_CHARS.get(ch) or latex_text(ch) for ch in text)


def _inline(text: str) -> str:
    """Plain text with `code` and $math$ spans, escaped for LaTeX text mode (math kept as it is)."""
    parts = str(text).split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(_code(part))
            continue
        pieces = part.split("$")
        if len(pieces) % 2 == 0:  # an unpaired dollar sign is text
            out.append(_text(part))
            continue
        out.append("".join(_text(p) if j % 2 == 0 else f"${p}$" for j, p in enumerate(pieces)))
    return "".join(out)


#: characters a line holds in ``\small`` (a table wider than this wraps its text columns); ``\footnotesize``
#: holds about 12% more
_LINE_CHARS = 88
#: a column with longer cells wraps (an ``X`` column); shorter ones stay on one line
_FIXED_CHARS = 28


def _plain_length(text: str) -> int:
    """Roughly how many characters ``text`` takes when typeset (math and markup counted loosely)."""
    return len(str(text).replace("`", "").replace("$", "").replace("\\", ""))


def _layout(columns: Sequence[str], rows: Sequence[Sequence[str]], line: float) -> tuple[str, list[str], bool]:
    r"""The table's LaTeX column spec, its header cells and whether it needs ``tabularx``.

    A table that fits the line keeps one ``l`` column per field.  Otherwise columns with cells up to
    :data:`_FIXED_CHARS` long stay ``l`` (their headers broken over lines no wider than their cells),
    and the others become wrapped ``X`` columns sharing the rest of the line in proportion to their
    longest cells; while the fixed ones alone are too wide, the widest of them wraps too.

    Examples
    --------
    >>> _layout(["a", "b"], [["0.5", "0.4"]], 88)
    ('ll', ['a', 'b'], False)
    >>> spec, head, wrapped = _layout(["teacher", "a [95% CI]"], [["x " * 60, "0.27 [0.13, 0.28]"]], 88)
    >>> wrapped, spec.endswith("Xl"), head
    (True, True, ['teacher', 'a [95\\% CI]'])
    """
    import textwrap

    cells = [[_plain_length(r[i]) for r in rows] or [0] for i in range(len(columns))]
    cell_w = [max(c) for c in cells]
    natural = [max(w, _plain_length(h)) for w, h in zip(cell_w, columns)]
    if sum(natural) + 2 * len(columns) <= line:
        return "l" * len(columns), [_inline(h) for h in columns], False
    least = [max(len(w) for w in (str(h).split() or [""])) for h in columns]
    fixed_w = [max(w, lw) for w, lw in zip(cell_w, least)]
    wrap = [w > _FIXED_CHARS for w in cell_w]
    while sum(w for w, x in zip(fixed_w, wrap) if not x) + 2 * len(columns) > 0.8 * line and not all(wrap):
        widest = max((i for i, x in enumerate(wrap) if not x), key=lambda i: fixed_w[i])
        wrap[widest] = True
    if not any(wrap):
        wrap[max(range(len(columns)), key=lambda i: cell_w[i])] = True
    wide = [i for i, x in enumerate(wrap) if x]
    total = sum(cell_w[i] for i in wide)
    spec, head = [], []
    for i, h in enumerate(columns):
        if wrap[i]:
            share = len(wide) * cell_w[i] / total if total else 1.0
            spec.append(r">{\raggedright\arraybackslash\hsize=" + f"{share:.3f}" + r"\hsize}X")
            head.append(_inline(h))
        else:
            spec.append("l")
            lines = textwrap.wrap(str(h), max(fixed_w[i], 1), break_long_words=False) or [""]
            # "{}" after each break: a line that starts with "[" is text, not \\'s optional length argument
            head.append(_inline(lines[0]) if len(lines) == 1 else
                        r"\shortstack[l]{" + r"\\{}".join(_inline(x) for x in lines) + "}")
    return "".join(spec), head, True


def to_latex(blocks: Sequence[Block]) -> str:
    """The blocks as a complete LaTeX document (the toolkit's one preamble, plus ``tabularx``)."""
    pre = latex_preamble().rstrip("\n").split("\n")
    out = pre[:-1] + [r"\usepackage{tabularx}", r"\usepackage{float}", pre[-1]]
    for b in number_sections(blocks):
        if isinstance(b, Heading):
            command = {1: r"\section*", 2: r"\subsection*"}.get(b.level, r"\subsubsection*")
            out.append(f"{command}{{{_inline(b.text)}}}")
        elif isinstance(b, Paragraph):
            out += [_inline(b.text), ""]
        elif isinstance(b, Bullets):
            out += [r"\begin{itemize}", *(r"\item " + _inline(item) for item in b.items), r"\end{itemize}"]
        elif isinstance(b, Table):
            small = len(b.columns) >= 7
            spec, head, wrapped = _layout(b.columns, b.rows, _LINE_CHARS * (1.12 if small else 1.0))
            begin, end = ((r"\begin{tabularx}{\linewidth}{" + spec + "}", r"\end{tabularx}") if wrapped
                          else (r"\begin{tabular}{" + spec + "}", r"\end{tabular}"))
            out += [r"\begin{center}" + (r"\footnotesize" if small else r"\small"), r"\setlength{\tabcolsep}{4pt}",
                    begin, r"\toprule", " & ".join(head) + r" \\", r"\midrule",
                    *(" & ".join(_inline(c) for c in row) + r" \\" for row in b.rows),
                    r"\bottomrule", end, r"\end{center}"]
        elif isinstance(b, Figure):
            path = b.path.replace(os.sep, "/")
            out += [r"\begin{figure}[H]\centering", rf"\includegraphics[width=0.9\linewidth]{{{path}}}",
                    r"\caption{" + _inline(b.caption) + "}", r"\end{figure}"]
    out += [r"\end{document}", ""]
    return "\n".join(out)


# -- the study report ------------------------------------------------------------------------------

#: the units every table and figure of the study uses (stated once, in the simulation section)
UNITS = ("Units: model size $p$ = student parameters = $n(d+1)$ for a student of width $n$ (hidden units); "
         "data $T$ = training samples, each seen once; compute $C = pT$ (parameters times samples); errors "
         "in nats.")

#: figure captions by file stem (a figure without one is captioned by its name)
_CAPTIONS = {
    "isoflop": "IsoFLOP profiles of the main teacher: the time-averaged online KL (nats) against model size p "
               "(parameters), one colour per budget C; dashed: approach-2 parabolas in ln p; stars: their minima; "
               "grey band: errors at or above the trivial error (a constant predictor's), where a student does no "
               "better than ignoring its input.",
    "frontier": "Compute-optimal model size p* (parameters) and data T* (samples) against compute C: the "
                "approach-2 optima (points), the three approaches' power laws, and the bound's optimum (best proof "
                "route, dashed red); grey: budgets where the bound is vacuous (its optimal value is not below the "
                "trivial error).",
    "law_contours": "The approach-3 law fitted to the time-averaged online KL of the main teacher: contours "
                    "over model size p and data T, iso-compute lines (white) and the law's efficient frontier "
                    "(red); dots: the sampled cells.",
    "compute_width": "The compute study: the restricted Bayes learner's time-averaged KL (nats) against its width n "
                     "(hidden units) at each compute budget C, with 2-standard-error bars over paired teachers and a "
                     "star at its n*; SGD students on the same teachers and data (hollow squares, dotted); each proof "
                     "route's bound (dashed, one style per route) where the route is valid.",
    "compute_n_star": "The compute study: the compute-optimal width n*(C) (hidden units) of the restricted Bayes "
                      "learner (dots, 95% bootstrap intervals over teachers; line: smoothed), of SGD on the same "
                      "teachers (hollow squares) and of each proof route (crosses, dashed), against compute C.",
    "exponent_map": "The exponent map: the compute-optimal model exponent a of each proof route against the "
                    "Pitman-Yor discount sigma (curves: symbolic; hollow points: the numeric optimum's local exponent "
                    "at C = 1e30..1e40), the DP (sigma = 0) and finite teachers marked, and the exponents of the "
                    "measured n*(C) (Bayes learner and SGD, 95% intervals) at the discounts the compute study ran; "
                    "dashed: a = 1/2, linear scaling.",
    "lr_sensitivity": "Time-averaged online KL (nats) against the learning rate lr0, one curve per model size p "
                      "(parameters), one panel per teacher and budget; bars: 95% intervals over seeds; rings: "
                      "each curve's best rate; crosses at the top edge: rates where some seed diverged (those "
                      "means are not drawn).",
}


def _fmt_ci(x, ci, digits: int = 4) -> str:
    if x is None:
        return "not enough data to fit"
    if not ci:
        return f"{format_number(x, digits)} (no interval)"
    return f"{format_number(x, digits)} [{format_number(ci[0], digits)}, {format_number(ci[1], digits)}]"


def _short(teacher: str) -> str:
    """A teacher's label for a table cell: ``infinite-width d=8 K=32``, ``finite d=8 K=32``."""
    return str(teacher).replace(" (Dirichlet-process) teacher", "").replace(" teacher", "")


def _num(x, digits: int = 4) -> str:
    return "-" if x is None else format_number(x, digits)


def _route_text(routes) -> str:
    return ", ".join(routes) if routes else "law"


def stage_line(stages: dict[str, float]) -> str:
    """The stage times as one line that adds up to the total (``other``: what falls between stages).

    Examples
    --------
    >>> stage_line({"theory": 2.0, "simulate": 3.0, "bayes": 4.5, "other": 0.5, "total": 10.0})
    '10.0 s: theory 2.0 s, simulate 3.0 s, compute study 4.5 s, other 0.5 s'
    """
    names = {"theory": "theory", "compile_simulate": "compiling the simulator", "simulate": "simulate",
             "protocol": "protocol", "fit": "fit", "compare": "compare", "tables": "tables",
             "figures": "figures", "compile_bayes": "compiling the SMC sampler", "bayes": "compute study",
             "exponent_map": "exponent map", "figures_lr": "learning-rate figure", "other": "other"}
    parts = [f"{names.get(k, k)} {v:.1f} s" for k, v in stages.items() if k not in ("total", "report")]
    return f"{stages.get('total', 0.0):.1f} s: " + ", ".join(parts)


def _teacher_kind(row) -> str:
    return "infinite-width" if row.get("kind") == "dp" else str(row.get("kind"))


def _summary(result, quick: bool) -> list[Block]:
    """The findings in a few lines: what was tested, the verdicts, whether the bound is informative at
    each budget, and the caveats that matter."""
    from scaling_theory.numeric.analysis.protocol import ESTIMATORS, HEADLINE_ESTIMATOR

    rows = getattr(result, "comparisons", None) or []
    theory = getattr(result, "theory", None) or {}
    sweep = result.sweep or {}
    counts = sweep.get("store_counts", {})
    items: list[str] = []
    settings = sorted({(r["d"], r["K"]) for r in rows})
    budgets = sorted({C for th in theory.values() for C in th.get("C", [])})
    seeds = max((r.get("seeds") or 0 for r in rows), default=0)
    if rows:
        where = "; ".join(f"d = {d}, K = {K}" for d, K in settings)
        span = f"C = {budgets[0]:.0e} to {budgets[-1]:.0e}" if budgets else "the sweep's budgets"
        items.append(
            "Tested: whether single-pass SGD students of a one-hidden-layer teacher put compute into model size as "
            "the Jeon-Van Roy bound's optimum does, $p^* \\propto C^a$, for the infinite-width and the finite "
            f"teacher ({where}; {span}; {counts.get('done', 0) + counts.get('diverged', 0)} runs, "
            f"{counts.get('diverged', 0)} of them diverged; {seeds} seeds"
            + ("; the quick toy study, whose numbers test the pipeline, not the theory" if quick else "") + ").")
        items.append("One error throughout: the time-averaged online KL (the quantity the bound is about), for every "
                     "exponent, table and figure and for the choice of the learning rate per budget and width; the "
                     "final-weights KL is a secondary column.")
    for teacher in dict.fromkeys(r["teacher"] for r in rows):
        mine = [r for r in rows if r["teacher"] == teacher]
        head = next((r for r in mine if r["estimator"] == HEADLINE_ESTIMATOR), mine[0])
        tally = {v: sum(r["verdict"] == v for r in mine) for v in ("agrees", "disagrees", "inconclusive")}
        items.append(f"{teacher}: $a$ = {_fmt_ci(head['exponent'], head['ci'])} ({head['estimator']}, the headline "
                     f"estimator) against the bound's {_num(head['bound_exponent'], 3)} "
                     f"({_route_text(head.get('bound_route'))} route): {head['verdict'].upper()}; of the "
                     f"{len(ESTIMATORS)} estimators {tally['agrees']} agree, {tally['disagrees']} disagree, "
                     f"{tally['inconclusive']} inconclusive.")
    for teacher, th in theory.items():
        if "informative" not in th:
            continue
        flags = th["informative"]
        where = ", ".join(f"{C:.0e} {'yes' if ok else 'no'}" for C, ok in zip(th["C"], flags))
        c_inf = th.get("informative_budget")
        start = f"from C = {c_inf:.2g}" if c_inf is not None else "at no budget up to 1e60"
        verdict = ("vacuous at every budget of this study" if not any(flags) else
                   "informative at every budget of this study" if all(flags) else "informative at some budgets")
        items.append(f"Is the bound informative (its optimal value below the trivial error "
                     f"{_num(th.get('trivial_error'), 3)} nats)? {teacher}: {verdict} ({where}); it becomes "
                     f"informative {start}.")
    studied, cells = [], 0
    for t in (getattr(result, "compute_study", None) or {}).get("teachers", []):
        a = t["exponents"]["bayes"]
        routes = ", ".join(f"{r} {_num(t['exponents'].get(r), 2)} ({v})" for r, v in t["verdicts"].items())
        cells += sum(b.get("bound_cells_checked") or 0 for b in t["budgets"])
        studied.append(f"{_study_label(t)}: a = {_fmt_ci(a[0], a[1:] if a[1] is not None else None, 3)} against "
                       f"{routes}")
    if studied:
        items.append("Compute study (the restricted Bayes learner's $n^* \\propto C^a$ against each route's exponent "
                     "over the same budgets): " + "; ".join(studied) + f". Every route's bound lies above the Bayes "
                     f"error at all {cells} cells.")
    emap = getattr(result, "exponent_map", None) or {}
    if emap.get("answer"):
        items.append(f"Exponent map (model exponent by teacher and proof route): {emap['answer']}.")
    caveats = ["the bound is about the Bayes-optimal learner, not SGD, and is vacuous where said above, so "
               "'disagrees' compares exponents, it does not refute the bound; the compute study measures the "
               "learner the bound is about, on small teachers and budgets where the routes' exponents are still "
               "far from their limits"]
    widths = [r["ci"][1] - r["ci"][0] for r in rows if r.get("ci")]
    if widths:
        caveats.append(f"with {seeds} seeds the intervals are {min(widths):.2f} to {max(widths):.2f} wide")
    diverged = getattr(result, "diverged", None) or {}
    worst = [(lr, n, tot) for by_lr in diverged.values() for lr, (n, tot) in by_lr.items() if n]
    if worst:
        total = {}
        for lr, n, tot in worst:
            a = total.setdefault(lr, [0, 0])
            a[0] += n
            a[1] += tot
        caveats.append("diverged runs are left out of every mean (" + "; ".join(
            f"lr0 = {lr}: {n} of {tot}" for lr, (n, tot) in sorted(total.items(), key=lambda kv: float(kv[0])))
            + ")")
    items.append("Caveats: " + "; ".join(caveats) + ".")
    checks = result.checks.get("message")
    if checks:
        items.append(f"Derivation checks: {checks}.")
    return [Heading(2, "Summary", numbered=False), Bullets(items)]


def _fit_table(fits, fits_final) -> Table:
    rows = []
    for key, res in fits.items():
        second = (fits_final or {}).get(key)
        for k, r in sorted(res.approaches.items()):
            f = second.approaches.get(k) if second is not None else None
            final = _num(f.a, 3) if f is not None and f.ok else "-"
            if r.ok:
                rows.append([label(key), str(k), _fmt_ci(r.a, r.ci.get("a"), 3), _fmt_ci(r.b, r.ci.get("b"), 3), final,
                             r.message or ""])
            else:
                rows.append([label(key), str(k), "-", "-", final, r.message])
    return Table(["teacher", "approach", "a (p*) [95% CI]", "b (T*) [95% CI]", "a, final-weights KL", "note"], rows)


def _theory_section(result, theory, main_key) -> list[Block]:
    cmp = result.comparison
    items = [f"Derivation checks: {result.checks['message']}."]
    if cmp.get("law_note"):
        items.append(f"Note: {cmp['law_note']}.")
    th = theory.get(main_key, {})
    first = f", route {th['routes_order'][0]} (the law's expression)" if th.get("routes_order") else ""
    if th.get("asymptotic_model_exponent") is not None:
        items.append(f"Law `{th['law']}`{first}: asymptotically $p^* \\propto C^{{{format_number(th['asymptotic_model_exponent'])}}}$, "
                     f"$T^* \\propto C^{{{format_number(th['asymptotic_data_exponent'])}}}$ up to log factors "
                     f"(closed form: {'yes' if th.get('closed_form') else 'no'}).")
    if th.get("a_local") is not None:
        items.append(f"At the sweep's budgets ({label(main_key)}) that route's optimum has local exponents "
                     f"$a$ = {format_number(th['a_local'])}, $b$ = {format_number(th['b_local'])} (log factors "
                     f"included); optimum from {th.get('optimum_method')}.")
    for key, t in theory.items():
        others = [f"{name} {format_number(r['a_local'], 3)}" for name, r in (t.get("routes") or {}).items()
                  if r.get("a_local") is not None]
        if others:
            items.append(f"Every route's local exponent at the sweep's budgets ({label(key)}): " + ", ".join(others)
                         + ".")
    for key, t in theory.items():
        if t.get("a_best") is not None:
            items.append(f"Best proof route ({label(key)}, law `{t['law']}`): {_route_text(sorted(set(t['route'])))}; "
                         f"local exponents $a$ = {format_number(t['a_best'])}, $b$ = {format_number(t['b_best'])}. "
                         "The verdicts and figures use this route.")
    if th.get("error"):
        items.append(th["error"])
    return [Heading(2, "Theory"), Bullets(items)]


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
        items.append(f"Speed: {result.throughput:.3g} pT (parameters times samples) per second over the "
                     f"whole stage{rates_by_round(getattr(result, 'refinement', {}))}.")
    items.append(UNITS)
    items.append("Error: the time-averaged online KL over the training stream (each sample scored before the step "
                 "that trains on it), mean over seeds; the final-weights KL (the last student on fresh inputs) is "
                 "reported beside it as a secondary column.")
    return [Heading(2, "Simulation"), Bullets(items)]


def _trend_blocks(cmp) -> list[Block]:
    out: list[Block] = [Heading(2, "Model share against d and K")]
    for name in ("d", "K"):
        tr = cmp[f"{name}_trend"]
        fixed = ", ".join(f"{k} = {v}" for k, v in tr["fixed"].items())
        values = sorted({r[name] for r in tr["rows"]})
        if len(values) < 2:
            seen = ", ".join(map(str, values)) or "none"
            out.append(Paragraph(f"Against {name} ({fixed}): not measured; the sweep has one value of {name} "
                                 f"({seen}), so there is no trend to fit and the figure `share_vs_{name}.png` is "
                                 "not drawn."))
            continue
        out.append(Heading(3, f"Against {name} ({fixed}; ratio p*/T* from approach 2)"))
        out.append(Table(["C", name, "measured p*/T* [95% CI]", "bound p*/T* (best route)"],
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


def _study_label(t) -> str:
    kind = {"dp": "infinite-width (dp)", "pitman-yor": f"Pitman-Yor (sigma = {format_number(t.get('sigma', 0), 3)})"
            }.get(t["teacher"], t["teacher"])
    return f"{kind} teacher, d = {t['d']}, K = {format_number(t['K'], 3)}"


def _exponent_map_section(emap) -> list[Block]:
    """The exponent map: each teacher's model exponent by route, the measured exponents beside the routes' own
    local exponents over the same budgets (docs/paper-setting.md, "The Pitman-Yor teacher")."""
    if not emap:
        return []
    rows = []
    for part in ("finite", "pitman_yor"):
        for r in emap[part]["rows"]:
            m = r.get("measured") or {}
            sig = "finite" if r["sigma"] is None else format_number(r["sigma"], 3)

            def ci(v):
                return "-" if not v else _fmt_ci(v[0], v[1:], 3)

            local = (m.get("routes") or {}).get(r["route"])
            rows.append([sig, r["route"], r["model_exponent_symbolic"], format_number(r["numeric_exponent"], 3),
                         "yes" if r["best"] else "", ci(m.get("bayes")), ci(m.get("sgd")),
                         "-" if local is None else format_number(local, 3)])
    params = emap["pitman_yor"]["params"]
    return [Heading(2, "The exponent map: which teachers make compute-optimal scaling linear"),
            Paragraph("The model exponent $a$ in $p^* \\propto C^a$ of each proof route, for the finite teacher and "
                      "the Pitman-Yor teacher (discount sigma; sigma = 0 is the infinite-width DP teacher): derived "
                      "symbolically from the route's leading order, checked against the numeric optimum's local "
                      f"exponent between C = 1e30 and 1e40 (at d = {params['d']}, K = {params['K']}); 'best' is the "
                      "route with the fastest-falling loss. Beside them, the exponent of the measured $n^*(C)$ "
                      "(the compute study above: the restricted Bayes learner and SGD, 95% bootstrap intervals over "
                      "teachers) at the study's small d, K and budgets, and the route's own local exponent over those "
                      "same budgets, which is what a measurement there can be compared with."),
            Table(["sigma", "route", "a (symbolic)", "a (C = 1e30..1e40)", "best", "measured a, Bayes [95% CI]",
                   "measured a, SGD [95% CI]", "route's a at the study's budgets"], rows),
            Paragraph("Finding: " + emap["answer"] + ". The measurements cover under two decades of compute on "
                      "small teachers: they can say whether the learner's $n^*$ grows like a route's bound predicts "
                      "at those budgets, not what it does as $C \\to \\infty$.")]


def _compute_study_section(study) -> list[Block]:
    """The compute study: the restricted Bayes learner, SGD and every route's n*(C) on the same teachers."""
    teachers = (study or {}).get("teachers", [])
    if not teachers:
        return []
    first = teachers[0]
    out: list[Block] = [
        Heading(2, "The compute study: the learner the bound is about"),
        Paragraph("A bound's compute-optimal width $n^*(C)$ predicts the best learner that uses a width-$n$ model with "
                  "$T = C/(n(d+1))$ samples. Here that learner is measured: the Bayes predictive over width-$n$ "
                  "networks (the teacher's prior restricted to $n$ units; sequential Monte Carlo, "
                  f"{first['teachers']} paired teachers x {first['particles']} particles: the same teachers and data "
                  "at every width), its time-averaged KL $(1/T) \\sum_t \\mathrm{KL}$ in nats over a grid of widths at "
                  "each budget, with SGD students (single pass, muP, the rate chosen per cell on the same error) on "
                  "the same teachers and data, and every proof route of the teacher's law: its bound at every "
                  "measured cell (all must lie above the measured error; a failure would stop the study) and its own "
                  "$n^*(C)$. Widths are hidden units n; the parameters are $p = n(d+1)$."),
    ]
    for t in teachers:
        routes = list(t["verdicts"])
        head = ["C", "n* Bayes [95% CI]", "n* SGD [95% CI]", *[f"n* {r}" for r in routes],
                *[f"{r} bound / error at n*" for r in routes], "bounds hold"]
        rows = []
        for b in t["budgets"]:
            k = b["widths"].index(b["n_star"])
            err = b["bayes_error"][k]
            ratios = []
            for r in routes:
                v = (b.get("route_bound_at_n_star") or {}).get(r)
                ratios.append("-" if v is None else format_number(v / err, 3))
            ci = b.get("n_star_ci")
            sci = b.get("sgd_n_star_ci")
            rows.append([f"{b['C']:.3g}", f"{b['n_star']}" + (f" [{ci[0]:g}, {ci[1]:g}]" if ci else ""),
                         "-" if b.get("sgd_n_star") is None else
                         f"{b['sgd_n_star']}" + (f" [{sci[0]:g}, {sci[1]:g}]" if sci else ""),
                         *[_num(b["routes"].get(r), 3) for r in routes], *ratios,
                         "yes" if b["bound_holds"] else "NO"])
        ex = t["exponents"]
        a, s_ = ex["bayes"], ex.get("sgd") or [None, None, None]
        verdicts = "; ".join(f"{r}: exponent {_num(ex.get(r), 3)} over these budgets (asymptotically "
                             f"{_num(t['asymptotic_exponents'].get(r), 3)}), {t['verdicts'][r]}" for r in routes)
        cut = ([Paragraph(f"The Pitman-Yor data teachers' sticks are cut at {t['teacher_atoms']} atoms, which drops at "
                          f"most {format_number(t['teacher_dropped_share'], 2)} of the teacher's mean signal "
                          "$E[F^2]$ in expectation (the squared stick tail in closed form).")]
               if "teacher_atoms" in t else [])
        out += [Heading(3, _study_label(t)), *cut,
                Table(head, rows),
                Paragraph(f"Exponent of $n^*(C)$: Bayes learner {_fmt_ci(a[0], a[1:] if a[1] is not None else None, 3)}, "
                          f"SGD {_fmt_ci(s_[0], s_[1:] if s_[1] is not None else None, 3)}. Routes against the Bayes "
                          f"learner's interval: {verdicts}.")]
    out.append(Paragraph("What this says: the bounds hold where the learner they are about is measured, by the factors "
                         "in the table. The verdicts compare the exponent of $n^*(C)$ over the budgets measured (small "
                         "teachers, under two decades of compute) with each route's exponent over the same budgets; "
                         "a route's exponent there can be far from its limit as $C \\to \\infty$ (shown beside it), "
                         "and the finite teacher's Bayes learner can never use more than $K$ units, so its $n^*$ must "
                         "stop at $K$ in the end."))
    return out


def _estimator_blocks(result) -> list[Block]:
    """The tuned protocol's comparisons (``reproduce --json``'s ``comparisons``): the headline table."""
    rows = getattr(result, "comparisons", None) or []
    if not rows:
        return []
    kinds = sorted({r["error_kind"] for r in rows})
    choice = sorted({r.get("lr_choice") for r in rows if r.get("lr_choice")})
    out: list[Block] = [
        Heading(3, "Estimators side by side (tuned protocol; intervals from a bootstrap over seeds)"),
        Paragraph(f"Model exponent $a$ in $p^* \\propto C^a$ ($p$ in parameters) per teacher and estimator, against "
                  f"the bound's local exponent at the same budgets (best proof route). Error: "
                  f"{', '.join(kinds)}; learning rate chosen per budget and width on "
                  f"{'; '.join(choice) or 'the validation stream'}. Secondary columns: the same estimator on "
                  "the final-weights KL at the same rates, and on the online KL with the rate chosen on the "
                  "validation stream's final-weights KL (point estimates). A verdict is `inconclusive` when the "
                  "interval is wider than 0.15, when two estimators' intervals do not overlap, or when a budget's "
                  "minimum is not bracketed by two sampled widths on each side."),
        Table(["teacher", "estimator", "a [95% CI]", "a, final-weights KL", "a, lr on validation",
               "bound a (route)", "verdict"],
              [[_short(r["teacher"]), r["estimator"], _fmt_ci(r["exponent"], r["ci"], 3),
                _num(r.get("exponent_final"), 3), _num(r.get("exponent_val_choice"), 3),
                (f"{format_number(r['bound_exponent'], 3)} ({_route_text(r.get('bound_route'))})"
                 if r["bound_exponent"] is not None else "-"), r["verdict"]] for r in rows])]
    notes = sorted({f"{r['teacher']}: {r['note']}" for r in rows if r.get("note")})
    if notes:
        out.append(Bullets(notes))
    return out


def _protocol_blocks(result) -> list[Block]:
    """The headline table, then the width refinement, the learning-rate optima and the diverged runs."""
    out = _estimator_blocks(result)
    ref = getattr(result, "refinement", None) or {}
    if ref.get("added") or ref.get("unbracketable"):
        items = [f"{teacher}: " + "; ".join(f"C = {C}: widths n = {', '.join(map(str, ws))}" for C, ws in by_c.items())
                 for teacher, by_c in ref.get("added", {}).items()]
        items += [f"{teacher}, C = {C}: cannot be bracketed ({why})"
                  for teacher, by_c in ref.get("unbracketable", {}).items() for C, why in by_c.items()]
        out += [Heading(3, f"Width refinement ({ref.get('rounds', 0)} round{'' if ref.get('rounds') == 1 else 's'} "
                                    "after the coarse pass)"), Bullets(items)]
    opt = getattr(result, "lr_optima", None) or []
    if opt:
        out += [Heading(3, "Best learning rate per model size (seed mean of the reported error)"),
                Table(["teacher", "C", "best lr0 by model size p (parameters)", "stable across sizes"],
                      [[_short(o["teacher"]), f"{o['C']:.3g}", ", ".join(f"{p}: {lr:g}" for p, lr in o["best"].items()),
                        "yes" if o["stable"] else f"no ({o['spread_steps']} grid steps apart)"] for o in opt])]
    diverged = getattr(result, "diverged", None) or {}
    if diverged:
        out += [Heading(3, "Diverged runs by learning rate"),
                Paragraph("A diverged run has no error; a rate where some seed diverged is left out of that "
                          "cell's choice and of the learning-rate figure's means (marked there by a cross)."),
                Table(["teacher", "lr0", "diverged / runs"],
                      [[_short(teacher), lr, f"{n} / {tot}"] for teacher, by_lr in diverged.items()
                       for lr, (n, tot) in by_lr.items()])]
    return out


def _best_sampled_table(result, main_key) -> Table:
    from scaling_theory.numeric.analysis.compare import best_sampled

    data = result.main_data
    final = getattr(result, "main_data_final", None)
    finals = {}
    if final is not None:
        finals = {(float(C), float(p)): float(v) for C, p, v in zip(final.budget, final.N, final.loss)}
    d = main_key[0]
    rows = []
    for row in best_sampled(data):
        n = row["p"] / (d + 1)
        rows.append([f"{row['C']:.3g}", f"{row['p']:.4g} (n = {n:.3g})", f"{row['p_min']:.4g} to {row['p_max']:.4g}",
                     f"{row['T']:.4g}", f"{format_number(row['loss'])} ± {format_number(row['se'], 2)}",
                     _num(finals.get((float(row["C"]), float(row["p"])))), row["where"]])
    return Table(["C", "best p (width n)", "sampled p", "T (samples)", "online KL ± se", "final-weights KL",
                  "where"], rows)


def _comparison_section(result, theory, main_key) -> list[Block]:
    out: list[Block] = [Heading(2, "Theory against experiment"), *_estimator_blocks(result),
                        Heading(3, f"Best sampled configuration per budget ({label(main_key)})"),
                        Paragraph("Lowest seed-mean time-averaged online KL (nats) per budget, at each cell's "
                                  "chosen learning rate:"),
                        _best_sampled_table(result, main_key)]
    th = theory.get(main_key, {})
    if "N_opt" in th:
        Ns, Ds = th.get("best_N_opt", th["N_opt"]), th.get("best_D_opt", th["D_opt"])
        d = main_key[0]
        out.append(Paragraph(f"Optimum of the derived bound at the same budgets ({_route_text(sorted(set(th.get('route', []))))} "
                             "route): " + ", ".join(
            f"C = {C:.3g}: p* = {N:.4g} (n = {N / (d + 1):.3g}), T* = {D:.4g}" for C, N, D in zip(th["C"], Ns, Ds)) + "."))
    if result.comparison.get("theory_error"):
        out.append(Paragraph(f"Theory optimum unavailable: {result.comparison['theory_error']}"))
    return out


def _fits_section(result, fits, main_key) -> list[Block]:
    cmp = result.comparison
    return [
        Heading(2, "Chinchilla's approaches on the same cells"),
        Paragraph("The same cells (time-averaged online KL at the chosen learning rates) fitted by Chinchilla's three "
                  "approaches, which also give the data exponent $b$ in $T^* \\propto C^b$. Approach 1 is the "
                  "best-sampled estimator; approach 3 uses the approach-3 estimator's weights, so its point estimate "
                  "is that estimator's; approach 2 fits one unweighted parabola per budget. Intervals here resample "
                  "cells within each budget (not seeds), and $E$ is fixed at 0 (the error is reducible)."),
        _fit_table(fits, getattr(result, "fits_final", None)),
        Heading(3, f"Against the bound ({label(main_key)})"),
        Table(["approach", "exponent", "measured [95% CI]", "final-weights KL", "bound, local", "verdict",
               "bound, asymptotic", "verdict"],
              [[str(r["approach"]), r["exponent"], _fmt_ci(r["value"], r["ci"], 3), _num(r.get("value_final"), 3),
                format_number(r["theory_local"], 3), _short_verdict(r["verdict_local"]),
                format_number(r["theory_asymptotic"], 3), _short_verdict(r["verdict_asymptotic"])]
               for r in cmp["exponents"]]),
    ]


def _short_verdict(text: str) -> str:
    """A comparison's verdict for a table cell (``disagrees: theory above the 95% interval`` ->
    ``disagrees (bound above)``)."""
    return (str(text).replace(" (inside the 95% interval)", "")
            .replace(": theory above the 95% interval", " (bound above)")
            .replace(": theory below the 95% interval", " (bound below)"))


def _learning_rate_section(result) -> list[Block]:
    blocks = _protocol_blocks(result)[len(_estimator_blocks(result)):]
    return [Heading(2, "Learning rates, widths and divergence"), *blocks] if blocks else []


_CAVEATS = ("The bound is an upper bound on the Bayes-optimal error; the runs use single-pass SGD, so levels "
            "differ; exponents and trends are what is compared.",
            "The learning rate is chosen on the same online KL that is reported (a prequential choice: each sample "
            "is scored before the student trains on it); the minimum over the rate grid of a seed mean still "
            "favours lucky seeds. The column `a, lr on validation` shows how much the choice moves the exponents.",
            "Intervals of the estimators resample seeds (teachers, then seeds within a teacher); those of "
            "Chinchilla's approaches resample cells within each budget. With few budgets or widths they are wide "
            "and some approaches cannot be fitted.",
            "Approach 1 (best-sampled) takes the best sampled width per budget, so its exponents move in steps of "
            "the width grid.")


def _stage_paragraph(result, quick: bool) -> Paragraph:
    st = dict(result.stage_seconds)
    st.pop("report", None)
    return Paragraph(f"Produced by `scaling-theory reproduce{' --quick' if quick else ''}` in "
                     + stage_line(st) + " (writing this report comes after).")


def study_report(result: Any, fits, theory, main_key, quick: bool, out: Path) -> list[Block]:
    """The blocks of the study report (``reproduce``): summary, theory, simulation, the comparison,
    the compute study (the restricted Bayes learner, SGD and every route), the SGD sweep against the bound,
    Chinchilla's fits, learning rates, trends, figures and caveats.

    ``result`` is a :class:`scaling_theory.reproduce.ReproduceResult`; ``fits`` and ``theory`` map each
    teacher setting ``(d, K, kind)`` to its fit and derived optimum; ``out`` is the report's folder
    (figure paths are written relative to it).
    """
    figures = []
    for f in result.figures:
        stem = Path(f).stem
        figures.append(Figure(os.path.relpath(f, out), f"`{Path(f).name}`: " + _CAPTIONS.get(stem, stem.replace("_", " "))))
    return [
        Heading(1, f"Scaling-theory study ({'quick' if quick else 'default'} run)"),
        *_summary(result, quick),
        _stage_paragraph(result, quick),
        *_theory_section(result, theory, main_key),
        *_compute_study_section(getattr(result, "compute_study", None)),
        *_exponent_map_section(getattr(result, "exponent_map", None)),
        *_simulation_section(result),
        *_comparison_section(result, theory, main_key),
        *_fits_section(result, fits, main_key),
        *_learning_rate_section(result),
        *_trend_blocks(result.comparison),

        Heading(2, "Figures"),
        *figures,
        Heading(2, "Caveats"),
        Bullets(_CAVEATS),
    ]
