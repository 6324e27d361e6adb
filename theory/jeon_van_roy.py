"""The information-theoretic bounds of Jeon & Van Roy as registered laws (ours: constants, log factors).

The paper (Jeon & Van Roy, arXiv:2212.01365, revised as arXiv:2407.01456) states the *shape* of the
result for data from a two-layer ReLU network of **infinite width**.  The explicit constants and log
factors below are **ours** (``docs/paper-setting.md``, section "Ours"), derived step by step and checked
in :mod:`scaling_theory.derivations`; they are not the paper's.

Laws (model ``p = n (d + 1)`` parameters, data ``T`` samples, cost ``p * T``)
-------------------------------------------------------------------------------
Each law is the minimum over its proof routes (:class:`scaling_theory.theory.laws.Route`; docs/paper-setting.md,
"One bound is one proof"), and every headline follows the best valid route at the budget asked.

``jeon-van-roy``
    The paper's setting: an infinite-width teacher, the atoms of a Dirichlet process with
    concentration ``K`` (real, ``K > 0``) and stick weights ``pi_k``,
    ``F(x) = sum_k pi_k a_k ReLU(w_k . x)``.  Routes: ``maurey`` (the expression, :func:`dp_bound`): the proxy
    draws ``n`` atoms from ``pi`` (untilted Maurey sampling), so the number of distinct atoms it must describe
    is the Chinese-restaurant count ``E N_n = K (psi(K+n) - psi(K)) <= 1 + K ln(1 + n/K)`` (proved, see
    :mod:`scaling_theory.derivations.dp_atoms`), misspecification constant ``s2 = E[a^2 ||w||^2]``, optimal
    model ``~ sqrt(C)/ln C``; ``truncation`` (:func:`truncation_bound`): the first ``n`` atoms of the stick,
    quantised, optimal model ``~ ln C``.  ``jeon-van-roy-dp`` is an old name of this law.
``jeon-van-roy-finite``
    The K-unit teacher ``F(x) = sum_{k<=K} a_k ReLU(w_k . x)`` (``K`` integer).  Routes: ``maurey`` (the
    expression, :func:`large_T_bound`) and ``direct`` (:func:`direct_bound`: quantise the ``K`` units
    themselves, valid for ``n >= K``, no ``1/n`` term, so the optimal model stops at ``p = K(d+1)``).
    :func:`finite_bound` is their pointwise minimum.
``-normalised``
    Each law also with the normalised teacher scale (:func:`scale_variances`): unit-free output,
    ``E[F^2] = 1/2`` for every ``d`` and ``K``, instead of the Barron scale ``a ~ N(0,1)``,
    ``w ~ N(0, I_d)``.

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> law = get_law("jeon-van-roy-finite")
>>> law.model, law.data, law.cost
(p, T, T*p)
>>> float(law.expr.subs(law.parameters("d16-K4")).subs({law.model: 10**6, law.data: 10**6}))  # doctest: +ELLIPSIS
0.00...
>>> get_law("jeon-van-roy").description.split(";")[0]
'infinite-width (Dirichlet-process) teacher with concentration K (barron scale)'
"""

from __future__ import annotations

import sympy as sp

from scaling_theory.theory import teachers
from scaling_theory.theory.laws import Law, Route
from scaling_theory.theory.teachers import m_d, scale_variances

__all__ = ["LAWS", "ALIASES", "SCALES", "TEACHERS", "p", "T", "d", "K", "K_dp", "n_of_p", "m_d", "scale_variances", "truncation_bound", "truncation_leading", "C_budget",
           "second_moment", "first_moment", "exact_bound", "large_T_coefficients", "large_T_bound", "direct_bound",
           "finite_bound", "dp_scale_moments", "dp_second_moment", "dp_exact_bound", "dp_bound", "expected_atoms",
           "atoms_upper", "validity_T", "smallest_width", "law_name", "VALIDITY_T", "A", "B", "beta"]

# -- symbols -------------------------------------------------------------------------------------
p = sp.Symbol("p", positive=True)            # student parameter count p = n (d + 1)
T = sp.Symbol("T", positive=True)            # number of samples
d = sp.Symbol("d", positive=True, integer=True)   # input dimension
K = sp.Symbol("K", positive=True, integer=True)   # number of teacher units (finite teacher)
K_dp = sp.Symbol("K", positive=True)              # Dirichlet-process concentration (real)
# abbreviations of the finite law A/p + (B + beta ln T + K ln p)/T (see large_T_coefficients)
A = sp.Symbol("A", positive=True)
# B > 0 for d, K >= 1: K d (1/2 + ln(2)/2) >= K ln(d+1), ln M >= ln(2/pi), 2 K ln 2 - 3/2 ln 2 + 3/2 > ln(pi/2)
B = sp.Symbol("B", positive=True)
beta = sp.Symbol("beta", positive=True)

SCALES = teachers.SCALES
"""Teacher scales (:data:`scaling_theory.theory.teachers.SCALES`)."""
TEACHERS = ("dp", "finite")
"""Teacher kinds with a law here, in the registry's order (:data:`scaling_theory.theory.teachers.KINDS`)."""

VALIDITY_T = 8 * sp.pi**2
"""Smallest ``T`` for which the Barron-scale large-``T`` simplifications are upper bounds (ours)."""


def _check_kind(teacher: str, scale: str) -> str:
    """The canonical teacher kind (old names accepted), after checking the scale."""
    kind = teachers.canonical_kind(teacher)
    teachers.check_scale(scale)
    return kind


def law_name(teacher: str = "dp", scale: str = "barron", sigma: float | None = None) -> str:
    """The registered law for a teacher kind and scale; one-line :class:`UserInputError` otherwise.

    The Pitman-Yor teacher's laws are ``jeon-van-roy-pitman-yor`` (:mod:`scaling_theory.theory.pitman_yor`) for a
    discount ``sigma > 0``; at ``sigma = 0`` that teacher is the Dirichlet process, whose law is ``jeon-van-roy``.

    Examples
    --------
    >>> law_name("dp"), law_name("finite", "normalised")
    ('jeon-van-roy', 'jeon-van-roy-finite-normalised')
    >>> law_name("pitman-yor", sigma=0.5), law_name("pitman-yor", "normalised", sigma=0)
    ('jeon-van-roy-pitman-yor', 'jeon-van-roy-normalised')
    >>> law_name("dp", "unit")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: unknown teacher scale 'unit' (known: barron, normalised)
    """
    teacher = _check_kind(teacher, scale)
    suffix = "-normalised" if scale == "normalised" else ""
    if teacher == "pitman-yor" and (sigma is None or teachers.check_discount(sigma) > 0):
        return "jeon-van-roy-pitman-yor" + suffix
    return "jeon-van-roy" + ("-finite" if teacher == "finite" else "") + suffix


def n_of_p(p_: sp.Expr = p, d_: sp.Expr = d) -> sp.Expr:
    """Hidden width ``n = p/(d+1)`` of a student with ``p`` parameters.

    Parameters
    ----------
    p_ : parameter count (default: the law's symbol ``p``).
    d_ : input dimension (default: the symbol ``d``).

    Examples
    --------
    >>> n_of_p()
    p/(d + 1)
    >>> n_of_p(sp.Integer(170), sp.Integer(16))
    10
    """
    return p_ / (d_ + 1)


def second_moment(d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> sp.Expr:
    """``S = E[V^2] = sigma^2 (K d + K (K-1) (2/pi) m_d^2)`` for ``V = sum_k |a_k| ||w_k||`` (ours).

    ``sigma^2 = sigma_a^2 sigma_w^2`` (:func:`scale_variances`).  Checked by Monte Carlo over a grid of
    ``(d, K)`` in :mod:`scaling_theory.derivations.second_moment` (docs/paper-setting.md, section "Ours").

    Examples
    --------
    >>> I = sp.Integer
    >>> second_moment(I(1), I(1)), second_moment(I(2), I(2))
    (1, 6)
    >>> second_moment(I(16), I(4))
    191336539/1048576
    >>> second_moment(I(2), I(2), "normalised")
    3/2
    """
    sa2, sw2 = scale_variances(scale, "finite", d_, K_)
    return sa2 * sw2 * (K_ * d_ + K_ * (K_ - 1) * 2 / sp.pi * m_d(d_) ** 2)


def first_moment(d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> sp.Expr:
    """``M = E[V] = sigma K sqrt(2/pi) m_d`` (ours; ``sigma^2 = sigma_a^2 sigma_w^2``).

    Examples
    --------
    >>> first_moment(sp.Integer(1), sp.Integer(1)), first_moment(sp.Integer(2), sp.Integer(1))
    (2/pi, 1)
    """
    sa2, sw2 = scale_variances(scale, "finite", d_, K_)
    return sp.sqrt(sa2 * sw2) * K_ * sp.sqrt(2 / sp.pi) * m_d(d_)


def unit_scale_mean(d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron", teacher: str = "finite") -> sp.Expr:
    """``mu_b = E|a| ||w|| = sigma sqrt(2/pi) m_d``: mean size of one unit's output weight
    (:func:`scaling_theory.theory.teachers.unit_abs_mean`; ours)."""
    return teachers.unit_abs_mean(teacher, scale, d_, K_)


def validity_T(teacher: str = "finite", scale: str = "barron", d_: sp.Expr = d, K_: sp.Expr = K) -> sp.Expr:
    """Smallest ``T`` for which a law's large-``T`` simplification is an upper bound (ours).

    Every ``ln(1 + x) <= ln 2 + ln x`` needs ``x >= 1``: ``x = M sqrt(T/32)`` (or ``mu_b sqrt(T/32)``)
    needs ``T >= 8 pi^2`` on both scales (``8 pi^2/K^2`` for the Barron-scale DP teacher with ``K < 1``),
    ``x = sqrt(S T/(2 K d))`` needs ``T >= 2 K d/S`` (finite) and ``x = sqrt(s2 T/(2 d))`` needs
    ``T >= 2/(sigma_a^2 sigma_w^2)`` (DP).

    Examples
    --------
    >>> I = sp.Integer
    >>> validity_T("finite", "barron", I(16), I(4)), validity_T("dp", "normalised", I(256), I(1))
    (8*pi**2, 256)
    """
    sa2, sw2 = scale_variances(scale, teacher, d_, K_)
    if teacher == "finite":
        return sp.Max(VALIDITY_T, 2 * K_ * d_ / second_moment(d_, K_, scale))
    if scale == "barron":
        # mu_b = K sqrt(2/pi) m_d >= 2K/pi: mu_b sqrt(T/32) >= 1 needs T >= 8 pi^2/K^2 when K < 1
        return sp.Max(VALIDITY_T / sp.Min(1, K_) ** 2, 2 / (sa2 * sw2))
    return sp.Max(VALIDITY_T, 2 / (sa2 * sw2))


def smallest_width(teacher: str = "finite", K_: sp.Expr = K) -> sp.Expr:
    """Smallest student width ``n`` the law covers: 1 (finite, Maurey) or ``max(1, K)`` (DP).

    Examples
    --------
    >>> smallest_width("finite", sp.Integer(4)), smallest_width("dp", sp.Rational(1, 2))
    (1, 1)
    """
    return sp.Integer(1) if teacher == "finite" else sp.Max(1, K_)


def exact_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> sp.Expr:
    """Finite teacher, Maurey route, with ``delta^2 = 8Kd/(ST)``, ``rho^2 = 32/T`` (ours; all ``n >= 1``).

    Parameters
    ----------
    p_, T_, d_, K_ : parameter count, samples, input dimension, teacher units (default: symbols).
    scale : ``"barron"`` or ``"normalised"`` (:func:`scale_variances`).

    Returns
    -------
    sympy.Expr
        ``S/(16 n)`` (misspecification) plus the estimation term; see
        :mod:`scaling_theory.derivations.assembled_bound`.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(exact_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0199107
    >>> sp.N(large_T_bound(I(10**4), I(10**6), I(16), I(4)) - exact_bound(I(10**4), I(10**6), I(16), I(4))) > 0
    True
    """
    S, M, n = second_moment(d_, K_, scale), first_moment(d_, K_, scale), n_of_p(p_, d_)
    estimation = (K_ * d_ / 2 + K_ * d_ * sp.log(1 + sp.sqrt(S * T_ / (2 * K_ * d_))) + K_ * sp.log(2)
                  + K_ * sp.log(n + 1) + sp.log(1 + M * sp.sqrt(T_ / 32)) + sp.Rational(3, 2)) / T_
    return S / (16 * n) + estimation


def large_T_coefficients(d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> dict[str, sp.Expr]:
    """``A, B, beta`` of the finite law's Maurey route ``A/p + (B + beta ln T + K ln p)/T`` (ours).

    Returns
    -------
    dict[str, sympy.Expr]
        Keys ``"A"``, ``"B"``, ``"beta"``.

    Examples
    --------
    >>> large_T_coefficients()["beta"]
    K*d/2 + 1/2
    >>> large_T_coefficients(sp.Integer(1), sp.Integer(1))
    {'A': 1/8, 'B': log(2/pi) + 2, 'beta': 1}
    """
    S, M = second_moment(d_, K_, scale), first_moment(d_, K_, scale)
    A_ = (d_ + 1) * S / 16
    beta_ = (K_ * d_ + 1) / 2
    B_ = (K_ * d_ / 2 + K_ * d_ * sp.log(2) + K_ * d_ / 2 * sp.log(S / (2 * K_ * d_)) + 2 * K_ * sp.log(2)
         - K_ * sp.log(d_ + 1) + sp.log(M) - sp.Rational(3, 2) * sp.log(2) + sp.Rational(3, 2))
    return {"A": A_, "B": B_, "beta": beta_}


def large_T_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> sp.Expr:
    """Large-``T`` form of :func:`exact_bound`: an upper bound for ``n >= 1``, ``T >= validity_T`` (ours).

    This is the registered expression of ``jeon-van-roy-finite`` (the Maurey route).

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(large_T_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0199585
    >>> large_T_bound() == LAWS[1].expr
    True
    >>> LAWS[1].display_expr
    A/p + (B + K*log(p) + beta*log(T))/T
    """
    c = large_T_coefficients(d_, K_, scale)
    return c["A"] / p_ + (c["B"] + c["beta"] * sp.log(T_) + K_ * sp.log(p_)) / T_


def direct_bound(T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> sp.Expr:
    """Finite teacher, direct width-``K`` route: quantise the ``K`` units themselves (ours; ``n >= K``).

    Proxy: each unit's direction moved to a ``delta``-net point and its output weight
    ``b_k = a_k ||w_k||`` rounded stochastically to ``rho Z``.  Distortion (after the KL factor 1/8)
    ``S delta^2/16 + K rho^2/64``; entropy ``K [d ln(1 + 2/delta) + ln 2 + ln(1 + mu_b/rho) + 1]``; with
    ``delta^2 = 8Kd/(ST)`` and ``rho^2 = 32/T``::

        L <= [K d/2 + K/2 + K d ln(1 + sqrt(S T/(2Kd))) + K ln 2 + K ln(1 + mu_b sqrt(T/32)) + K] / T

    No ``1/n`` term: a student with ``n >= K`` units represents the proxy exactly, so under ``p T = C``
    the best such student is the smallest, ``p = K (d + 1)``.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(direct_bound(I(10**6), I(16), I(4)), 6)
    0.000519555
    """
    S, mu = second_moment(d_, K_, scale), unit_scale_mean(d_, K_, scale, "finite")
    return (K_ * d_ / 2 + K_ / 2 + K_ * d_ * sp.log(1 + sp.sqrt(S * T_ / (2 * K_ * d_))) + K_ * sp.log(2)
            + K_ * sp.log(1 + mu * sp.sqrt(T_ / 32)) + K_) / T_


def finite_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K, scale: str = "barron") -> sp.Expr:
    """The finite teacher's bound: the better of the Maurey route and, for ``n >= K``, the direct route.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(finite_bound(I(68), I(10**6), I(16), I(4)), 6)     # n = 4 = K: the direct route wins
    0.000519555
    >>> sp.N(finite_bound(I(17), I(10**6), I(16), I(4)), 4)     # n = 1 < K: only the Maurey route
    11.41
    """
    maurey = large_T_bound(p_, T_, d_, K_, scale)
    return sp.Piecewise((sp.Min(maurey, direct_bound(T_, d_, K_, scale)), n_of_p(p_, d_) >= K_), (maurey, True))


def expected_atoms(n_: sp.Expr, K_: sp.Expr = K_dp) -> sp.Expr:
    """Expected distinct atoms among ``n`` draws from a DP(K): ``sum_{i<n} K/(K+i) = K (psi(K+n) - psi(K))``.

    Checked in :mod:`scaling_theory.derivations.dp_atoms` (the Chinese-restaurant-process count).

    Examples
    --------
    >>> I = sp.Integer
    >>> expected_atoms(I(2), I(1))
    3/2
    >>> sp.expand_func(expected_atoms(I(3), I(2)))
    13/6
    """
    return K_ * (sp.digamma(K_ + n_) - sp.digamma(K_))


def atoms_upper(n_: sp.Expr, K_: sp.Expr = K_dp) -> sp.Expr:
    """Upper bound ``1 + K ln(1 + n/K)`` of :func:`expected_atoms` (integral comparison, ours).

    Examples
    --------
    >>> I = sp.Integer
    >>> atoms_upper(I(3), I(1))
    1 + log(4)
    >>> bool(atoms_upper(I(3), I(1)) >= expected_atoms(I(3), I(1)))
    True
    """
    return 1 + K_ * sp.log(1 + n_ / K_)


def dp_scale_moments(d_: sp.Expr = d, K_: sp.Expr = K_dp, scale: str = "barron") -> tuple[sp.Expr, sp.Expr]:
    """``(s2, mu_b) = (E[a^2 ||w||^2], E|a| ||w||) = (sigma^2 d, sigma sqrt(2/pi) m_d)`` for the DP atoms (ours).

    ``s2`` is the DP law's misspecification constant: with ``n`` draws from the stick weights ``pi``,
    ``E(F - F~_n)^2 <= E[sum_k pi_k a_k^2 ||w_k||^2]/(2n) = s2/(2n)`` since ``sum_k pi_k = 1`` and the
    atoms are independent of the weights.  Both read the teacher's description
    (:func:`scaling_theory.theory.teachers.unit_second_moment`, :func:`~scaling_theory.theory.teachers.unit_abs_mean`).

    Examples
    --------
    >>> dp_scale_moments(sp.Integer(4), sp.Integer(3), "normalised")
    (4, 3/2)
    """
    return teachers.unit_second_moment("dp", scale, d_, K_), teachers.unit_abs_mean("dp", scale, d_, K_)


def dp_second_moment(d_: sp.Expr = d, K_: sp.Expr = K_dp, scale: str = "barron") -> sp.Expr:
    """``E[V^2]`` for the DP teacher, ``V = sum_k pi_k |a_k| ||w_k||`` (ours).

    ``E[sum_k pi_k^2] = 1/(K+1)`` for stick weights of concentration ``K``, and
    ``E[sum_{k != l} pi_k pi_l] = K/(K+1)``, so
    ``E[V^2] = sigma^2 (d/(K+1) + K/(K+1) (2/pi) m_d^2) <= s2``.  It is the constant of the *tilted*
    Maurey route (draws proportional to ``pi_k |a_k| ||w_k||``), smaller than ``s2`` by a factor that
    tends to ``(2/pi) m_d^2/d`` as ``K`` grows; the registered law uses the untilted draws, whose
    distinct-atom count is proved (docs/paper-setting.md, "Ours").

    Examples
    --------
    >>> I = sp.Integer
    >>> dp_second_moment(I(1), I(1))
    2/pi**2 + 1/2
    """
    sa2, sw2 = scale_variances(scale, "dp", d_, K_)
    return sa2 * sw2 * (d_ / (K_ + 1) + K_ / (K_ + 1) * 2 / sp.pi * m_d(d_) ** 2)


def _dp_per_atom_exact(n_, T_, d_, K_, scale):
    s2, mu = dp_scale_moments(d_, K_, scale)
    return (d_ * sp.log(1 + sp.sqrt(s2 * T_ / (2 * d_))) + sp.log(2) + sp.log(1 + mu * sp.sqrt(T_ / 32)) + 1
            + sp.log(n_ + 1))


def dp_exact_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K_dp, scale: str = "barron"
                   ) -> sp.Expr:
    """The DP teacher's bound before the large-``T`` relaxation (ours; all ``n >= 1``, ``T > 0``).

    ``s2/(16n) + [d/2 + 1/2 + E N_n (d ln(1 + sqrt(s2 T/(2d))) + ln 2 + ln(1 + mu_b sqrt(T/32)) + 1
    + ln(n+1)) + ln n]/T`` with ``E N_n`` the exact Chinese-restaurant count, ``delta^2 = 8d/(s2 T)``,
    ``rho^2 = 32/T``.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(dp_exact_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0301463
    """
    s2, _ = dp_scale_moments(d_, K_, scale)
    n = n_of_p(p_, d_)
    est = (d_ / 2 + sp.Rational(1, 2) + expected_atoms(n, K_) * _dp_per_atom_exact(n, T_, d_, K_, scale)
           + sp.log(n)) / T_
    return s2 / (16 * n) + est


def dp_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K_dp, scale: str = "barron") -> sp.Expr:
    """Large-``T`` bound for the Dirichlet-process teacher (ours): the registered ``jeon-van-roy`` law.

    ``E N_n <= 1 + K ln(1 + n/K) <= 1 + K ln(2n/K)`` for ``n >= K`` and ``ln(1 + x) <= ln 2 + ln x``
    (``x >= 1``) in each per-atom term.  Valid for ``n >= max(1, K)`` and ``T >= validity_T("dp", ...)``.
    Only logs of ``p`` and ``T`` appear, so the allocation engine's dominant balance applies.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(dp_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0309037
    >>> dp_bound() == LAWS[0].expr
    True
    """
    s2, mu = dp_scale_moments(d_, K_, scale)
    n = n_of_p(p_, d_)
    atoms = 1 + K_ * sp.log(2 * n / K_)
    per_atom = (d_ * sp.log(2) + d_ / 2 * sp.log(s2 * T_ / (2 * d_)) + 3 * sp.log(2) + sp.log(mu)
                + sp.log(T_ / 32) / 2 + 1 + sp.log(n))
    return s2 / (16 * n) + (d_ / 2 + sp.Rational(1, 2) + atoms * per_atom + sp.log(n)) / T_


def truncation_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K_dp, scale: str = "barron"
                     ) -> sp.Expr:
    """DP teacher, truncation route: keep the first ``n`` atoms of the stick and quantise them (ours).

    Proxy: the first ``n = p/(d+1)`` atoms in stick-breaking order, each direction moved to a point of a
    ``delta``-net of the sphere and each output weight ``b_k = pi_k a_k ||w_k||`` rounded stochastically to
    ``rho Z``.  With ``s2 = E[a^2 ||w||^2]`` and the stick's squared tail ``t(n) = E sum_{k>n} pi_k^2 =
    (K/(K+2))^n/(K+1)`` (:func:`scaling_theory.theory.teachers.stick_square_tail`), the mean-square error is
    at most ``s2 t(n)/2 + s2 t(0) delta^2 + n rho^2/8`` (independent mean-zero output weights kill every
    cross term), and the proxy's entropy at most ``n [d ln(1 + 2/delta) + ln 2 + 1] + n ln(1 + mu_b/(n rho))``
    (a geometric bound on each rounded weight's entropy from its mean ``E pi_k mu_b/rho``, then Jensen over
    ``k``); with ``delta^2 = 4nd/(s2 t(0) T)`` and ``rho^2 = 32/T``::

        L <= s2 t(n)/16 + [n d/2 + n/2 + n d ln(1 + sqrt(s2 t(0) T/(n d))) + n (ln 2 + 1)
                          + n ln(1 + mu_b sqrt(T/32)/n)]/T          (every integer n >= 1, T > 0)

    Each step is checked in :mod:`scaling_theory.derivations.truncation` (Monte Carlo on the simulator's own
    teacher where a moment enters).  Its optimal width grows only like ``ln C`` (:func:`truncation_leading`).

    Examples
    --------
    >>> I = sp.Integer
    >>> b = truncation_bound(I(9 * 114), sp.Float(1e8) / (9 * 114), I(8), I(32))
    >>> round(float(b), 4)
    0.0746
    """
    s2 = teachers.unit_second_moment("dp", scale, d_, K_)
    mu = teachers.unit_abs_mean("dp", scale, d_, K_)
    n = n_of_p(p_, d_)
    t0 = teachers.stick_square_tail(sp.Integer(0), K_)
    estimation = (n * d_ / 2 + n / 2 + n * d_ * sp.log(1 + sp.sqrt(s2 * t0 * T_ / (n * d_))) + n * (sp.log(2) + 1)
                  + n * sp.log(1 + mu * sp.sqrt(T_ / 32) / n))
    return s2 * teachers.stick_square_tail(n, K_) / 16 + estimation / T_


def truncation_leading(C_: sp.Expr, d_: sp.Expr = d, K_: sp.Expr = K_dp) -> dict[str, sp.Expr]:
    """Leading orders of the truncation route's optimum as ``C -> oo`` (ours; checked in the ``truncation``
    derivation): with ``gamma = ln((K+2)/K)``, ``p* ~ (d+1) ln C/gamma``, ``T* ~ gamma C/((d+1) ln C)`` and
    ``L* ~ (d+1)^2 ln^3 C/(2 gamma^2 C)``: the model grows like ``ln C`` (model exponent 0).

    Along the budget the bound is ``s2 t(0) e^(-gamma n)/16 + p^2 ln(C/p)/(2C) + O(p^2/C)``; the first term
    must fall below the second, which needs ``gamma n ~ ln C``.

    Examples
    --------
    >>> C_ = sp.Symbol("C", positive=True)
    >>> truncation_leading(C_, sp.Integer(8), sp.Integer(2))["model"]
    9*log(C)/log(2)
    """
    gamma = sp.log((K_ + 2) / K_)
    return {"model": (d_ + 1) * sp.log(C_) / gamma, "data": gamma * C_ / ((d_ + 1) * sp.log(C_)),
            "loss": (d_ + 1) ** 2 * sp.log(C_) ** 3 / (2 * gamma ** 2 * C_)}


_FINITE_DOMAIN = {"d": sp.Range(1, sp.oo), "K": sp.Range(1, sp.oo)}
_DP_DOMAIN = {"d": sp.Range(1, sp.oo), "K": sp.Interval.open(0, sp.oo)}
_CITATION = ("Jeon & Van Roy, An Information-Theoretic Analysis of Compute-Optimal Neural Scaling Laws, "
             "arXiv:2212.01365 and arXiv:2407.01456 (shape, infinite-width setting); constants and log factors "
             "ours (derivations/)")
_SETS = {"d16-K4": {"d": 16, "K": 4}, "d8-K32": {"d": 8, "K": 32}, "d4-K1": {"d": 4, "K": 1},
         "d8-K2": {"d": 8, "K": 2}, "d64-K16": {"d": 64, "K": 16}}
_LATEX = {"beta": r"\beta"}


C_budget = sp.Symbol("C", positive=True)
"""The budget symbol of the routes' leading orders (:attr:`scaling_theory.theory.laws.Route.leading`)."""


def _finite_routes(scale: str) -> tuple[Route, ...]:
    q = d + 1
    maurey = Route("maurey", large_T_bound(scale=scale), min_model=q, min_data=validity_T("finite", scale),
                   derivation="jeon-van-roy-bound",
                   description="n draws from the K units (Maurey), quantised; S/(16n) misspecification",
                   symbolic=True, growth="sqrt(C/ln C)")
    direct = Route("direct", direct_bound(scale=scale), min_model=K * q, min_data=sp.Integer(1),
                   derivation="jeon-van-roy-bound",
                   description="the K units themselves, quantised (n >= K); no 1/n term",
                   symbolic=False, model_exponent=sp.Integer(0), growth="constant",
                   method="the smallest model of its window: the bound falls with T (derivation "
                          "jeon-van-roy-allocation, step direct-decreasing-in-T)",
                   leading={"model": K * q, "data": C_budget / (K * q),
                            "loss": K**2 * q**2 * sp.log(C_budget) / (2 * C_budget)})
    return maurey, direct


def _dp_routes(scale: str) -> tuple[Route, ...]:
    q = d + 1
    maurey = Route("maurey", dp_bound(scale=scale), min_model=smallest_width("dp", K_dp) * q,
                   min_data=validity_T("dp", scale, d, K_dp), derivation="jeon-van-roy-bound",
                   description="n draws from the stick weights (Maurey), distinct atoms quantised; s2/(16n) "
                               "misspecification",
                   symbolic=True, growth="sqrt(C)/ln C")
    truncation = Route("truncation", truncation_bound(scale=scale), min_model=q, min_data=sp.Integer(1),
                       derivation="truncation",
                       description="the first n atoms of the stick, quantised; misspecification falls like "
                                   "(K/(K+2))^n",
                       symbolic=False, model_exponent=sp.Integer(0), growth="ln C",
                       method="numerical minimisation along the budget (no closed form)",
                       leading=truncation_leading(C_budget))
    return maurey, truncation


def _finite_law(scale: str) -> Law:
    coeffs = large_T_coefficients(scale=scale)
    return Law(name=law_name("finite", scale), expr=large_T_bound(scale=scale), model=p, data=T, cost=p * T,
               constants=(d, K), parameter_sets=_SETS, default_set="d16-K4", domain=_FINITE_DOMAIN,
               abbreviations={A: coeffs["A"], B: coeffs["B"], beta: coeffs["beta"]},
               abbreviated_expr=A / p + (B + beta * sp.log(T) + K * sp.log(p)) / T, latex_names=_LATEX,
               description=(f"finite teacher with K units in d dims ({scale} scale); the minimum of the Maurey "
                            "route (the expression; n >= 1, T >= validity_T) and the direct width-K route (n >= K); "
                            "model p = n(d+1), data T, compute p*T"),
               citation=_CITATION, routes=_finite_routes(scale), teacher=teachers.TeacherSpec("finite", scale))


def _dp_law(scale: str) -> Law:
    return Law(name=law_name("dp", scale), expr=dp_bound(scale=scale), model=p, data=T, cost=p * T,
               constants=(d, K_dp), parameter_sets=_SETS, default_set="d16-K4", domain=_DP_DOMAIN,
               description=(f"infinite-width (Dirichlet-process) teacher with concentration K ({scale} scale); the "
                            "minimum of the Maurey route (the expression: n draws from the stick weights, distinct "
                            "atoms <= 1 + K ln(2n/K); n >= max(1, K), T >= validity_T) and the truncation route "
                            "(the first n atoms; n >= 1); compute p*T"),
               citation=_CITATION, routes=_dp_routes(scale), teacher=teachers.TeacherSpec("dp", scale))


LAWS: list[Law] = [_dp_law("barron"), _finite_law("barron"), _dp_law("normalised"), _finite_law("normalised")]

ALIASES = {"jeon-van-roy-dp": ("jeon-van-roy", "old name: now the infinite-width (Dirichlet-process) teacher's "
                                               "law jeon-van-roy")}
"""Old law names: ``{old: (current name, one-line note of what it now means)}``."""
