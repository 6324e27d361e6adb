"""The documentation site builds with Sphinx, warnings as errors (skipped without the docs extra)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.slow
@pytest.mark.subprocess
def test_docs_build_without_warnings(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(DOCS), str(tmp_path / "html"),
                          "-d", str(tmp_path / "doctrees")], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    pages = {p.name for p in (tmp_path / "html").glob("*.html")}
    assert {"index.html", "getting-started.html", "tutorial.html", "derivations.html", "api.html",
            "cli.html"} <= pages
    cli = (tmp_path / "html" / "cli.html").read_text()
    assert "scaling-theory allocate" in cli and "scaling-theory fit" in cli
    assert "compute_optimal_allocation" in (tmp_path / "html" / "api.html").read_text()
