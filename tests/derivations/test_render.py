"""Documents: complete LaTeX and Markdown with every step, the result and the claims summary."""

import re

import pytest

from scaling_theory.derivations.registry import derivation_names, get_derivation, resolve
from scaling_theory.derivations.render import render_document
from scaling_theory.cli import main
from scaling_theory.errors import UserInputError


def test_latex_document_is_complete_and_balanced():
    doc = render_document("jeon-van-roy-allocation", "latex")
    assert doc.startswith("\\documentclass") and doc.rstrip().endswith("\\end{document}")
    stripped = re.sub(r"\\[{}]", "", doc)
    assert stripped.count("{") == stripped.count("}")
    assert doc.count("\\begin{") == doc.count("\\end{")
    for step in get_derivation("jeon-van-roy-allocation").steps:
        assert step.name in doc
    assert "W_{-1}" in doc and "Agreement with the abstract" in doc and "\\begin{tabular}" in doc


def test_markdown_of_law_chain_has_every_derivation():
    doc = render_document("jeon-van-roy", "markdown")
    for name in resolve("jeon-van-roy"):
        assert f"*{name}*" in doc
    assert "| d \\ K |" in doc and "ours" in doc


def test_all_names_render():
    assert len(derivation_names()) == 16
    assert render_document("all", "latex").count("\\section{") >= len(derivation_names())


@pytest.mark.parametrize("name,fmt", [("nope", "latex"), ("chinchilla", "pdf")])
def test_bad_render_input(name, fmt):
    with pytest.raises(UserInputError):
        render_document(name, fmt)


def test_cli_latex_document_for_derivation(tmp_path, capsys):
    out = tmp_path / "maurey.tex"
    assert main(["latex", "maurey", "--document", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("\\documentclass") and "direction-quantisation" in text
