"""Distinct atoms of a Dirichlet process: ``E N_n = sum_{i<n} K/(K+i) ~ K ln(1 + n/K)`` (DP variant).

``n`` draws from a DP with concentration ``K`` (Chinese restaurant process) open a new atom at draw
``i`` with probability ``K/(K+i)``; hence the expectation, its digamma form, the upper bound
``1 + K ln(1 + n/K)`` used in the ``jeon-van-roy-dp`` law (ours) and the asymptotic ratio -> 1.

The law's proxy draws its atoms from the stick weights themselves (untilted), so this count is the
count of the proxy (step ``proxy-draws-are-crp``).

References
----------
Blackwell & MacQueen (1973); Antoniak (1974); docs/paper-setting.md "Ours" (infinite-width variant of arXiv:2407.01456).
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from scaling_theory.derivations.core import (Derivation, asymptotic, expectation, inequality, monte_carlo_cases,
                                             numeric_values)
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import K_dp as K, atoms_upper, expected_atoms

__all__ = ["derivation"]

n = sp.Symbol("n", positive=True, integer=True)
i = sp.Symbol("i", integer=True, nonnegative=True)


def _sum_pairs(dps):
    f = sp.lambdify([n, K], expected_atoms(n, K), modules=["mpmath"])
    out = []
    for Kv in (mpmath.mpf("0.3"), mpmath.mpf(1), mpmath.mpf(4), mpmath.mpf(37) / 3):
        for nv in (1, 2, 17, 250):
            out.append((mpmath.fsum(Kv / (Kv + j) for j in range(nv)), f(mpmath.mpf(nv), Kv)))
    return out


def _crp(Kv, width):
    def sample(rng, m):
        # draw i opens a new atom with probability K/(K+i), independently across i
        return (rng.random((m, width)) < Kv / (Kv + np.arange(width))).sum(axis=1).astype(float)
    return sample


def _crp_tables(Kv, width):
    def sample(rng, m):
        # explicit Chinese restaurant process, vectorised over m restaurants: customer j joins table t
        # with probability count_t/(j+K) or opens a new one with probability K/(j+K)
        counts = np.zeros((m, width))
        tables = np.zeros(m, dtype=int)
        for j in range(width):
            u = rng.random(m) * (j + Kv)
            cum = np.cumsum(counts, axis=1)
            new = u >= cum[:, -1]
            pick = np.argmax(cum > u[:, None], axis=1)
            counts[np.arange(m)[~new], pick[~new]] += 1
            counts[np.arange(m)[new], tables[new]] += 1
            tables += new
        return tables.astype(float)
    return sample


def stick_weights(rng: np.random.Generator, Kv: float, L: int) -> np.ndarray:
    """One DP(K) realisation's stick-breaking weights, truncated at ``L`` sticks with the leftover mass
    on the last one (so they sum to one): ``beta_j ~ Beta(1, K)``, ``pi_j = beta_j prod_{i<j}(1 - beta_i)``."""
    b = rng.beta(1.0, Kv, size=L)
    left = np.cumprod(1.0 - b)
    pi = b * np.concatenate([[1.0], left[:-1]])
    pi[-1] += left[-1]
    return pi


def _stick_draws(Kv, width):
    def sample(rng, m):
        # the proxy's construction: a DP(K) realisation (stick-breaking, truncated at leftover e^-30),
        # then `width` iid draws from its weights pi; count the distinct atoms hit
        L = int(30 * (Kv + 1)) + 1
        out = np.empty(m)
        for r in range(m):
            pi = stick_weights(rng, Kv, L)
            idx = np.searchsorted(np.cumsum(pi), rng.random(width) * pi.sum())
            out[r] = np.unique(idx).size
        return out
    return sample


def _stick_cases():
    out = []
    for Kv in (0.5, 4.0, 32.0):
        for width in (10, 300):
            value = (lambda Kv, width: lambda: float(sum(Kv / (Kv + j) for j in range(width))))(Kv, width)
            out.append((f"K={Kv} n={width}", _stick_draws(Kv, width), value, 3000))
    return out


def derivation() -> Derivation:
    """Distinct atoms among ``n`` draws of a Dirichlet process with concentration ``K``:
    ``E N_n = sum_{i<n} K/(K+i) = K (psi(K+n) - psi(K)) <= 1 + K ln(1 + n/K)`` and the ratio -> 1, the
    count behind the ``jeon-van-roy-dp`` law (Antoniak 1974; bound ours, docs/paper-setting.md "Ours").

    Returns
    -------
    Derivation
        ``dp-atoms``: 5 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('dp-atoms', 5, 1)
    >>> [s.name for s in der.steps][:2]
    ['digamma-form', 'crp-mean']
    """
    Kv, width = 4.0, 30
    _ = _crp  # vectorised sampler kept for larger checks
    mean = float(sum(Kv / (Kv + j) for j in range(width)))
    steps = (
        numeric_values("digamma-form", "identity", sp.Sum(K / (K + i), (i, 0, n - 1)), expected_atoms(n, K),
                       "Telescoping psi(x+1) = psi(x) + 1/x: sum_{i<n} 1/(K+i) = psi(K+n) - psi(K).",
                       pairs=_sum_pairs),
        expectation("crp-mean", sp.Symbol("E N_n"), sp.Sum(K / (K + i), (i, 0, n - 1)),
                    "Draw i (0-based) starts a new table with probability K/(K+i): Monte Carlo of an explicit "
                    "Chinese restaurant process, K = 4, n = 30.", sampler=_crp_tables(Kv, width),
                    value=lambda: mean, samples=20000, seed=21),
        monte_carlo_cases("proxy-draws-are-crp", sp.Symbol("E N_n (draws from pi)"),
                          sp.Sum(K / (K + i), (i, 0, n - 1)),
                          "The DP law's proxy draws its n atoms iid from the stick weights pi of the teacher; "
                          "marginally over pi these draws are a Polya urn (Blackwell & MacQueen 1973), so the "
                          "Chinese-restaurant count applies to them exactly. Monte Carlo of the construction "
                          "itself (sample pi, draw n atoms, count) for K in {0.5, 4, 32}, n in {10, 300}.",
                          cases=_stick_cases(), seed=31),
        inequality("atoms-upper-bound", expected_atoms(n, K), atoms_upper(n, K),
                   {n: Box(1, 1e9, log=True, integer=True), K: Box(0.01, 1000, log=True)},
                   "sum_{i<n} K/(K+i) = 1 + sum_{1<=i<n} K/(K+i) <= 1 + int_0^{n-1} K/(K+x) dx "
                   "<= 1 + K ln(1 + n/K): replaces K in the DP law's entropy count (ours).", ours=True),
        asymptotic("atoms-asymptotic", expected_atoms(n, K), K * sp.log(1 + n / K),
                   "psi(K+n) = ln n + O(1/n): the ratio tends to 1 as n grows (K = 4, n = 1e10 .. 1e5120).",
                   exact=lambda x: 4 * (mpmath.digamma(4 + x) - mpmath.digamma(4)),
                   leading=lambda x: 4 * mpmath.log(1 + x / 4),
                   exponents=(10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120), tolerance=1e-3),
    )
    return Derivation("dp-atoms", "Distinct atoms of a Dirichlet process",
                      "E N_n = K (psi(K+n) - psi(K)) <= 1 + K ln(1 + n/K) ~ K ln(1 + n/K).", steps,
                      conclusion={"E N_n": sp.Eq(sp.Symbol("E N_n"), expected_atoms(n, K)),
                                  "bound": sp.Le(sp.Symbol("E N_n"), atoms_upper(n, K))})
