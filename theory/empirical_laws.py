"""Empirical scaling laws (Chinchilla, Kaplan) as :class:`scaling_theory.theory.laws.Law` objects.

Both laws use the usual transformer cost ``C = 6 N D`` (six FLOPs per parameter per token).
Published constants are stored as exact decimal strings so that no value passes through a
binary float on its way to SymPy or mpmath.

Examples
--------
>>> from scaling_theory.theory.empirical_laws import chinchilla, kaplan
>>> chinchilla.expr
A/N**alpha + B/D**beta + E
>>> sorted(chinchilla.parameter_sets)
['besiroglu2024', 'hoffmann2022']
>>> kaplan.parameter_sets["kaplan2020"]["N_c"]
'8.8e13'

References
----------
.. [1] J. Hoffmann et al., "Training Compute-Optimal Large Language Models", arXiv:2203.15556
   (2022), Eq. (2) and Approach 3 (Section 3.3).
.. [2] T. Besiroglu, E. Erdil, M. Barnett, J. You, "Chinchilla Scaling: A replication attempt",
   arXiv:2404.10102 (2024).
.. [3] J. Kaplan et al., "Scaling Laws for Neural Language Models", arXiv:2001.08361 (2020),
   Eq. (1.5); constants alpha_N, N_c of Eq. (1.1) and alpha_D, D_c of Eq. (1.2).
"""

from __future__ import annotations

import sympy as sp

from scaling_theory.theory.laws import Law

__all__ = ["chinchilla", "kaplan", "LAWS"]

_N, _D = sp.symbols("N D", positive=True)
_E = sp.Symbol("E", nonnegative=True)
_A, _B, _alpha, _beta = sp.symbols("A B alpha beta", positive=True)

chinchilla = Law(
    name="chinchilla",
    expr=_E + _A / _N**_alpha + _B / _D**_beta,
    model=_N,
    data=_D,
    cost=6 * _N * _D,
    constants=(_E, _A, _B, _alpha, _beta),
    parameter_sets={
        # Hoffmann et al. 2022, Approach 3 fit (Eq. 2 / Section 3.3)
        "hoffmann2022": {"E": "1.69", "A": "406.4", "B": "410.7", "alpha": "0.34", "beta": "0.28"},
        # Besiroglu et al. 2024 re-fit of the same functional form
        "besiroglu2024": {"E": "1.8172", "A": "482.01", "B": "2085.43",
                          "alpha": "0.3478", "beta": "0.3658"},
    },
    default_set="hoffmann2022",
    domain={"E": sp.Interval(0, sp.oo)},
    description="Chinchilla parametric loss E + A/N^alpha + B/D^beta with compute 6ND",
    citation="Hoffmann et al. 2022, arXiv:2203.15556, Eq. (2); "
             "replication: Besiroglu et al. 2024, arXiv:2404.10102",
    latex_names={"alpha": r"\alpha", "beta": r"\beta"},
)

_N_c, _D_c, _alpha_N, _alpha_D = sp.symbols("N_c D_c alpha_N alpha_D", positive=True)

kaplan = Law(
    name="kaplan",
    expr=((_N_c / _N) ** (_alpha_N / _alpha_D) + _D_c / _D) ** _alpha_D,
    model=_N,
    data=_D,
    cost=6 * _N * _D,
    constants=(_N_c, _D_c, _alpha_N, _alpha_D),
    parameter_sets={
        # Kaplan et al. 2020, Eqs. (1.1)-(1.2): alpha_N ~ 0.076, N_c ~ 8.8e13, alpha_D ~ 0.095, D_c ~ 5.4e13
        "kaplan2020": {"alpha_N": "0.076", "alpha_D": "0.095", "N_c": "8.8e13", "D_c": "5.4e13"},
    },
    default_set="kaplan2020",
    description="Kaplan joint law [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D with compute 6ND",
    citation="Kaplan et al. 2020, arXiv:2001.08361, Eq. (1.5); constants of Eqs. (1.1)-(1.2)",
    latex_names={"alpha_N": r"\alpha_N", "alpha_D": r"\alpha_D", "N_c": "N_c", "D_c": "D_c"},
)

LAWS: list[Law] = [chinchilla, kaplan]
