"""The information-theoretic bound of Jeon & Van Roy as registered laws (``jeon-van-roy``, ``jeon-van-roy-dp``).

The paper (Jeon & Van Roy, arXiv:2212.01365) states the *shape* of the result: an upper bound on the
minimal achievable expected error of a one-hidden-layer ReLU network with sigmoid output, minimised
under compute ``p * T`` to an allocation linear up to logarithms.  The explicit constants and log
factors below are **ours** (see ``docs/paper-setting.md``, section "Ours"), derived step by step and
checked in :mod:`scaling_theory.derivations.assembled_bound`; they are not the paper's.

Model symbol and cost
---------------------
The laws' model symbol is the parameter count ``p = n (d + 1)`` of a student with ``n`` hidden units,
the data symbol is the number of samples ``T`` and the cost is ``p * T`` (every parameter touched
once per sample).  Constants: input dimension ``d`` (integer, ``d >= 1``) and latent complexity ``K``
(number of teacher units, integer ``K >= 1``; for the Dirichlet-process variant the concentration,
real ``K > 0``).

The bound (ours), for any quantisation radius ``delta > 0`` and grid ``rho > 0``::

    L <= S/(16 n) + S delta^2/16 + rho^2/64
         + (K d ln(1 + 2/delta) + K ln 2 + K ln(n + 1) + ln(1 + M/rho) + 1) / T

with ``S = E[V^2] = K d + K (K - 1) (2/pi) m_d^2``, ``M = E[V] = K sqrt(2/pi) m_d`` and
``m_d = sqrt(2) Gamma((d+1)/2) / Gamma(d/2)``.  Choosing ``delta^2 = 8 K d/(S T)`` and
``rho^2 = 32/T`` gives :func:`exact_bound` (valid for every ``n >= 1``, ``T > 0``); the registered
law is its large-``T`` simplification (``ln(1+x) <= ln 2 + ln x`` for ``x >= 1``), an upper bound for
``n >= 1`` and ``T >= 8 pi^2`` (~79), of the Lambert-W-solvable form ``A/p + (B + beta ln T + K ln p)/T``.

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> law = get_law("jeon-van-roy")
>>> law.model, law.data, law.cost
(p, T, T*p)
>>> float(law.expr.subs(law.parameters("d16-K4")).subs({law.model: 10**6, law.data: 10**6}))  # doctest: +ELLIPSIS
0.00...
"""

from __future__ import annotations

import sympy as sp

from scaling_theory.theory.laws import Law

__all__ = ["LAWS", "p", "T", "d", "K", "K_dp", "n_of_p", "m_d", "second_moment", "first_moment",
           "exact_bound", "large_T_coefficients", "large_T_bound", "dp_bound", "expected_atoms", "atoms_upper",
           "VALIDITY_T", "A", "B", "beta"]

# -- symbols -------------------------------------------------------------------------------------
p = sp.Symbol("p", positive=True)            # student parameter count p = n (d + 1)
T = sp.Symbol("T", positive=True)            # number of samples
d = sp.Symbol("d", positive=True, integer=True)   # input dimension
K = sp.Symbol("K", positive=True, integer=True)   # number of teacher units (finite teacher)
K_dp = sp.Symbol("K", positive=True)              # Dirichlet-process concentration (real)
# abbreviations of the registered law A/p + (B + beta ln T + K ln p)/T (see large_T_coefficients)
A = sp.Symbol("A", positive=True)
# B > 0 for d, K >= 1: K d (1/2 + ln(2)/2) >= K ln(d+1), ln M >= ln(2/pi), 2 K ln 2 - 3/2 ln 2 + 3/2 > ln(pi/2)
B = sp.Symbol("B", positive=True)
beta = sp.Symbol("beta", positive=True)

VALIDITY_T = 8 * sp.pi**2
"""Smallest ``T`` for which the finite law's large-``T`` simplification is an upper bound (ours)."""


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


def m_d(d_: sp.Expr = d) -> sp.Expr:
    """``E||w||`` for ``w ~ N(0, I_d)``: ``sqrt(2) Gamma((d+1)/2)/Gamma(d/2)`` (chi mean).

    Pass SymPy integers for exact values (a Python ``int`` makes ``(d+1)/2`` a float).

    Examples
    --------
    >>> m_d(sp.Integer(1)), m_d(sp.Integer(2))
    (sqrt(2)/sqrt(pi), sqrt(2)*sqrt(pi)/2)

    References
    ----------
    The mean of the chi distribution with ``d`` degrees of freedom (Johnson, Kotz & Balakrishnan,
    Continuous Univariate Distributions, vol. 1, ch. 18).
    """
    return sp.sqrt(2) * sp.gamma((d_ + 1) / 2) / sp.gamma(d_ / 2)


def second_moment(d_: sp.Expr = d, K_: sp.Expr = K) -> sp.Expr:
    """``S = E[V^2] = K d + K (K-1) (2/pi) m_d^2`` for ``V = sum_k |a_k| ||w_k||`` (ours).

    Checked step by step in :mod:`scaling_theory.derivations.second_moment` (docs/paper-setting.md, section "Ours").

    Examples
    --------
    >>> I = sp.Integer
    >>> second_moment(I(1), I(1)), second_moment(I(2), I(2))
    (1, 6)
    >>> second_moment(I(16), I(4))
    191336539/1048576
    """
    return K_ * d_ + K_ * (K_ - 1) * 2 / sp.pi * m_d(d_) ** 2


def first_moment(d_: sp.Expr = d, K_: sp.Expr = K) -> sp.Expr:
    """``M = E[V] = K sqrt(2/pi) m_d`` (ours).

    Examples
    --------
    >>> first_moment(sp.Integer(1), sp.Integer(1)), first_moment(sp.Integer(2), sp.Integer(1))
    (2/pi, 1)
    """
    return K_ * sp.sqrt(2 / sp.pi) * m_d(d_)


def exact_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K) -> sp.Expr:
    """The assembled bound with ``delta^2 = 8Kd/(ST)``, ``rho^2 = 32/T`` (ours; all ``n >= 1``).

    Parameters
    ----------
    p_, T_, d_, K_ : parameter count, samples, input dimension, teacher units (default: symbols).

    Returns
    -------
    sympy.Expr
        ``S/(16 n)`` (misspecification) plus the estimation term; see the module docstring and
        :mod:`scaling_theory.derivations.assembled_bound`.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(exact_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0199107
    >>> sp.N(large_T_bound(I(10**4), I(10**6), I(16), I(4)) - exact_bound(I(10**4), I(10**6), I(16), I(4))) > 0
    True
    """
    S, M, n = second_moment(d_, K_), first_moment(d_, K_), n_of_p(p_, d_)
    estimation = (K_ * d_ / 2 + K_ * d_ * sp.log(1 + sp.sqrt(S * T_ / (2 * K_ * d_))) + K_ * sp.log(2)
                  + K_ * sp.log(n + 1) + sp.log(1 + M * sp.sqrt(T_ / 32)) + sp.Rational(3, 2)) / T_
    return S / (16 * n) + estimation


def large_T_coefficients(d_: sp.Expr = d, K_: sp.Expr = K) -> dict[str, sp.Expr]:
    """``A, B, beta`` of the registered law ``A/p + (B + beta ln T + K ln p)/T`` (ours).

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
    S, M = second_moment(d_, K_), first_moment(d_, K_)
    A_ = (d_ + 1) * S / 16
    beta_ = (K_ * d_ + 1) / 2
    B_ = (K_ * d_ / 2 + K_ * d_ * sp.log(2) + K_ * d_ / 2 * sp.log(S / (2 * K_ * d_)) + 2 * K_ * sp.log(2)
         - K_ * sp.log(d_ + 1) + sp.log(M) - sp.Rational(3, 2) * sp.log(2) + sp.Rational(3, 2))
    return {"A": A_, "B": B_, "beta": beta_}


def large_T_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K) -> sp.Expr:
    """Large-``T`` form of :func:`exact_bound`: an upper bound for ``n >= 1``, ``T >= 8 pi^2`` (ours).

    This is the expression of the registered law ``jeon-van-roy``.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(large_T_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0199585
    >>> large_T_bound() == LAWS[0].expr
    True
    >>> LAWS[0].display_expr
    A/p + (B + K*log(p) + beta*log(T))/T
    """
    c = large_T_coefficients(d_, K_)
    return c["A"] / p_ + (c["B"] + c["beta"] * sp.log(T_) + K_ * sp.log(p_)) / T_


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


def dp_bound(p_: sp.Expr = p, T_: sp.Expr = T, d_: sp.Expr = d, K_: sp.Expr = K_dp) -> sp.Expr:
    """Large-``T`` bound for the Dirichlet-process teacher (ours).

    The ``K`` atoms of the finite count become the ``N`` distinct atoms hit by the ``n`` Maurey draws
    (``E N <= 1 + K ln(1 + n/K) <= 1 + K ln(2n/K)`` for ``n >= K``), plus ``H(N) <= ln n``;
    ``delta^2 = 8 d/(S T)``; ``V`` is assumed to have the finite teacher's moments ``S``, ``M``.
    Valid for ``n >= max(1, K)`` and ``T >= 8 pi^2/K^2 + 6/K``.  Only logs of ``p`` and ``T`` appear,
    so the allocation engine's dominant balance applies.

    This is the expression of the registered law ``jeon-van-roy-dp``.

    Examples
    --------
    >>> I = sp.Integer
    >>> sp.N(dp_bound(I(10**4), I(10**6), I(16), I(4)), 6)
    0.0228135
    >>> dp_bound() == LAWS[1].expr
    True
    """
    S, M, n = second_moment(d_, K_), first_moment(d_, K_), n_of_p(p_, d_)
    atoms = 1 + K_ * sp.log(2 * n / K_)   # >= atoms_upper(n, K) for n >= K (ln(1+x) <= ln 2x, x >= 1)
    per_atom = (d_ * sp.log(2) + d_ / 2 * sp.log(S * T_ / (2 * d_)) + 2 * sp.log(2) + sp.log(n))
    estimation = (d_ / 2 + atoms * per_atom + sp.log(n) + sp.log(M) + sp.log(T_) / 2
                  - sp.Rational(3, 2) * sp.log(2) + sp.Rational(3, 2)) / T_
    return S / (16 * n) + estimation


_FINITE_DOMAIN = {"d": sp.Range(1, sp.oo), "K": sp.Range(1, sp.oo)}
_DP_DOMAIN = {"d": sp.Range(1, sp.oo), "K": sp.Interval.open(0, sp.oo)}
_CITATION = ("Jeon & Van Roy, An Information-Theoretic Analysis of Compute-Optimal Neural Scaling Laws, "
             "arXiv:2212.01365 (shape); constants and log factors ours (derivations/assembled_bound.py)")
_SETS = {"d16-K4": {"d": 16, "K": 4}, "d4-K1": {"d": 4, "K": 1}, "d8-K2": {"d": 8, "K": 2},
         "d64-K16": {"d": 64, "K": 16}}

_COEFFICIENTS = large_T_coefficients()
_ABBREVIATIONS = {A: _COEFFICIENTS["A"], B: _COEFFICIENTS["B"], beta: _COEFFICIENTS["beta"]}

LAWS: list[Law] = [
    Law(name="jeon-van-roy", expr=large_T_bound(), model=p, data=T, cost=p * T, constants=(d, K),
        parameter_sets=_SETS, default_set="d16-K4", domain=_FINITE_DOMAIN,
        abbreviations=_ABBREVIATIONS, abbreviated_expr=A / p + (B + beta * sp.log(T) + K * sp.log(p)) / T,
        description=("information-theoretic error bound, ReLU teacher with K units in d dims; "
                     "model p = n(d+1) parameters, data T, compute p*T; valid for n >= 1, T >= 8 pi^2"),
        citation=_CITATION),
    Law(name="jeon-van-roy-dp", expr=dp_bound(), model=p, data=T, cost=p * T, constants=(d, K_dp),
        parameter_sets=_SETS, default_set="d16-K4", domain=_DP_DOMAIN,
        description=("Dirichlet-process (infinite-width) teacher with concentration K; K atoms replaced "
                     "by 1 + K ln(2n/K) >= expected distinct atoms; compute p*T; valid for n >= max(1, K), "
                     "T >= 8pi^2/K^2+6/K"),
        citation=_CITATION),
]
