"""Jupyter displays: laws and symbolic allocations as typeset math, numeric results as tables."""

from __future__ import annotations

import pytest

from scaling_theory.theory.allocation import compute_optimal_allocation
from scaling_theory.theory.registry import get_law, law_names


@pytest.mark.parametrize("name", law_names())
def test_law_and_allocation_render_as_math(name):
    law = get_law(name)
    tex = law._repr_latex_()
    assert tex.startswith("$L(") and tex.endswith("$") and tex.count("$") == 2
    alloc = compute_optimal_allocation(law)
    atex = alloc._repr_latex_()
    assert atex.startswith("$\\displaystyle\\begin{aligned}") and atex.endswith("\\end{aligned}$")
    assert "^{*} &=" in atex
    assert law._repr_markdown_().count("$$") == 2 and alloc._repr_markdown_().count("$$") == 2


def test_numeric_allocation_table():
    from scaling_theory.numeric.precision.allocate import allocate

    res = allocate("chinchilla", "5.76e23", digits=30)
    md = res._repr_markdown_()
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert rows[0] == "| quantity | value |" and len(rows) == 10
    assert res.to_json()["model"] in md and res.to_json()["model"] in res._repr_html_()
    assert res._repr_html_().count("<tr>") == 10


def test_check_report_and_fit_tables():
    from scaling_theory.derivations.check import CheckReport
    from scaling_theory.numeric.analysis.fit import fit, synthetic

    rep = CheckReport([{"derivation": "kl", "step": "a", "kind": "identity", "status": "verified",
                        "max_rel_error": 1e-60},
                       {"derivation": "kl", "step": "b", "kind": "inequality", "status": "FAILED"}])
    md = rep._repr_markdown_()
    assert md.startswith("**1 of 2 steps verified**") and "| kl | b | inequality | FAILED |" in md
    data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19], per_budget=2)
    md = fit(data, approach=2, bootstrap=0)._repr_markdown_()
    assert "| 2 | | | not enough data to fit" in md
