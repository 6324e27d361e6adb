"""Sphinx configuration: ``python -m sphinx -W -b html docs docs/_build/html`` (needs ``.[docs]``, and for
the math ``latex`` and ``dvipng``, the TeX installation ``.ci/run`` installs; docs/getting-started.md)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

from scaling_theory import __version__  # noqa: E402

project = "scaling-theory"
author = "scaling-theory contributors"
release = version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.imgmath",  # math as images made by the local TeX: the pages render offline (no CDN)
    "myst_nb",
    "cli_reference",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_ext", "_tex", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
# the tutorial runs at every build, so the page shows its current outputs; a failing cell fails the build
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_execution_show_tb = True
# the results' Markdown displays (tables, $$ math) parsed as MyST, so their tables and math render too
nb_render_markdown_format = "myst"
# figures inline in the executed notebook, whatever backend the calling shell chose (CI sets Agg)
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
imgmath_image_format = "png"
imgmath_embed = True               # images inside the HTML pages: nothing to fetch, nothing to lose
imgmath_font_size = 14
# Sphinx's math template loads anyfontsize (texlive-latex-extra, not installed by .ci/run): _tex/ holds a
# stand-in, found first by the latex that imgmath starts (TEXINPUTS; the trailing separator keeps the
# installation's own paths)
os.environ["TEXINPUTS"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_tex") + os.pathsep + \
    os.environ.get("TEXINPUTS", "")
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"         # numpydoc Parameters say the types
html_theme = "alabaster"
suppress_warnings = ["myst.header"]


def _plain_references(app, what, name, obj, options, lines):
    """Numpydoc ``.. [1] ...`` references as a plain list (``[1]_`` as ``[1]``): several docstrings on
    one page would otherwise define the same footnote label twice."""
    import re

    for i, line in enumerate(lines):
        line = re.sub(r"^(\s*)\.\. \[(\w+)\] ", r"\1- [\2] ", line)
        lines[i] = re.sub(r"\[(\w+)\]_", r"[\1]", line)


def setup(app):
    app.connect("autodoc-process-docstring", _plain_references)
