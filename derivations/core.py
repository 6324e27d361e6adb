"""Steps and derivations: the data model every derivation module builds on.

A :class:`Derivation` is an ordered list of :class:`Step` objects.  Each step records its claim
(``lhs  relation  rhs`` as SymPy expressions), a justification (saying "ours" where a constant or log
factor is this toolkit's own rather than the paper's), its kind (identity / inequality / expectation
/ asymptotic) and a checker that verifies it with :mod:`scaling_theory.numeric.precision.verify`.  The step factories below
keep ``lhs``/``rhs`` as data, so a test can mutate a constant with :func:`dataclasses.replace` and
watch the checker fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from scaling_theory.numeric.precision.verify import (GUARD_DIGITS, Box, VerifyResult, check_expectation,
                                                     check_identity, check_inequality, check_limit, check_values)

__all__ = ["Step", "Derivation", "identity", "inequality", "expectation", "asymptotic", "numeric_values",
           "value_inequalities", "monte_carlo_cases", "consistency", "KINDS", "EVIDENCE"]

KINDS = ("identity", "inequality", "expectation", "asymptotic")
EVIDENCE = ("symbolic", "exact-integral", "monte-carlo", "limit", "numerical-optimum", "certificate",
            "sampled-inequality", "numeric", "consistency")
"""What a step's check is evidence of: two different expressions equal symbolically, an exact
integral (or exact value), Monte Carlo, a limit, a numerical optimum, an inequality with a nonnegative
certificate or sampled on its domain, numbers at high precision, or ``consistency`` (the step restates
a definition: checked, but not counted as verified)."""
_RELATIONS = {"=": sp.Eq, "<=": sp.Le, "<": sp.Lt, ">=": sp.Ge}


@dataclass(frozen=True)
class Step:
    """One claim of a derivation and how it is verified.

    Parameters
    ----------
    name : short identifier, unique within its derivation.
    kind : one of ``identity``, ``inequality``, ``expectation``, ``asymptotic``.
    lhs, rhs : the two sides of the claim (SymPy).
    relation : ``"="``, ``"<="``, ``"<"``, ``">="`` or ``"~"`` (asymptotically equal) or ``"->"`` (limit).
    justification : why it holds; says "ours" where the constant is ours.
    ours : the claim's constants/log factors are this toolkit's, not the paper's.
    domain : variable ranges for numeric checks.
    checker : ``checker(step, digits) -> VerifyResult``.
    options : extra data for the checker (samplers, certificates, ...).
    evidence : what the check is evidence of (one of :data:`EVIDENCE`); ``None`` means read it off the
        kind and the checker's options (:attr:`evidence_kind`).

    Steps are normally built with the factories :func:`identity`, :func:`inequality`,
    :func:`expectation`, :func:`asymptotic`, :func:`numeric_values` and :func:`value_inequalities`.

    Examples
    --------
    >>> from dataclasses import replace
    >>> x = sp.Symbol("x", positive=True)
    >>> step = identity("log-square", sp.log(x**2), 2*sp.log(x), {x: Box(0.1, 10)}, "log rule")
    >>> step.kind, step.claim
    ('identity', Eq(log(x**2), 2*log(x)))
    >>> step.verify(digits=15).ok
    True
    >>> replace(step, rhs=3*sp.log(x)).verify(digits=15).ok   # a mutated constant is caught
    False
    """

    name: str
    kind: str
    lhs: sp.Expr
    rhs: sp.Expr
    relation: str
    justification: str
    checker: Callable[["Step", int], VerifyResult]
    ours: bool = False
    domain: Mapping[sp.Symbol, Box] = field(default_factory=dict)
    options: Mapping[str, object] = field(default_factory=dict)
    evidence: str | None = None

    @property
    def evidence_kind(self) -> str:
        """The step's evidence kind: the explicit ``evidence``, else what its checker does.

        Examples
        --------
        >>> x = sp.Symbol("x", positive=True)
        >>> identity("log-square", sp.log(x**2), 2*sp.log(x), {x: Box(0.1, 10)}, "log rule").evidence_kind
        'symbolic'
        >>> consistency(identity("same", x, x, {x: Box(0.1, 10)}, "restates")).evidence_kind
        'consistency'
        """
        if self.evidence is not None:
            return self.evidence
        if self.kind == "identity" and self.checker is _identity_checker:
            return "symbolic" if self.options.get("symbolic", True) else "numeric"
        if self.checker is _inequality_checker:
            return "certificate" if self.options.get("certificate") is not None else "sampled-inequality"
        if self.checker is _expectation_checker:
            return "exact-integral+monte-carlo" if self.options.get("exact") is not None else "monte-carlo"
        if self.checker is _limit_checker:
            return "limit"
        if self.checker is _value_ineq_checker:
            return "sampled-inequality"
        method = str(self.options.get("method", "numeric"))
        return {"exact-integral": "exact-integral", "exact": "exact-integral", "minimiser": "numerical-optimum",
                "series": "numeric", "lambert-w": "numeric", "numerical-derivative": "numeric"}.get(method, method)

    @property
    def claim(self) -> sp.Basic:
        """The claim as a SymPy relation (``~`` and ``->`` are shown as equalities)."""
        rel = _RELATIONS.get(self.relation, sp.Eq)
        return rel(self.lhs, self.rhs, evaluate=False)

    def verify(self, digits: int = 50) -> VerifyResult:
        """Run the checker at ``digits`` working digits (escalating to ``2*digits``)."""
        return self.checker(self, digits)


@dataclass(frozen=True)
class Derivation:
    """An ordered list of checked steps deriving one result.

    ``conclusion`` maps display labels to SymPy expressions (the final bound, the allocation, the
    exponents) for :mod:`scaling_theory.derivations.render`; ``notes`` are paragraphs of plain text.

    Parameters
    ----------
    name : registry name (see :func:`scaling_theory.derivations.registry.derivation_names`).
    title, summary : one-line human text for the rendered document.
    steps : the checked claims, in reading order.
    conclusion : ``{label: SymPy expression}`` of the results.
    notes : paragraphs shown after the summary.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> der = Derivation("am-gm", "AM-GM for two numbers", "2x <= x^2 + 1", steps=(
    ...     identity("square", (x - 1)**2, x**2 - 2*x + 1, {x: Box(0.1, 10)}, "expand"),
    ...     inequality("am-gm", 2*x, x**2 + 1, {x: Box(0.1, 10)}, "a square is >= 0",
    ...                certificate=(x - 1)**2)))
    >>> [s.name for s in der.steps]
    ['square', 'am-gm']
    >>> der.step("am-gm").claim
    2*x <= x**2 + 1
    >>> all(s.verify(15).ok for s in der.steps)
    True
    """

    name: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    conclusion: Mapping[str, sp.Basic] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def step(self, name: str) -> Step:
        """The step called ``name`` (``KeyError`` if there is none)."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(name)


# -- step factories --------------------------------------------------------------------------------

def _expr(value) -> sp.Basic:
    """A claim side written in code (never user text): SymPy objects pass, Python ints become Integers."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return sp.Integer(value)
    raise TypeError(f"a claim side must be a SymPy expression or an int, got {type(value).__name__}")


def _identity_checker(step: Step, digits: int) -> VerifyResult:
    return check_identity(step.lhs, step.rhs, step.domain, digits=digits,
                          points=int(step.options.get("points", 10)), seed=int(step.options.get("seed", 0)),
                          symbolic=bool(step.options.get("symbolic", True)))


def identity(name: str, lhs, rhs, domain, justification: str, *, ours: bool = False, symbolic: bool = True,
             points: int = 10) -> Step:
    """A step ``lhs = rhs``: symbolic simplification (if ``symbolic``) and numeric escalation.

    Parameters
    ----------
    name : step identifier.
    lhs, rhs : the two sides (SymPy expressions or Python ints).
    domain : ``{symbol: Box}`` ranges of the numeric check (random rational points plus edges).
    justification : why it holds (say "ours" where the constant is ours).
    ours : mark the constants as this toolkit's own.
    symbolic : also require ``simplify(lhs - rhs) == 0``.
    points : number of random points.

    Returns
    -------
    Step
        Checked by :func:`scaling_theory.numeric.precision.verify.check_identity` at ``digits`` and ``2*digits``.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> step = identity("exp-log", sp.exp(sp.log(x)), x, {x: Box(0.01, 100, log=True)}, "inverse")
    >>> res = step.verify(digits=20)
    >>> res.ok, res.method, res.digits
    (True, 'symbolic+numeric', 40)
    """
    return Step(name, "identity", _expr(lhs), _expr(rhs), "=", justification, _identity_checker,
                ours, dict(domain), {"symbolic": symbolic, "points": points})


def _inequality_checker(step: Step, digits: int) -> VerifyResult:
    lhs, rhs = (step.rhs, step.lhs) if step.relation == ">=" else (step.lhs, step.rhs)
    return check_inequality(lhs, rhs, step.domain, digits=digits, points=int(step.options.get("points", 24)),
                            seed=int(step.options.get("seed", 0)), certificate=step.options.get("certificate"),
                            strict=step.relation == "<")


def inequality(name: str, lhs, rhs, domain, justification: str, *, relation: str = "<=", ours: bool = False,
               certificate: sp.Expr | None = None, points: int = 24) -> Step:
    """A step ``lhs <= rhs`` on ``domain``; ``certificate`` is a manifestly nonnegative ``rhs - lhs``.

    ``relation`` may be ``"<="``, ``"<"`` or ``">="`` (then ``lhs >= rhs``).  Without a certificate
    the check is numeric only (random and edge points, two precisions).

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> step = inequality("am-gm", 2*x, x**2 + 1, {x: Box(0.01, 100, log=True)}, "square",
    ...                   certificate=(x - 1)**2)
    >>> step.claim, step.verify(15).ok
    (2*x <= x**2 + 1, True)
    >>> inequality("wrong", x**2 + 1, 2*x, {x: Box(0.01, 100, log=True)}, "false").verify(15).ok
    False
    """
    return Step(name, "inequality", _expr(lhs), _expr(rhs), relation, justification,
                _inequality_checker, ours, dict(domain), {"certificate": certificate, "points": points})


def _expectation_checker(step: Step, digits: int) -> VerifyResult:
    opts = step.options
    result = check_expectation(opts["sampler"], float(opts["value"]()), samples=int(opts.get("samples", 200_000)),
                               seed=int(opts.get("seed", 0)), relation="<=" if step.relation == "<=" else "==")
    exact = opts.get("exact")
    if exact is not None:  # an exact (quadrature/symbolic) evaluation of the same expectation
        sym = exact(step, digits)
        result = VerifyResult(f"{sym.method}+monte-carlo", sym.digits, max(sym.max_rel_error, result.max_rel_error),
                              sym.ok and result.ok, f"{sym.detail}; {result.detail}", sym.points + result.points)
    return result


def expectation(name: str, lhs, rhs, justification: str, *, sampler, value, relation: str = "=",
                ours: bool = False, samples: int = 200_000, seed: int = 0, exact=None) -> Step:
    """An expectation claim checked by seeded Monte Carlo (``value()`` is the claimed number).

    ``exact(step, digits) -> VerifyResult`` optionally adds an exact high-precision check.

    Parameters
    ----------
    sampler : ``sampler(rng, m) -> ndarray`` of ``m`` iid draws of the integrand.
    value : ``value() -> float``, the claimed expectation (or upper bound when ``relation="<="``).
    samples, seed : Monte Carlo size and seed (reproducible).

    Examples
    --------
    >>> import numpy as np
    >>> step = expectation("chi2-mean", sp.Symbol("E[Z^2]"), 1, "variance of N(0,1)",
    ...                    sampler=lambda rng, m: rng.standard_normal(m)**2, value=lambda: 1.0,
    ...                    samples=20_000)
    >>> res = step.verify(15)
    >>> res.ok, res.method, res.points
    (True, 'monte-carlo', 20000)
    """
    return Step(name, "expectation", _expr(lhs), _expr(rhs), relation, justification,
                _expectation_checker, ours, {},
                {"sampler": sampler, "value": value, "samples": samples, "seed": seed, "exact": exact})


def _limit_checker(step: Step, digits: int) -> VerifyResult:
    opts = step.options
    return check_limit(opts["exact"], opts["leading"], opts["exponents"], digits=digits,
                       tail=int(opts.get("tail", 4)), tolerance=float(opts.get("tolerance", 0.05)))


def asymptotic(name: str, lhs, rhs, justification: str, *, exact, leading, exponents, ours: bool = False,
               tolerance: float = 0.05, tail: int = 4) -> Step:
    """``lhs ~ rhs`` as ``C -> oo``: ``exact(C)/leading(C) -> 1`` over ``C = 10**k``, monotone in the tail.

    ``exact`` and ``leading`` receive an mpf ``C``; ``exponents`` are the ``k`` values tried.

    Examples
    --------
    >>> import mpmath
    >>> C = sp.Symbol("C", positive=True)
    >>> step = asymptotic("sqrt-correction", C + sp.sqrt(C), C, "sqrt(C)/C -> 0",
    ...                   exact=lambda c: c + mpmath.sqrt(c), leading=lambda c: c, exponents=[4, 8, 16, 32])
    >>> step.relation, step.verify(15).ok
    ('~', True)
    """
    return Step(name, "asymptotic", _expr(lhs), _expr(rhs), "~", justification, _limit_checker, ours,
                {}, {"exact": exact, "leading": leading, "exponents": list(exponents), "tolerance": tolerance,
                     "tail": tail})


def _values_checker(step: Step, digits: int) -> VerifyResult:
    return check_values(step.options["pairs"], digits=digits, method=str(step.options.get("method", "numeric")),
                        tol_fraction=float(step.options.get("tol_fraction", 0.6)))


def numeric_values(name: str, kind: str, lhs, rhs, justification: str, *, pairs, ours: bool = False,
                   method: str = "numeric", tol_fraction: float = 0.6) -> Step:
    """A claim checked by ``pairs(dps) -> [(computed, expected), ...]`` at ``digits`` and ``2*digits``.

    ``pairs`` runs inside ``mp.workdps`` and should compute at the precision it is given.

    Examples
    --------
    >>> import mpmath
    >>> step = numeric_values("zeta-2", "identity", sp.zeta(2), sp.pi**2/6, "Euler",
    ...                       pairs=lambda dps: [(mpmath.zeta(2), mpmath.pi**2/6)])
    >>> step.verify(20).ok
    True
    """
    return Step(name, kind, _expr(lhs), _expr(rhs), "=", justification, _values_checker, ours, {},
                {"pairs": pairs, "method": method, "tol_fraction": tol_fraction})


def _value_ineq_checker(step: Step, digits: int) -> VerifyResult:
    import mpmath
    from mpmath import mp

    worst, ok, count = 0.0, True, 0
    for dps in (digits, 2 * digits):
        with mp.workdps(dps + GUARD_DIGITS):
            tol = mpmath.mpf(10) ** (-int(0.6 * dps))
            for small, big in step.options["pairs"](dps + GUARD_DIGITS):
                count += 1
                small, big = mpmath.mpf(small), mpmath.mpf(big)
                scale = max(abs(small), abs(big), tol)
                gap = (big - small) / scale
                strict = step.relation == "<"
                if gap < -tol or (strict and gap <= 0):
                    ok = False
                    worst = max(worst, float(-gap))
    return VerifyResult(str(step.options.get("method", "numeric")), 2 * digits, worst, ok,
                        f"{count // 2} cases at {digits} and {2 * digits} digits", count // 2)


def value_inequalities(name: str, lhs, rhs, justification: str, *, pairs, relation: str = "<=",
                       ours: bool = False, method: str = "numeric", kind: str = "inequality") -> Step:
    """An inequality checked on cases ``pairs(dps) -> [(smaller, larger), ...]`` at two precisions.

    Examples
    --------
    >>> import mpmath
    >>> n = sp.Symbol("n", positive=True, integer=True)
    >>> step = value_inequalities("harmonic", sp.harmonic(n), 1 + sp.log(n), "integral comparison",
    ...                           pairs=lambda dps: [(mpmath.harmonic(k), 1 + mpmath.log(k)) for k in (1, 10, 100)])
    >>> step.verify(15).ok
    True
    """
    return Step(name, kind, _expr(lhs), _expr(rhs), relation, justification, _value_ineq_checker,
                ours, {}, {"pairs": pairs, "method": method})


def _mc_cases_checker(step: Step, digits: int) -> VerifyResult:
    from scaling_theory.numeric.precision.verify import check_expectation

    rel = "<=" if step.relation == "<=" else "=="
    worst, ok, details, points = 0.0, True, [], 0
    for i, (label, sampler, value, samples) in enumerate(step.options["cases"]):
        res = check_expectation(sampler, float(value()), samples=samples, seed=int(step.options["seed"]) + i,
                                relation=rel)
        worst, ok, points = max(worst, res.max_rel_error), ok and res.ok, points + res.points
        summary = res.detail.split(": ", 1)[-1].split(";")[0]
        details.append(f"{label}: {summary}" + ("" if res.ok else " FAILED"))
    detail = "; ".join(details)
    return VerifyResult("monte-carlo", 16, worst, ok, detail, points)


def monte_carlo_cases(name: str, lhs, rhs, justification: str, *, cases, relation: str = "=", ours: bool = False,
                      seed: int = 0) -> Step:
    """An expectation claim checked by seeded Monte Carlo on several cases (a grid of constants).

    ``cases`` is a sequence of ``(label, sampler, value, samples)`` with ``sampler(rng, m)`` the
    integrand's draws and ``value()`` the claimed expectation (upper bound for ``relation="<="``).

    Examples
    --------
    >>> cases = [(f"var {v}", (lambda v: lambda rng, m: v * rng.standard_normal(m)**2)(v), (lambda v: lambda: v)(v),
    ...           20_000) for v in (1.0, 3.0)]
    >>> step = monte_carlo_cases("scaled-chi2", sp.Symbol("E[v Z^2]"), sp.Symbol("v"), "variance", cases=cases)
    >>> step.verify(15).ok, step.evidence_kind
    (True, 'monte-carlo')
    """
    return Step(name, "expectation", _expr(lhs), _expr(rhs), relation, justification, _mc_cases_checker, ours, {},
                {"cases": tuple(cases), "seed": seed}, evidence="monte-carlo")


def consistency(step: Step) -> Step:
    """Mark a step that restates a definition: it is still checked, but shown as ``consistency`` and
    not counted as verified evidence.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> consistency(identity("same", 2*x, x + x, {x: Box(0.1, 10)}, "restated")).evidence
    'consistency'
    """
    from dataclasses import replace

    return replace(step, evidence="consistency")
