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

from scaling_theory.derivations.core import (Derivation, consistency, expectation, identity, inequality,
                                             monte_carlo_cases)
from scaling_theory.derivations.dp_atoms import stick_weights
from scaling_theory.derivations.entropy_count import delta_star, rho_star
from scaling_theory.derivations.maurey import fixed_teacher
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import (K, K_dp, T, VALIDITY_T, atoms_upper, d, direct_bound, dp_bound,
                                                dp_exact_bound, dp_scale_moments, exact_bound, expected_atoms,
                                                first_moment, large_T_bound, p, second_moment,
                                                unit_scale_mean, validity_T)
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


def dp_general_bound(n_=n, T_=T, d_=d, s2_=S, mu_=M, atoms_=sp.Symbol("N", positive=True), delta_=delta,
                     rho_=rho):
    """DP teacher, any ``delta, rho > 0`` (ours): ``s2/(16n) + s2 delta^2/16 + rho^2/64`` plus
    ``[E N (d ln(1 + 2/delta) + ln 2 + ln(1 + mu_b/rho) + 1 + ln(n+1)) + ln n]/T``."""
    return (s2_ / (16 * n_) + s2_ * delta_**2 / 16 + rho_**2 / 64
            + (atoms_ * (d_ * sp.log(1 + 2 / delta_) + sp.log(2) + sp.log(1 + mu_ / rho_) + 1 + sp.log(n_ + 1))
               + sp.log(n_)) / T_)


def direct_general_bound(T_=T, d_=d, K_=K, S_=S, mu_=M, delta_=delta, rho_=rho):
    """Finite teacher, direct width-``K`` route, any ``delta, rho > 0`` (ours)."""
    return (S_ * delta_**2 / 16 + K_ * rho_**2 / 64
            + K_ * (d_ * sp.log(1 + 2 / delta_) + sp.log(2) + sp.log(1 + mu_ / rho_) + 1) / T_)


def quantise_direction(u: np.ndarray, dl: float) -> np.ndarray:
    """A concrete ``delta``-quantiser of unit vectors: round to the grid ``(delta/sqrt(d)) Z^d`` and
    normalise; ``||u - u~|| <= 2 ||u - g|| <= delta`` (used by the end-to-end Monte Carlo)."""
    h = dl / np.sqrt(u.shape[-1])
    g = h * np.round(u / h)
    return g / np.linalg.norm(g, axis=-1, keepdims=True)


def _round_stochastic(rng, b, r):
    low = np.floor(b / r) * r
    return low + r * (rng.random(b.shape) < (b - low) / r)


def _kl(F, G):
    return np.logaddexp(0, G) - np.logaddexp(0, F) - (G - F) / (1 + np.exp(-F))


def _dp_construction(dv, Kv, width, dl, r, what):
    """The DP proof's construction, end to end, one fresh teacher per draw: stick weights pi and atoms
    (Barron scale), directions quantised to within ``dl``, ``width`` atoms drawn from pi, each distinct
    atom's weight ``b = a ||w||`` rounded stochastically to ``r Z``; returns the KL at a fresh input or
    the description length of the proxy counted with the proof's code."""
    L = int(30 * (Kv + 1)) + 1
    mu = float(sp.N(dp_scale_moments(sp.Integer(dv), sp.Rational(Kv))[1], 20))
    per_atom = dv * np.log(1 + 2 / dl) + np.log(2) + np.log(1 + mu / r) + 1 + np.log(width + 1)

    def sample(rng, m):
        out = np.empty(m)
        for j in range(m):
            pi = stick_weights(rng, Kv, L)
            w = rng.standard_normal((L, dv))
            a = rng.standard_normal(L) * Kv        # Barron-scale DP atoms carry the weights K pi_k a_k
            norms = np.linalg.norm(w, axis=1)
            idx = np.searchsorted(np.cumsum(pi), rng.random(width) * pi.sum())
            atoms, counts = np.unique(idx, return_counts=True)
            if what == "code":
                out[j] = atoms.size * per_atom + np.log(width)
                continue
            x = rng.standard_normal(dv)
            F = np.sum(pi * a * np.maximum(w @ x, 0))
            u_q = quantise_direction(w[atoms] / norms[atoms, None], dl)
            b_hat = _round_stochastic(rng, a[atoms] * norms[atoms], r)
            G = np.sum(counts / width * b_hat * np.maximum(u_q @ x, 0))
            out[j] = _kl(F, G)
        return out
    return sample


_E2E = ((2, 2.0, 4, 0.5), (2, 2.0, 32, 0.2), (4, 0.5, 64, 0.1))   # (d, K, n, delta)
_E2E_RHO = 0.5


def _e2e_kl_cases():
    out = []
    for dv, Kv, width, dl in _E2E:
        s2 = Kv**2 * dv   # Barron scale: the atoms' weights are K a_k, so s2 = E[(K a)^2 ||w||^2] = K^2 d
        bound = s2 / (16 * width) + s2 * dl**2 / 16 + _E2E_RHO**2 / 64
        out.append((f"KL d={dv} K={Kv} n={width} delta={dl}", _dp_construction(dv, Kv, width, dl, _E2E_RHO, "kl"),
                    (lambda b: lambda: b)(bound), 3000))
    return out


def _e2e_code_cases():
    out = []
    for dv, Kv, width, dl in _E2E:
        mu = float(sp.N(dp_scale_moments(sp.Integer(dv), sp.Rational(Kv))[1], 20))
        per_atom = dv * np.log(1 + 2 / dl) + np.log(2) + np.log(1 + mu / _E2E_RHO) + 1 + np.log(width + 1)
        bound = float(sp.N(atoms_upper(sp.Integer(width), sp.Rational(Kv)), 20)) * per_atom + np.log(width)
        out.append((f"code d={dv} K={Kv} n={width} delta={dl}",
                    _dp_construction(dv, Kv, width, dl, _E2E_RHO, "code"), (lambda b: lambda: b)(bound), 1500))
    return out


def _direct_sampler(tc, dl, r):
    def sample(rng, m):
        X = rng.standard_normal((m, tc["d"]))
        F = np.maximum(X @ tc["w"].T, 0) @ tc["a"]
        u_q = quantise_direction(tc["u"], dl)
        b = tc["a"] * np.linalg.norm(tc["w"], axis=1)
        b_hat = _round_stochastic(rng, np.broadcast_to(b, (m, tc["K"])).copy(), r)
        G = np.sum(b_hat * np.maximum(X @ u_q.T, 0), axis=1)
        return _kl(F, G)
    return sample


def _direct_cases():
    tc = fixed_teacher(d=6, K=3, seed=17)
    out = []
    for dl in (0.6, 0.3, 0.1):
        bound = tc["V"] ** 2 * dl**2 / 16 + tc["K"] * _E2E_RHO**2 / 64
        out.append((f"delta={dl}", _direct_sampler(tc, dl, _E2E_RHO), (lambda b: lambda: b)(bound), 100_000))
    return out


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


def _termwise_relaxation(expr: sp.Expr) -> sp.Expr:
    """``expr`` with each ``ln(1 + x)`` replaced by ``ln 2 + ln x``: the large-``T`` relaxation, applied by rule."""
    def is_log_one_plus(e):
        return isinstance(e, sp.log) and isinstance(e.args[0], sp.Add) and sp.Integer(1) in e.args[0].args

    return expr.replace(is_log_one_plus, lambda e: sp.log(2) + sp.log(e.args[0] - 1))


def derivation() -> Derivation:
    """The assembled bound ``L(n, T) <= S/(16n) + [...]/T`` from the proxy stages, the KL lemma and the
    entropy count, and its large-``T`` form ``A/p + (B + (Kd+1)/2 ln T + K ln p)/T`` registered as the
    ``jeon-van-roy`` law (shape as in Jeon & Van Roy, arXiv:2212.01365; every constant ours, docs/paper-setting.md
    "Ours"; see :func:`scaling_theory.theory.jeon_van_roy.exact_bound`).

    Returns
    -------
    Derivation
        ``jeon-van-roy-bound``: 18 checked steps (run them with :func:`scaling_theory.derivations.check.run_checks`).

    Examples
    --------
    >>> der = derivation()
    >>> der.name, len(der.steps), sum(s.ours for s in der.steps)
    ('jeon-van-roy-bound', 18, 17)
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
    mu_b = unit_scale_mean()
    s2, mu_dp = dp_scale_moments()
    dist_bound = tc["V"] ** 2 / (2 * _WIDTH) + tc["V"] ** 2 * dl**2 / 2 + _RHO**2 / 8
    S_, M_ = second_moment(), first_moment()
    entropy = K * (d * sp.log(1 + 2 / delta) + sp.log(2) + sp.log(n + 1)) + sp.log(1 + M / rho) + 1
    law = get_law("jeon-van-roy-finite")
    t_min = float(sp.N(validity_T("finite", "barron", sp.Integer(1), sp.Integer(1)), 20))   # 8 pi^2 from the theory
    n_dom = {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True), n: Box(1, 1e12, log=True),
             T: Box(t_min, 1e15, log=True)}
    ratio = sp.Symbol("r", positive=True)   # n = r K >= K
    kk = sp.Symbol("k", positive=True)      # K = 1/(1+k) < 1
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
        identity("validity-threshold",
                 first_moment(sp.Integer(1), sp.Integer(1)) * sp.sqrt(validity_T("finite", "barron", sp.Integer(1),
                                                                                  sp.Integer(1)) / 32), 1, {},
                 "Where the threshold comes from: ln(1 + x) <= ln 2 + ln x needs x = M sqrt(T/32) >= 1, and "
                 "M = E[V] = K sqrt(2/pi) m_d is smallest at d = K = 1, where M = 2/pi; so T >= 32/M^2 = 8 pi^2 is "
                 "the smallest T at which the relaxation holds term by term for every d, K >= 1. Checked at the "
                 "boundary: the first moment at d = K = 1 and T = validity_T give x = 1 exactly (a smaller "
                 "threshold gives x < 1, where the termwise relaxation fails) (ours).", ours=True),
        identity("dp-validity-threshold",
                 unit_scale_mean(sp.Integer(1), 1 / (1 + kk), "barron", "dp")
                 * sp.sqrt(validity_T("dp", "barron", sp.Integer(1), 1 / (1 + kk)) / 32), 1,
                 {kk: Box(1e-3, 50, log=True)},
                 "Barron-scale DP teacher with K = 1/(1+k) < 1: mu_b = K sqrt(2/pi) m_d is smallest at d = 1, "
                 "mu_b = 2K/pi, so x = mu_b sqrt(T/32) >= 1 needs T >= 8 pi^2/K^2; at T = validity_T the "
                 "boundary value is x = 1 exactly (ours).", ours=True),
        identity("relaxation-is-termwise", _termwise_relaxation(exact_bound()), large_T_bound(),
                 {p: Box(2, 1e15, log=True), T: Box(1, 1e15, log=True), d: Box(1, 300, integer=True),
                  K: Box(1, 64, integer=True)},
                 "The registered law is the exact bound with every ln(1 + x) replaced by ln 2 + ln x (and ln(n+1) "
                 "by ln 2 + ln n) and nothing else: A, B and beta are read off that replacement, so a constant of "
                 "B cannot change in either direction without breaking this identity (ours).", ours=True),
        inequality("validity-termwise", sp.log(1 + M_ * sp.sqrt(T / 32)), sp.log(2) + sp.log(M_ * sp.sqrt(T / 32)),
                   {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True),
                    T: Box(t_min * (1 + 1e-12), 1e15, log=True)},
                   "The relaxed term itself: ln(1 + M sqrt(T/32)) <= ln 2 + ln(M sqrt(T/32)) for every d, K >= 1 "
                   "and T >= validity_T (sampled, edges included: equality at d = K = 1 as T -> 8 pi^2; the float "
                   "edge is moved up by 1e-12) (ours).",
                   ours=True, points=30),
        consistency(identity("registered-law", large_T_bound(), law.expr,
                             {p: Box(2, 1e15, log=True), T: Box(79, 1e15, log=True), d: Box(1, 300, integer=True),
                              K: Box(1, 64, integer=True)},
                             "The registry's jeon-van-roy-finite law is this bound (restates the definition).")),
        identity("direct-assemble",
                 direct_general_bound(S_=S_, mu_=mu_b, delta_=delta_star(K, d, S_, T), rho_=rho_star(T)),
                 direct_bound(), {d: Box(1, 300, integer=True), K: Box(1, 64, integer=True),
                                  T: Box(1, 1e15, log=True)},
                 "Direct width-K route (finite teacher, n >= K): directions to a delta-net (distortion "
                 "V^2 delta^2/2, Cauchy-Schwarz over units), each unit's weight b_k = a_k ||w_k|| rounded "
                 "stochastically (K rho^2/8), KL factor 1/8; entropy K [d ln(1 + 2/delta) + ln 2 + "
                 "ln(1 + mu_b/rho) + 1]; delta^2 = 8Kd/(S T), rho^2 = 32/T. No 1/n term (ours).", ours=True),
        monte_carlo_cases("direct-construction-kl", sp.Symbol(r"E KL(F || \tilde{F}_{direct})"),
                          V**2 * delta**2 / 16 + K * rho**2 / 64,
                          "End to end: a fixed teacher (d = 6, K = 3), its directions quantised by a concrete grid "
                          "quantiser (error <= delta), its weights rounded stochastically (rho = 1/2); the measured "
                          "KL to the teacher is below the route's distortion term, delta in {0.6, 0.3, 0.1} (ours).",
                          cases=_direct_cases(), relation="<=", ours=True, seed=90),
        identity("dp-assemble",
                 dp_general_bound(s2_=s2, mu_=mu_dp, atoms_=expected_atoms(n, K_dp),
                                  delta_=sp.sqrt(8 * d / (s2 * T)), rho_=rho_star(T)),
                 dp_exact_bound().subs(p, n * (d + 1)),
                 {d: Box(1, 300, integer=True), K_dp: Box(0.05, 50, log=True), n: Box(1, 1e12, log=True),
                  T: Box(1, 1e15, log=True)},
                 "DP teacher: draw n atoms iid from the stick weights pi (Maurey with the untilted law: "
                 "E(F - F~_n)^2 <= E[sum pi_k a_k^2 ||w_k||^2]/(2n) = s2/(2n)); directions to a delta-net "
                 "(s2 delta^2/2 by Jensen over the draw frequencies), each distinct atom's weight rounded "
                 "stochastically (rho^2/8, since sum of squared frequencies <= 1); the proxy is fixed by N, the N "
                 "distinct atoms' net points, signed rounded weights and draw counts, so H <= ln n + E N [d ln(1 + "
                 "2/delta) + ln 2 + ln(1 + mu_b/rho) + 1 + ln(n+1)]; E N = K (psi(K+n) - psi(K)) (dp-atoms); "
                 "delta^2 = 8d/(s2 T), rho^2 = 32/T (ours).", ours=True),
        monte_carlo_cases("dp-construction-kl", sp.Symbol(r"E KL(F || \tilde{F})"),
                          sp.Symbol("s2") / (16 * n) + sp.Symbol("s2") * delta**2 / 16 + rho**2 / 64,
                          "End to end, the proof's construction (ours): sample a DP teacher (Barron scale), quantise "
                          "its directions (concrete grid quantiser, error <= delta), draw n atoms from pi, round each "
                          "distinct atom's weight (rho = 1/2); the KL measured at fresh inputs is below the bound's "
                          "misspecification term, at (d, K, n, delta) = (2, 2, 4, .5), (2, 2, 32, .2), (4, .5, 64, .1).",
                          cases=_e2e_kl_cases(), relation="<=", ours=True, seed=100),
        monte_carlo_cases("dp-construction-code", sp.Symbol("E[code length of F~]"),
                          atoms_upper(n, K_dp) * sp.Symbol("c_atom") + sp.log(n),
                          "The same construction's description length, counted with the proof's code (ln n for N, "
                          "c_atom = d ln(1 + 2/delta) + ln 2 + ln(1 + mu_b/rho) + 1 + ln(n+1) per distinct atom), is "
                          "below the bound's entropy term with 1 + K ln(1 + n/K) atoms (ours).",
                          cases=_e2e_code_cases(), relation="<=", ours=True, seed=120),
        inequality("dp-relaxation", dp_exact_bound().subs(p, ratio * K_dp * (d + 1)),
                   dp_bound().subs(p, ratio * K_dp * (d + 1)),
                   {d: Box(1, 300, integer=True), K_dp: Box(1, 50), ratio: Box(1, 1e10, log=True),
                    T: Box(t_min, 1e15, log=True)},
                   "E N <= 1 + K ln(1 + n/K) <= 1 + K ln(2n/K) (n >= K), ln(1 + x) <= ln 2 + ln x for x >= 1 in each "
                   "per-atom log, ln(n+1) <= ln 2 + ln n: the registered jeon-van-roy law dominates the DP bound "
                   "for n = r K >= K >= 1, T >= validity_T = 8 pi^2 (Barron scale) (ours).", ours=True, points=30),
        inequality("dp-relaxation-small-K", dp_exact_bound().subs(p, n * (d + 1)), dp_bound().subs(p, n * (d + 1)),
                   {d: Box(1, 300, integer=True), K_dp: Box(0.02, 1), n: Box(1, 1e12, log=True),
                    T: Box(t_min / 0.02**2, 1e15, log=True)},
                   "The same for K < 1, n >= 1 and T >= 8 pi^2/K^2 (the Barron-scale DP's validity_T; ours).",
                   ours=True, points=30),
        inequality("dp-relaxation-normalised", dp_exact_bound(scale="normalised").subs(p, ratio * K_dp * (d + 1)),
                   dp_bound(scale="normalised").subs(p, ratio * K_dp * (d + 1)),
                   {d: Box(1, 300, integer=True), K_dp: Box(1, 50), ratio: Box(1, 1e10, log=True),
                    T: Box(max(t_min, 300.0), 1e15, log=True)},
                   "The same relaxation on the normalised scale, valid for T >= max(8 pi^2, 2d/(K+1)) (ours).",
                   ours=True, points=30),
    )
    return Derivation(
        "jeon-van-roy-bound", "The assembled Jeon-Van Roy bound (our constants)",
        "Misspecification E[V^2]/(16n) plus estimation (K d ln(...)/2 + K ln n + ...)/T, registered as the "
        "jeon-van-roy law (model p = n(d+1), cost p*T).", steps,
        conclusion={"bound (all T)": sp.Le(sp.Symbol("L"), exact_bound()),
                    "registered law (T >= 8 pi^2)": sp.Le(sp.Symbol("L"), large_T_bound()),
                    "direct route (n >= K)": sp.Le(sp.Symbol("L"), direct_bound()),
                    "DP bound (all T)": sp.Le(sp.Symbol("L"), dp_exact_bound()),
                    "DP law": sp.Le(sp.Symbol("L"), dp_bound())},
        notes=("Validity of the finite law's Maurey route: n >= 1 and T >= 8 pi^2 = %s (Barron scale)."
               % sp.N(VALIDITY_T, 6),
               "The DP law draws its n atoms from the stick weights (untilted), so its atom count is the proved "
               "Chinese-restaurant count and its constant is s2 = E[a^2 ||w||^2] = sigma^2 d, not the finite "
               "teacher's E[V^2]; the tilted route would have the smaller E[V^2] of the DP (second-moment) but "
               "no proved atom count (ours)."))
