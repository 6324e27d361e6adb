"""The assembled bound: from the proxy construction to the registered ``jeon-van-roy`` law (ours).

Proxy: quantise the teacher's directions (``F_q``), Maurey-sample ``n`` atoms (``F~_n``), round the
scale stochastically (``F~``).  Each stage is conditionally unbiased given the previous one, so the
mean-square errors add (Pythagoras).  With the KL lemma, the entropy count and the balancing choice of
``delta`` and ``rho``::

    L(n, T) <= S/(16n) + [K d/2 + K d ln(1 + sqrt(S T/(2Kd))) + K ln 2 + K ln(n+1)
                          + ln(1 + M sqrt(T/32)) + 3/2] / T                    (all n >= 1, T > 0)
            <= A/p + (B + (Kd+1)/2 ln T + K ln p)/T                          (n >= 1, T >= 8 pi^2)

with ``p = n (d+1)``.  Shape as in the paper (docs/paper-setting.md: ``E[V^2]/(16n) + K d ln(...)/(2T) + K ln(n+1)/T``);
every constant and log factor is ours.

References
----------
Jeon & Van Roy, arXiv:2212.01365 (shape of the bound); docs/paper-setting.md "Ours".
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from scaling_theory.derivations.core import Derivation, expectation, identity, inequality
from scaling_theory.derivations.entropy_count import delta_star, rho_star
from scaling_theory.derivations.maurey import fixed_teacher
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import (K, K_dp, T, VALIDITY_T, d, dp_bound, exact_bound, expected_atoms,
                                                first_moment, large_T_bound, p, second_moment)
from scaling_theory.theory.registry import get_law

__all__ = ["derivation", "general_bound"]

n = sp.Symbol("n", positive=True)
delta, rho, S, M = sp.symbols("delta rho S M", positive=True)
_WIDTH, _RHO = 4, 0.5


def general_bound(n_=n, T_=T, d_=d, K_=K, S_=S, M_=M, delta_=delta, rho_=rho):
    """Bound for any ``delta, rho > 0`` (ours): distortions plus entropy over ``T``."""
    return (S_ / (16 * n_) + S_ * delta_**2 / 16 + rho_**2 / 64
            + (K_ * d_ * sp.log(1 + 2 / delta_) + K_ * sp.log(2) + K_ * sp.log(n_ + 1)
               + sp.log(1 + M_ / rho_) + 1) / T_)


def _proxy_stages(rng, m, tc, u_q):
    X = rng.standard_normal((m, tc["d"]))
    F = np.maximum(X @ tc["w"].T, 0) @ tc["a"]
    atoms_q = tc["s"] * np.maximum(X @ u_q.T, 0)                      # (m, K)
    Fq = tc["V"] * atoms_q @ tc["q"]
    idx = rng.choice(tc["K"], size=(m, _WIDTH), p=tc["q"])
    mean_atoms = np.take_along_axis(atoms_q, idx, axis=1).mean(axis=1)
    Fn = tc["V"] * mean_atoms
    low = np.floor(tc["V"] / _RHO) * _RHO
    V_hat = low + _RHO * (rng.random(m) < (tc["V"] - low) / _RHO)    # unbiased stochastic rounding
    return F - Fq, Fq - Fn, Fn - V_hat * mean_atoms


def _setup():
    tc = fixed_teacher(d=6, K=3, seed=11)
    rng = np.random.default_rng(12)
    u_q = tc["u"] + 0.15 * rng.standard_normal(tc["u"].shape)
    u_q /= np.linalg.norm(u_q, axis=1)[:, None]
    dl = float(np.max(np.linalg.norm(tc["u"] - u_q, axis=1)))
    return tc, u_q, dl


def derivation() -> Derivation:
    """The assembled bound ``L(n, T) <= S/(16n) + [...]/T`` from the proxy stages, the KL lemma and the
    entropy count, and its large-``T`` form ``A/p + (B + (Kd+1)/2 ln T + K ln p)/T`` registered as the
    ``jeon-van-roy`` law (shape as in Jeon & Van Roy, arXiv:2212.01365; every constant ours, docs/paper-setting.md
    "Ours"; see :func:`scaling_theory.theory.jeon_van_roy.exact_bound`).

    Returns
    -------
    Derivation
        ``jeon-van-roy-bound``: 7 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('jeon-van-roy-bound', 7, 6)
    >>> [s.name for s in der.steps][:2]
    ['pythagoras', 'proxy-distortion']
    """
    tc, u_q, dl = _setup()

    def cross(rng, m):
        e1, e2, e3 = _proxy_stages(rng, m, tc, u_q)
        return 2 * (e1 * e2 + e1 * e3 + e2 * e3)

    def total(rng, m):
        e1, e2, e3 = _proxy_stages(rng, m, tc, u_q)
        return (e1 + e2 + e3) ** 2

    V = sp.Symbol("V", positive=True)
    dist_bound = tc["V"] ** 2 / (2 * _WIDTH) + tc["V"] ** 2 * dl**2 / 2 + _RHO**2 / 8
    S_, M_ = second_moment(), first_moment()
    entropy = K * (d * sp.log(1 + 2 / delta) + sp.log(2) + sp.log(n + 1)) + sp.log(1 + M / rho) + 1
    law = get_law("jeon-van-roy")
    n_dom = {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True), n: Box(1, 1e12, log=True),
             T: Box(78.957, 1e15, log=True)}
    dp_general = (S_.subs(K, K_dp) / (16 * n) + d / (2 * T) + 1 / (2 * T)
                  + (expected_atoms(n, K_dp) * (d * sp.log(1 + sp.sqrt(S_.subs(K, K_dp) * T / (2 * d))) + sp.log(2)
                                                + sp.log(n + 1))
                     + sp.log(n) + sp.log(1 + M_.subs(K, K_dp) * sp.sqrt(T / 32)) + 1) / T)
    steps = (
        expectation("pythagoras", sp.Symbol("2E[e1 e2 + e1 e3 + e2 e3]"), 0,
                    "Quantise (e1 = F - F_q), sample (e2 = F_q - F~_n), round the scale (e3 = F~_n - F~): each "
                    "stage is conditionally unbiased given the previous, so the cross terms vanish and the "
                    "mean-square errors add (ours). Monte Carlo on a fixed teacher (d = 6, K = 3, n = 4).",
                    sampler=cross, value=lambda: 0.0, ours=True, seed=13),
        expectation("proxy-distortion", sp.Symbol(r"E(F-\tilde{F})^2"),
                    V**2 / (2 * n) + V**2 * delta**2 / 2 + rho**2 / 8,
                    "Sum of the three stage bounds (Maurey V^2/(2n), directions V^2 delta^2/2, rounding rho^2/8); "
                    "Monte Carlo on the same teacher (ours).", sampler=total, value=lambda: dist_bound,
                    relation="<=", ours=True, seed=14),
        identity("assemble", (S / (2 * n) + S * delta**2 / 2 + rho**2 / 8) / 8 + entropy / T,
                 general_bound(),
                 {S: Box(1, 1e5, log=True), M: Box(0.5, 300), n: Box(1, 1e9, log=True), T: Box(1, 1e15, log=True),
                  K: Box(1, 64, integer=True), d: Box(1, 300, integer=True), delta: Box(1e-6, 2, log=True),
                  rho: Box(1e-6, 2, log=True)},
                 "Proxy bound: misspecification <= E(F - F~)^2/8 (KL lemma) with E over the teacher (S = E[V^2]), "
                 "estimation <= H(F~)/T (entropy count): all constants ours.", ours=True),
        identity("choose-scales", general_bound(S_=S_, M_=M_, delta_=delta_star(K, d, S_, T), rho_=rho_star(T)),
                 exact_bound().subs(p, n * (d + 1)), n_dom,
                 "Insert delta* = sqrt(8Kd/(S T)) and rho* = sqrt(32/T): the bound holds for all n >= 1, T > 0 "
                 "(ours).", ours=True),
        inequality("large-T-relaxation", exact_bound().subs(p, n * (d + 1)), large_T_bound().subs(p, n * (d + 1)),
                   n_dom, "ln(1 + x) <= ln 2 + ln x for x >= 1, applied to x = sqrt(S T/(2Kd)) (needs T >= 2), "
                   "x = M sqrt(T/32) (needs T >= 32/M^2, at most 8 pi^2 since M >= 2/pi), x = n (n >= 1): the "
                   "registered law is an upper bound for n >= 1, T >= 8 pi^2 (ours).", ours=True, points=40),
        identity("registered-law", large_T_bound(), law.expr,
                 {p: Box(2, 1e15, log=True), T: Box(79, 1e15, log=True), d: Box(1, 300, integer=True),
                  K: Box(1, 64, integer=True)},
                 "The registry's jeon-van-roy law is this bound, with model p = n(d+1) and cost p*T."),
        inequality("dp-relaxation", dp_general, dp_bound().subs(p, n * (d + 1)),
                   {d: Box(1, 300, integer=True), K_dp: Box(0.5, 50), n: Box(50, 1e12, log=True),
                    T: Box(330, 1e15, log=True)},
                   "Dirichlet-process teacher: the n draws hit N distinct atoms, E N = sum_{i<n} K/(K+i) <= "
                   "1 + K ln(1 + n/K) <= 1 + K ln(2n/K) (n >= K); H(N) <= ln n; delta^2 = 8d/(S T); large-T "
                   "logs as above (valid for T >= 8 pi^2/K^2 + 6/K). The registered jeon-van-roy-dp law "
                   "dominates the DP bound for n >= max(1, K) (ours).",
                   ours=True, points=30),
    )
    return Derivation(
        "jeon-van-roy-bound", "The assembled Jeon-Van Roy bound (our constants)",
        "Misspecification E[V^2]/(16n) plus estimation (K d ln(...)/2 + K ln n + ...)/T, registered as the "
        "jeon-van-roy law (model p = n(d+1), cost p*T).", steps,
        conclusion={"bound (all T)": sp.Le(sp.Symbol("L"), exact_bound()),
                    "registered law (T >= 8 pi^2)": sp.Le(sp.Symbol("L"), large_T_bound()),
                    "DP law": sp.Le(sp.Symbol("L"), dp_bound())},
        notes=("Validity of the registered law: n >= 1 and T >= 8 pi^2 = %s." % sp.N(VALIDITY_T, 6),
               "The DP law replaces K atoms by 1 + K ln(1 + n/K) >= E[distinct atoms]; V is assumed to have the "
               "finite teacher's moments S, M (ours)."))
