"""Steps and derivations: the data model every derivation module builds on.

A :class:`Derivation` is an ordered list of :class:`Step` objects.  Each step records its claim
(``lhs  relation  rhs`` as SymPy expressions), a justification (saying "ours" where a constant or log
factor is this toolkit's own rather than the paper's), its kind (identity / inequality / expectation
/ asymptotic) and a checker that verifies it with :mod:`numeric.verify`.  The step factories below
keep ``lhs``/``rhs`` as data, so a test can mutate a constant with :func:`dataclasses.replace` and
watch the checker fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy as sp

from numeric.verify import (GUARD_DIGITS, Box, VerifyResult, check_expectation, check_identity,
                            check_inequality, check_limit, check_values)

__all__ = ["Step", "Derivation", "identity", "inequality", "expectation", "asymptotic", "numeric_values",
           "value_inequalities", "KINDS"]

KINDS = ("identity", "inequality", "expectation", "asymptotic")
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
    exponents) for :mod:`derivations.render`; ``notes`` are paragraphs of plain text.
    """

    name: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    conclusion: Mapping[str, sp.Basic] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def step(self, name: str) -> Step:
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
    """A step ``lhs = rhs``: symbolic simplification (if ``symbolic``) and numeric escalation."""
    return Step(name, "identity", _expr(lhs), _expr(rhs), "=", justification, _identity_checker,
                ours, dict(domain), {"symbolic": symbolic, "points": points})


def _inequality_checker(step: Step, digits: int) -> VerifyResult:
    lhs, rhs = (step.rhs, step.lhs) if step.relation == ">=" else (step.lhs, step.rhs)
    return check_inequality(lhs, rhs, step.domain, digits=digits, points=int(step.options.get("points", 24)),
                            seed=int(step.options.get("seed", 0)), certificate=step.options.get("certificate"),
                            strict=step.relation == "<")


def inequality(name: str, lhs, rhs, domain, justification: str, *, relation: str = "<=", ours: bool = False,
               certificate: sp.Expr | None = None, points: int = 24) -> Step:
    """A step ``lhs <= rhs`` on ``domain``; ``certificate`` is a manifestly nonnegative ``rhs - lhs``."""
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
    """``lhs ~ rhs`` as ``C -> oo``: ``exact(C)/leading(C) -> 1`` over ``C = 10**k``, monotone in the tail."""
    return Step(name, "asymptotic", _expr(lhs), _expr(rhs), "~", justification, _limit_checker, ours,
                {}, {"exact": exact, "leading": leading, "exponents": list(exponents), "tolerance": tolerance,
                     "tail": tail})


def _values_checker(step: Step, digits: int) -> VerifyResult:
    return check_values(step.options["pairs"], digits=digits, method=str(step.options.get("method", "numeric")),
                        tol_fraction=float(step.options.get("tol_fraction", 0.6)))


def numeric_values(name: str, kind: str, lhs, rhs, justification: str, *, pairs, ours: bool = False,
                   method: str = "numeric", tol_fraction: float = 0.6) -> Step:
    """A claim checked by ``pairs(dps) -> [(computed, expected), ...]`` at ``digits`` and ``2*digits``."""
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
    """An inequality checked on cases ``pairs(dps) -> [(smaller, larger), ...]`` at two precisions."""
    return Step(name, kind, _expr(lhs), _expr(rhs), relation, justification, _value_ineq_checker,
                ours, {}, {"pairs": pairs, "method": method})
