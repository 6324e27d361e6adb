"""Symbolic side of scaling-theory: laws, the formula parser, the derivation engine, LaTeX.

Depends on SymPy only; never imports :mod:`numeric` or :mod:`derivations`.
"""

__version__ = "0.1.0"
