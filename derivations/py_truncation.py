"""The truncation route for the Pitman-Yor teacher: the first ``n`` atoms, and the power-law tail of the stick (ours).

The construction is the Dirichlet-process truncation route's (``truncation``): keep the first ``n`` atoms in stick
order, move each direction to a ``delta``-net point, round each output weight to ``rho Z`` without bias.  Its three
distortions, their vanishing cross terms and the geometric entropy bound use only ``sum_k E pi_k <= 1``,
``sum_{k<=n} E pi_k^2 <= t(0)`` and mean-zero output weights, so they hold for the Pitman-Yor stick as they are; what
changes is the squared tail ``t(n) = E sum_{k>n} pi_k^2``.

The stick.  ``V_k ~ Beta(1 - sigma, K + k sigma)``: ``E V_k^2 prod_{j<k} E(1 - V_j)^2`` telescopes into Gamma ratios,
``E pi_k^2 = c Gamma(a+k)/Gamma(g+k)`` with ``a = K/sigma``, ``g = (K+2)/sigma``, and the identity
``Gamma(a+k)/Gamma(g+k) = [Gamma(a+k)/Gamma(g+k-1) - Gamma(a+k+1)/Gamma(g+k)]/(g-a-1)`` sums the tail in closed form:

    t(n) = (1 - sigma)/(K+1) Gamma(g) Gamma(a+n+1)/(Gamma(a+1) Gamma(g+n))   ~   tau n^(1 - 2/sigma).

(A closed form in Gamma functions, not an elementary one; checked against the series summed with Levin's
transformation at 50 and 100 digits.)  The route uses the upper bound
``tbar(n) = t(0) Gamma(g)/Gamma(a+1) exp(G(a+n+1/2) - G(g+n-1/2))``, ``G(z) = z ln z - z``, from
``psi(z) > ln(z - 1/2)``: the same power and constant, within 5 % of ``t(n)`` everywhere on the checked grid, and
evaluated without cancellation at any ``n`` (:func:`scaling_theory.theory.teachers.py_stick_square_tail_bound`).  The
simpler bound ``t(n) <= E R_n^2`` (the squared leftover stick) is a closed Gamma ratio too but falls like
``n^(-2(1-sigma)/sigma)``, one power of ``n`` too slowly; it is not used.

The optimum.  Along the budget the route is ``A n^(-q) + B n^2`` with ``q = 2/sigma - 1``: ``p* ~ (C/ln C)^(sigma/(2+sigma))``
(:func:`scaling_theory.theory.pitman_yor.truncation_leading`), model exponent ``sigma/(2+sigma) < 1/3``, and
``L* ~ (C/ln C)^(-(2-sigma)/(2+sigma))``, which beats the Maurey route's ``C^(-1/(2+sigma))`` for every ``sigma < 1``.

References
----------
J. Pitman & M. Yor, The two-parameter Poisson-Dirichlet distribution, Ann. Probab. 25 (1997) (the stick); D. Levin,
Development of non-linear transformations for improving convergence of sequences (1973); docs/paper-setting.md,
"The Pitman-Yor teacher".
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

from scaling_theory.derivations.assembled_bound import quantise_direction
from scaling_theory.derivations.core import (Derivation, asymptotic, consistency, identity, inequality,
                                             monte_carlo_cases, numeric_values, value_inequalities)
from scaling_theory.derivations.py_bound import optimum, sigma_to_dp_pairs
from scaling_theory.numeric.precision.verify import Box
from scaling_theory.theory import teachers as spec
from scaling_theory.theory.jeon_van_roy import truncation_bound as dp_truncation_bound
from scaling_theory.theory.pitman_yor import (C_budget, K, T, d, p, scale_moments, sigma, tail_constant,
                                              truncation_bound, truncation_leading)
from scaling_theory.theory.registry import get_law

__all__ = ["derivation", "general_bound", "series_tail"]

n = sp.Symbol("n", positive=True, integer=True)
k = sp.Symbol("k", positive=True, integer=True)
delta, rho, s2, mu, z, y, c, a_, g_ = sp.symbols("delta rho s2 mu_b z y c a g", positive=True)
_RHO = 0.5
_ATOMS = 400          # sticks per simulated teacher: the cut's share is added back exactly (its conditional mean)
_TEACHERS = 1500
_CASES = ((2, 2.0, 0.5, 3, 0.4, "barron"), (3, 0.5, 0.25, 2, 0.3, "normalised"), (2, 1.0, 0.75, 4, 0.5, "barron"))
"""``(d, K, sigma, n, delta, scale)`` of the Monte Carlo on the simulator's teachers."""
_LEAD = (8, 32, "0.75")
_BUDGETS = (100, 400, 1600, 6400)


def general_bound(n_=n, T_=T, d_=d, s2_=s2, mu_=mu, tail_n=None, tail_0=None, delta_=delta, rho_=rho):
    """The truncation route for any ``delta, rho > 0`` and any stick with squared tails ``tail_n >= t(n)`` and
    ``tail_0 = t(0)`` (ours): distortions over 8 plus entropy over ``T``."""
    return (s2_ * tail_n / 16 + s2_ * tail_0 * delta_**2 / 8 + n_ * rho_**2 / 64
            + (n_ * d_ * sp.log(1 + 2 / delta_) + n_ * (sp.log(2) + 1) + n_ * sp.log(1 + mu_ / (n_ * rho_))) / T_)


def _beta_moment(i, j, k_=k):
    """``E V^i (1-V)^j = B(a+i, b+j)/B(a, b)`` for ``V ~ Beta(1 - sigma, K + k sigma)``."""
    a, b = spec.stick_beta_parameters(k_, K, sigma)
    return sp.gamma(a + i) * sp.gamma(b + j) * sp.gamma(a + b) / (sp.gamma(a) * sp.gamma(b) * sp.gamma(a + b + i + j))


_GRID = ((mpmath.mpf("0.3"), mpmath.mpf("0.1")), (mpmath.mpf(1), mpmath.mpf("0.5")), (mpmath.mpf(32), mpmath.mpf("0.75")),
         (mpmath.mpf(257) / 3, mpmath.mpf("0.9")), (mpmath.mpf(4), mpmath.mpf("0.25")))


def _moments(kv, Kv, sv):
    a, b = 1 - sv, Kv + kv * sv
    return (a / (a + b), a * (a + 1) / ((a + b) * (a + b + 1)), b / (a + b), b * (b + 1) / ((a + b) * (a + b + 1)))


def _product_pairs(which):
    """``E pi_k`` or ``E pi_k^2`` as the product of Beta moments, term by term, against the closed form."""
    fn = sp.lambdify((k, K, sigma), (spec.py_stick_mean if which == "mean" else spec.py_stick_square_mean)(k, K, sigma),
                     "mpmath")

    def pairs(dps):
        out = []
        for Kv, sv in _GRID:
            prod = mpmath.mpf(1)
            for kv in range(1, 61):
                EV, EV2, E1, E12 = _moments(kv, Kv, sv)
                if kv in (1, 2, 7, 60):
                    out.append((prod * (EV if which == "mean" else EV2), fn(kv, Kv, sv)))
                prod *= E1 if which == "mean" else E12
        return out
    return pairs


def series_tail(nv, Kv, sv):
    """``sum_{k>n} E pi_k^2`` summed as a series (no closed form used): 200 terms one by one, then Levin's
    transformation of the remainder's partial sums, with 20 digits to spare."""
    with mp.workdps(mp.dps + 20):
        a, g = Kv / sv, (Kv + 2) / sv
        front = (1 - sv) * (2 - sv) * mpmath.gamma(g) / (sv * (Kv + 1) * mpmath.gamma(a + 1))
        term = lambda kk: mpmath.exp(mpmath.loggamma(a + kk) - mpmath.loggamma(g + kk))   # noqa: E731
        # the first 200 terms one by one, the rest (a smooth power-law tail) by Levin's transformation
        head = mpmath.fsum(term(kk) for kk in range(nv + 1, nv + 201))
        out = front * (head + mpmath.nsum(term, [nv + 201, mpmath.inf], method="levin"))
    return +out


_TAIL_GRID = tuple((mpmath.mpf(Kv), mpmath.mpf(sv), nv) for Kv, sv, nv in
                   (("1", "0.5", 0), ("32", "0.75", 10), ("0.5", "0.25", 3), ("4", "0.9", 100), ("300", "0.5", 7),
                    ("0.1", "0.05", 2)))
def _tail(nv, Kv, sv):
    """``t(n)`` (the closed form, compiled at call time: a mutated form is what is checked)."""
    return sp.lambdify((n, K, sigma), spec.py_stick_square_tail(n, K, sigma), "mpmath")(nv, Kv, sv)


def _tail_bar(nv, Kv, sv):
    """``tbar(n)`` (compiled at call time)."""
    return sp.lambdify((n, K, sigma), spec.py_stick_square_tail_bound(n, K, sigma), "mpmath")(nv, Kv, sv)


def _series_pairs(dps):
    return [(series_tail(nv, Kv, sv), _tail(nv, Kv, sv)) for Kv, sv, nv in _TAIL_GRID]


def _bound_pairs(factor):
    """``(t(n), tbar(n))`` (``factor = 1``) or ``(tbar(n), 1.05 t(n))`` on a grid of ``(sigma, K, n)``."""
    def pairs(dps):
        _tail = sp.lambdify((n, K, sigma), spec.py_stick_square_tail(n, K, sigma), "mpmath")
        _tail_bar = sp.lambdify((n, K, sigma), spec.py_stick_square_tail_bound(n, K, sigma), "mpmath")
        out = []
        for sv in ("0.05", "0.25", "0.5", "0.75", "0.95"):
            for Kv in ("0.1", "1", "32", "300"):
                for nv in (0, 1, 10, 1000, 10**6):
                    sq, Kq = mpmath.mpf(sv), mpmath.mpf(Kv)
                    t, tb = _tail(nv, Kq, sq), _tail_bar(nv, Kq, sq)
                    out.append((t, tb) if factor == 1 else (tb, factor * t))
        return out
    return pairs


def _remaining_pairs(dps):
    fn = sp.lambdify((n, K, sigma), spec.py_remaining_stick_square_mean(n, K, sigma), "mpmath")
    out = []
    for Kv, sv in _GRID:
        prod = mpmath.mpf(1)
        for nv in range(1, 41):
            prod *= _moments(nv, Kv, sv)[3]
            if nv in (1, 9, 40):
                out.append((prod, fn(nv, Kv, sv)))
    return out


def _teachers(dv, Kv, sv, scale, rng, m):
    """``m`` teachers from the simulator's own sampler (looked up at call time, so a mutation of it is drawn)."""
    from scaling_theory.numeric.sim import teacher as sim

    return [sim.sample_teacher(dv, Kv, kind="pitman-yor", sigma=sv, seed=int(s_), scale=scale, max_atoms=_ATOMS)
            for s_ in rng.integers(0, 2**31 - 1, size=m)]


def _cut_square(t) -> float:
    """``E[sum_{k>m} pi_k^2 | the m kept sticks] = R^2 (1-sigma)/(K+1+m sigma)``: the cut's exact conditional mean."""
    return t.leftover**2 * (1 - t.sigma) / (t.K + 1 + t.m * t.sigma)


def _unit_var(t, scale) -> float:
    """``E[a^2 ||w||^2]`` of one atom as the sampler draws it (its own scales)."""
    sa, sw = spec.numeric_scales(scale, "pitman-yor", t.d, t.K, t.sigma)
    return sa * sa * sw * sw * t.d


def _stick_sampler(Kv, sv, what, kv):
    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_teachers(1, Kv, sv, "barron", rng, m)):
            if what == "mean":
                out[j] = t.pi[kv - 1]
            elif what == "tail":
                out[j] = float(np.sum(t.pi[kv:] ** 2)) + _cut_square(t)
            else:
                out[j] = 1.0 - float(np.sum(t.pi[:kv]))
        return out
    return sample


def _stick_cases(what):
    fns = {"mean": spec.py_stick_mean, "tail": spec.py_stick_square_tail, "rest": spec.py_remaining_stick_mean}
    out = []
    for Kv, sv, kv in ((2.0, 0.5, 3), (0.5, 0.75, 1), (4.0, 0.25, 8)):
        value = float(sp.N(fns[what](sp.Integer(kv), sp.nsimplify(Kv), sp.nsimplify(sv)), 30))
        out.append((f"K={Kv} sigma={sv} {'k' if what == 'mean' else 'n'}={kv}", _stick_sampler(Kv, sv, what, kv),
                    (lambda v: lambda: v)(value), _TEACHERS))
    return out


def _output_sampler(dv, Kv, sv, scale):
    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_teachers(dv, Kv, sv, scale, rng, m)):
            X = rng.standard_normal((16, dv))
            out[j] = np.mean((np.maximum(X @ t.W.T, 0.0) @ t.a) ** 2) + _unit_var(t, scale) * _cut_square(t) / 2
        return out
    return sample


def _output_cases():
    out = []
    for dv, Kv, sv, scale in ((3, 2.0, 0.5, "barron"), (4, 0.5, 0.75, "normalised"), (2, 4.0, 0.25, "normalised")):
        value = float(sp.N(spec.output_second_moment("pitman-yor", scale, sp.Integer(dv), sp.nsimplify(Kv),
                                                     sp.nsimplify(sv)), 30))
        out.append((f"E[F^2] {scale} d={dv} K={Kv} sigma={sv}", _output_sampler(dv, Kv, sv, scale),
                    (lambda v: lambda: v)(value), _TEACHERS))
    return out


def _round(rng, b, r):
    low = np.floor(b / r) * r
    return low + r * (rng.random(b.shape) < (b - low) / r)


def _stage_sampler(dv, Kv, sv, nv, dl, scale, what):
    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_teachers(dv, Kv, sv, scale, rng, m)):
            x = rng.standard_normal(dv)
            F = float(np.maximum(t.W @ x, 0.0) @ t.a)
            norms = np.linalg.norm(t.W[:nv], axis=1)
            b, u = t.a[:nv] * norms, t.W[:nv] / norms[:, None]
            Fn = float(b @ np.maximum(u @ x, 0.0))
            cut = _unit_var(t, scale) * _cut_square(t) / 2   # the dropped atoms' conditional mean square
            if what == "trunc":
                out[j] = (F - Fn) ** 2 + cut
            else:
                Ft = float(_round(rng, b, _RHO) @ np.maximum(quantise_direction(u, dl) @ x, 0.0))
                out[j] = np.logaddexp(0, Ft) - np.logaddexp(0, F) - (Ft - F) / (1 + np.exp(-F))
        return out
    return sample


def _stage_cases(what):
    out = []
    for dv, Kv, sv, nv, dl, scale in _CASES:
        s2v = float(sp.N(scale_moments(sp.Integer(dv), sp.nsimplify(Kv), sp.nsimplify(sv), scale)[0], 30))
        t_n = float(sp.N(spec.py_stick_square_tail(sp.Integer(nv), sp.nsimplify(Kv), sp.nsimplify(sv)), 30))
        t_0 = (1 - sv) / (Kv + 1)
        value = s2v * t_n / 2 if what == "trunc" else (s2v * t_n / 2 + s2v * t_0 * dl**2 + nv * _RHO**2 / 8) / 8
        out.append((f"{scale} d={dv} K={Kv} sigma={sv} n={nv}", _stage_sampler(dv, Kv, sv, nv, dl, scale, what),
                    (lambda v: lambda: v)(value), _TEACHERS))
    return out


def _exact(key):
    dv, Kv, sv = _LEAD

    def f(Cm):
        return getattr(optimum("truncation", dv, Kv, sv, int(mpmath.nint(mpmath.log10(Cm))), max(15, mp.dps - 10)), key)
    return f


def _leading(key):
    dv, Kv, sv = _LEAD
    return sp.lambdify(C_budget, truncation_leading(C_budget, sp.Integer(dv), sp.Integer(Kv), sp.Rational(sv))[key],
                       "mpmath")


def _to_dp_pairs(dps):
    return sigma_to_dp_pairs(truncation_bound, dp_truncation_bound)


def _beats_pairs(dps):
    out = []
    for sv in ("0.25", "0.5", "0.75"):
        for kk in (8, 40):
            # 20 digits at both precisions (one cached optimum): the routes differ by factors, not digits
            out.append((optimum("truncation", 8, 32, sv, kk, 20).loss, optimum("maurey", 8, 32, sv, kk, 20).loss))
    return out


def derivation() -> Derivation:
    """The Pitman-Yor teacher's truncation route, step by step (module docstring; every constant ours).

    Returns
    -------
    Derivation
        ``pitman-yor-truncation``: the stick's moments and its squared tail in closed form (against the series at 50 and
        100 digits and against draws of the simulator's own sampler), the tail's upper bound with its power, the
        construction on the simulator's teachers, the assembled route, the limit ``sigma -> 0`` (the ``jeon-van-roy``
        law's truncation route), the leading orders and the comparison with the Maurey route.

    Examples
    --------
    >>> der = derivation()
    >>> der.name, der.steps[0].name, len(der.steps) >= 25
    ('pitman-yor-truncation', 'beta-mean', True)
    """
    k_dom = {K: Box(0.02, 200, log=True), sigma: Box(0.01, 0.99), k: Box(1, 400, integer=True)}
    law_route = get_law("jeon-van-roy-pitman-yor").route("truncation")
    s2b, mub = scale_moments()
    s2n, mun = scale_moments(scale="normalised")
    t0 = spec.py_stick_square_tail(sp.Integer(0), K, sigma)
    tbar = spec.py_stick_square_tail_bound(n, K, sigma)
    u = sp.Symbol("u", positive=True)   # 1 - sigma
    u_dom = {d: Box(1, 300, integer=True), K: Box(0.02, 100, log=True), u: Box(0.01, 0.99),
             n: Box(1, 1e5, log=True, integer=True), T: Box(1, 1e15, log=True)}

    def assembled(s2_, mu_):
        return general_bound(s2_=s2_, mu_=mu_, tail_n=tbar, tail_0=t0, delta_=sp.sqrt(4 * n * d / (s2_ * t0 * T)),
                             rho_=sp.sqrt(32 / T))

    G = lambda x_: x_ * sp.log(x_) - x_   # noqa: E731
    steps = (
        identity("beta-mean", _beta_moment(1, 0), (1 - sigma) / (K + 1 + (k - 1) * sigma), k_dom,
                 "V_k ~ Beta(1 - sigma, K + k sigma) (the Pitman-Yor stick): E V = B(2-sigma, K+k sigma)/B(1-sigma, "
                 "K+k sigma) = (1-sigma)/(K+1+(k-1) sigma)."),
        identity("beta-square", _beta_moment(2, 0), (1 - sigma) * (2 - sigma) / ((K + 1 + (k - 1) * sigma)
                                                                                 * (K + 2 + (k - 1) * sigma)), k_dom,
                 "E V^2 = (1-sigma)(2-sigma)/((K+1+(k-1) sigma)(K+2+(k-1) sigma))."),
        identity("one-minus-mean", _beta_moment(0, 1), (K + k * sigma) / (K + 1 + (k - 1) * sigma), k_dom,
                 "E(1 - V) = (K + k sigma)/(K+1+(k-1) sigma)."),
        identity("one-minus-square", _beta_moment(0, 2), (K + k * sigma) * (K + k * sigma + 1)
                 / ((K + 1 + (k - 1) * sigma) * (K + 2 + (k - 1) * sigma)), k_dom,
                 "E(1 - V)^2 = (K + k sigma)(K + k sigma + 1)/((K+1+(k-1) sigma)(K+2+(k-1) sigma))."),
        numeric_values("stick-mean", "identity", sp.Symbol(r"E V_k \prod_{j<k} E(1 - V_j)"), spec.py_stick_mean(k, K, sigma),
                       "pi_k = V_k prod_{j<k} (1 - V_j) with independent V_j: the product of the Beta means, term by "
                       "term, against the telescoped Gamma form ((1-sigma)/sigma) Gamma(K/sigma+k) Gamma((K+1)/sigma)/"
                       "(Gamma(K/sigma+1) Gamma((K+1)/sigma+k)) (k = 1, 2, 7, 60; five (K, sigma)).",
                       pairs=_product_pairs("mean")),
        numeric_values("stick-square-mean", "identity", sp.Symbol(r"E V_k^2 \prod_{j<k} E(1 - V_j)^2"),
                       spec.py_stick_square_mean(k, K, sigma),
                       "E pi_k^2 = E V_k^2 prod_{j<k} E(1-V_j)^2 = c Gamma(K/sigma+k)/Gamma((K+2)/sigma+k), c = (1-sigma)"
                       "(2-sigma) Gamma((K+2)/sigma)/(sigma (K+1) Gamma(K/sigma+1)): falls like k^(-2/sigma) (ours).",
                       pairs=_product_pairs("square"), ours=True),
        identity("telescoping", sp.gamma(a_ + k) / sp.gamma(a_ + c + k),
                 (sp.gamma(a_ + k) / sp.gamma(a_ + c + k - 1) - sp.gamma(a_ + k + 1) / sp.gamma(a_ + c + k)) / (c - 1),
                 {a_: Box(0.01, 1000, log=True), c: Box(1.01, 200, log=True), k: Box(1, 1e6, log=True, integer=True)},
                 "Gamma(a+k)/Gamma(g+k-1) - Gamma(a+k+1)/Gamma(g+k) = Gamma(a+k)/Gamma(g+k) (g+k-1 - a-k) with "
                 "g = a + c: the terms of the tail telescope, and Gamma(a+k+1)/Gamma(g+k) -> 0 for c > 1."),
        numeric_values("stick-square-tail", "identity", sp.Sum(spec.py_stick_square_mean(k, K, sigma), (k, n + 1, sp.oo)),
                       spec.py_stick_square_tail(n, K, sigma),
                       "Telescoping with g - a = 2/sigma > 1: t(n) = (1-sigma) Gamma((K+2)/sigma) Gamma(K/sigma+n+1)/"
                       "((K+1) Gamma(K/sigma+1) Gamma((K+2)/sigma+n)), a closed form in Gamma functions. The series summed "
                       "(Levin's transformation; its terms fall only like k^(-2/sigma)) against it at (K, sigma, n) = "
                       "(1, 1/2, 0), (32, 3/4, 10), (1/2, 1/4, 3), (4, 0.9, 100), (300, 1/2, 7), (0.1, 0.05, 2) (ours).",
                       pairs=_series_pairs, method="series", ours=True),
        inequality("psi-step", 1 / z, sp.log((z + sp.Rational(1, 2)) / (z - sp.Rational(1, 2))),
                   {z: Box(0.5001, 1e12, log=True)},
                   "ln((z+1/2)/(z-1/2)) = 2 artanh(1/(2z)) > 1/z for z > 1/2, so f(z) = psi(z) - ln(z - 1/2) has "
                   "f(z) - f(z+1) = ln((z+1/2)/(z-1/2)) - 1/z > 0 (psi(z+1) = psi(z) + 1/z).", relation="<", points=30),
        inequality("psi-log-bound", sp.log(z - sp.Rational(1, 2)), sp.digamma(z), {z: Box(0.5001, 1e12, log=True)},
                   "f decreases along z, z+1, ... and tends to 0 (psi(z) = ln z - 1/(2z) + O(z^-2)), so f(z) > 0: "
                   "psi(z) > ln(z - 1/2) for z > 1/2.", relation="<", points=30),
        inequality("gamma-ratio-bound", sp.exp(G(y + c - sp.Rational(1, 2)) - G(y - sp.Rational(1, 2))),
                   sp.gamma(y + c) / sp.gamma(y), {y: Box(1, 1e6, log=True), c: Box(0.01, 300, log=True)},
                   "ln Gamma(y+c) - ln Gamma(y) = int_0^c psi(y+u) du >= int_{y-1/2}^{y+c-1/2} ln z dz = G(y+c-1/2) - "
                   "G(y-1/2), G(z) = z ln z - z (ours).", ours=True, points=30),
        value_inequalities("tail-bound", sp.Symbol("t(n)"), tbar,
                           "With y = K/sigma + n + 1 and c = 2/sigma - 1: t(n) <= t(0) Gamma(g)/Gamma(a+1) "
                           "exp(G(a+n+1/2) - G(g+n-1/2)) = tbar(n), the bound the route uses; against the closed form on "
                           "sigma in {0.05, 1/4, 1/2, 3/4, 0.95}, K in {0.1, 1, 32, 300}, n in {0, 1, 10, 1e3, 1e6} (ours).",
                           pairs=_bound_pairs(1), ours=True),
        value_inequalities("tail-bound-tight", tbar, sp.Rational(105, 100) * sp.Symbol("t(n)"),
                           "... and it loses at most 5 % there (the gap, at most c/(24 (a+n+1/2)(g+n-1/2)) in the exponent, "
                           "vanishes as n -> oo and as sigma -> 0) (ours).", pairs=_bound_pairs(sp.Rational(105, 100)),
                           ours=True),
        asymptotic("tail-power", tbar, tail_constant(K, sigma) * n ** (1 - 2 / sigma),
                   "tbar(n) ~ tau n^(1-2/sigma) with tau = (1-sigma) Gamma((K+2)/sigma)/((K+1) Gamma(K/sigma+1)): the "
                   "power of the exact tail, n^(1-2/sigma) (K = 32, sigma = 1/2, n = 1e2 .. 1e8; |ratio - 1| ~ 1/n) (ours).",
                   exact=lambda nv: _tail_bar(nv, mpmath.mpf(32), mpmath.mpf("0.5")),
                   leading=lambda nv: (mpmath.mpf("0.5") / 33 * mpmath.gamma(68) / mpmath.gamma(65) * nv ** -3),
                   exponents=(2, 3, 4, 5, 6, 7, 8), tolerance=1e-3, ours=True),
        numeric_values("remaining-stick-square", "identity", sp.Symbol(r"\prod_{j<=n} E(1 - V_j)^2"),
                       spec.py_remaining_stick_square_mean(n, K, sigma),
                       "E R_n^2 = prod_{j<=n} E(1-V_j)^2 = t(n) (K+1+n sigma)/(1-sigma): the squared leftover stick falls "
                       "like n^(-2(1-sigma)/sigma), one power of n slower than t(n), so t(n) <= E R_n^2 would lose that "
                       "power (the route does not use it).", pairs=_remaining_pairs),
        monte_carlo_cases("sampler-stick-mean", sp.Symbol(r"E \pi_k"), spec.py_stick_mean(k, K, sigma),
                          "The simulator's Pitman-Yor stick (sample_teacher, kind pitman-yor) has the stick means of the "
                          "closed form.", cases=_stick_cases("mean"), seed=700),
        monte_carlo_cases("sampler-stick-square-tail", sp.Symbol(r"E \sum_{k>n} \pi_k^2"),
                          spec.py_stick_square_tail(n, K, sigma),
                          "... and the squared tail t(n) of the closed form (the sticks past the simulator's cut at "
                          f"{_ATOMS} atoms enter by their exact conditional mean R^2 (1-sigma)/(K+1+m sigma)).",
                          cases=_stick_cases("tail"), seed=710),
        monte_carlo_cases("sampler-remaining-stick", sp.Symbol("E R_n"), spec.py_remaining_stick_mean(n, K, sigma),
                          "... and the leftover mass E R_n the simulator's cut is made of.", cases=_stick_cases("rest"),
                          seed=720),
        monte_carlo_cases("sampler-output-second-moment", sp.Symbol("E[F(X)^2]"),
                          spec.output_second_moment("pitman-yor", "barron"),
                          "The simulator's Pitman-Yor teachers have the output second moment the laws read: "
                          "sigma_a^2 sigma_w^2 d (1-sigma)/(2(K+1)) (K^2 d (1-sigma)/(2(K+1)) Barron, 1/2 normalised) "
                          "(ours).", cases=_output_cases(), ours=True, seed=730),
        identity("normalised-scale", spec.output_second_moment("pitman-yor", "normalised", d, K, sigma),
                 sp.Rational(1, 2), {d: Box(1, 300, integer=True), K: Box(0.02, 100, log=True), sigma: Box(0.01, 0.99)},
                 "The normalised scale is defined by E[F^2] = 1/2 at every d, K, sigma: sigma_a^2 = (K+1)/(1-sigma), "
                 "sigma_w^2 = 1/d and E[sum pi_k^2] = (1-sigma)/(K+1) (ours)."),
        monte_carlo_cases("truncation-misspecification", sp.Symbol("E(F - F_n)^2"), s2 * spec.py_stick_square_tail(n, K, sigma) / 2,
                          "Truncating at the first n atoms leaves sum_{k>n} b_k ReLU(u_k.X): mean-zero a_k kill the cross "
                          "terms, so E(F - F_n)^2 = s2 t(n)/2, on the simulator's own teachers (ours).",
                          cases=_stage_cases("trunc"), ours=True, seed=740),
        monte_carlo_cases("construction-kl", sp.Symbol(r"E KL(F || \tilde{F})"),
                          (s2 * spec.py_stick_square_tail(n, K, sigma) / 2 + s2 * t0 * delta**2 + n * rho**2 / 8) / 8,
                          "End to end on the simulator's Pitman-Yor teachers: the first n atoms, directions quantised "
                          "(concrete grid quantiser, error <= delta), weights rounded (rho = 1/2); the KL at fresh inputs "
                          "is below the distortions over 8 (ours).", cases=_stage_cases("kl"), relation="<=", ours=True,
                          seed=750),
        identity("assemble", assembled(s2b, mub).subs(sigma, 1 - u), truncation_bound(n * (d + 1)).subs(sigma, 1 - u),
                 u_dom,
                 "The DP route's distortions and entropy with the Pitman-Yor stick (t(0) = (1-sigma)/(K+1), t(n) <= "
                 "tbar(n)); delta^2 = 4nd/(s2 t(0) T), rho^2 = 32/T: the registered route, every n >= 1, T > 0 (ours; "
                 "Barron scale, s2 = K^2 d; written in u = 1 - sigma > 0 so that SymPy knows the sign).",
                 ours=True, points=12),
        identity("assemble-normalised", assembled(s2n, mun).subs(sigma, 1 - u),
                 truncation_bound(n * (d + 1), scale="normalised").subs(sigma, 1 - u), u_dom,
                 "The same on the normalised scale (s2 = (K+1)/(1-sigma)) (ours).", ours=True, points=12),
        consistency(identity("registered-route", law_route.expr, truncation_bound(),
                             {p: Box(2, 1e9, log=True), T: Box(1, 1e15, log=True), d: Box(1, 300, integer=True),
                              K: Box(0.02, 100, log=True), sigma: Box(0.01, 0.99)},
                             "The law jeon-van-roy-pitman-yor's route 'truncation' is this bound (restates the "
                             "definition).")),
        value_inequalities("sigma-to-dp", sp.Symbol(r"|L_{PY}/L_{DP} - 1|"), 10 * sigma,
                           "As sigma -> 0 the route tends to the jeon-van-roy law's truncation route, linearly in sigma "
                           "(tbar(n) -> (K/(K+2))^n/(K+1), t(0) -> 1/(K+1)): |ratio - 1| <= 10 sigma at sigma = 1e-3, "
                           "1e-6, 1e-9, both scales (ours).", pairs=_to_dp_pairs),
        asymptotic("leading-model", sp.Symbol("p*"), truncation_leading()["model"],
                   "A n^(-q) + B n^2 with q = 2/sigma - 1, A = s2 tau/16, B = (d+1) lambda ln C/C and lambda = (2(d+1) - "
                   "sigma(d+2))/(2(2+sigma)): (n*)^(q+2) = q A/(2B), p* ~ (C/ln C)^(sigma/(2+sigma)), model exponent "
                   "sigma/(2+sigma) (d = 8, K = 32, sigma = 3/4; the registered route's numerical optimum, C = 1e100 .. "
                   "1e6400) (ours).", exact=_exact("model"), leading=_leading("model"), exponents=_BUDGETS,
                   tolerance=0.01, ours=True),
        asymptotic("leading-data", sp.Symbol("T*"), truncation_leading()["data"], "T* = C/p* (ours).",
                   exact=_exact("data"), leading=_leading("data"), exponents=_BUDGETS, tolerance=0.01, ours=True),
        asymptotic("leading-loss", sp.Symbol("L*"), truncation_leading()["loss"],
                   "L* = B (n*)^2 (q+2)/q ~ (C/ln C)^(-(2-sigma)/(2+sigma)) (ours).",
                   exact=_exact("loss"), leading=_leading("loss"), exponents=_BUDGETS, tolerance=0.01, ours=True),
        inequality("loss-exponents", 1 / (3 - u), (1 + u) / (3 - u), {u: Box(0.001, 0.999)},
                   "The truncation route's L* falls like C^(-(2-sigma)/(2+sigma)) up to logs, the Maurey route's like "
                   "C^(-1/(2+sigma)): with u = 1 - sigma in (0, 1] the exponents are (1+u)/(3-u) > 1/(3-u), so for "
                   "every sigma < 1 the truncation route is the better one as C -> oo.", relation="<"),
        value_inequalities("beats-maurey", sp.Symbol("L*_truncation"), sp.Symbol("L*_Maurey"),
                           "At d = 8, K = 32 (Barron scale) the truncation route's optimum is below the Maurey route's "
                           "at C = 1e8 and 1e40 for sigma = 1/4, 1/2, 3/4: the law's headline there is the truncation "
                           "route's.", pairs=_beats_pairs, relation="<", method="numerical-optimum"),
    )
    return Derivation(
        "pitman-yor-truncation", "The truncation route for the Pitman-Yor teacher",
        "Keep the first n atoms of the Pitman-Yor stick: the squared tail t(n) = E sum_{k>n} pi_k^2 is a closed Gamma "
        "ratio falling like n^(1-2/sigma); the optimal model grows like (C/ln C)^(sigma/(2+sigma)).", steps,
        conclusion={"squared tail": sp.Eq(sp.Symbol("t(n)"), spec.py_stick_square_tail(n, K, sigma)),
                    "truncation route": sp.Le(sp.Symbol("L"), truncation_bound()),
                    "p* (leading order)": truncation_leading()["model"],
                    "model exponent": sigma / (2 + sigma)},
        notes=("Validity: every integer n >= 1 and T > 0, and 0 < sigma < 1 (sigma = 0 is the jeon-van-roy law's route, "
               "the limit checked in sigma-to-dp).",
               "Under this route, the best we can prove for every sigma < 1, the model exponent sigma/(2+sigma) stays "
               "below 1/3: no Pitman-Yor teacher gives linear (a = 1/2) compute-optimal scaling (ours)."))
