"""High precision: SymPy results evaluated with mpmath, the budget-curve minimiser, step verification.

- :mod:`~scaling_theory.numeric.precision.mpeval`: a SymPy -> mpmath closure compiler.
- :mod:`~scaling_theory.numeric.precision.budget`: the one minimiser along a budget curve.
- :mod:`~scaling_theory.numeric.precision.allocate`: the compute-optimal allocation in numbers, verified.
- :mod:`~scaling_theory.numeric.precision.verify`: checks for derivation steps (identities,
  inequalities, Monte Carlo, limits).
"""
