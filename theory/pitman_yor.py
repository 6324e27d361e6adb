"""The Pitman-Yor teacher's laws (ours): the Maurey and truncation routes, their windows and leading orders.

The teacher (:mod:`scaling_theory.theory.teachers`, kind ``pitman-yor``) is the infinite-width teacher of the
``jeon-van-roy`` law with power-law stick weights: ``F(x) = sum_k pi_k a_k ReLU(w_k . x)``, sticks
``V_k ~ Beta(1 - sigma, K + k sigma)`` with discount ``0 <= sigma < 1`` and concentration ``K > 0``.  At
``sigma = 0`` it is the Dirichlet-process teacher, whose laws are ``jeon-van-roy`` and
``jeon-van-roy-normalised``; the laws here take ``0 < sigma < 1``, and each route tends to the DP law's route
of the same name as ``sigma -> 0`` (checked in the derivations).  Every constant is ours (docs/paper-setting.md,
"The Pitman-Yor teacher"); the framework is Jeon & Van Roy's (arXiv:2212.01365, arXiv:2407.01456).

Routes (model ``p = n (d + 1)`` parameters, data ``T`` samples, compute ``p T``)
---------------------------------------------------------------------------------
``maurey`` (:func:`maurey_bound`, the law's expression)
    ``n`` untilted draws from the stick weights: misspecification ``s2/(16 n)`` as for the DP (``sum pi_k = 1``),
    estimation over the distinct atoms drawn, whose expected number is the Pitman-Yor urn's
    ``E N_n = (K/sigma) [Gamma(K) Gamma(K+sigma+n)/(Gamma(K+sigma) Gamma(K+n)) - 1] ~ n^sigma``
    (:func:`expected_atoms`), bounded by Wendel's inequality (:func:`atoms_upper`).  Optimal model
    ``~ (C/ln C)^(1/(2+sigma))``: model exponent ``1/(2+sigma)``.
``truncation`` (:func:`truncation_bound`)
    The first ``n`` atoms of the stick, quantised, exactly as the DP's truncation route; the squared tail
    ``t(n) = E sum_{k>n} pi_k^2`` has a closed form (:func:`~scaling_theory.theory.teachers.py_stick_square_tail`)
    and the route uses its upper bound with the same power ``n^(1-2/sigma)``
    (:func:`~scaling_theory.theory.teachers.py_stick_square_tail_bound`).  Optimal model
    ``~ (C/ln C)^(sigma/(2+sigma))``: model exponent ``sigma/(2+sigma)``, below 1/3 for every ``sigma < 1``.

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> law = get_law("jeon-van-roy-pitman-yor")
>>> [c.name for c in law.constants], [r.name for r in law.routes], law.teacher.kind
(['d', 'K', 'sigma'], ['maurey', 'truncation'], 'pitman-yor')
>>> [sp.sstr(r.model_exponent) for r in law.routes]
['1/(sigma + 2)', 'sigma/(sigma + 2)']
"""

from __future__ import annotations

import sympy as sp

from scaling_theory.theory import teachers
from scaling_theory.theory.laws import Law, Route
from scaling_theory.theory.teachers import K_dp as K, d, sigma

__all__ = ["LAWS", "SCALES", "p", "T", "d", "K", "sigma", "C_budget", "law_name", "scale_moments", "expected_atoms",
           "maurey_abbreviations",
           "atoms_upper", "atoms_relaxed", "exact_bound", "maurey_bound", "maurey_leading", "truncation_bound",
           "truncation_leading", "validity_T", "tail_constant", "PARAMETER_SETS"]

p = sp.Symbol("p", positive=True)     # student parameter count p = n (d + 1)
T = sp.Symbol("T", positive=True)     # number of samples
C_budget = sp.Symbol("C", positive=True)
"""The budget symbol of the routes' leading orders."""
# abbreviations of the Maurey route A/p + (B + ln p + (kappa p^sigma - K/sigma)(beta ln T + ln p + E))/T
A = sp.Symbol("A", positive=True)
B = sp.Symbol("B", positive=True)        # (d+1)/2 - ln(d+1) > 0 for d >= 1
kappa = sp.Symbol("kappa", positive=True)
beta = sp.Symbol("beta", positive=True)
E = sp.Symbol("E", real=True)            # negative for small K on the Barron scale

SCALES = teachers.SCALES
_VALIDITY = 8 * sp.pi**2


def law_name(scale: str = "barron") -> str:
    """``jeon-van-roy-pitman-yor`` (Barron scale) or ``jeon-van-roy-pitman-yor-normalised``.

    Examples
    --------
    >>> law_name("normalised")
    'jeon-van-roy-pitman-yor-normalised'
    """
    teachers.check_scale(scale)
    return "jeon-van-roy-pitman-yor" + ("-normalised" if scale == "normalised" else "")


def _n(p_=p, d_=d):
    return p_ / (d_ + 1)


def scale_moments(d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma, scale: str = "barron"
                  ) -> tuple[sp.Expr, sp.Expr]:
    """``(s2, mu_b) = (E[a^2 ||w||^2], E|a| ||w||)`` of one atom of the Pitman-Yor teacher (ours): ``K^2 d`` and
    ``K sqrt(2/pi) m_d`` on the Barron scale, ``(K+1)/(1-sigma)`` and its ``sqrt(2/(pi d)) m_d`` multiple on the
    normalised one (:func:`scaling_theory.theory.teachers.scale_variances`).

    Examples
    --------
    >>> scale_moments(sp.Integer(4), sp.Integer(3), sp.Rational(1, 2), "normalised")[0]
    8
    """
    return (teachers.unit_second_moment("pitman-yor", scale, d_, K_, sigma_=sigma_),
            teachers.unit_abs_mean("pitman-yor", scale, d_, K_, sigma_=sigma_))


def expected_atoms(n_: sp.Expr, K_: sp.Expr = K, sigma_: sp.Expr = sigma) -> sp.Expr:
    """Expected distinct atoms among ``n`` draws of a Pitman-Yor process (the two-parameter urn; Pitman 1995):

    ``E N_n = (K/sigma) [Gamma(K) Gamma(K+sigma+n)/(Gamma(K+sigma) Gamma(K+n)) - 1]``, the solution of
    ``E N_{n+1} = E N_n + (K + sigma E N_n)/(K + n)``, ``E N_1 = 1``; it grows like
    ``Gamma(K+1) n^sigma/(sigma Gamma(K+sigma))`` and tends to the DP's ``K (psi(K+n) - psi(K))`` as
    ``sigma -> 0`` (checked in the ``pitman-yor-atoms`` derivation).

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.gammasimp(expected_atoms(I(1))), expected_atoms(I(2), I(1), sp.Rational(1, 2))
    (1, 7/4)
    """
    out = K_ / sigma_ * (sp.gamma(K_) * sp.gamma(K_ + sigma_ + n_) / (sp.gamma(K_ + sigma_) * sp.gamma(K_ + n_)) - 1)
    return sp.gammasimp(out) if all(sp.sympify(x).is_Rational for x in (n_, K_, sigma_)) else out  # safe: a SymPy expression or number from our own code, never user text


def atoms_upper(n_: sp.Expr, K_: sp.Expr = K, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``(K/sigma) [((K+n)/K)^sigma ((K+sigma)/K)^(1-sigma) - 1]``: an upper bound of :func:`expected_atoms` for every
    ``n >= 1`` (ours), by Wendel's inequality ``(x/(x+s))^(1-s) <= Gamma(x+s)/(x^s Gamma(x)) <= 1`` (``0 <= s <= 1``)
    applied to ``Gamma(K+n+sigma)/Gamma(K+n)`` (above) and ``Gamma(K+sigma)/Gamma(K)`` (below).  As ``sigma -> 0``
    it tends to the DP law's ``1 + K ln(1 + n/K)``.

    Examples
    --------
    >>> I = sp.Integer
    >>> bool(atoms_upper(I(10), I(2), sp.Rational(1, 2)) >= expected_atoms(I(10), I(2), sp.Rational(1, 2)))
    True
    """
    return K_ / sigma_ * (((K_ + n_) / K_) ** sigma_ * ((K_ + sigma_) / K_) ** (1 - sigma_) - 1)


def atoms_relaxed(n_: sp.Expr, K_: sp.Expr = K, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``(K/sigma) [(2n/K)^sigma ((K+sigma)/K)^(1-sigma) - 1]``: :func:`atoms_upper` with ``K + n <= 2n`` (``n >= K``),
    the count the registered Maurey route uses; as ``sigma -> 0`` it tends to the DP law's ``1 + K ln(2n/K)``.

    Examples
    --------
    >>> I = sp.Integer
    >>> bool(atoms_relaxed(I(10), I(2), sp.Rational(1, 2)) >= atoms_upper(I(10), I(2), sp.Rational(1, 2)))
    True
    """
    return K_ / sigma_ * ((2 * n_ / K_) ** sigma_ * ((K_ + sigma_) / K_) ** (1 - sigma_) - 1)


def validity_T(scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma) -> sp.Expr:
    """Smallest ``T`` for which the Maurey route's large-``T`` relaxation is an upper bound (ours).

    The same terms as the DP law's (:func:`scaling_theory.theory.jeon_van_roy.validity_T`): ``x = mu_b sqrt(T/32)``
    needs ``T >= 8 pi^2/min(1, K)^2`` on the Barron scale (the DP's ``mu_b``) and ``T >= 8 pi^2`` on the
    normalised one (``sigma_a^2 = (K+1)/(1-sigma) >= 1``), ``x = sqrt(s2 T/(2d))`` needs ``T >= 2/(sigma_a^2 sigma_w^2)``.

    Examples
    --------
    >>> validity_T("normalised", sp.Integer(256), sp.Integer(1), sp.Rational(1, 2))
    128
    """
    sa2, sw2 = teachers.scale_variances(scale, "pitman-yor", d_, K_, sigma_=sigma_)
    if scale == "barron":
        return sp.Max(_VALIDITY / sp.Min(1, K_) ** 2, 2 / (sa2 * sw2))
    return sp.Max(_VALIDITY, 2 / (sa2 * sw2))


def _per_atom_exact(n_, T_, d_, K_, sigma_, scale):
    s2, mu = scale_moments(d_, K_, sigma_, scale)
    return (d_ * sp.log(1 + sp.sqrt(s2 * T_ / (2 * d_))) + sp.log(2) + sp.log(1 + mu * sp.sqrt(T_ / 32)) + 1
            + sp.log(n_ + 1))


def exact_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma,
                scale: str = "barron", atoms_: sp.Expr | None = None) -> sp.Expr:
    """The Maurey route before the large-``T`` relaxation (ours; every ``n >= 1``, ``T > 0``): the DP's
    construction (:func:`scaling_theory.theory.jeon_van_roy.dp_exact_bound`) with the Pitman-Yor urn's exact count.

    ``s2/(16n) + [d/2 + 1/2 + E N_n (d ln(1 + sqrt(s2 T/(2d))) + ln 2 + ln(1 + mu_b sqrt(T/32)) + 1 + ln(n+1))
    + ln n]/T``; ``atoms_`` stands in for ``E N_n`` (default :func:`expected_atoms`).

    Examples
    --------
    >>> I = sp.Integer
    >>> round(float(exact_bound(I(9 * 10**4), I(10**8), I(8), I(32), sp.Rational(1, 2))), 5)
    0.0525
    """
    s2, _ = scale_moments(d_, K_, sigma_, scale)
    n = _n(p_, d_)
    atoms = expected_atoms(n, K_, sigma_) if atoms_ is None else atoms_
    est = (d_ / 2 + sp.Rational(1, 2) + atoms * _per_atom_exact(n, T_, d_, K_, sigma_, scale) + sp.log(n)) / T_
    return s2 / (16 * n) + est


def maurey_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma,
                 scale: str = "barron") -> sp.Expr:
    """The Maurey route of the Pitman-Yor teacher (ours): the registered expression of ``jeon-van-roy-pitman-yor``.

    :func:`exact_bound` with ``E N_n <=`` :func:`atoms_relaxed` (``n >= K``), ``ln(1 + x) <= ln 2 + ln x`` (``x >= 1``)
    in each per-atom log and ``ln(n+1) <= ln 2 + ln n``: valid for ``n >= max(1, K)``, ``T >= validity_T``.  The
    DP law's :func:`~scaling_theory.theory.jeon_van_roy.dp_bound` with ``1 + K ln(2n/K)`` replaced by the
    Pitman-Yor count, to which it tends as ``sigma -> 0``.

    Examples
    --------
    >>> I = sp.Integer
    >>> round(float(maurey_bound(I(9 * 10**4), I(10**8), I(8), I(32), sp.Rational(1, 2))), 5)
    0.05319
    """
    s2, mu = scale_moments(d_, K_, sigma_, scale)
    return _maurey(p_, T_, d_, K_, sigma_, s2, mu)


def _maurey(p_, T_, d_, K_, sigma_, s2, mu):
    n = _n(p_, d_)
    per_atom = (d_ * sp.log(2) + d_ / 2 * sp.log(s2 * T_ / (2 * d_)) + 3 * sp.log(2) + sp.log(mu)
                + sp.log(T_ / 32) / 2 + 1 + sp.log(n))
    return s2 / (16 * n) + (d_ / 2 + sp.Rational(1, 2) + atoms_relaxed(n, K_, sigma_) * per_atom + sp.log(n)) / T_


def maurey_leading(C_: sp.Expr = C_budget, d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma,
                   scale: str = "barron") -> dict[str, sp.Expr]:
    """Leading orders of the Maurey route's optimum as ``C -> oo`` at fixed ``0 < sigma < 1`` (ours; checked in the
    ``pitman-yor-bound`` derivation against the numerical optimum and the allocation engine's dominant balance).

    Along the budget (``T = C/p``, ``n = p/(d+1)``) the route is ``a/n + G n^(1+sigma)`` at leading order with
    ``a = s2/16``, ``G = kappa pi (d+1) ln C/C``, ``kappa = (K/sigma)(2/K)^sigma ((K+sigma)/K)^(1-sigma)`` (the atom
    count's ``n^sigma`` coefficient) and ``pi = ((d+1)(1+sigma) + 2)/(2(2+sigma))`` (each atom's cost
    ``((d+1)/2) ln T + ln n`` with ``ln n ~ ln C/(2+sigma)``).  So ``n*^(2+sigma) = a/((1+sigma) G)``,
    ``p* = (d+1) n* ~ (C/ln C)^(1/(2+sigma))``, ``T* = C/p*`` and ``L* = a (2+sigma)/((1+sigma) n*)``.

    Examples
    --------
    >>> lead = maurey_leading(C_budget, sp.Integer(8), sp.Integer(32), sp.Rational(1, 2))
    >>> sp.limit(sp.diff(sp.log(lead["model"]), C_budget) * C_budget, C_budget, sp.oo)
    2/5
    """
    s2, _ = scale_moments(d_, K_, sigma_, scale)
    a = s2 / 16
    kappa = K_ / sigma_ * (2 / K_) ** sigma_ * ((K_ + sigma_) / K_) ** (1 - sigma_)
    pi_ = ((d_ + 1) * (1 + sigma_) + 2) / (2 * (2 + sigma_))
    G = kappa * pi_ * (d_ + 1) * sp.log(C_) / C_
    n_star = (a / ((1 + sigma_) * G)) ** (1 / (2 + sigma_))
    return {"model": (d_ + 1) * n_star, "data": C_ / ((d_ + 1) * n_star),
            "loss": a * (2 + sigma_) / ((1 + sigma_) * n_star)}


def tail_constant(K_: sp.Expr = K, sigma_: sp.Expr = sigma) -> sp.Expr:
    """``tau = (1-sigma)/(K+1) Gamma((K+2)/sigma)/Gamma(K/sigma+1)``: ``t(n) ~ tau n^(1-2/sigma)`` as ``n -> oo``
    (:func:`~scaling_theory.theory.teachers.py_stick_square_tail`, ``Gamma(x+1)/Gamma(x+c) ~ x^(1-c)``).

    Examples
    --------
    >>> tail_constant(sp.Integer(2), sp.Rational(1, 2))   # t(n) ~ 35 n^(-3) at K = 2, sigma = 1/2
    35
    """
    return (1 - sigma_) / (K_ + 1) * sp.gamma((K_ + 2) / sigma_) / sp.gamma(K_ / sigma_ + 1)


def truncation_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma,
                     scale: str = "barron") -> sp.Expr:
    """The truncation route of the Pitman-Yor teacher (ours): the DP's truncation route
    (:func:`scaling_theory.theory.jeon_van_roy.truncation_bound`) with the Pitman-Yor stick.

    Keep the first ``n = p/(d+1)`` atoms, move each direction to a ``delta``-net point and round each output weight
    to ``rho Z`` without bias.  The construction's three distortions, their vanishing cross terms and the geometric
    entropy bound hold for any stick (they use only ``sum_k E pi_k <= 1``, ``sum_{k<=n} E pi_k^2 <= t(0)`` and
    mean-zero ``a_k``), so with ``t(0) = (1-sigma)/(K+1)``, ``delta^2 = 4nd/(s2 t(0) T)`` and ``rho^2 = 32/T``::

        L <= s2 tbar(n)/16 + [n d/2 + n/2 + n d ln(1 + sqrt(s2 t(0) T/(n d))) + n (ln 2 + 1)
                              + n ln(1 + mu_b sqrt(T/32)/n)]/T          (every integer n >= 1, T > 0)

    where ``tbar(n) >= t(n) = E sum_{k>n} pi_k^2`` is
    :func:`~scaling_theory.theory.teachers.py_stick_square_tail_bound` (the exact tail's power ``n^(1-2/sigma)`` and
    constant).  Each step is checked in :mod:`scaling_theory.derivations.py_truncation`.

    Examples
    --------
    >>> I = sp.Integer
    >>> round(float(truncation_bound(I(9 * 300), sp.Float(1e8) / (9 * 300), I(8), I(32), sp.Rational(1, 2))), 4)
    0.3597
    """
    s2, mu = scale_moments(d_, K_, sigma_, scale)
    n = _n(p_, d_)
    t0 = teachers.py_stick_square_tail(sp.Integer(0), K_, sigma_)
    estimation = (n * d_ / 2 + n / 2 + n * d_ * sp.log(1 + sp.sqrt(s2 * t0 * T_ / (n * d_))) + n * (sp.log(2) + 1)
                  + n * sp.log(1 + mu * sp.sqrt(T_ / 32) / n))
    return s2 * teachers.py_stick_square_tail_bound(n, K_, sigma_) / 16 + estimation / T_


def truncation_leading(C_: sp.Expr = C_budget, d_: sp.Expr = d, K_: sp.Expr = K, sigma_: sp.Expr = sigma,
                       scale: str = "barron") -> dict[str, sp.Expr]:
    """Leading orders of the truncation route's optimum as ``C -> oo`` at fixed ``0 < sigma < 1`` (ours; checked in
    the ``pitman-yor-truncation`` derivation against the numerical optimum).

    Along the budget the route is ``A n^(-q) + B n^2`` at leading order with ``q = 2/sigma - 1``,
    ``A = s2 tau/16`` (:func:`tail_constant`) and ``B = (d+1) lambda ln C/C``,
    ``lambda = (2(d+1) - sigma (d+2))/(2(2+sigma))`` (the estimation ``n^2 (d+1)/C [((d+1)/2) ln T - ((d+2)/2) ln n]``
    with ``ln T ~ ln C - ln n`` and ``ln n ~ sigma ln C/(2+sigma)``).  So ``n*^(q+2) = q A/(2B)``,
    ``p* = (d+1) n* ~ (C/ln C)^(sigma/(2+sigma))``, ``T* = C/p*`` and ``L* = B n*^2 (q+2)/q``, which falls like
    ``(C/ln C)^(-(2-sigma)/(2+sigma))``: faster than the Maurey route's ``C^(-1/(2+sigma))`` for every ``sigma < 1``.

    Examples
    --------
    >>> lead = truncation_leading(C_budget, sp.Integer(8), sp.Integer(32), sp.Rational(1, 2))
    >>> sp.limit(sp.diff(sp.log(lead["model"]), C_budget) * C_budget, C_budget, sp.oo)
    1/5
    """
    s2, _ = scale_moments(d_, K_, sigma_, scale)
    q = 2 / sigma_ - 1
    A = s2 * tail_constant(K_, sigma_) / 16
    lam = (2 * (d_ + 1) - sigma_ * (d_ + 2)) / (2 * (2 + sigma_))
    B = (d_ + 1) * lam * sp.log(C_) / C_
    n_star = (q * A / (2 * B)) ** (sigma_ / (2 + sigma_))
    return {"model": (d_ + 1) * n_star, "data": C_ / ((d_ + 1) * n_star), "loss": B * n_star**2 * (q + 2) / q}


_DOMAIN = {"d": sp.Range(1, sp.oo), "K": sp.Interval.open(0, sp.oo), "sigma": sp.Interval.open(0, 1)}
_CITATION = ("Jeon & Van Roy, An Information-Theoretic Analysis of Compute-Optimal Neural Scaling Laws, "
             "arXiv:2212.01365 and arXiv:2407.01456 (framework); the Pitman-Yor teacher, constants and log factors "
             "ours (derivations/)")
PARAMETER_SETS = {"d8-K32-s0.5": {"d": 8, "K": 32, "sigma": "0.5"}, "d8-K32-s0.25": {"d": 8, "K": 32, "sigma": "0.25"},
                  "d8-K32-s0.75": {"d": 8, "K": 32, "sigma": "0.75"}, "d16-K4-s0.5": {"d": 16, "K": 4, "sigma": "0.5"}}
"""Named constants: ``d``, ``K`` and the discount ``sigma`` (default ``d8-K32-s0.5``)."""


def _routes(scale: str) -> tuple[Route, ...]:
    q = d + 1
    maurey = Route("maurey", maurey_bound(scale=scale), min_model=sp.Max(1, K) * q, min_data=validity_T(scale),
                   derivation="pitman-yor-bound",
                   description="n draws from the stick weights (Maurey), distinct atoms (the Pitman-Yor urn, ~ n^sigma) "
                               "quantised; s2/(16n) misspecification",
                   symbolic=True, leading=maurey_leading(scale=scale), model_exponent=1 / (2 + sigma),
                   growth="(C/ln C)^(1/(2+sigma))")
    truncation = Route("truncation", truncation_bound(scale=scale), min_model=q, min_data=sp.Integer(1),
                       derivation="pitman-yor-truncation",
                       description="the first n atoms of the stick, quantised; misspecification falls like "
                                   "n^(1-2/sigma)",
                       symbolic=False, leading=truncation_leading(scale=scale), model_exponent=sigma / (2 + sigma),
                       growth="(C/ln C)^(sigma/(2+sigma))",
                       method="numerical minimisation along the budget (no closed form)")
    return maurey, truncation


def maurey_abbreviations(scale: str = "barron") -> dict[sp.Symbol, sp.Expr]:
    """``{A, B, kappa, beta, E}`` of the Maurey route written as
    ``A/p + (B + ln p + (kappa p^sigma - K/sigma)(beta ln T + ln p + E))/T`` (ours): ``A = s2 (d+1)/16``,
    ``B = (d+1)/2 - ln(d+1)``, ``kappa = (K/sigma)(2/(K(d+1)))^sigma ((K+sigma)/K)^(1-sigma)`` (the count
    :func:`atoms_relaxed` is ``kappa p^sigma - K/sigma``), ``beta = (d+1)/2`` and ``E`` the per-atom constant.

    Examples
    --------
    >>> maurey_abbreviations()[beta]
    d/2 + 1/2
    """
    s2, mu = scale_moments(scale=scale)
    return {A: s2 * (d + 1) / 16, B: (d + 1) / 2 - sp.log(d + 1),
            kappa: K / sigma * (2 / (K * (d + 1))) ** sigma * ((K + sigma) / K) ** (1 - sigma), beta: (d + 1) / 2,
            E: (d * sp.log(2) + d / 2 * sp.log(s2 / (2 * d)) + 3 * sp.log(2) + sp.log(mu) - sp.log(32) / 2 + 1
                - sp.log(d + 1))}


def _law(scale: str) -> Law:
    # A, B, kappa, beta, E as abbreviations: the engine's dominant balance then reads them as single (signed)
    # constants, so its leading order stays short and (1 - sigma) need not be signed
    return Law(name=law_name(scale), expr=maurey_bound(scale=scale), model=p, data=T, cost=p * T,
               constants=(d, K, sigma), parameter_sets=PARAMETER_SETS, default_set="d8-K32-s0.5", domain=_DOMAIN,
               abbreviations=maurey_abbreviations(scale),
               abbreviated_expr=A / p + (B + sp.log(p) + (kappa * p**sigma - K / sigma)
                                         * (beta * sp.log(T) + sp.log(p) + E)) / T,
               description=(f"infinite-width (Pitman-Yor) teacher with discount sigma and concentration K ({scale} "
                            "scale; sigma = 0 is the Dirichlet-process law jeon-van-roy); the minimum of the Maurey "
                            "route (the expression: n draws from the stick weights, distinct atoms by the Pitman-Yor "
                            "urn; n >= max(1, K), T >= validity_T) and the truncation route (the first n atoms; "
                            "n >= 1); compute p*T"),
               citation=_CITATION, routes=_routes(scale), teacher=teachers.TeacherSpec("pitman-yor", scale),
               latex_names={"sigma": r"\sigma", "kappa": r"\kappa", "beta": r"\beta"})


LAWS: list[Law] = [_law("barron"), _law("normalised")]
