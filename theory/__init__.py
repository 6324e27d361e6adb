"""Symbolic side of scaling-theory: laws and their registry, the formula parser, the allocation engine,
the information-theoretic framework, LaTeX.

Depends on SymPy only; never imports :mod:`scaling_theory.numeric`, :mod:`scaling_theory.derivations`
or the CLI (a test guards the layering).
"""
