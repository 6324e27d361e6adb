"""The truncation route for the Dirichlet-process teacher: keep the first ``n`` atoms of the stick (ours).

Teacher (docs/paper-setting.md, "Ours"): ``F(x) = sum_k pi_k a_k ReLU(w_k . x)`` with stick-breaking weights
``pi`` of concentration ``K``, ``a_k ~ N(0, sigma_a^2)``, ``w_k ~ N(0, sigma_w^2 I_d)``.  Write each atom as a
direction ``u_k = w_k/||w_k||`` and an output weight ``b_k = pi_k a_k ||w_k||``.  The proxy:

1. *truncate*: ``F_n = sum_{k<=n} b_k ReLU(u_k . x)``, the first ``n`` atoms in stick order;
2. *directions*: ``u_k -> u~_k``, a point of a ``delta``-net of the sphere (at most ``(1 + 2/delta)^d`` points);
3. *weights*: ``b_k -> b~_k``, rounded stochastically to ``rho Z`` (unbiased, variance <= rho^2/4).

Misspecification.  The output weights ``a_k`` are independent with mean zero and the rounding is unbiased, so
every cross term vanishes and (``E ReLU(u . X)^2 = 1/2`` for a unit ``u``, ``||w||`` independent of ``u``)::

    E(F - F~)^2 = s2 t(n)/2 + E sum_{k<=n} b_k^2 (ReLU(u_k.X) - ReLU(u~_k.X))^2 + E sum_{k<=n} (b~_k - b_k)^2 ReLU(u~_k.X)^2
               <= s2 t(n)/2 + s2 t(0) delta^2 + n rho^2/8,

with ``s2 = E[a^2 ||w||^2]`` and the squared stick tail ``t(n) = E sum_{k>n} pi_k^2 = (K/(K+2))^n/(K+1)``; the KL
lemma divides by 8.  No tail argument is needed for the unbounded Gaussian parts: the directions live on the
sphere, and the rounded weights are integers whose entropy is bounded by their mean (the geometric law has
the largest entropy at a given mean, ``H <= ln(1 + lambda) + 1``, and stochastic rounding keeps
``E|b~_k| = E|b_k| = E[pi_k] mu_b``).

Estimation.  ``F~`` is fixed by ``n`` net points and ``n`` signed integers, so
``I(F; F~) <= H(F~) <= n d ln(1 + 2/delta) + sum_{k<=n} [ln 2 + ln(1 + E[pi_k] mu_b/rho) + 1]``
``<= n [d ln(1 + 2/delta) + ln 2 + 1] + n ln(1 + mu_b/(n rho))`` (Jensen; ``sum_k E pi_k <= 1``).

With ``delta^2 = 4nd/(s2 t(0) T)`` and ``rho^2 = 32/T`` the bound is
:func:`scaling_theory.theory.jeon_van_roy.truncation_bound`, valid for every integer ``n >= 1`` and ``T > 0``.
Its compute-optimal width grows like ``ln C`` (:func:`~scaling_theory.theory.jeon_van_roy.truncation_leading`).

References
----------
Jeon & Van Roy, arXiv:2407.01456 (the framework: misspecification plus I(F; F~)/T); docs/paper-setting.md
"One bound is one proof: take the best route".
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from scaling_theory.derivations.assembled_bound import quantise_direction
from scaling_theory.derivations.core import (Derivation, asymptotic, consistency, identity, inequality,
                                             monte_carlo_cases, numeric_values, value_inequalities)
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory import teachers as spec
from scaling_theory.theory.jeon_van_roy import C_budget, K_dp as K, T, d, p, truncation_bound, truncation_leading
from scaling_theory.theory.registry import get_law

__all__ = ["derivation", "general_bound"]

n = sp.Symbol("n", positive=True, integer=True)
k = sp.Symbol("k", positive=True, integer=True)
delta, rho, s2, mu, lam = sp.symbols("delta rho s2 mu_b lambda", positive=True)
_CASES = ((2, 1.5, 2, 0.4, "barron"), (3, 2.0, 4, 0.3, "normalised"), (4, 0.7, 1, 0.5, "barron"))
"""``(d, K, n, delta, scale)`` of the end-to-end Monte Carlo cases."""
_RHO = 0.5
_TEACHERS = 3000


def tail(n_, K_=K):
    """``t(n) = E sum_{k>n} pi_k^2`` (:func:`scaling_theory.theory.teachers.stick_square_tail`)."""
    return spec.stick_square_tail(n_, K_)


def general_bound(n_=n, T_=T, d_=d, K_=K, s2_=s2, mu_=mu, delta_=delta, rho_=rho):
    """The truncation route for any ``delta, rho > 0`` (ours): distortions over 8 plus entropy over ``T``."""
    return (s2_ * tail(n_, K_) / 16 + s2_ * tail(sp.Integer(0), K_) * delta_**2 / 8 + n_ * rho_**2 / 64
            + (n_ * d_ * sp.log(1 + 2 / delta_) + n_ * (sp.log(2) + 1) + n_ * sp.log(1 + mu_ / (n_ * rho_))) / T_)


def _number(e) -> float:
    return float(sp.N(e, 30))


def _teachers(dv, Kv, scale, rng, m):
    """``m`` teachers from the simulator's own sampler (looked up at call time)."""
    from scaling_theory.numeric.sim import teacher as sim

    return [sim.sample_teacher(dv, Kv, kind="dp", seed=int(s), scale=scale)
            for s in rng.integers(0, 2**31 - 1, size=m)]


def _atoms(t, nv):
    """The first ``nv`` atoms of a teacher as ``(b, u)`` (zero weights past its stored atoms)."""
    m = min(nv, t.m)
    norms = np.linalg.norm(t.W[:m], axis=1)
    b = np.zeros(nv)
    u = np.zeros((nv, t.d))
    u[:, 0] = 1.0
    b[:m] = t.a[:m] * norms
    u[:m] = t.W[:m] / norms[:, None]
    return b, u


def _round(rng, b, r):
    low = np.floor(b / r) * r
    return low + r * (rng.random(b.shape) < (b - low) / r)


def _stages(rng, t, nv, dl, r):
    """``(F, F_n, F_q, F~)`` at one fresh input for one teacher: the three stages of the proxy."""
    x = rng.standard_normal(t.d)
    F = float(np.maximum(t.W @ x, 0.0) @ t.a)
    b, u = _atoms(t, nv)
    uq = quantise_direction(u, dl)
    Fn = float(b @ np.maximum(u @ x, 0.0))
    Fq = float(b @ np.maximum(uq @ x, 0.0))
    Ft = float(_round(rng, b, r) @ np.maximum(uq @ x, 0.0))
    return F, Fn, Fq, Ft


def _stage_sampler(dv, Kv, nv, dl, scale, what):
    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_teachers(dv, Kv, scale, rng, m)):
            F, Fn, Fq, Ft = _stages(rng, t, nv, dl, _RHO)
            e1, e2, e3 = F - Fn, Fn - Fq, Fq - Ft
            out[j] = {"trunc": e1**2, "dir": e2**2, "round": e3**2, "cross": 2 * (e1 * e2 + e1 * e3 + e2 * e3),
                      "kl": np.logaddexp(0, Ft) - np.logaddexp(0, F) - (Ft - F) / (1 + np.exp(-F))}[what]
        return out
    return sample


def _constants(dv, Kv, scale):
    Kq = sp.nsimplify(Kv)
    return (_number(spec.unit_second_moment("dp", scale, sp.Integer(dv), Kq)),
            _number(spec.unit_abs_mean("dp", scale, sp.Integer(dv), Kq)), Kq)


def _cases(what):
    out = []
    for dv, Kv, nv, dl, scale in _CASES:
        s2v, _, Kq = _constants(dv, Kv, scale)
        t_n, t_0 = _number(tail(sp.Integer(nv), Kq)), _number(tail(sp.Integer(0), Kq))
        value = {"trunc": s2v * t_n / 2, "dir": s2v * t_0 * dl**2, "round": nv * _RHO**2 / 8, "cross": 0.0,
                 "kl": (s2v * t_n / 2 + s2v * t_0 * dl**2 + nv * _RHO**2 / 8) / 8}[what]
        out.append((f"{scale} d={dv} K={Kv} n={nv} delta={dl}", _stage_sampler(dv, Kv, nv, dl, scale, what),
                    (lambda v: lambda: v)(value), _TEACHERS))
    return out


def _code_sampler(dv, Kv, nv, dl, scale):
    _, muv, Kq = _constants(dv, Kv, scale)
    lams = np.array([_number(spec.stick_mean(sp.Integer(j + 1), Kq)) * muv / _RHO for j in range(nv)])

    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_teachers(dv, Kv, scale, rng, m)):
            b, _ = _atoms(t, nv)
            mags = np.abs(_round(rng, b, _RHO)) / _RHO
            # net index (uniform over (1 + 2/delta)^d points), sign, then the geometric code of mean lambda_k
            out[j] = np.sum(dv * np.log(1 + 2 / dl) + np.log(2) + np.log1p(lams) + mags * np.log1p(1 / lams))
        return out
    return sample


def _code_cases():
    out = []
    for dv, Kv, nv, dl, scale in _CASES:
        _, muv, _ = _constants(dv, Kv, scale)
        bound = nv * (dv * np.log(1 + 2 / dl) + np.log(2) + 1) + nv * np.log1p(muv / (nv * _RHO))
        out.append((f"{scale} d={dv} K={Kv} n={nv} delta={dl}", _code_sampler(dv, Kv, nv, dl, scale),
                    (lambda v: lambda: v)(bound), _TEACHERS))
    return out


def _tail_series_pairs(dps):
    """The series summed term by term until a term is below the working precision (no closed form used)."""
    out = []
    eps = mpmath.mpf(10) ** (-dps - 5)
    for Kv in (mpmath.mpf("0.3"), mpmath.mpf(1), mpmath.mpf(32), mpmath.mpf(257) / 3):
        for nv in (0, 1, 7, 60):
            total, j = mpmath.mpf(0), nv + 1
            while True:
                term = 2 * (Kv / (Kv + 2)) ** (j - 1) / ((Kv + 1) * (Kv + 2))
                total += term
                if term < eps * total:
                    break
                j += 1
            out.append((total, (Kv / (Kv + 2)) ** nv / (Kv + 1)))
    return out


def _jensen_pairs(dps):
    out = []
    for Kv in (mpmath.mpf("0.5"), mpmath.mpf(4), mpmath.mpf(32)):
        for nv in (1, 5, 40, 300):
            for ratio in (mpmath.mpf("0.01"), mpmath.mpf(3), mpmath.mpf(1000)):
                lhs = mpmath.fsum(mpmath.log1p((Kv / (Kv + 1)) ** j / (Kv + 1) * ratio) for j in range(nv))
                out.append((lhs, nv * mpmath.log1p(ratio / nv)))
    return out


def _optimum(dv, Kv, route):
    law = get_law("jeon-van-roy")
    values = law.parameters(None, {"d": dv, "K": Kv})

    def f(Cm):
        from scaling_theory.numeric.precision.routes import route_optimum

        return route_optimum(law, law.route(route), values, sp.Integer(10) ** int(mpmath.nint(mpmath.log10(Cm))),
                             digits=max(15, mp.dps - 10))
    return f


def _leading(dv, Kv, key):
    expr = truncation_leading(C_budget, sp.Integer(dv), sp.Integer(Kv))[key]
    fn = sp.lambdify(C_budget, expr, modules="mpmath")
    return lambda Cm: fn(Cm)


def _route_pairs(dps):
    out = []
    for C in (10**6, 10**8, 10**12):
        trunc, maurey = _optimum(8, 32, "truncation")(mpmath.mpf(C)), _optimum(8, 32, "maurey")(mpmath.mpf(C))
        out.append((trunc.loss, maurey.loss))
    return out


_TAIL = (400, 800, 1600, 3200, 6400)


def derivation() -> Derivation:
    """The truncation route, step by step (module docstring; every constant ours).

    Returns
    -------
    Derivation
        ``truncation``: the stick's moments, the three distortions and their cross terms (Monte Carlo on the
        simulator's own teacher), the entropy count, the assembled bound and its leading orders as ``C -> oo``.

    Examples
    --------
    >>> der = derivation()
    >>> der.name, der.steps[0].name, len(der.steps) >= 20
    ('truncation', 'beta-moments', True)
    """
    beta_mean = lambda a_, c_: sp.gamma(1 + a_) * sp.gamma(K + c_) * sp.gamma(K + 1) / (   # noqa: E731
        sp.gamma(K) * sp.gamma(K + 1 + a_ + c_))   # E beta^a (1-beta)^c for beta ~ Beta(1, K)
    law_route = get_law("jeon-van-roy").route("truncation")
    n_dom = {d: Box(1, 300, integer=True), K: Box(0.02, 100, log=True), n: Box(1, 1e5, log=True, integer=True),
             T: Box(1, 1e15, log=True)}
    steps = (
        identity("beta-moments", beta_mean(2, 0), 2 / ((K + 1) * (K + 2)), {K: Box(0.02, 200, log=True)},
                 "For beta ~ Beta(1, K): E[beta^2] = B(3, K)/B(1, K) = 2/((K+1)(K+2)) (a ratio of Gamma functions)."),
        identity("one-minus-beta-moments", beta_mean(0, 2), K / (K + 2), {K: Box(0.02, 200, log=True)},
                 "E[(1 - beta)^2] = B(1, K+2)/B(1, K) = K/(K+2)."),
        identity("beta-mean", beta_mean(1, 0), 1 / (K + 1), {K: Box(0.02, 200, log=True)},
                 "E[beta] = B(2, K)/B(1, K) = 1/(K+1), so E[1 - beta] = K/(K+1)."),
        identity("stick-square-mean", (2 / ((K + 1) * (K + 2))) * (K / (K + 2)) ** (k - 1), spec.stick_square_mean(k, K),
                 {K: Box(0.02, 200, log=True), k: Box(1, 400, integer=True)},
                 "pi_k = beta_k prod_{j<k} (1 - beta_j) with independent beta_j: E pi_k^2 = E[beta^2] "
                 "E[(1-beta)^2]^(k-1), the stick moment the truncation route's misspecification is made of."),
        identity("stick-mean", (1 / (K + 1)) * (K / (K + 1)) ** (k - 1), spec.stick_mean(k, K),
                 {K: Box(0.02, 200, log=True), k: Box(1, 400, integer=True)},
                 "E pi_k = E[beta] E[1-beta]^(k-1) = (K/(K+1))^(k-1)/(K+1)."),
        numeric_values("stick-square-tail", "identity", sp.Sum(spec.stick_square_mean(k, K), (k, n + 1, sp.oo)),
                       tail(n), "The geometric series over k > n: t(n) = (K/(K+2))^n/(K+1) (the "
                       "series summed term by term against the closed form, K in {0.3, 1, 32, 257/3}, n in {0, 1, 7, 60}).",
                       pairs=_tail_series_pairs, method="series"),
        monte_carlo_cases("truncation-misspecification", sp.Symbol(r"E(F - F_n)^2"), s2 * tail(n) / 2,
                          "Truncating at the first n atoms leaves sum_{k>n} b_k ReLU(u_k.X): independent mean-zero "
                          "a_k kill the cross terms and E ReLU(u.X)^2 = 1/2, so E(F - F_n)^2 = s2 t(n)/2. Monte "
                          "Carlo on the simulator's own teachers (sample_teacher, kind dp), both scales (ours).",
                          cases=_cases("trunc"), ours=True, seed=400),
        monte_carlo_cases("direction-quantisation", sp.Symbol(r"E(F_n - F_q)^2"), s2 * tail(0) * delta**2,
                          "Moving each kept direction to within delta (a concrete grid quantiser): ReLU is "
                          "1-Lipschitz, E((u - u~).X)^2 = ||u - u~||^2 <= delta^2, cross terms vanish (mean-zero "
                          "a_k), ||w|| is independent of u, and sum_{k<=n} E pi_k^2 <= t(0) = 1/(K+1) (ours).",
                          cases=_cases("dir"), relation="<=", ours=True, seed=410),
        monte_carlo_cases("weight-rounding", sp.Symbol(r"E(F_q - \tilde{F})^2"), n * rho**2 / 8,
                          "Stochastic rounding of each b_k to rho Z: unbiased, variance <= rho^2/4, independent "
                          "across k; E ReLU(u~.X)^2 = 1/2, so at most n rho^2/8 (rho = 1/2) (ours).",
                          cases=_cases("round"), relation="<=", ours=True, seed=420),
        monte_carlo_cases("pythagoras", sp.Symbol("2E[e1 e2 + e1 e3 + e2 e3]"), sp.Integer(0),
                          "The three stage errors (truncate e1, directions e2, rounding e3) are uncorrelated: e1 "
                          "holds only atoms k > n (mean-zero weights), e3 is unbiased given the rest (ours).",
                          cases=_cases("cross"), ours=True, seed=430),
        monte_carlo_cases("construction-kl", sp.Symbol(r"E KL(F || \tilde{F})"),
                          (s2 * tail(n) / 2 + s2 * tail(0) * delta**2 + n * rho**2 / 8) / 8,
                          "End to end, the proof's construction on the simulator's teachers: the KL at fresh inputs "
                          "is below the summed distortions over 8 (KL lemma) (ours).",
                          cases=_cases("kl"), relation="<=", ours=True, seed=440),
        inequality("geometric-entropy", (lam + 1) * sp.log(lam + 1) - lam * sp.log(lam), sp.log(1 + lam) + 1,
                   {lam: Box(1e-9, 1e9, log=True)},
                   "A nonnegative integer with mean lambda has entropy at most the geometric law's, "
                   "(lambda+1) ln(lambda+1) - lambda ln lambda = ln(1+lambda) + lambda ln(1 + 1/lambda) <= "
                   "ln(1+lambda) + 1 (ln(1+x) <= x): no bound on the unbounded weights is needed, only their mean.",
                   points=40),
        value_inequalities("weight-jensen", sp.Sum(sp.log(1 + spec.stick_mean(k, K) * mu / rho), (k, 1, n)),
                           n * sp.log(1 + mu / (n * rho)),
                           "E|b~_k| = E|b_k| = E[pi_k] mu_b (stochastic rounding keeps the mean size), and by "
                           "Jensen with sum_{k<=n} E pi_k <= 1: sum_k ln(1 + E[pi_k] mu_b/rho) <= n ln(1 + "
                           "mu_b/(n rho)); checked at K = 1/2, 4, 32, n = 1, 5, 40, 300 and mu_b/rho = 0.01, 3, 1000.",
                           pairs=_jensen_pairs),
        monte_carlo_cases("construction-code", sp.Symbol(r"E[code length of \tilde{F}]"),
                          n * (d * sp.log(1 + 2 / delta) + sp.log(2) + 1) + n * sp.log(1 + mu / (n * rho)),
                          "The construction's description length with the proof's code (a net index, a sign, the "
                          "geometric code of mean E[pi_k] mu_b/rho for each magnitude), measured on the simulator's "
                          "teachers, is below the entropy term: I(F; F~) <= H(F~) <= E[code length] (ours).",
                          cases=_code_cases(), relation="<=", ours=True, seed=450),
        identity("assemble",
                 general_bound(s2_=spec.unit_second_moment("dp", "barron", d, K),
                               mu_=spec.unit_abs_mean("dp", "barron", d, K),
                               delta_=sp.sqrt(4 * n * d / (spec.unit_second_moment("dp", "barron", d, K) * tail(0) * T)),
                               rho_=sp.sqrt(32 / T)),
                 truncation_bound(n * (d + 1)), n_dom,
                 "Insert delta^2 = 4nd/(s2 t(0) T) (balances s2 t(0) delta^2/8 against n d ln(2/delta)/T) and "
                 "rho^2 = 32/T: the registered route, for every integer n >= 1 and T > 0 (ours; Barron scale, "
                 "s2 = K^2 d).", ours=True, points=16),
        identity("assemble-normalised",
                 general_bound(s2_=spec.unit_second_moment("dp", "normalised", d, K),
                               mu_=spec.unit_abs_mean("dp", "normalised", d, K),
                               delta_=sp.sqrt(4 * n * d / (spec.unit_second_moment("dp", "normalised", d, K)
                                                           * tail(0) * T)),
                               rho_=sp.sqrt(32 / T)),
                 truncation_bound(n * (d + 1), scale="normalised"), n_dom,
                 "The same on the normalised scale (s2 = K + 1) (ours).", ours=True, points=16),
        consistency(identity("registered-route", law_route.expr, truncation_bound(),
                             {p: Box(2, 1e9, log=True), T: Box(1, 1e15, log=True), d: Box(1, 300, integer=True),
                              K: Box(0.02, 100, log=True)},
                             "The law jeon-van-roy's route 'truncation' is this bound (restates the definition).")),
        asymptotic("leading-model", sp.Symbol("p*"), truncation_leading(C_budget)["model"],
                   "Along the budget the bound is s2 t(0) e^(-gamma n)/16 + p^2 ln(C/p)/(2C) + O(p^2/C) with "
                   "gamma = ln((K+2)/K): the first term must fall to the second's size, so gamma n* = ln C - "
                   "O(ln ln C) and p* ~ (d+1) ln C/gamma: the model grows like ln C, exponent 0 (d = 8, K = 32; the "
                   "numerical optimum of the registered route, C = 1e400 .. 1e6400) (ours).",
                   exact=lambda Cm: _optimum(8, 32, "truncation")(Cm).model, leading=_leading(8, 32, "model"),
                   exponents=_TAIL, tolerance=0.01, ours=True),
        asymptotic("leading-data", sp.Symbol("T*"), truncation_leading(C_budget)["data"],
                   "T* = C/p* ~ gamma C/((d+1) ln C) (ours).",
                   exact=lambda Cm: _optimum(8, 32, "truncation")(Cm).data, leading=_leading(8, 32, "data"),
                   exponents=_TAIL, tolerance=0.01, ours=True),
        asymptotic("leading-loss", sp.Symbol("L*"), truncation_leading(C_budget)["loss"],
                   "L* ~ p*^2 ln C/(2C) ~ (d+1)^2 ln^3 C/(2 gamma^2 C): the misspecification at the optimum is a "
                   "factor 1/ln C smaller (ours).",
                   exact=lambda Cm: _optimum(8, 32, "truncation")(Cm).loss, leading=_leading(8, 32, "loss"),
                   exponents=_TAIL, tolerance=0.01, ours=True),
        value_inequalities("beats-maurey", sp.Symbol("L*_truncation"), sp.Symbol("L*_Maurey"),
                           "At d = 8, K = 32 (Barron scale) the truncation route's optimum is below the Maurey "
                           "route's at C = 1e6, 1e8 and 1e12 (1.56 < 4.8, 0.075 < 1.39, 5.1e-5 < 0.023): the law's "
                           "headline there is the truncation route's.",
                           pairs=_route_pairs, relation="<", method="numerical-optimum"),
    )
    return Derivation(
        "truncation", "The truncation route for the infinite-width teacher",
        "Keep the first n atoms of the stick and quantise them: misspecification s2 (K/(K+2))^n/(16(K+1)), "
        "estimation ~ n(d+1) ln T/(2T); the optimal model grows like ln C, not sqrt(C).", steps,
        conclusion={"truncation route": sp.Le(sp.Symbol("L"), truncation_bound()),
                    "p* (leading order)": truncation_leading(C_budget)["model"],
                    "T* (leading order)": truncation_leading(C_budget)["data"],
                    "L* (leading order)": truncation_leading(C_budget)["loss"]},
        notes=("Validity: every integer n >= 1 and T > 0 (no large-T relaxation); allocate and the studies "
               "minimise it over a continuous model size, as every route.",
               "The Maurey route counts every one of its n draws as a parameter although most repeat an atom; "
               "this route pays for each kept atom once, and its misspecification falls geometrically. So the "
               "p* ~ sqrt(C) of the Maurey route is a property of that proof, not of the teacher (ours)."))
