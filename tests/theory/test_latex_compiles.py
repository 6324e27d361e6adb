"""Every .tex the toolkit writes compiles with pdflatex (skipped without a TeX installation), without
formulas running off the page."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from scaling_theory.theory.latex import latex_preamble

pdflatex = shutil.which("pdflatex")
pytestmark = pytest.mark.skipif(pdflatex is None, reason="pdflatex not installed")


def compile_tex(tmp_path, name: str, tex: str) -> str:
    """Compile ``tex``; return pdflatex's log (fails on a LaTeX error)."""
    (tmp_path / f"{name}.tex").write_text(tex)
    out = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert out.returncode == 0, "\n".join(line for line in log.splitlines() if line.startswith("!"))
    assert (tmp_path / f"{name}.pdf").stat().st_size > 0
    return log


def overfull(log: str) -> list[float]:
    return [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


@pytest.mark.slow
def test_law_formulas_and_documents_compile(tmp_path):
    from scaling_theory.theory.allocation import compute_optimal_allocation
    from scaling_theory.theory.latex import abbreviations_latex, law_document, law_latex
    from scaling_theory.theory.registry import get_law, law_names

    for name in law_names():
        law = get_law(name)
        alloc = compute_optimal_allocation(law)
        log = compile_tex(tmp_path, f"{name}-doc", law_document(law, alloc))
        # every law's document fits the page (the finite jeon-van-roy laws' second-order condition nests
        # W_{-1} inside exponentials in a numerator: its front factor is broken too)
        assert not overfull(log), (name, overfull(log))
        formulas = [law_latex(law), *abbreviations_latex(law)]
        body = "\n".join(rf"\[ {f} \]" for f in formulas)
        compile_tex(tmp_path, f"{name}-formula", latex_preamble() + body + "\n\\end{document}\n")


@pytest.mark.slow
def test_derivation_documents_compile_and_fit_the_page(tmp_path):
    from scaling_theory.derivations.render import render_document

    doc = render_document("all", "latex")
    # the prose is typeset: no escaped ASCII subscripts or carets left in text mode
    assert "\\_" not in doc and "textasciicircum" not in doc and "I(F;D_T)" in doc
    log = compile_tex(tmp_path, "all", doc)
    boxes = overfull(log)
    # before the formula breaker: 14 overfull boxes, up to 1233 pt too wide; now none beyond a few points
    # (the first line of a broken bracket leaves room for the factor in front of it)
    assert max(boxes, default=0) < 5, boxes


def test_report_compiles(tmp_path):
    from scaling_theory.report import Bullets, Heading, Paragraph, Table, to_latex

    blocks = [Heading(1, "Study & results_1"), Paragraph("alpha_N = 0.34 with `--quick` at 50% <= x"),
              Bullets(["one_two", "a ~ b"]), Table(["approach", "a"], [["1", "0.5"], ["2_b", "0.49"]]),
              # a wide table whose broken headers start a line with "[": once read as \\[length] (pdflatex hung)
              Table(["C", "n* Bayes [95% CI]", "n* SGD [95% CI]", "n* maurey", "n* truncation",
                     "maurey bound / error at n*", "truncation bound / error at n*", "bounds hold"],
                    [["1e3", "3 [1, 3]", "1 [1, 3]", "1", "1", "-", "52.5", "yes"]] * 2)]
    compile_tex(tmp_path, "report", to_latex(blocks))


@pytest.mark.slow
def test_exponent_map_page_compiles_and_fits_the_page(tmp_path):
    from scaling_theory.numeric.analysis.exponent_map import exponent_map

    doc = exponent_map("pitman-yor", [0.0, 0.25, 0.5, 0.75]).with_measured(
        {0.5: {"bayes": [0.21, 0.15, 0.27], "sgd": [0.3, 0.2, 0.4]}}).latex()
    log = compile_tex(tmp_path, "exponents", doc)
    assert max(overfull(log), default=0) <= 5, overfull(log)
