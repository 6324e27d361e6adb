"""Distinct atoms of a Pitman-Yor process: the two-parameter urn's count, its bounds and its growth ``n^sigma``.

``n`` draws from the weights of a Pitman-Yor process with discount ``sigma`` and concentration ``K`` form, averaged
over the weights, the two-parameter Chinese restaurant (Pitman 1995): draw ``i + 1`` opens a new atom with
probability ``(K + sigma N_i)/(K + i)`` and otherwise joins atom ``t`` with probability ``(n_t - sigma)/(K + i)``.
Hence ``E N_{n+1} = E N_n + (K + sigma E N_n)/(K + n)``, solved by

    E N_n = (K/sigma) [Gamma(K) Gamma(K+sigma+n)/(Gamma(K+sigma) Gamma(K+n)) - 1]  ~  Gamma(K+1) n^sigma/(sigma Gamma(K+sigma)),

the count the Maurey route of ``jeon-van-roy-pitman-yor`` pays for (:func:`scaling_theory.theory.pitman_yor.expected_atoms`).
Wendel's inequality bounds the Gamma ratios by powers (:func:`~scaling_theory.theory.pitman_yor.atoms_upper`); every
formula tends to the Dirichlet process's as ``sigma -> 0`` (the ``dp-atoms`` derivation).

References
----------
J. Pitman, Exchangeable and partially exchangeable random partitions, Probab. Theory Relat. Fields 102 (1995);
J. G. Wendel, Note on the gamma function, Amer. Math. Monthly 55 (1948); docs/paper-setting.md, "The Pitman-Yor
teacher".
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from scaling_theory.derivations.core import (Derivation, asymptotic, inequality, monte_carlo_cases, numeric_values,
                                             value_inequalities)
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import atoms_upper as dp_atoms_upper
from scaling_theory.theory.pitman_yor import K, atoms_relaxed, atoms_upper, expected_atoms, sigma

__all__ = ["derivation", "urn_counts", "stick_draw_counts"]

n = sp.Symbol("n", positive=True, integer=True)
x, s, r = sp.symbols("x s r", positive=True)
_GRID = ((mpmath.mpf("0.3"), mpmath.mpf("0.1")), (mpmath.mpf(1), mpmath.mpf("0.5")), (mpmath.mpf(32), mpmath.mpf("0.9")),
         (mpmath.mpf(37) / 3, mpmath.mpf("0.25")))


def _closed(nv, Kv, sv):
    """``E N_n`` at mpf arguments: :func:`~scaling_theory.theory.pitman_yor.expected_atoms` itself, compiled at call
    time (so a mutated closed form is what is checked)."""
    return sp.lambdify((n, K, sigma), expected_atoms(n, K, sigma), "mpmath")(nv, Kv, sv)


def _recursion_pairs(dps):
    out = []
    for Kv, sv in _GRID:
        EN, i = mpmath.mpf(1), 1   # one draw opens one atom
        for target in (1, 2, 17, 250):
            while i < target:
                EN += (Kv + sv * EN) / (Kv + i)
                i += 1
            out.append((EN, _closed(mpmath.mpf(target), Kv, sv)))
    return out


def urn_counts(Kv: float, sv: float, width: int, rng: np.random.Generator, m: int) -> np.ndarray:
    """Distinct atoms after ``width`` draws of ``m`` independent two-parameter Chinese restaurants (vectorised):
    the next draw joins atom ``t`` with weight ``n_t - sigma`` or opens a new one with weight ``K + sigma N``."""
    counts = np.zeros((m, width))
    tables = np.zeros(m, dtype=int)
    rows = np.arange(m)
    for j in range(width):
        u = rng.random(m) * (j + Kv)
        cum = np.cumsum(np.where(counts > 0, counts - sv, 0.0), axis=1)
        new = u >= cum[:, -1]
        pick = np.argmax(cum > u[:, None], axis=1)
        counts[rows[~new], pick[~new]] += 1
        counts[rows[new], tables[new]] += 1
        tables += new
    return tables.astype(float)


def _urn_sampler(Kv, sv, width):
    return lambda rng, m: urn_counts(Kv, sv, width, rng, m)


def stick_draw_counts(teacher, width: int, rng: np.random.Generator) -> int:
    """Distinct atoms hit by ``width`` iid draws from a sampled teacher's stick weights, the cut included exactly.

    Draws that land in the leftover mass ``R`` fall on the atoms after the cut, which are ``R`` times a
    GEM(sigma, K + m sigma) stick independent of the first ``m``: among themselves they form a two-parameter urn of
    concentration ``K + m sigma`` (:func:`urn_counts`), so the count is exact, not truncated."""
    pi = teacher.pi
    u = rng.random(width)
    kept = u < pi.sum()
    idx = np.searchsorted(np.cumsum(pi), u[kept])
    rest = int(width - kept.sum())
    extra = urn_counts(teacher.K + teacher.m * teacher.sigma, teacher.sigma, rest, rng, 1)[0] if rest else 0
    return int(np.unique(idx).size + extra)


def _stick_sampler(dv, Kv, sv, width, max_atoms):
    def sample(rng, m):
        from scaling_theory.numeric.sim import teacher as sim   # looked up at call time: a mutated sampler is drawn

        out = np.empty(m)
        for j, seed in enumerate(rng.integers(0, 2**31 - 1, size=m)):
            t = sim.sample_teacher(dv, Kv, kind="pitman-yor", sigma=sv, seed=int(seed), max_atoms=max_atoms)
            out[j] = stick_draw_counts(t, width, rng)
        return out
    return sample


def _value(Kv, sv, width):
    with mp.workdps(30):
        v = float(_closed(mpmath.mpf(width), mpmath.mpf(Kv), mpmath.mpf(sv)))
    return lambda: v


def _limit_pairs(fn_py, fn_dp):
    """``(Pitman-Yor value at sigma = 10^-(dps + 10), Dirichlet-process value)``, computed with digits to spare."""
    def pairs(dps):
        out = []
        for Kv in (mpmath.mpf("0.3"), mpmath.mpf(4), mpmath.mpf(37) / 3):
            for nv in (1, 5, 300):
                nv = max(nv, int(mpmath.ceil(Kv)))
                with mp.workdps(3 * dps + 20):
                    sv = mpmath.mpf(10) ** (-(dps + 10))
                    a, b = fn_py(mpmath.mpf(nv), Kv, sv), fn_dp(mpmath.mpf(nv), Kv)
                out.append((+a, +b))
        return out
    return pairs


_dp_count = lambda nv, Kv: Kv * (mpmath.digamma(Kv + nv) - mpmath.digamma(Kv))   # noqa: E731


def derivation() -> Derivation:
    """The Pitman-Yor urn's count of distinct atoms, checked (module docstring; bounds ours).

    Returns
    -------
    Derivation
        ``pitman-yor-atoms``: the recursion and its closed form at 50 and 100 digits, Monte Carlo of the urn and of
        draws from the simulator's own sticks, Wendel's inequality, the bounds the Maurey route uses, the growth
        ``n^sigma`` and the limit ``sigma -> 0``.

    Examples
    --------
    >>> der = derivation()
    >>> der.name, der.steps[0].name, len(der.steps)
    ('pitman-yor-atoms', 'urn-recursion', 10)
    """
    domain = {K: Box(0.01, 1000, log=True), sigma: Box(0.01, 0.99), n: Box(1, 1e9, log=True, integer=True)}
    urn_cases = [(f"K={Kv} sigma={sv} n={w}", _urn_sampler(Kv, sv, w), _value(Kv, sv, w), 4000)
                 for Kv, sv, w in ((2.0, 0.5, 30), (0.5, 0.25, 60), (4.0, 0.75, 40))]
    stick_cases = [(f"K={Kv} sigma={sv} n={w}", _stick_sampler(2, Kv, sv, w, 300), _value(Kv, sv, w), 800)
                   for Kv, sv, w in ((2.0, 0.5, 50), (0.5, 0.75, 100), (8.0, 0.25, 200))]
    steps = (
        numeric_values("urn-recursion", "identity", sp.Symbol("E N_n (recursion)"), expected_atoms(n, K, sigma),
                       "Draw i+1 opens a new atom with probability (K + sigma N_i)/(K + i), so E N_{i+1} = E N_i + "
                       "(K + sigma E N_i)/(K + i) from E N_1 = 1; iterated exactly against the closed form "
                       "(K/sigma)[Gamma(K) Gamma(K+sigma+n)/(Gamma(K+sigma) Gamma(K+n)) - 1] (K, sigma) in {(0.3, 0.1), "
                       "(1, 0.5), (32, 0.9), (37/3, 0.25)}, n in {1, 2, 17, 250}.", pairs=_recursion_pairs),
        monte_carlo_cases("urn-mean", sp.Symbol("E N_n"), expected_atoms(n, K, sigma),
                          "Monte Carlo of explicit two-parameter Chinese restaurants (Pitman 1995): a draw joins atom t "
                          "with weight n_t - sigma or opens a new one with weight K + sigma N.", cases=urn_cases, seed=500),
        monte_carlo_cases("proxy-draws-are-py-urn", sp.Symbol("E N_n (draws from pi)"), expected_atoms(n, K, sigma),
                          "The Maurey proxy draws its n atoms iid from the teacher's stick weights pi; marginally over "
                          "pi the draws are the two-parameter urn, so E N_n applies to them. Monte Carlo of the "
                          "construction on the simulator's own sticks (sample_teacher, kind pitman-yor, cut at 300 "
                          "atoms; the draws past the cut form their own urn of concentration K + m sigma, exactly).",
                          cases=stick_cases, seed=510),
        numeric_values("sigma-to-dp", "identity", sp.Limit(expected_atoms(n, K, sigma), sigma, 0),
                       K * (sp.digamma(K + n) - sp.digamma(K)),
                       "As sigma -> 0 the urn is the Chinese restaurant of the Dirichlet process: the closed form at "
                       "sigma = 10^-(digits+10) equals K (psi(K+n) - psi(K)) (dp-atoms) to the working digits.",
                       pairs=_limit_pairs(_closed, _dp_count)),
        inequality("wendel-upper", sp.gamma(x + s) / sp.gamma(x), x**s,
                   {x: Box(0.01, 1e6, log=True), s: Box(0.001, 0.999)},
                   "Wendel (1948): for x > 0 and 0 <= s <= 1, Gamma(x+s) <= x^s Gamma(x) (Hoelder on the Gamma "
                   "integral, log-convexity).", points=40),
        inequality("wendel-lower", x**s * (x / (x + s)) ** (1 - s), sp.gamma(x + s) / sp.gamma(x),
                   {x: Box(0.01, 1e6, log=True), s: Box(0.001, 0.999)},
                   "... and Gamma(x+s) >= x^s (x/(x+s))^(1-s) Gamma(x) (the same inequality at x+s).", points=40),
        inequality("atoms-upper-bound", expected_atoms(n, K, sigma), atoms_upper(n, K, sigma), domain,
                   "Wendel's upper inequality on Gamma(K+n+sigma)/Gamma(K+n) and its lower one on "
                   "Gamma(K+sigma)/Gamma(K): E N_n <= (K/sigma)[((K+n)/K)^sigma ((K+sigma)/K)^(1-sigma) - 1] (ours).",
                   ours=True, points=40),
        inequality("atoms-relaxed", atoms_upper(r * K, K, sigma), atoms_relaxed(r * K, K, sigma),
                   {K: Box(0.01, 1000, log=True), sigma: Box(0.01, 0.99), r: Box(1, 1e9, log=True)},
                   "For n = r K >= K: K + n <= 2n, so the bound is at most (K/sigma)[(2n/K)^sigma "
                   "((K+sigma)/K)^(1-sigma) - 1], the count of the registered Maurey route (ours).", ours=True,
                   points=30),
        asymptotic("atoms-growth", expected_atoms(n, K, sigma), sp.gamma(K + 1) * n**sigma / (sigma * sp.gamma(K + sigma)),
                   "Gamma(K+sigma+n)/Gamma(K+n) ~ n^sigma: the count grows like n^sigma (K = 4, sigma = 1/2, "
                   "n = 10 .. 1e32; |ratio - 1| ~ n^(-sigma) from the constant -K/sigma), against K ln(1 + n/K) for the "
                   "Dirichlet process.",
                   exact=_growth_exact, leading=lambda nv: mpmath.gamma(5) * nv ** mpmath.mpf("0.5") / (
                       mpmath.mpf("0.5") * mpmath.gamma(mpmath.mpf("4.5"))),
                   exponents=(1, 2, 4, 8, 16, 32), tolerance=1e-3),
        value_inequalities("bounds-to-dp", sp.Symbol(r"|N_{PY}/N_{DP} - 1|"), 10 * sigma,
                           "As sigma -> 0 the Wendel bound tends to the DP law's 1 + K ln(1 + n/K) and the relaxed count "
                           "to its 1 + K ln(2n/K), linearly in sigma: |ratio - 1| <= 10 sigma at sigma = 1e-3, 1e-6, "
                           "1e-9 (K in {0.3, 4, 37/3}, n in {max(1, K), 5K, 300K}) (ours).",
                           pairs=_to_dp_pairs),
    )
    return Derivation(
        "pitman-yor-atoms", "Distinct atoms of a Pitman-Yor process",
        "E N_n = (K/sigma)[Gamma(K) Gamma(K+sigma+n)/(Gamma(K+sigma) Gamma(K+n)) - 1] <= (K/sigma)[((K+n)/K)^sigma "
        "((K+sigma)/K)^(1-sigma) - 1] ~ n^sigma, the Dirichlet process's count as sigma -> 0.", steps,
        conclusion={"E N_n": sp.Eq(sp.Symbol("E N_n"), expected_atoms(n, K, sigma)),
                    "bound": sp.Le(sp.Symbol("E N_n"), atoms_upper(n, K, sigma)),
                    "registered count (n >= K)": sp.Le(sp.Symbol("E N_n"), atoms_relaxed(n, K, sigma))})


def _growth_exact(nv):
    """``E N_n`` at ``K = 4``, ``sigma = 1/2`` with the digits ``K + sigma + n`` needs beside ``n`` itself."""
    with mp.workdps(mp.dps + int(mpmath.log10(nv)) + 10):
        return +_closed(nv, mpmath.mpf(4), mpmath.mpf("0.5"))


def _to_dp_pairs(dps):
    # compiled at check time, so a mutated bound is what is checked
    _relaxed = sp.lambdify((n, K, sigma), atoms_relaxed(n, K, sigma), "mpmath")
    _dp_relaxed = sp.lambdify((n, K), 1 + K * sp.log(2 * n / K), "mpmath")
    _upper = sp.lambdify((n, K, sigma), atoms_upper(n, K, sigma), "mpmath")
    _dp_upper = sp.lambdify((n, K), dp_atoms_upper(n, K), "mpmath")
    out = []
    for Kv in (mpmath.mpf("0.3"), mpmath.mpf(4), mpmath.mpf(37) / 3):
        for mult in (1, 5, 300):
            nv = max(mpmath.mpf(1), Kv) * mult
            for sv in (mpmath.mpf("1e-3"), mpmath.mpf("1e-6"), mpmath.mpf("1e-9")):
                with mp.workdps(dps + 20):
                    gap = max(abs(_relaxed(nv, Kv, sv) / _dp_relaxed(nv, Kv) - 1),
                              abs(_upper(nv, Kv, sv) / _dp_upper(nv, Kv) - 1))
                out.append((+gap, 10 * sv))
    return out
