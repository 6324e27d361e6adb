"""The Maurey route for the Pitman-Yor teacher: n untilted draws from the stick weights (ours).

The construction is the Dirichlet-process route's (``jeon-van-roy-bound``, step ``dp-assemble``): draw ``n`` atoms
iid from the stick weights ``pi``, move each distinct atom's direction to a ``delta``-net point and round its output
weight to ``rho Z`` without bias.  Only two facts about the stick enter:

- ``sum_k pi_k = 1`` and the atoms are independent of the weights, so Maurey's argument gives
  ``E(F - F~_n)^2 <= E[sum_k pi_k a_k^2 ||w_k||^2]/(2n) = s2/(2n)``, the DP's misspecification (KL factor 1/8);
- the number of distinct atoms drawn is the two-parameter urn's ``E N_n`` (``pitman-yor-atoms``), which grows like
  ``n^sigma`` instead of ``K ln(1 + n/K)``.

With ``delta^2 = 8d/(s2 T)``, ``rho^2 = 32/T`` this is :func:`scaling_theory.theory.pitman_yor.exact_bound`; the DP
law's three relaxations give the registered route :func:`~scaling_theory.theory.pitman_yor.maurey_bound`, valid for
``n >= max(1, K)`` and ``T >= validity_T``.  Its optimum grows like ``(C/ln C)^(1/(2+sigma))``
(:func:`~scaling_theory.theory.pitman_yor.maurey_leading`): the extra atoms cost the model exponent
``1/2 - 1/(2+sigma)``.

References
----------
Jeon & Van Roy, arXiv:2407.01456 (the framework); docs/paper-setting.md, "The Pitman-Yor teacher".
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from scaling_theory.derivations.assembled_bound import dp_general_bound
from scaling_theory.derivations.core import (Derivation, asymptotic, consistency, identity, inequality,
                                             monte_carlo_cases, numeric_values, value_inequalities)
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory.jeon_van_roy import dp_bound
from scaling_theory.theory.pitman_yor import (C_budget, K, T, d, exact_bound, maurey_bound, maurey_leading, p,
                                              scale_moments, sigma)
from scaling_theory.theory.registry import get_law

__all__ = ["derivation", "optimum"]

n = sp.Symbol("n", positive=True, integer=True)
ratio = sp.Symbol("r", positive=True)
_MC = ((2, 0.5, 0.25, 8, 1e-6, "barron"), (3, 2.0, 0.3, 64, 1e-5, "normalised"), (2, 1.0, 0.25, 2, 1e-6, "barron"))
_MC_TEACHERS = 600
"""``(d, K, sigma, n, tol, scale)`` of the Maurey Monte Carlo: sticks cut where the leftover is negligible."""
_LEAD = (8, 32, "0.75")     # (d, K, sigma) of the asymptotic steps
_BUDGETS = (100, 400, 1600, 6400)


def _misspecification(dv, Kv, sv, width, tol, scale):
    def sample(rng, m):
        from scaling_theory.numeric.sim import teacher as sim   # looked up at call time: a mutated sampler is drawn

        out = np.empty(m)
        for j, seed in enumerate(rng.integers(0, 2**31 - 1, size=m)):
            t = sim.sample_teacher(dv, Kv, kind="pitman-yor", sigma=sv, seed=int(seed), tol=tol, scale=scale)
            b = t.a / t.pi                                   # each atom's own weight sigma_a a_k
            x = rng.standard_normal(dv)
            h = b * np.maximum(t.W @ x, 0.0)
            idx = np.searchsorted(np.cumsum(t.pi), rng.random(width) * t.pi.sum())
            out[j] = (float(t.pi @ h) - float(h[idx].mean())) ** 2
        return out
    return sample


def _mc_cases():
    out = []
    for dv, Kv, sv, width, tol, scale in _MC:
        s2, _ = scale_moments(sp.Integer(dv), sp.nsimplify(Kv), sp.nsimplify(sv), scale)
        bound = float(sp.N(s2, 20)) / (2 * width)
        out.append((f"{scale} d={dv} K={Kv} sigma={sv} n={width}", _misspecification(dv, Kv, sv, width, tol, scale),
                    (lambda b: lambda: b)(bound), _MC_TEACHERS))
    return out


@functools.lru_cache(maxsize=64)
def optimum(route: str, dv: int, Kv, sv: str, k: int, digits: int, scale: str = "barron"):
    """The registered route's optimum at ``C = 10^k`` (cached: three asymptotic steps read one optimum)."""
    from scaling_theory.numeric.precision.routes import route_optimum
    from scaling_theory.theory.pitman_yor import law_name

    law = get_law(law_name(scale))
    values = law.parameters(None, {"d": dv, "K": Kv, "sigma": sv})
    return route_optimum(law, law.route(route), values, sp.Integer(10) ** k, digits=digits)


def _exact(route, key):
    dv, Kv, sv = _LEAD

    def f(Cm):
        k = int(mpmath.nint(mpmath.log10(Cm)))
        return getattr(optimum(route, dv, Kv, sv, k, max(15, mp.dps - 10)), key)
    return f


def _leading(fn, key):
    dv, Kv, sv = _LEAD
    expr = fn(C_budget, sp.Integer(dv), sp.Integer(Kv), sp.Rational(sv))[key]
    return sp.lambdify(C_budget, expr, modules="mpmath")


def _engine_pairs(dps):
    """The allocation engine's leading-order p* (its own dominant balance on the registered route) against
    :func:`maurey_leading`, at C = 1e20 and 1e200."""
    from scaling_theory.theory.allocation import compute_optimal_allocation

    out = []
    for dv, Kv, sv in ((8, 32, "0.5"), (16, 4, "0.25")):
        law = get_law("jeon-van-roy-pitman-yor").route_law("maurey")
        alloc = compute_optimal_allocation(law, {"d": dv, "K": Kv, "sigma": sv})
        engine = sp.lambdify(C_budget, alloc.expanded(alloc.asymptotic_model).subs(alloc.compute, C_budget), "mpmath")
        ours = sp.lambdify(C_budget, maurey_leading(C_budget, sp.Integer(dv), sp.Integer(Kv), sp.Rational(sv))["model"],
                           "mpmath")
        for k in (20, 200):
            out.append((engine(mpmath.mpf(10) ** k), ours(mpmath.mpf(10) ** k)))
    return out


def _to_dp_pairs(dps):
    return sigma_to_dp_pairs(maurey_bound, dp_bound)


def sigma_to_dp_pairs(route_bound, dp_route_bound) -> list:
    """``(|route(sigma) / dp_route - 1|, 10 sigma)`` on both scales at three settings and sigma = 1e-3, 1e-6, 1e-9:
    a Pitman-Yor route tends to the DP's as ``sigma -> 0``, linearly (the ``sigma-to-dp`` steps of both routes)."""
    # compiled at check time, so a mutated route is what is checked
    _route = sp.lambdify((p, T, d, K, sigma), route_bound(), "mpmath")
    _route_n = sp.lambdify((p, T, d, K, sigma), route_bound(scale="normalised"), "mpmath")
    _dp = sp.lambdify((p, T, d, K), dp_route_bound(), "mpmath")
    _dp_n = sp.lambdify((p, T, d, K), dp_route_bound(scale="normalised"), "mpmath")
    out = []
    for dv, Kv, nv, Tv in ((8, 32, 300, 10**8), (2, mpmath.mpf("0.5"), 50, 10**5), (16, 4, 1000, 10**12)):
        for sv in (mpmath.mpf("1e-3"), mpmath.mpf("1e-6"), mpmath.mpf("1e-9")):
            pv = mpmath.mpf(nv) * (dv + 1)
            gap = max(abs(_route(pv, Tv, dv, Kv, sv) / _dp(pv, Tv, dv, Kv) - 1),
                      abs(_route_n(pv, Tv, dv, Kv, sv) / _dp_n(pv, Tv, dv, Kv) - 1))
            out.append((gap, 10 * sv))
    return out


def derivation() -> Derivation:
    """The Pitman-Yor teacher's Maurey route, step by step (module docstring; every constant ours).

    Returns
    -------
    Derivation
        ``pitman-yor-bound``: the misspecification on the simulator's own teachers, the assembled bound, its
        relaxation into the registered route, the limit ``sigma -> 0`` (the ``jeon-van-roy`` law's Maurey route) and the
        leading orders against the numerical optimum and the allocation engine.

    Examples
    --------
    >>> der = derivation()
    >>> der.name, [s.name for s in der.steps][:2]
    ('pitman-yor-bound', ['maurey-misspecification', 'assemble'])
    """
    s2, mu = scale_moments()
    atoms = sp.Symbol("N", positive=True)
    t_min = float(sp.N(8 * sp.pi**2, 20))
    steps = (
        monte_carlo_cases("maurey-misspecification", sp.Symbol(r"E(F - \tilde{F}_n)^2"), sp.Symbol("s2") / (2 * n),
                          "n atoms drawn iid from the stick weights pi (untilted Maurey): E(F - F~_n)^2 = Var_J/n <= "
                          "E[sum_k pi_k b_k^2 ReLU(u_k.X)^2]/n = s2/(2n), since sum_k pi_k = 1 and the atoms are "
                          "independent of the weights. Monte Carlo on the simulator's own Pitman-Yor teachers "
                          "(sample_teacher, both scales; sticks cut at a leftover of 1e-6 .. 1e-5) (ours).",
                          cases=_mc_cases(), relation="<=", ours=True, seed=600),
        identity("assemble",
                 dp_general_bound(n_=n, T_=T, d_=d, s2_=s2, mu_=mu, atoms_=atoms, delta_=sp.sqrt(8 * d / (s2 * T)),
                                  rho_=sp.sqrt(32 / T)),
                 exact_bound(n * (d + 1), atoms_=atoms),
                 {d: Box(1, 300, integer=True), K: Box(0.05, 50, log=True), sigma: Box(0.01, 0.99),
                  n: Box(1, 1e9, log=True), T: Box(1, 1e15, log=True), atoms: Box(1, 1e6, log=True)},
                 "The DP route's construction with the Pitman-Yor count E N_n (pitman-yor-atoms; N here): s2/(16n) + "
                 "s2 delta^2/16 + rho^2/64 + [N (d ln(1 + 2/delta) + ln 2 + ln(1 + mu_b/rho) + 1 + ln(n+1)) + ln n]/T "
                 "with delta^2 = 8d/(s2 T), rho^2 = 32/T, s2 = K^2 d is exact_bound (ours).", ours=True, points=12),
        inequality("relaxation", exact_bound().subs(p, ratio * K * (d + 1)), maurey_bound().subs(p, ratio * K * (d + 1)),
                   {d: Box(1, 300, integer=True), K: Box(1, 50), sigma: Box(0.01, 0.99), ratio: Box(1, 1e10, log=True),
                    T: Box(t_min, 1e15, log=True)},
                   "E N_n <= (K/sigma)[(2n/K)^sigma ((K+sigma)/K)^(1-sigma) - 1] for n >= K (pitman-yor-atoms), "
                   "ln(1 + x) <= ln 2 + ln x for x >= 1 in each per-atom log, ln(n+1) <= ln 2 + ln n: the registered "
                   "route dominates the bound for n = r K >= K >= 1, T >= validity_T = 8 pi^2 (Barron scale; ours).",
                   ours=True, points=30),
        inequality("relaxation-small-K", exact_bound().subs(p, n * (d + 1)), maurey_bound().subs(p, n * (d + 1)),
                   {d: Box(1, 300, integer=True), K: Box(0.02, 1), sigma: Box(0.01, 0.99), n: Box(1, 1e12, log=True),
                    T: Box(t_min / 0.02**2, 1e15, log=True)},
                   "The same for K < 1, n >= 1 and T >= 8 pi^2/K^2 (ours).", ours=True, points=30),
        inequality("relaxation-normalised", exact_bound(scale="normalised").subs(p, ratio * K * (d + 1)),
                   maurey_bound(scale="normalised").subs(p, ratio * K * (d + 1)),
                   {d: Box(1, 300, integer=True), K: Box(1, 50), sigma: Box(0.01, 0.99), ratio: Box(1, 1e10, log=True),
                    T: Box(max(t_min, 600.0), 1e15, log=True)},
                   "The same on the normalised scale (s2 = (K+1)/(1-sigma)), T >= max(8 pi^2, 2d(1-sigma)/(K+1)) (ours).",
                   ours=True, points=30),
        consistency(identity("registered-route", get_law("jeon-van-roy-pitman-yor").route("maurey").expr, maurey_bound(),
                             {p: Box(2, 1e9, log=True), T: Box(1, 1e15, log=True), d: Box(1, 300, integer=True),
                              K: Box(0.02, 100, log=True), sigma: Box(0.01, 0.99)},
                             "The law jeon-van-roy-pitman-yor's route 'maurey' is this bound (restates the definition).")),
        identity("abbreviated-form",
                 get_law("jeon-van-roy-pitman-yor").abbreviated_expr.xreplace(
                     get_law("jeon-van-roy-pitman-yor").abbreviations), maurey_bound(),
                 {p: Box(2, 1e9, log=True), T: Box(1, 1e15, log=True), d: Box(1, 300, integer=True),
                  K: Box(0.02, 100, log=True), sigma: Box(0.01, 0.99)},
                 "The law's display form A/p + (B + ln p + (kappa p^sigma - K/sigma)(beta ln T + ln p + E))/T with its "
                 "abbreviations substituted is the route: the count is kappa p^sigma - K/sigma and each atom costs "
                 "beta ln T + ln p + E (ours).", ours=True, symbolic=False),
        value_inequalities("sigma-to-dp", sp.Symbol(r"|L_{PY}/L_{DP} - 1|"), 10 * sigma,
                           "As sigma -> 0 the route tends to the jeon-van-roy law's Maurey route (the same construction "
                           "with the Chinese-restaurant count), linearly in sigma: |ratio - 1| <= 10 sigma at sigma = "
                           "1e-3, 1e-6, 1e-9 on both scales, (d, K, n, T) in {(8, 32, 300, 1e8), (2, 1/2, 50, 1e5), "
                           "(16, 4, 1000, 1e12)} (ours).", pairs=_to_dp_pairs),
        numeric_values("engine-leading", "identity", sp.Symbol("p* (dominant balance)"), maurey_leading()["model"],
                       "The allocation engine's own dominant balance on the registered route gives the same leading "
                       "order p* ~ (d+1) (s2/(16 (1+sigma) G))^(1/(2+sigma)), G = kappa pi (d+1) ln C/C (at (d, K, "
                       "sigma) = (8, 32, 1/2) and (16, 4, 1/4), C = 1e20 and 1e200) (ours).", pairs=_engine_pairs),
        asymptotic("leading-model", sp.Symbol("p*"), maurey_leading()["model"],
                   "a/n + G n^(1+sigma) with a = s2/16 and G = kappa pi (d+1) ln C/C (the count's n^sigma coefficient "
                   "kappa, each atom's cost ((d+1)/2) ln T + ln n ~ pi ln C): (n*)^(2+sigma) = a/((1+sigma) G), so "
                   "p* ~ (C/ln C)^(1/(2+sigma)), model exponent 1/(2+sigma) (d = 8, K = 32, sigma = 3/4; the numerical "
                   "optimum of the registered route, C = 1e100 .. 1e6400) (ours).",
                   exact=_exact("maurey", "model"), leading=_leading(maurey_leading, "model"), exponents=_BUDGETS,
                   tolerance=0.01, ours=True),
        asymptotic("leading-data", sp.Symbol("T*"), maurey_leading()["data"], "T* = C/p* (ours).",
                   exact=_exact("maurey", "data"), leading=_leading(maurey_leading, "data"), exponents=_BUDGETS,
                   tolerance=0.01, ours=True),
        asymptotic("leading-loss", sp.Symbol("L*"), maurey_leading()["loss"],
                   "L* ~ a (2+sigma)/((1+sigma) n*): the route falls like (C/ln C)^(-1/(2+sigma)) (ours).",
                   exact=_exact("maurey", "loss"), leading=_leading(maurey_leading, "loss"), exponents=_BUDGETS,
                   tolerance=0.01, ours=True),
    )
    return Derivation(
        "pitman-yor-bound", "The Maurey route for the Pitman-Yor teacher",
        "n draws from the stick weights: misspecification s2/(16n) as for the Dirichlet process, estimation over the "
        "Pitman-Yor urn's ~ n^sigma distinct atoms; p* ~ (C/ln C)^(1/(2+sigma)).", steps,
        conclusion={"Maurey route": sp.Le(sp.Symbol("L"), maurey_bound()),
                    "p* (leading order)": maurey_leading()["model"],
                    "model exponent": 1 / (2 + sigma)},
        notes=("Validity: n >= max(1, K) and T >= validity_T (the relaxation E N_n <= (K/sigma)[(2n/K)^sigma ...] needs "
               "n >= K); the bound before relaxation, exact_bound, holds for every n >= 1 and T > 0.",
               "Only at sigma = 0 does the count grow logarithmically and the Maurey route reach p* ~ sqrt(C)/ln C; for "
               "sigma > 0 the model exponent is 1/(2+sigma) < 1/2."))
