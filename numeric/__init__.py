"""Numbers, one sub-package per stage the data pass through.

- :mod:`~scaling_theory.numeric.precision`: mpmath evaluation of SymPy results, the budget-curve
  minimiser, verification of derivation steps.
- :mod:`~scaling_theory.numeric.sim`: teachers, students, the NumPy reference, the Numba CPU and CUDA
  trainers and their dispatcher, the reducible-error estimator, the benchmark.
- :mod:`~scaling_theory.numeric.sweep`: sweep configuration, the resumable runner, executors (local
  pool, Dask), the SQLite store.
- :mod:`~scaling_theory.numeric.analysis`: fits (Chinchilla's approaches 1-3), the comparison of theory
  with experiment, plots.

May import :mod:`scaling_theory.theory`; never imports :mod:`scaling_theory.derivations` or the CLI.
"""
