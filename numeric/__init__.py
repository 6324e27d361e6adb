"""Numbers: mpmath verification, Numba/CUDA teacher-student kernels, sweeps, the store, fitting, plots.

May import :mod:`theory`; never imports :mod:`derivations` or :mod:`scaling_theory`.
"""
