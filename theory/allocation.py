r"""Compute-optimal allocation of a law: minimise ``L(model, data)`` subject to ``cost(model, data) = C``.

The derivation follows the textbook route (Hoffmann et al. 2022, Appendix D.2 for Chinchilla):

1. solve the budget constraint ``cost = C`` for the data size, ``D = g(N, C)``;
2. drop what does not move the minimiser: additive constants (``E``), positive constant factors and
   monotone increasing outer maps (Kaplan's ``u**alpha_D``, ``log``, ``exp``);
3. write the stationarity condition ``d/dN L(N, g(N, C)) = 0`` as a sum of terms
   ``c(C) N**k log(N)**r`` and solve it

   * two power terms (every power law): the *power-law balance*
     ``N* = (-c_2/c_1)**(1/(k_1 - k_2))``;
   * a power term against ``(a + b log N) N**k``: Lambert W, both real branches, keeping the one
     where the second derivative is positive;
   * anything else: the implicit equation, plus its leading-order asymptotic solution
     ``N* ~ kappa C**a (log C)**m`` as ``C -> oo`` by dominant balance (every factor replaced by
     its leading behaviour as ``N -> oo``, ``log N ~ a log C``);
4. check the second-order condition, and refuse laws without an interior minimum.

The exponents are ``a = lim d ln N*/d ln C`` and ``b = lim d ln D*/d ln C``, read off the dominant
balance (exact for power laws). Exact numbers of more than six digits (``3392187463/10**10``,
``10**300``) are derived as positive placeholders and put back unevaluated at the end: SymPy
would factor them to raise them to symbolic powers, which takes minutes.

Examples
--------
>>> from scaling_theory.theory.registry import get_law
>>> alloc = compute_optimal_allocation(get_law("chinchilla"))
>>> alloc.model_exponent, alloc.data_exponent
(beta/(alpha + beta), alpha/(alpha + beta))
>>> alloc.closed_form, alloc.is_minimum
(True, True)

References
----------
.. [1] J. Hoffmann et al., arXiv:2203.15556 (2022), Eq. (4) and Appendix D.2.
.. [2] R. M. Corless et al., "On the Lambert W function", Adv. Comput. Math. 5 (1996).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import signal
import threading
from dataclasses import dataclass, field
from typing import Mapping

import sympy as sp
from sympy.core.function import PoleError

from scaling_theory.errors import UserInputError
from scaling_theory.theory.laws import Law
from scaling_theory.theory.registry import resolve

__all__ = ["Allocation", "compute_optimal_allocation", "budget_symbol"]

_SAMPLE_BUDGET = sp.Integer(10) ** 30      # "large C" at which branches and signs are checked numerically
_SAMPLE_VALUES = [sp.Rational(v) for v in ("1.3", "0.7", "2.3", "0.45", "3.1", "1.9", "0.6", "2.7")]
_CACHE: dict = {}
_SOLVE_MAX_OPS = 60   # sympy.solve only on small stationarity conditions (it can take minutes on big ones)
_SOLVE_SECONDS = 8.0  # and for at most this long: small ones can take minutes too (A/sqrt(N) + B/(D+q), N*D + N)


@dataclass(frozen=True)
class Allocation:
    """The compute-optimal allocation of a law (symbolic in the budget ``compute``).

    ``model_optimal``/``data_optimal`` are exact when ``closed_form`` is true; otherwise they are the
    leading-order asymptotic solution of ``implicit_equation`` as ``compute -> oo``.
    ``steps`` lists ``(description, SymPy expression)`` pairs recording the derivation.
    ``abbreviations`` (``{symbol: expression of the constants}``, from the law) are the short names
    left in the expressions; substitute them (:meth:`expanded`) for the expressions in the constants.

    Examples
    --------
    >>> from scaling_theory.theory.registry import get_law
    >>> alloc = compute_optimal_allocation(get_law("chinchilla"))
    >>> alloc.method, alloc.closed_form, alloc.is_minimum
    ('power-law balance', True, True)
    >>> alloc.model_optimal
    (A*alpha*(C/6)**beta/(B*beta))**(1/(alpha + beta))
    >>> alloc.to_json()["data_exponent"]
    'alpha/(alpha + beta)'
    """

    law_name: str
    model: sp.Symbol
    data: sp.Symbol
    compute: sp.Symbol
    bound: sp.Expr
    cost: sp.Expr
    model_optimal: sp.Expr
    data_optimal: sp.Expr
    optimal_loss: sp.Expr
    ratio: sp.Expr
    model_exponent: sp.Expr | None
    data_exponent: sp.Expr | None
    closed_form: bool
    implicit_equation: sp.Eq | None
    asymptotic_model: sp.Expr | None
    asymptotic_data: sp.Expr | None
    is_minimum: bool
    method: str
    data_on_budget: sp.Expr
    objective: sp.Expr
    stationarity: sp.Expr
    steps: list = field(default_factory=list)
    params: Mapping = field(default_factory=dict)
    latex_names: Mapping[str, str] = field(default_factory=dict)
    abbreviations: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)

    def expanded(self, value: sp.Expr | None) -> sp.Expr | None:
        """``value`` (e.g. ``self.model_optimal``) with the abbreviations substituted."""
        return value if value is None or not self.abbreviations else value.xreplace(dict(self.abbreviations))

    def _tex(self, expr) -> str:
        from scaling_theory.theory.printing import to_latex

        return to_latex(expr, self.latex_names)

    def _repr_latex_(self) -> str:
        r"""The optimum as typeset math in Jupyter (``$\displaystyle\begin{aligned}...$``).

        Examples
        --------
        >>> from scaling_theory.theory.registry import get_law
        >>> tex = compute_optimal_allocation(get_law("chinchilla"))._repr_latex_()
        >>> tex.startswith("$") and tex.endswith("$"), "N^{*} &=" in tex
        (True, True)
        """
        N, D, C = self._tex(self.model), self._tex(self.data), self._tex(self.compute)
        rows = [f"{N}^{{*}} &= {self._tex(self.model_optimal)}", f"{D}^{{*}} &= {self._tex(self.data_optimal)}"]
        if self.model_exponent is not None:
            rows.append(f"{N}^{{*}} &\\propto {C}^{{{self._tex(self.model_exponent)}}}, \\quad "
                        f"{D}^{{*}} \\propto {C}^{{{self._tex(self.data_exponent)}}}")
        if not self.closed_form:
            rows[0] += f" \\quad (\\text{{leading order as }} {C} \\to \\infty)"
        return "$\\displaystyle\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}$"

    def _repr_markdown_(self) -> str:
        """Law, method and optimum for Jupyter (Markdown with display math)."""
        kind = "closed form" if self.closed_form else "leading order"
        return (f"**Compute-optimal allocation of {self.law_name}** ({self.method}, {kind})\n\n"
                f"$${self._repr_latex_().strip('$')}$$")

    def to_json(self) -> dict:
        """JSON-ready dict: every expression as a SymPy-readable string (``sympy.sstr``)."""
        def s(x):
            return None if x is None else sp.sstr(x)
        return {
            "law": self.law_name,
            "model": self.model.name,
            "data": self.data.name,
            "compute": self.compute.name,
            "bound": s(self.bound),
            "cost": s(self.cost),
            "model_optimal": s(self.model_optimal),
            "data_optimal": s(self.data_optimal),
            "model_exponent": s(self.model_exponent),
            "data_exponent": s(self.data_exponent),
            "optimal_loss": s(self.optimal_loss),
            "ratio": s(self.ratio),
            "closed_form": self.closed_form,
            "method": self.method,
            "implicit_equation": s(self.implicit_equation),
            "asymptotic_model": s(self.asymptotic_model),
            "asymptotic_data": s(self.asymptotic_data),
            "is_minimum": self.is_minimum,
            "params": {k.name if isinstance(k, sp.Symbol) else str(k): s(v) for k, v in self.params.items()},
            "steps": [{"description": d, "expr": s(e)} for d, e in self.steps],
            "abbreviations": {k.name: s(v) for k, v in self.abbreviations.items()},
        }


def budget_symbol(law: Law) -> sp.Symbol:
    """The positive budget symbol: ``C``, or the first of ``C_budget``, ``C_budget2``, ... the law does not use.

    The name is unique among *all* the law's names (loss, cost, constants, abbreviations), so the
    budget can never capture a constant of the law: ``A/N + C*C_budget/D`` derives in ``C_budget2``.

    Examples
    --------
    >>> N, D, C, Cb = sp.symbols("N D C C_budget", positive=True)
    >>> budget_symbol(Law("toy", 1/N + 1/D, N, D, N*D, ()))
    C
    >>> budget_symbol(Law("clash", C/N + C*Cb/D, N, D, N*D, (C, Cb)))
    C_budget2
    """
    names = {s.name for s in _law_symbols(law)}
    for candidate in itertools.chain(("C", "C_budget"), (f"C_budget{i}" for i in itertools.count(2))):
        if candidate not in names:
            return sp.Symbol(candidate, positive=True)
    raise AssertionError("unreachable")  # pragma: no cover - the names above are endless


def _law_symbols(law: Law) -> set:
    """Every symbol a law's expressions mention (loss, its display form, cost, constants, abbreviations)."""
    out = set(law.expr.free_symbols) | law.display_expr.free_symbols | law.cost.free_symbols
    out |= {law.model, law.data, *law.constants, *law.abbreviations}
    for value in law.abbreviations.values():
        out |= value.free_symbols
    return out


def compute_optimal_allocation(law: Law | str, params: Mapping | None = None) -> Allocation:
    r"""Minimise ``law.expr`` along the budget curve ``law.cost = C``.

    A law with abbreviations (``jeon-van-roy``: ``A/p + (B + beta ln T + K ln p)/T``) is derived in
    them: the results are written in ``A, B, beta`` and ``Allocation.abbreviations`` says what they
    stand for. An abbreviation whose value ``params`` fix to a number is substituted before deriving.

    Parameters
    ----------
    law : Law or str
        A law (built-in, or from :func:`scaling_theory.theory.user_law.law_from_formula`) or the
        name of a registered one.
    params : Mapping, optional
        ``{constant (Symbol or name): value}`` substituted before deriving (exact; see
        :func:`scaling_theory.theory.registry.resolve`); the other constants stay symbolic.

    Returns
    -------
    Allocation
        closed form where one exists, else the implicit equation and its asymptotic solution.

    Raises
    ------
    UserInputError
        if the cost does not fix the data size, or the law has no interior minimum.

    Examples
    --------
    >>> N, D, A, B = sp.symbols("N D A B", positive=True)
    >>> law = Law("toy", A/N + B/D, N, D, N*D, (A, B))
    >>> compute_optimal_allocation(law).model_optimal
    sqrt(A)*sqrt(C)/sqrt(B)
    >>> compute_optimal_allocation(Law("flat", A/N + B*D, N, D, N*D, (A, B)))
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: law 'flat' has no interior compute-optimal point: along the budget curve D*N = C the loss decreases in N everywhere (no trade-off between the model and data terms)

    References
    ----------
    Hoffmann et al. (2022), arXiv:2203.15556, Eq. (4).
    """
    resolved = resolve(law, params, defaults=False)
    law, subs = resolved.law, resolved.values
    key = (law.name, law.expr, law.abbreviated_expr, law.cost, law.model, law.data,
           tuple(sorted((k.name, v) for k, v in subs.items())))
    if key not in _CACHE:
        try:
            _CACHE[key] = _derive(law, subs)
        except (PoleError, NotImplementedError) as err:
            # a law outside what SymPy can treat: say so in one line
            raise UserInputError(f"law {law.name!r}: cannot derive the optimum "
                                 f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    return _CACHE[key]


# -- helpers ------------------------------------------------------------------------------------

def _sample(law: Law, symbols, subs) -> dict[sp.Symbol, sp.Expr]:
    """Representative values for the constants left symbolic (default set, else generic)."""
    values: dict[sp.Symbol, sp.Expr] = {}
    defaults = law.parameter_sets.get(law.default_set, {}) if law.default_set else {}
    generic = itertools.cycle(_SAMPLE_VALUES)
    for i, s in enumerate(sorted(symbols, key=str)):
        if s in subs:
            continue
        if s.name in defaults:
            v = defaults[s.name]
            values[s] = sp.Rational(v) if isinstance(v, str) else sp.nsimplify(v, rational=True)
        elif s.is_integer:
            values[s] = sp.Integer(3 + 2 * i)
        else:
            values[s] = next(generic)
    return values


def _sign(expr: sp.Expr, sample: Mapping) -> int:
    """Sign of ``expr`` from assumptions, else numerically at the sample point (0 if unknown)."""
    if expr.is_zero:
        return 0
    if expr.is_positive:
        return 1
    if expr.is_negative:
        return -1
    try:
        val = sp.N(expr.xreplace(sample), 30)
    except (TypeError, ValueError, ZeroDivisionError):  # pragma: no cover - exotic expressions
        return 0
    if not val.is_real or not val.is_finite:
        return 0
    return 1 if val > 0 else (-1 if val < 0 else 0)


def _sign_at(expr: sp.Expr, x: sp.Symbol, point: sp.Expr, sample) -> int:
    """Numerical sign of ``expr`` at ``x = point`` and the sample constants."""
    value = sp.N(point.xreplace(sample), 40)
    if not value.is_real or not value.is_finite:
        return 0
    return _sign(expr.xreplace({x: value}), sample)


def _solve_budget(law: Law, cost: sp.Expr, C: sp.Symbol) -> sp.Expr:
    """The data size on the budget curve, ``cost(N, D) = C`` solved for ``D``."""
    N, D = law.model, law.data
    if not cost.has(N) or not cost.has(D):
        raise UserInputError(f"cost {sp.sstr(cost)} of law {law.name!r} must involve both "
                             f"{N.name} and {D.name}")
    rest, dep = cost.as_independent(D, as_Add=False)
    if dep == D or (dep.is_Pow and dep.base == D and not dep.exp.has(N, D)):
        # cost = rest * D**e: no need for the general solver
        return C / rest if dep == D else (C / rest) ** (1 / dep.exp)
    try:
        sols = sp.solve(sp.Eq(cost, C), D)
    except NotImplementedError:
        sols = []
    good = [s for s in sols if s.is_positive is not False and s.is_real is not False]
    if len(good) != 1:
        raise UserInputError(f"cannot solve the cost {sp.sstr(cost)} = C uniquely for {D.name} "
                             f"(found {len(good)} positive solutions)")
    return good[0]


def _reduce(expr: sp.Expr, N: sp.Symbol, D: sp.Symbol) -> tuple[sp.Expr, list[str]]:
    """Strip transformations that do not move the minimiser; returns the inner objective."""
    notes: list[str] = []
    while True:
        if expr.is_Add:
            const, dep = expr.as_independent(N, D, as_Add=True)
            if const == 0:
                break
            notes.append(f"drop the additive constant {sp.sstr(const)}")
            expr = dep
        elif expr.is_Mul:
            const, dep = expr.as_independent(N, D, as_Add=False)
            if const == 1 or not const.is_positive:
                break
            notes.append(f"drop the positive factor {sp.sstr(const)}")
            expr = dep
        elif expr.is_Pow and not expr.exp.has(N, D) and expr.exp.is_positive and expr.base.is_positive:
            notes.append(f"L = u**{sp.sstr(expr.exp)} is increasing in u > 0: minimise u")
            expr = expr.base
        elif isinstance(expr, sp.log) and expr.args[0].is_positive:
            notes.append("log is increasing: minimise its argument")
            expr = expr.args[0]
        elif isinstance(expr, sp.exp):
            notes.append("exp is increasing: minimise its exponent")
            expr = expr.args[0]
        else:
            break
    return expr, notes


def _split(term: sp.Expr, x: sp.Symbol):
    """``term = c * x**k * log(x)**r`` with ``c`` free of ``x``: ``(c, k, r)`` or ``None``."""
    c, k, r = sp.Integer(1), sp.Integer(0), 0
    logx = sp.log(x)
    for f in sp.Mul.make_args(term):
        if not f.has(x):
            c *= f
        elif f == x:
            k += 1
        elif f.is_Pow and f.base == x and not f.exp.has(x):
            k += f.exp
        elif f == logx:
            r += 1
        elif f.is_Pow and f.base == logx and f.exp.is_Integer and f.exp > 0:
            r += int(f.exp)
        else:
            return None
    return c, sp.expand(k), r


def _expand(expr: sp.Expr) -> sp.Expr:
    return sp.expand(expr, power_base=True, power_exp=True, log=True, mul=True, multinomial=True)


def _terms(F: sp.Expr, x: sp.Symbol):
    """Group the expanded ``F`` as ``{(k, r): coefficient}``; ``None`` if a term does not split."""
    groups: dict = {}
    for term in sp.Add.make_args(_expand(F)):
        parts = _split(term, x)
        if parts is None:
            return None
        c, k, r = parts
        groups[(k, r)] = groups.get((k, r), 0) + c
    return {key: c for key, c in groups.items() if c != 0}


@functools.lru_cache(maxsize=512)
def _leading_at_infinity(f: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """Leading behaviour of a factor as ``x -> oo`` (e.g. ``log(x+1) -> log(x)``, ``x/(x+1) -> 1``)."""
    if isinstance(f, sp.log):
        inner = _leading_at_infinity(f.args[0], x)
        return None if inner is None else sp.expand_log(sp.log(sp.factor_terms(inner)))
    if f.is_Pow and not f.exp.has(x):
        inner = _leading_at_infinity(f.base, x)
        return None if inner is None else inner ** f.exp
    if _split(f, x) is not None:
        return f
    t = sp.Dummy("t", positive=True)
    try:
        lead = sp.cancel(sp.together(f.subs(x, 1 / t))).as_leading_term(t).subs(t, 1 / x)
    except (PoleError, NotImplementedError, ValueError, TypeError):
        return None
    return sp.expand_log(sp.powsimp(lead))


def _asymptotic_form(F: sp.Expr, x: sp.Symbol, C: sp.Symbol) -> sp.Expr | None:
    """Replace every factor that is not ``c x**k log(x)**r`` by its leading behaviour at ``x -> oo``.

    ``None`` when a factor mixes ``x`` and the budget ``C`` (their race decides the leading term).
    """
    out = []
    for term in sp.Add.make_args(_expand(F)):
        if _split(term, x) is not None:
            out.append(term)
            continue
        factors = []
        parts = []
        for f in sp.Mul.make_args(term):
            # 1/(C*N + C) -> C**-1 * (N + 1)**-1: separate the budget from the model size
            parts.extend(sp.Mul.make_args(sp.expand_power_base(sp.factor_terms(f)))
                         if _split(f, x) is None else [f])
        for f in parts:
            if _split(f, x) is not None:
                factors.append(f)
                continue
            lead = None if f.has(C) else _leading_at_infinity(f, x)
            if lead is None:
                return None
            factors.append(lead)
        out.append(sp.Mul(*factors))
    return _expand(sp.Add(*out))


def _cmp(a: sp.Expr, b: sp.Expr, sample) -> int:
    return _sign(sp.expand(a - b), sample)


def _dominant_balance(F: sp.Expr, N: sp.Symbol, C: sp.Symbol, sample):
    """Leading-order root of ``F(N, C) = 0`` as ``C -> oo``: ``(kappa, a, m)`` with
    ``N* ~ kappa C**a log(C)**m`` (``a > 0``), or ``None``."""
    form = _asymptotic_form(F, N, C)
    groups = None if form is None else _terms(form, N)
    if groups is None:
        return None
    flat = []  # (c, k, r, q, s): c N**k log(N)**r C**q log(C)**s
    for (k, r), coeff in groups.items():
        sub = _terms(coeff, C)
        if sub is None:
            return None
        for (q, s), c in sub.items():
            flat.append((c, k, r, q, s))
    cands = []
    for (c1, k1, _r1, q1, _s1), (c2, k2, _r2, q2, _s2) in itertools.combinations(flat, 2):
        if _cmp(k1, k2, sample) == 0:
            continue
        a = sp.cancel((q2 - q1) / (k1 - k2))
        if _sign(a, sample) > 0 and all(_cmp(a, b, sample) != 0 for b in cands):
            cands.append(a)
    for a in cands:
        ex = [sp.expand(k * a + q) for _c, k, _r, q, _s in flat]
        top = max(ex, key=lambda e: sp.N(e.xreplace(sample), 30))
        chosen = [t for t, e in zip(flat, ex) if _cmp(e, top, sample) == 0]
        res = _log_balance(chosen, a, sample)
        if res is not None:
            kappa, m = res
            return kappa, a, m
    return None


def _log_balance(terms, a, sample):
    """Within the top power of ``C``, balance the powers of ``log C``; returns ``(kappa, m)``."""
    groups: dict = {}
    for c, k, r, _q, s in terms:
        key = (k, r + s)
        groups[key] = groups.get(key, 0) + c * a**r   # log N ~ a log C
    groups = {key: e for key, c in groups.items() if (e := sp.expand(c)) != 0}
    keys = list(groups)
    ms = [sp.Integer(0)]
    for (k1, e1), (k2, e2) in itertools.combinations(keys, 2):
        if _cmp(k1, k2, sample) != 0:
            ms.append(sp.cancel((e2 - e1) / (k1 - k2)))
    for m in ms:
        ex = {key: sp.expand(key[0] * m + key[1]) for key in keys}
        top = max(ex.values(), key=lambda e: sp.N(e.xreplace(sample), 30))
        by_k: dict = {}
        for key, e in ex.items():
            if _cmp(e, top, sample) == 0:
                by_k[key[0]] = by_k.get(key[0], 0) + groups[key]
        if len(by_k) != 2:
            continue
        (k1, s1), (k2, s2) = by_k.items()
        if _sign(s1, sample) * _sign(s2, sample) >= 0:
            continue
        kappa = _power_root(s1, k1, s2, k2, sample)
        return kappa, m
    return None


def _power_root(c1, k1, c2, k2, sample) -> sp.Expr:
    """Positive root of ``c1 x**k1 + c2 x**k2 = 0``: ``(-c2/c1)**(1/(k1 - k2))``, outer exponent > 0."""
    if _sign(sp.expand(k1 - k2), sample) < 0:
        (k1, c1), (k2, c2) = (k2, c2), (k1, c1)
    return sp.powsimp(sp.cancel(-c2 / c1)) ** sp.cancel(1 / (k1 - k2))


def _tidy_exponents(expr: sp.Expr) -> sp.Expr:
    """Write symbolic exponents over a common denominator (``2*b/(a+b) - 1 -> (b-a)/(a+b)``)."""
    return expr.replace(lambda e: e.is_Pow and not e.exp.is_number and e.exp.is_Add,
                        lambda e: sp.Pow(e.base, sp.factor(e.exp)))


def _powsimp(expr: sp.Expr) -> sp.Expr:
    return sp.powsimp(sp.expand_power_base(expr), combine="exp")


def _no_optimum(law: Law, cost, direction: str) -> UserInputError:
    return UserInputError(
        f"law {law.name!r} has no interior compute-optimal point: along the budget curve "
        f"{sp.sstr(cost)} = C the loss {direction} in {law.model.name} everywhere "
        f"(no trade-off between the model and data terms)")


_AWKWARD_DIGITS = 6   # exact numbers longer than this are kept symbolic while deriving


def _abstract_numbers(exprs) -> tuple[list, dict]:
    """Replace long exact numbers by positive placeholders: ``([exprs], {placeholder: number})``.

    SymPy evaluates powers of exact rationals by factoring them: ``(3392187463/10**10)**(1/x)``,
    ``N**(10**999)`` or ``gamma(500)**k`` take minutes. A placeholder derives like a constant.
    """
    numbers: dict = {}
    mapping: dict = {}
    for e in exprs:
        for r in e.atoms(sp.Rational):
            if r in mapping or (abs(r.p) < 10 ** _AWKWARD_DIGITS and r.q < 10 ** _AWKWARD_DIGITS):
                continue
            s = sp.Dummy(f"num{len(numbers)}", positive=True)
            numbers[s] = abs(r)
            mapping[r] = s if r > 0 else -s
    return [e.xreplace(mapping) for e in exprs], numbers


def _restore(value, numbers):
    """Put the exact numbers back, unevaluated (evaluating them is what hangs SymPy)."""
    if not numbers or value is None:
        return value
    if isinstance(value, sp.Basic):
        with sp.evaluate(False):
            return value.xreplace(numbers)
    if isinstance(value, list):
        return [(d, _restore(e, numbers)) for d, e in value]
    return value


def _derive(law: Law, subs: Mapping[sp.Symbol, sp.Expr]) -> Allocation:
    # abbreviations still symbolic after ``subs`` stay short names (a readable and faster derivation)
    values = law.abbreviation_values(subs)
    kept = {s: v for s, v in values.items() if v.free_symbols}
    if kept:
        expr = law.abbreviated_expr.xreplace({s: v for s, v in values.items() if s not in kept}).subs(subs)
    else:
        expr = law.expr.subs(subs)
    cost = law.cost.subs(subs)
    (expr, cost), numbers = _abstract_numbers([expr, cost])
    alloc = _derive_abstract(law, subs, expr, cost, numbers, kept)
    if not numbers:
        return alloc
    fields = {name: _restore(getattr(alloc, name), numbers)
              for name in ("bound", "cost", "model_optimal", "data_optimal", "optimal_loss", "ratio",
                           "model_exponent", "data_exponent", "implicit_equation", "asymptotic_model",
                           "asymptotic_data", "data_on_budget", "objective", "stationarity", "steps")}
    return dataclasses.replace(alloc, **fields)


def _derive_abstract(law: Law, subs, expr, cost, numbers, abbreviations=None) -> Allocation:
    """The compute-optimal allocation of ``expr`` under ``cost = C``, in named stages: a sample point,
    the objective along the budget curve, its stationary minimum (closed form, dominant balance or
    implicit), the exponents and the optimum's data size and loss."""
    N, D = law.model, law.data
    C = budget_symbol(law)
    abbreviations = dict(abbreviations or {})
    sample = _sample_point(law, subs, expr, cost, numbers, abbreviations, C)
    # the loss's own name, apart from the law's symbols like the budget's ("L" unless the law uses it)
    taken = {x.name for x in _law_symbols(law)}
    loss_name = next(n for n in itertools.chain(("L", "L_loss"), (f"L_loss{i}" for i in itertools.count(2)))
                     if n not in taken)
    steps: list[tuple[str, sp.Expr]] = [("loss", sp.Eq(sp.Symbol(loss_name), expr, evaluate=False)),
                                        ("compute budget", sp.Eq(cost, C, evaluate=False))]
    data_on_budget, inner, h, F = _budget_objective(law, expr, cost, C, sample, steps)
    d2 = sp.diff(F, N)
    opt = _stationary_minimum(law, F, d2, C, sample, data_on_budget)
    a, b = opt.a, opt.b
    if opt.closed:
        steps.append((f"solution ({opt.method})", sp.Eq(N, opt.N_star, evaluate=False)))
    else:
        steps.append(("implicit equation for the optimum (no closed form)", sp.Eq(F, 0, evaluate=False)))
    asym_D = None
    if opt.balance is not None:
        kappa, a, m = opt.balance
        asym_D, b = _data_asymptotics(data_on_budget, N, C, kappa, a, m)
    N_star = opt.N_star
    D_star = data_on_budget.xreplace({N: N_star})
    if opt.method == "power-law balance":
        # by symmetry: eliminate the model size instead and balance in D (a tidier closed form)
        D_star = _data_side_power_root(law, inner, cost, C, sample) or D_star
    steps.append(("data optimum", sp.Eq(D, D_star, evaluate=False)))
    steps.append(("second-order condition: d2/dN2 > 0 at the optimum",
                  sp.GreaterThan(d2.xreplace({N: N_star}), 0, evaluate=False)))
    if opt.asym_N is not None:
        steps.append(("leading order as C -> oo", sp.Eq(N, opt.asym_N, evaluate=False)))
    if a is not None:
        a, b = sp.factor(a), (sp.factor(b) if b is not None else None)
        steps.append(("exponents a = lim d ln N*/d ln C, b = lim d ln D*/d ln C",
                      sp.Tuple(a, b if b is not None else sp.nan)))
    ratio = _powsimp(N_star / D_star)
    if opt.method == "power-law balance":
        ratio = _tidy_exponents(ratio)
    return Allocation(
        law_name=law.name, model=N, data=D, compute=C, bound=expr, cost=cost,
        model_optimal=N_star, data_optimal=D_star, optimal_loss=expr.xreplace({N: N_star, D: D_star}),
        ratio=ratio, model_exponent=a, data_exponent=b, closed_form=opt.closed,
        implicit_equation=None if opt.closed else sp.Eq(F, 0, evaluate=False),
        asymptotic_model=opt.asym_N, asymptotic_data=asym_D, is_minimum=opt.is_min, method=opt.method,
        data_on_budget=data_on_budget, objective=h, stationarity=F, steps=list(steps),
        params=dict(subs), latex_names=dict(law.latex_names), abbreviations=abbreviations)


def _sample_point(law: Law, subs, expr, cost, numbers, abbreviations, C) -> dict:
    """Admissible sample values of every constant, used to pick signs and branches."""
    N, D = law.model, law.data
    constants = set().union(expr.free_symbols, cost.free_symbols, *(v.free_symbols for v in abbreviations.values()))
    sample = _sample(law, constants - {N, D} - set(numbers) - set(abbreviations), subs)
    # an abbreviation's sample is its value at the constants' sample (signs and branches as in the law)
    sample.update({s: sp.Rational(str(sp.N(v.xreplace(sample), 30))) for s, v in abbreviations.items()})
    # a short decimal near each long number: exact ties still cancel, powers of it are cheap
    sample.update({s: sp.Rational(str(sp.Float(v, 6))) for s, v in numbers.items()})
    sample[C] = _SAMPLE_BUDGET
    return sample


def _budget_objective(law: Law, expr, cost, C, sample, steps: list):
    """``D`` on the budget curve, the reduced loss, the objective ``h(N)`` along the curve and its
    derivative ``F = dh/dN``; refuses laws with no interior optimum. Appends the steps."""
    N, D = law.model, law.data
    data_on_budget = _solve_budget(law, cost, C)
    steps.append(("data size on the budget curve", sp.Eq(D, data_on_budget, evaluate=False)))
    inner, notes = _reduce(expr, N, D)
    if not inner.has(N) and not inner.has(D):
        raise UserInputError(f"law {law.name!r} depends on neither {N.name} nor {D.name}")
    if notes:
        steps.append(("same minimiser: " + "; ".join(notes), inner))
    h = inner.xreplace({D: data_on_budget})
    steps.append((f"objective along the budget curve, as a function of {N.name}", h))
    F = sp.diff(h, N)
    steps.append((f"stationarity d/d{N.name} = 0", sp.Eq(F, 0, evaluate=False)))
    if sp.expand(F) == 0:
        raise UserInputError(f"law {law.name!r} has no interior compute-optimal point: the loss is "
                             f"constant along the budget curve {sp.sstr(cost)} = C")
    direction = _monotone(F, N, sample)
    if direction:
        raise _no_optimum(law, cost, direction)
    return data_on_budget, inner, h, F


@dataclass
class _Optimum:
    """The stationary minimum of the objective: ``N*`` (closed form or leading order), how it was found,
    the dominant balance ``(kappa, a, m)`` if any, and the exponents read off a closed form."""

    N_star: sp.Expr
    is_min: bool
    closed: bool
    method: str
    balance: tuple | None
    asym_N: sp.Expr | None
    a: sp.Expr | None
    b: sp.Expr | None


def _stationary_minimum(law: Law, F, d2, C, sample, data_on_budget) -> _Optimum:
    """Solve ``F = 0`` for the minimum: closed forms first, then the dominant balance as ``C -> oo``."""
    N = law.model
    candidates, method = _closed_forms(_terms(F, N), N, sample)
    balance = _dominant_balance(F, N, C, sample)
    if (not candidates and balance is None and sp.count_ops(F) <= _SOLVE_MAX_OPS
            and not _nested_functions(F, N)):
        candidates, method = _solve_fallback(F, N, sample)
    closed = bool(candidates)
    N_star, is_min = None, False
    for cand, structural_sign in candidates:
        sign = structural_sign if structural_sign is not None else _sign_at(d2, N, cand, sample)
        if sign > 0:
            N_star, is_min = cand, True
            break
    if closed and N_star is None:
        raise UserInputError(f"law {law.name!r} has no interior compute-optimal point: the stationary "
                             f"point of the loss along the budget curve is not a minimum")
    a = b = asym_N = None
    if method == "sympy solve":
        a = _log_derivative_limit(N_star, C)
        b = _log_derivative_limit(data_on_budget.xreplace({N: N_star}), C)
    if balance is not None:
        kappa, a_bal, m = balance
        asym_N = kappa * C**a_bal * sp.log(C) ** m
    if N_star is None:
        # implicit: the stationarity condition has no closed-form root
        if asym_N is None:
            why = f" ({_GAVE_UP})" if method == _GAVE_UP else ""
            raise UserInputError(f"law {law.name!r}: cannot solve the stationarity condition{why} nor find "
                                 f"its leading-order behaviour as C -> oo")
        method = "implicit equation + leading-order asymptotics (dominant balance)"
        is_min = _sign_at(d2, N, asym_N, sample) > 0
        if not is_min:
            raise UserInputError(f"law {law.name!r}: the asymptotic stationary point is not a minimum")
        N_star = asym_N
    return _Optimum(N_star, is_min, closed, method, balance, asym_N, a, b)


def _data_side_power_root(law: Law, inner, cost, C, sample):
    """``D*`` by the power-law balance in ``D`` (cost solved for ``N``); ``None`` if not applicable."""
    N, D = law.model, law.data
    rest, dep = cost.as_independent(N, as_Add=False)
    if dep != N:
        return None
    F = sp.diff(inner.xreplace({N: C / rest}), D)
    roots, method = _closed_forms(_terms(F, D), D, sample)
    return roots[0][0] if method == "power-law balance" and roots else None


def _monotone(F: sp.Expr, N: sp.Symbol, sample) -> str | None:
    """``'decreases'``/``'increases'`` if every term of ``dL/dN`` has one sign, else ``None``."""
    signs = set()
    for term in sp.Add.make_args(_expand(F)):
        if term.is_positive:
            signs.add(1)
        elif term.is_negative:
            signs.add(-1)
        else:
            return None
    if signs == {1}:
        return "increases"
    if signs == {-1}:
        return "decreases"
    return None


def _closed_forms(groups, N, sample):
    """Closed-form roots of the grouped stationarity condition: ``([(root, sign or None)], method)``."""
    if groups is None:
        return [], ""
    ks = {}
    for (k, r), c in groups.items():
        ks.setdefault(k, {})[r] = c
    if len(ks) == 2 and all(set(v) == {0} for v in ks.values()):
        (k1, v1), (k2, v2) = ks.items()
        c1, c2 = v1[0], v2[0]
        if _sign(c1, sample) * _sign(c2, sample) >= 0:
            return [], ""
        root = _power_root(c1, k1, c2, k2, sample)
        # at a root of c1 N**k1 + c2 N**k2, N**(1-k1) * F' = c1 (k1 - k2)
        return [(root, _sign(sp.expand(c1 * (k1 - k2)), sample))], "power-law balance"
    if len(ks) == 2:
        (k1, v1), (k2, v2) = ks.items()
        if 1 in v2 and 1 not in v1:
            (k1, v1), (k2, v2) = (k2, v2), (k1, v1)
        if set(v1) <= {0, 1} and 1 in v1 and set(v2) == {0}:
            # (a + b log N) N**k1 + c N**k2 = 0  ->  N = exp(W(z)/k - a/b), k = k1 - k2
            a, b, c, k = v1.get(0, 0), v1[1], v2[0], k1 - k2
            b = sp.together(b)   # one fraction, so that common factors (1/C) cancel term by term
            shift = sp.expand(a / b)
            z = -(c * k / b) * _exp(k * shift)
            roots = [(_exp(sp.LambertW(z) / k - shift), None)]
            zval = sp.N(z.xreplace(sample), 30)
            if zval.is_real and -sp.exp(-1) < zval < 0:
                roots.append((_exp(sp.LambertW(z, -1) / k - shift), None))
            return [(r, s) for r, s in roots if _is_real_positive(r, sample)], "Lambert W"
    if len(ks) == 1:
        (k1, v1), = ks.items()
        if set(v1) == {0, 1}:
            return [(sp.exp(-v1[0] / v1[1]), None)], "log balance"
    return [], ""


def _nested_functions(F: sp.Expr, N: sp.Symbol) -> bool:
    """Whether ``F`` applies a function to a function of ``N`` (``log(log(N))``, ``exp(N**N)``).

    SymPy's ``solve`` recurses on such equations until Python's stack runs out (about 20 s for
    ``A/log(log(N)) + B/log(log(D))``); they have no closed form it could find.

    Examples
    --------
    >>> N = sp.Symbol("N", positive=True)
    >>> _nested_functions(1/(N*sp.log(N)*sp.log(sp.log(N))**2), N), _nested_functions(sp.log(N)/N**2, N)
    (True, False)
    """
    def transcendental(e):
        return (isinstance(e, sp.Function) or (e.is_Pow and e.exp.has(N))) and e.has(N)

    return any(transcendental(e) and any(transcendental(a) for arg in e.args for a in sp.preorder_traversal(arg))
               for e in sp.preorder_traversal(F))


_GAVE_UP = f"SymPy's solve stopped after {_SOLVE_SECONDS:g} s"


class _OutOfTime(BaseException):
    """Raised by the timer inside SymPy (a BaseException, so SymPy's ``except Exception`` passes it on)."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise :class:`_OutOfTime` in the block after ``seconds`` (main thread with no timer of its own
    running; elsewhere the block runs unlimited)."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _solve_fallback(F, N, sample):
    """SymPy's ``solve`` on a small stationarity condition the structured solver does not cover,
    for at most ``_SOLVE_SECONDS`` (then: no closed form)."""
    try:
        with _time_limit(_SOLVE_SECONDS):
            sols = sp.solve(F, N)
    except _OutOfTime:
        return [], _GAVE_UP
    except (NotImplementedError, PoleError, ValueError, TypeError, RecursionError):
        return [], ""
    roots = [(r, None) for r in sols if not r.has(sp.I) and _is_real_positive(r, sample)]
    return roots, ("sympy solve" if roots else "")


def _log_derivative_limit(expr, C):
    """``lim_{C->oo} d ln expr / d ln C`` or ``None`` if SymPy cannot take it."""
    try:
        value = sp.limit(sp.simplify(C * sp.diff(expr, C) / expr), C, sp.oo)
    except (NotImplementedError, PoleError, ValueError, TypeError):
        return None
    return value if value.is_finite else None


def _exp(arg: sp.Expr) -> sp.Expr:
    """``exp(arg)``, split into powers (``exp(2 log C) -> C**2``) when that is shorter."""
    powers, rest = [], []
    for term in sp.Add.make_args(arg):
        c, f = term.as_coeff_Mul()
        if isinstance(f, sp.log):
            powers.append(f.args[0] ** c)
        else:
            rest.append(term)
    rest_sum = sp.Add(*rest)
    # exp's automatic evaluation is slow on long sums and finds nothing there
    outer = sp.exp(rest_sum) if len(rest) <= 3 else sp.exp(rest_sum, evaluate=False)
    return sp.Mul(*powers) * outer


def _is_real_positive(expr, sample) -> bool:
    val = sp.N(expr.xreplace(sample), 30)
    return bool(val.is_real and val > 0)


def _data_asymptotics(data_on_budget, N, C, kappa, a, m):
    """Leading order of ``D*`` and its exponent ``b`` given ``N* ~ kappa C**a log(C)**m``."""
    parts = _split(_expand(data_on_budget), N)
    if parts is not None and parts[2] == 0:
        g, u, _ = parts
        gparts = _split(_expand(g), C)
        if gparts is not None and gparts[2] == 0:
            g0, v, _ = gparts
            b = sp.factor(u * a + v)
            return g0 * kappa**u * C**b * sp.log(C) ** sp.expand(u * m), b
    D_asym = data_on_budget.subs(N, kappa * C**a * sp.log(C) ** m)
    b = sp.limit(C * sp.diff(sp.log(D_asym), C), C, sp.oo)
    return D_asym, b
