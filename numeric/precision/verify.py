"""Verification machinery for derivation steps: identities, inequalities, expectations, limits.

Every check returns a :class:`VerifyResult` (method, digits, maximum relative error, ok, detail).
Numbers are computed with mpmath inside ``with mp.workdps(n):`` only, at random admissible points
(exact rationals, so the same point is evaluated at every precision) and the domain's edge points.

Precision escalation: a numeric identity must hold to ``10**(-0.6*digits)`` at ``digits`` *and* to
``10**(-0.6*2*digits)`` at twice the digits (each evaluated with ``GUARD_DIGITS`` extra digits), so a
claim that is only approximately true (a mutated constant, a rounding coincidence) fails at the higher
precision even if it slipped through at the lower one.

Monte Carlo checks (expectation claims) are seeded and pass when the claim lies inside a
``z``-standard-error band (``z = 5``: two-sided coverage ``1 - 5.7e-7`` under normality).

References
----------
Jeon & Van Roy, arXiv:2212.01365; docs/paper-setting.md ("Framework", "Ours").
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Iterable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp
from mpmath import mp

__all__ = ["VerifyResult", "Box", "check_identity", "check_inequality", "check_expectation",
           "check_limit", "check_values", "check_nonnegative", "sample_points", "to_mpmath",
           "MC_Z", "TOL_FRACTION", "GUARD_DIGITS"]

TOL_FRACTION = 0.6
"""A numeric identity at ``dps`` working digits must hold to ``10**(-TOL_FRACTION*dps)`` (guard for cancellation)."""

GUARD_DIGITS = 20
"""Extra digits carried in every evaluation, so cancellation in a claim's formula cannot eat the tolerance."""

MC_Z = 5.0
"""Width of the Monte Carlo acceptance band in standard errors."""


@dataclass
class VerifyResult:
    """Outcome of one verification.

    Parameters
    ----------
    method : how it was checked, e.g. ``"symbolic+numeric"``, ``"monte-carlo"``, ``"limit"``.
    digits : highest working precision used (decimal digits; 16 for float64 Monte Carlo).
    max_rel_error : largest relative error (identity), violation (inequality), or deviation seen.
    ok : whether the claim verified.
    detail : one line saying what was done.
    points : number of evaluation points (or samples).

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> r = check_identity(sp.exp(sp.log(x)), x, {x: Box(0.5, 2)}, digits=20, points=4)
    >>> r.ok, r.method, r.digits, r.points
    (True, 'symbolic+numeric', 40, 6)
    >>> sorted(r.to_json())
    ['detail', 'digits', 'max_rel_error', 'method', 'ok', 'points']
    """

    method: str
    digits: int
    max_rel_error: float
    ok: bool
    detail: str = ""
    points: int = 0

    def to_json(self) -> dict:
        """The result as a plain dict (for ``check --json``)."""
        return {"method": self.method, "digits": self.digits, "max_rel_error": self.max_rel_error,
                "ok": self.ok, "detail": self.detail, "points": self.points}


@dataclass(frozen=True)
class Box:
    """Sampling range of one variable: ``[lo, hi]``, log-uniform if ``log``; integers if ``integer``.

    Examples
    --------
    >>> Box(1, 64, integer=True).edges()
    [Fraction(1, 1), Fraction(64, 1)]
    """

    lo: float
    hi: float
    log: bool = False
    integer: bool = False
    extra: tuple = field(default=())

    def edges(self) -> list[Fraction]:
        return [Fraction(self.lo), Fraction(self.hi)] + [Fraction(x) for x in self.extra]

    def draw(self, rng: random.Random) -> Fraction:
        if self.integer:
            if self.log:
                return Fraction(int(round(math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))))))
            return Fraction(rng.randint(int(self.lo), int(self.hi)))
        u = (math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))) if self.log
             else rng.uniform(self.lo, self.hi))
        return Fraction(u).limit_denominator(10**12)


def sample_points(domain: Mapping[sp.Symbol, Box], points: int, seed: int = 0,
                  edges: bool = True) -> list[dict[sp.Symbol, Fraction]]:
    """Random admissible points (exact rationals), plus the corners made of edge values.

    Parameters
    ----------
    domain : ``{symbol: Box}``.
    points : number of random points (drawn with ``random.Random(seed)``: reproducible).
    seed : the seed.
    edges : also return the all-low and all-high corners, and one point per ``Box.extra`` value.

    Returns
    -------
    list[dict[Symbol, Fraction]]
        Exact rationals, so the same point is evaluated at every precision.

    Examples
    --------
    >>> x, y = sp.symbols("x y", real=True)
    >>> pts = sample_points({x: Box(0.5, 2), y: Box(-1, 1, extra=(0,))}, 1, seed=1)
    >>> len(pts), pts[0], pts[1]
    (4, {x: Fraction(1, 2), y: Fraction(-1, 1)}, {x: Fraction(2, 1), y: Fraction(1, 1)})
    >>> pts[2][y]   # the extra edge value of y
    Fraction(0, 1)
    >>> pts == sample_points({x: Box(0.5, 2), y: Box(-1, 1, extra=(0,))}, 1, seed=1)
    True
    """
    rng = random.Random(seed)
    syms = list(domain)
    out: list[dict[sp.Symbol, Fraction]] = []
    if edges and syms:
        # all-low and all-high corners plus each variable's extra edge values
        out.append({s: domain[s].edges()[0] for s in syms})
        out.append({s: domain[s].edges()[1] for s in syms})
        for s in syms:
            for e in domain[s].edges()[2:]:
                base = {t: domain[t].draw(rng) for t in syms}
                base[s] = e
                out.append(base)
    for _ in range(points):
        out.append({s: domain[s].draw(rng) for s in syms})
    return out or [{}]


def to_mpmath(expr: sp.Expr, syms: Sequence[sp.Symbol]) -> Callable:
    """Compile a trusted SymPy expression (never user text) to an mpmath function of ``syms``.

    Uses :func:`sympy.lambdify` with the mpmath module; call the result inside ``mp.workdps(n)``.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> f = to_mpmath(sp.sqrt(x) + 1, [x])
    >>> with mp.workdps(30):
    ...     print(f(mpmath.mpf(2)))
    2.41421356237309504880168872421
    """
    return sp.lambdify(list(syms), expr, modules=["mpmath"])


def _mpf(q: Fraction):
    return mpmath.mpf(q.numerator) / q.denominator


def _rel(a, b):
    scale = max(abs(a), abs(b), mpmath.mpf(10) ** (-mp.dps))
    return abs(a - b) / scale


def _tol(dps: int):
    return mpmath.mpf(10) ** (-int(TOL_FRACTION * dps))


def _numeric_identity(f: Callable, g: Callable, pts, dps: int) -> tuple[float, bool]:
    worst = mpmath.mpf(0)
    with mp.workdps(dps + GUARD_DIGITS):
        for pt in pts:
            args = [_mpf(v) for v in pt.values()]
            a, b = f(*args), g(*args)
            if isinstance(a, mpmath.mpc) or isinstance(b, mpmath.mpc):
                if abs(mpmath.im(a)) + abs(mpmath.im(b)) > _tol(dps):
                    return float("inf"), False
                a, b = mpmath.re(a), mpmath.re(b)
            worst = max(worst, _rel(a, b))
        return float(worst), bool(worst <= _tol(dps))


def _symbolic_zero(expr: sp.Expr) -> bool:
    for attempt in (sp.expand, sp.cancel, sp.simplify):
        try:
            if attempt(expr) == 0:
                return True
        except Exception:  # a simplifier giving up is "not proved", never an error
            continue
    return False


def check_identity(lhs: sp.Expr, rhs: sp.Expr, domain: Mapping[sp.Symbol, Box], *, digits: int = 50,
                   points: int = 12, seed: int = 0, symbolic: bool = True) -> VerifyResult:
    """Check ``lhs == rhs`` symbolically (difference simplifies to 0) and numerically with escalation.

    Both must hold when ``symbolic`` is true; the numeric check always runs, at ``digits`` and at
    ``2*digits``.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> check_identity(sp.log(x**2), 2*sp.log(x), {x: Box(0.1, 10)}).ok
    True
    >>> check_identity(sp.log(x**2), 2.0000001*sp.log(x), {x: Box(0.1, 10)}, symbolic=False).ok
    False
    """
    syms = list(domain)
    pts = sample_points(domain, points, seed)
    f, g = to_mpmath(lhs, syms), to_mpmath(rhs, syms)
    err_lo, ok_lo = _numeric_identity(f, g, pts, digits)
    err_hi, ok_hi = _numeric_identity(f, g, pts, 2 * digits)
    sym_ok = _symbolic_zero(sp.expand(lhs - rhs)) if symbolic else None
    ok = ok_lo and ok_hi and (sym_ok is not False)
    method = "symbolic+numeric" if symbolic else "numeric"
    detail = (f"{len(pts)} points; rel err {err_lo:.1e} at {digits} digits, {err_hi:.1e} at {2 * digits}"
              + ("" if sym_ok is None else f"; simplify(lhs-rhs)==0: {sym_ok}"))
    return VerifyResult(method, 2 * digits, err_hi, ok, detail, len(pts))


def check_nonnegative(expr: sp.Expr) -> bool | None:
    """SymPy's own proof that ``expr >= 0`` under the symbols' assumptions (``None``: undecided).

    Tries ``expr``, its expansion and its factorisation.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> check_nonnegative(x**2 - 2*x + 1)      # proved via the factor (x - 1)**2
    True
    >>> check_nonnegative(-x), check_nonnegative(x - 1)
    (False, None)
    """
    for form in (expr, sp.expand(expr), sp.factor(expr)):
        verdict = form.is_nonnegative
        if verdict is not None:
            return bool(verdict)
    return None


def check_inequality(lhs: sp.Expr, rhs: sp.Expr, domain: Mapping[sp.Symbol, Box], *, digits: int = 50,
                     points: int = 24, seed: int = 0, certificate: sp.Expr | None = None,
                     strict: bool = False) -> VerifyResult:
    """Check ``lhs <= rhs`` (``<`` if ``strict``) on the domain.

    Symbolic part (when a ``certificate`` is given): ``rhs - lhs - certificate`` simplifies to 0 and
    SymPy proves ``certificate >= 0`` from the symbols' assumptions.  Numeric part: at random and edge
    points, at ``digits`` and ``2*digits``, ``rhs - lhs >= -tol * scale``.

    Examples
    --------
    >>> x = sp.Symbol("x", positive=True)
    >>> check_inequality(2*x, x**2 + 1, {x: Box(0.01, 100, log=True)}, certificate=(x - 1)**2).ok
    True
    >>> check_inequality(x**2 + 1, 2*x, {x: Box(0.01, 100, log=True)}).ok
    False
    """
    syms = list(domain)
    pts = sample_points(domain, points, seed)
    f, g = to_mpmath(lhs, syms), to_mpmath(rhs, syms)
    worst_violation = 0.0
    ok = True
    for dps in (digits, 2 * digits):
        with mp.workdps(dps + GUARD_DIGITS):
            for pt in pts:
                args = [_mpf(v) for v in pt.values()]
                a, b = mpmath.re(f(*args)), mpmath.re(g(*args))
                scale = max(abs(a), abs(b), _tol(dps))
                gap = (b - a) / scale
                if gap < -_tol(dps) or (strict and gap <= 0):
                    ok = False
                    worst_violation = max(worst_violation, float(-gap) if gap < 0 else 0.0)
    method = "numeric"
    detail = f"{len(pts)} points (incl. edges) at {digits} and {2 * digits} digits"
    if certificate is not None:
        same = _symbolic_zero(sp.expand(rhs - lhs - certificate))
        nonneg = check_nonnegative(certificate)
        method = "symbolic+numeric"
        detail += f"; rhs-lhs == certificate: {same}; certificate >= 0 proved: {nonneg}"
        ok = ok and same and nonneg is True
    return VerifyResult(method, 2 * digits, worst_violation, ok, detail, len(pts))


def check_expectation(sampler: Callable[[np.random.Generator, int], np.ndarray], claimed: float, *,
                      samples: int = 200_000, seed: int = 0, relation: str = "==",
                      z: float = MC_Z) -> VerifyResult:
    """Monte Carlo check of ``E[X] == claimed`` (or ``<=``) with a ``z``-standard-error band.

    ``sampler(rng, n)`` returns ``n`` iid draws of the integrand.  Seeded: reproducible.

    Examples
    --------
    >>> r = check_expectation(lambda rng, n: rng.standard_normal(n)**2, 1.0, samples=20000)
    >>> r.ok, r.method
    (True, 'monte-carlo')
    >>> check_expectation(lambda rng, n: rng.standard_normal(n)**2, 1.1, samples=20000).ok
    False
    """
    if relation not in ("==", "<="):
        raise ValueError(f"relation must be '==' or '<=', got {relation!r}")
    rng = np.random.default_rng(seed)
    draws = np.asarray(sampler(rng, samples), dtype=float)
    mean = float(draws.mean())
    se = float(draws.std(ddof=1) / math.sqrt(draws.size))
    claimed = float(claimed)
    dev = mean - claimed
    ok = abs(dev) <= z * se + 1e-12 * abs(claimed) if relation == "==" else dev <= z * se + 1e-12 * abs(claimed)
    miss = abs(dev) if relation == "==" else max(dev, 0.0)  # for '<=' only a violation counts
    rel = miss / abs(claimed) if claimed != 0 else miss  # absolute when the claim is 0
    detail = (f"{draws.size} samples (seed {seed}): mean {mean:.6g} +- {se:.2g} (se) vs {claimed:.6g}; "
              f"band {z:g} se")
    return VerifyResult("monte-carlo", 16, rel, bool(ok), detail, int(draws.size))


def check_limit(exact: Callable[[object], object], leading: Callable[[object], object],
                exponents: Iterable[int], *, digits: int = 50, tail: int = 4,
                tolerance: float = 0.05) -> VerifyResult:
    """Check ``exact(C)/leading(C) -> 1`` over ``C = 10**k`` for the given exponents ``k``.

    Passes when ``|ratio - 1|`` decreases strictly over the last ``tail`` budgets and is below
    ``tolerance`` at the largest.  Both callables run under ``mp.workdps(digits)`` and receive an mpf.

    Examples
    --------
    >>> r = check_limit(lambda C: C + mpmath.sqrt(C), lambda C: C, [4, 8, 16, 32])
    >>> r.ok, r.max_rel_error < 1e-15
    (True, True)
    """
    ks = list(exponents)
    devs = []
    with mp.workdps(digits):
        for k in ks:
            C = mpmath.mpf(10) ** k
            devs.append(abs(exact(C) / leading(C) - 1))
        tail_devs = devs[-tail:]
        monotone = all(b < a for a, b in zip(tail_devs, tail_devs[1:]))
        last = float(devs[-1])
    ok = monotone and last <= tolerance
    detail = (f"C = 1e{ks[0]} .. 1e{ks[-1]} ({len(ks)} budgets): |ratio-1| "
              + " -> ".join(f"{float(x):.2e}" for x in devs[-tail:])
              + f"; monotone in tail: {monotone}")
    return VerifyResult("limit", digits, last, ok, detail, len(ks))


def check_values(pairs: Callable[[int], Sequence[tuple[object, object]]], *, digits: int = 50,
                 method: str = "numeric", tol_fraction: float = TOL_FRACTION) -> VerifyResult:
    """Check computed values against expected ones at ``digits`` and ``2*digits``.

    ``pairs(dps)`` is called inside ``mp.workdps(dps + GUARD_DIGITS)`` and returns ``[(computed, expected), ...]``.

    Examples
    --------
    >>> check_values(lambda dps: [(mpmath.e ** mpmath.log(3), 3)]).ok
    True
    """
    worst, ok, count = 0.0, True, 0
    for dps in (digits, 2 * digits):
        with mp.workdps(dps + GUARD_DIGITS):
            tol = mpmath.mpf(10) ** (-int(tol_fraction * dps))
            for a, b in pairs(dps + GUARD_DIGITS):
                count += 1
                err = _rel(mpmath.mpf(a), mpmath.mpf(b))
                ok = ok and bool(err <= tol)
                if dps == 2 * digits:
                    worst = max(worst, float(err))
    return VerifyResult(method, 2 * digits, worst, ok,
                        f"{count // 2} values at {digits} and {2 * digits} digits", count // 2)

