"""docs/architecture.md describes the package as it is: every layer and every stage of numeric/
that tests/package/test_layers.py guards is named, and every sub-package of numeric/ is in its table."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "architecture.md").read_text()


def test_every_numeric_stage_is_on_the_page():
    folders = sorted(p.name for p in (ROOT / "numeric").iterdir() if (p / "__init__.py").exists())
    for name in folders:
        assert f"`numeric/{name}/`" in PAGE, name
    # the stage numbers are those the layering test enforces
    layers = (ROOT / "tests" / "package" / "test_layers.py").read_text()
    stages = dict(re.findall(r'"(\w+)": (\d)', layers.split("stages = {", 1)[1].split("}", 1)[0]))
    for name, stage in stages.items():
        path = f"`numeric/{name}.py`" if name == "validate" else f"`numeric/{name}/`"
        assert re.search(rf"^\| {stage} \| {re.escape(path)} \|", PAGE, re.MULTILINE), (name, stage)


def test_the_leaves_and_layers_are_named():
    layers = (ROOT / "tests" / "package" / "test_layers.py").read_text()
    leaves = re.findall(r'"(scaling_theory\.[\w.]+)"', layers.split("LEAVES = {", 1)[1].split("}", 1)[0])
    assert leaves
    for leaf in leaves:
        assert f"`{leaf}`" in PAGE, leaf
    for folder in ("theory/", "numeric/", "derivations/", "scaling_theory/"):
        assert f"`{folder}`" in PAGE, folder
    assert "docs/architecture.md" in layers   # the page the layering test cites
