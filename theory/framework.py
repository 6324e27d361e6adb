"""The information-theoretic framework behind the Jeon & Van Roy bound, as reusable SymPy objects.

Framework results (standard; docs/paper-setting.md "Framework"), each proved/checked in :mod:`derivations`:

1. Reducible error = average expected KL: ``L_T = (1/T) sum_t E[KL(P(Y|F,X_t) || P_hat_t(.|X_t))]``.
2. Bayes identity (chain rule of mutual information): for the posterior predictive
   ``L_T = I(F; D_T)/T``.
3. Proxy bound: for any ``F~`` with ``F~ _|_ D_T | F``,
   ``L_T <= I(F; F~)/T + E[KL(P(Y|F,X) || P(Y|F~,X))]`` = estimation error + misspecification error.
4. Rate-distortion form: ``L_T <= inf_eps [H_eps(F)/T + eps]``.
5. Bernoulli-logit KL lemma: ``KL(Bern(sigma(f)) || Bern(sigma(g))) <= (f-g)^2/8``.

A user builds a bound for another model with :class:`ProxyBound` (their own estimation and
misspecification terms) and hands ``bound.to_law(name)`` to the allocation engine.

Examples
--------
>>> n, T, c = sp.symbols("n T c", positive=True)
>>> b = ProxyBound(estimation_error=c*n*sp.log(T)/T, misspecification_error=1/n, model=n, data=T,
...                cost=n*T, constants=(c,))
>>> b.bound
1/n + c*n*log(T)/T
>>> law = b.to_law("my-bound", parameter_sets={"one": {"c": 1}}, default_set="one")
>>> law.name, law.cost
('my-bound', T*n)

References
----------
Jeon & Van Roy, arXiv:2212.01365 and arXiv:2407.01456; Cover & Thomas, Elements of Information
Theory, ch. 2 and 10.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.theory.laws import Law

__all__ = ["sigmoid", "softplus", "bernoulli_kl", "kl_quadratic_bound", "reducible_error",
           "bayes_identity", "ProxyBound", "RateDistortionBound"]


def sigmoid(x: sp.Expr) -> sp.Expr:
    """Logistic function ``1/(1 + exp(-x))`` (the student's sigmoid output; docs/paper-setting.md "Framework").

    Parameters
    ----------
    x : a SymPy expression (or number) for the logit.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> sigmoid(x)
    1/(1 + exp(-x))
    >>> sigmoid(0)
    1/2
    >>> sp.simplify(sigmoid(x) + sigmoid(-x))
    1
    """
    return 1 / (1 + sp.exp(-x))


def softplus(x: sp.Expr) -> sp.Expr:
    """``ln(1 + exp(x))``, the log-partition function of a Bernoulli logit.

    Its derivative is :func:`sigmoid`; its second derivative ``sigma (1 - sigma) <= 1/4`` gives the
    KL lemma :func:`kl_quadratic_bound`.

    Parameters
    ----------
    x : a SymPy expression (or number) for the logit.

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> softplus(0)
    log(2)
    >>> sp.simplify(sp.diff(softplus(x), x) - sigmoid(x))
    0
    """
    return sp.log(1 + sp.exp(x))


def bernoulli_kl(f: sp.Expr, g: sp.Expr) -> sp.Expr:
    """``KL(Bern(sigma(f)) || Bern(sigma(g)))`` for logits ``f``, ``g``.

    Examples
    --------
    >>> f, g = sp.symbols("f g", real=True)
    >>> sp.simplify(bernoulli_kl(f, f))
    0
    """
    pf, pg = sigmoid(f), sigmoid(g)
    return pf * sp.log(pf / pg) + (1 - pf) * sp.log((1 - pf) / (1 - pg))


def kl_quadratic_bound(f: sp.Expr, g: sp.Expr) -> sp.Expr:
    """``(f - g)^2/8``: upper bound of :func:`bernoulli_kl` (softplus'' = sigma(1-sigma) <= 1/4).

    Framework result 5 (docs/paper-setting.md "Framework"), checked in :mod:`scaling_theory.derivations.kl_lemma`.

    Parameters
    ----------
    f, g : logits (SymPy expressions or numbers).

    Returns
    -------
    sympy.Expr

    Examples
    --------
    >>> f, g = sp.symbols("f g", real=True)
    >>> kl_quadratic_bound(f, g)
    (f - g)**2/8
    >>> kl_quadratic_bound(sp.Integer(2), 0), sp.N(bernoulli_kl(2, 0), 6)
    (1/2, 0.327813)
    """
    return (f - g) ** 2 / 8


def reducible_error(kl_terms: Sequence[sp.Expr]) -> sp.Expr:
    """Average expected KL over ``T = len(kl_terms)`` steps: ``(1/T) sum_t KL_t``.

    Examples
    --------
    >>> a, b = sp.symbols("a b", positive=True)
    >>> reducible_error([a, b])
    a/2 + b/2
    """
    if not kl_terms:
        raise UserInputError("reducible error needs at least one time step")
    return sp.Add(*kl_terms) / len(kl_terms)


def bayes_identity(mutual_information: sp.Expr, data: sp.Symbol) -> sp.Equality:
    """``L_T = I(F; D_T)/T`` for the Bayesian posterior predictive (chain rule of mutual information).

    Examples
    --------
    >>> I, T = sp.symbols("I T", positive=True)
    >>> bayes_identity(I, T)
    Eq(L_T, I/T)
    """
    return sp.Eq(sp.Symbol("L_T", positive=True), mutual_information / data)


@dataclass(frozen=True)
class ProxyBound:
    """``L <= estimation_error + misspecification_error`` (framework result 3), ready to optimise.

    Parameters
    ----------
    estimation_error : ``I(F; F~)/T`` or an upper bound of it, in ``model``, ``data`` and constants.
    misspecification_error : ``E[KL(P(Y|F,X) || P(Y|F~,X))]`` or an upper bound of it.
    model, data : positive symbols for model size and data size.
    cost : compute as an expression of ``model`` and ``data`` (e.g. ``model*data``).
    constants : the remaining positive symbols, in display order.
    domain : ``{constant name: sympy Set}`` of admissible values (default: positive reals).

    Raises
    ------
    UserInputError
        If the bound or the cost uses a symbol that is neither ``model``, ``data`` nor a constant.

    Examples
    --------
    >>> n, T, c = sp.symbols("n T c", positive=True)
    >>> b = ProxyBound(estimation_error=c*n*sp.log(T)/T, misspecification_error=1/n,
    ...                model=n, data=T, cost=n*T, constants=(c,))
    >>> b.bound.subs({c: 1, n: 10, T: sp.E})
    1/10 + 10*exp(-1)
    >>> b.to_law("toy").expr == b.bound
    True
    >>> ProxyBound(1/T, 1/n + sp.Symbol("z"), model=n, data=T, cost=n*T)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: bound uses symbols that are neither model, data nor constants: z

    References
    ----------
    Jeon & Van Roy, arXiv:2212.01365 (the proxy decomposition); docs/paper-setting.md "Framework", result 3.
    """

    estimation_error: sp.Expr
    misspecification_error: sp.Expr
    model: sp.Symbol
    data: sp.Symbol
    cost: sp.Expr
    constants: tuple[sp.Symbol, ...] = ()
    domain: Mapping[str, sp.Set] = field(default_factory=dict)

    def __post_init__(self):
        allowed = {self.model, self.data, *self.constants}
        stray = (self.bound.free_symbols | getattr(self.cost, "free_symbols", set())) - allowed
        if stray:
            names = ", ".join(sorted(s.name for s in stray))
            raise UserInputError(f"bound uses symbols that are neither model, data nor constants: {names}")

    @property
    def bound(self) -> sp.Expr:
        """The total bound ``estimation_error + misspecification_error``."""
        return self.estimation_error + self.misspecification_error

    def to_law(self, name: str, *, parameter_sets: Mapping[str, Mapping[str, object]] | None = None,
               default_set: str | None = None, description: str = "", citation: str = "") -> Law:
        """This bound as a :class:`scaling_theory.theory.laws.Law` for the allocation engine (not registered)."""
        return Law(name=name, expr=self.bound, model=self.model, data=self.data, cost=self.cost,
                   constants=tuple(self.constants), parameter_sets=dict(parameter_sets or {}),
                   default_set=default_set, domain=dict(self.domain), description=description,
                   citation=citation)


@dataclass(frozen=True)
class RateDistortionBound:
    """``L_T <= inf_eps [H_eps(F)/T + eps]`` (framework result 4).

    Parameters
    ----------
    entropy : ``H_eps(F)`` (nats) as an expression of the distortion symbol ``eps``.
    eps : positive distortion symbol.
    data : positive data-size symbol ``T``.

    Examples
    --------
    >>> e, T, k = sp.symbols("epsilon T k", positive=True)
    >>> rd = RateDistortionBound(k*sp.log(1/e), e, T)
    >>> rd.optimal_eps()
    k/T
    >>> sp.simplify(rd.optimized() - (k*sp.log(T/k) + k)/T)
    0
    """

    entropy: sp.Expr
    eps: sp.Symbol
    data: sp.Symbol

    @property
    def objective(self) -> sp.Expr:
        """``H_eps(F)/T + eps``."""
        return self.entropy / self.data + self.eps

    def optimal_eps(self) -> sp.Expr:
        """The stationary distortion (unique positive root of d objective / d eps)."""
        roots = [r for r in sp.solve(sp.diff(self.objective, self.eps), self.eps)
                 if r.is_positive is not False]
        if len(roots) != 1:
            raise UserInputError("rate-distortion objective has no unique stationary distortion")
        return roots[0]

    def optimized(self) -> sp.Expr:
        """The objective at :meth:`optimal_eps`."""
        return sp.simplify(self.objective.subs(self.eps, self.optimal_eps()))
