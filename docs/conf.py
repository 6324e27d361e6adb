"""Sphinx configuration: ``python -m sphinx -W -b html docs docs/_build/html`` (needs ``.[docs]``)."""

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
    "sphinx.ext.mathjax",
    "myst_nb",
    "cli_reference",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"          # the tests run the notebook (nbclient); the site shows its source
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
