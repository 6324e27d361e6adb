"""LaTeX export: paper symbol names, fractions, allocation dict, documents."""

import sympy as sp

from scaling_theory.theory.allocation import compute_optimal_allocation
from scaling_theory.theory.latex import allocation_latex, law_document, law_latex, to_latex
from scaling_theory.theory.registry import get_law


def test_law_latex_table():
    expected = {
        "chinchilla": r"L(N, D) = \frac{A}{N^{\alpha}} + \frac{B}{D^{\beta}} + E",
        "kaplan": r"L(N, D) = \left(\left(\frac{N_c}{N}\right)^{\frac{\alpha_N}{\alpha_D}} + \frac{D_c}{D}\right)^{\alpha_D}",
    }
    for name, tex in expected.items():
        assert law_latex(get_law(name)) == tex


def test_allocation_latex_keys_and_exponents():
    tex = allocation_latex(compute_optimal_allocation(get_law("chinchilla")))
    for key in ("bound", "cost", "model_optimal", "data_optimal", "model_exponent", "data_exponent",
                "optimal_loss", "ratio"):
        assert isinstance(tex[key], str) and tex[key]
    assert tex["model_exponent"] == r"\frac{\beta}{\alpha + \beta}"
    assert tex["data_exponent"] == r"\frac{\alpha}{\alpha + \beta}"
    assert r"\alpha" in tex["model_optimal"] and "alpha" not in tex["model_optimal"].replace(r"\alpha", "")
    assert tex["implicit_equation"] is None


def test_to_latex_fractions_and_names():
    x, a = sp.symbols("x a", positive=True)
    table = {
        x ** -a: r"\frac{1}{x^{a}}",
        -3 * x ** -a / 7: r"- \frac{3}{7 x^{a}}",
        2 * x / (3 * x ** a + 1): r"\frac{2 x}{3 x^{a} + 1}",
    }
    for expr, tex in table.items():
        assert to_latex(expr) == tex
    assert to_latex(x ** 2, {"x": r"\xi"}) == r"\xi^{2}"


def test_documents():
    law = get_law("kaplan")
    alloc = compute_optimal_allocation(law)
    doc = law_document(law, alloc)
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    assert doc.count(r"\item") == len(alloc.steps)
    assert r"\alpha_N" in doc and "2001.08361" in doc
    md = law_document(law, alloc, fmt="markdown")
    assert md.startswith("# Compute-optimal allocation: kaplan") and md.count("$$") % 2 == 0


def test_implicit_law_document_mentions_equation():
    law = get_law("jeon-van-roy-dp")
    alloc = compute_optimal_allocation(law)
    tex = allocation_latex(alloc)
    assert tex["implicit_equation"] is not None
    assert "implicit equation" in law_document(law, alloc)
