"""Mutation testing of the derivations: corrupt each constant and closed form in turn, see whether a check fails.

Each mutation replaces one function (or two at once) of the laws, the teachers' description, the entropy count
or the simulator's sampler by a corrupted version -- a 16 that becomes 15, a flipped sign, a dropped factor, a
wrong exponent, a sampler whose scale drifts from the laws' -- everywhere it is bound (the defining module
and every module that imported it) and rebuilds the registered laws from the corrupted functions.

Two things are measured, independently:

- **effect** (:func:`mutation_effect`), by evidence: the corrupted functions and every registered law's routes
  (bounds and validity windows) are evaluated against the originals at sampled admissible points.  A claim
  that is an identity (a moment, a coefficient, a chosen scale) and changes, a bound that falls below the
  proved one, a validity window that grows, or a sampler that draws another teacher is ``invalid``: the
  mutated statement is false at that point.  A bound that only rises, or a window that only shrinks, is
  ``looser`` (still true, only weaker); no change at all is ``equivalent``.
- **killed**: the family's derivations are rebuilt and checked; some step that carries evidence fails (a
  failing ``consistency`` step does not count).

Every ``invalid`` mutation must be killed; a ``looser`` one may survive.

Examples
--------
>>> names = [m.name for m in MUTATIONS]
>>> len(names) == len(set(names)) >= 30
True
>>> [m.target for m in MUTATIONS if m.name == "maurey-constant-16-to-15"]
['exact_bound']
>>> sorted({m.kind for m in MUTATIONS})
['constant', 'exponent', 'factor', 'sampler', 'sign', 'teacher-scale', 'two-place', 'validity']
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp

from scaling_theory.errors import UserInputError

__all__ = ["Mutation", "MutationReport", "MUTATIONS", "run_mutations", "mutation_effect", "FAMILY", "EFFECTS"]

FAMILY = ("maurey", "second-moment", "entropy-count", "dp-atoms", "teacher-moments", "jeon-van-roy-bound",
          "truncation", "jeon-van-roy-allocation", "d-K-sensitivity", "dp-sensitivity", "chinchilla", "pitman-yor-atoms",
          "pitman-yor-bound", "pitman-yor-truncation")
"""The derivations the mutations can reach (cheap ones first, so that a kill is found early)."""
EFFECTS = ("invalid", "looser", "equivalent")

_THEORY = "scaling_theory.theory.jeon_van_roy"
_TEACHERS = "scaling_theory.theory.teachers"
_ENTROPY = "scaling_theory.derivations.entropy_count"
_SIM = "scaling_theory.numeric.sim.teacher"
_REGISTRY = "scaling_theory.theory.registry"
_PY = "scaling_theory.theory.pitman_yor"


@dataclass(frozen=True)
class Mutation:
    """One corruption: ``module.target`` is replaced by ``make(original)`` (and each ``also`` entry likewise).

    ``kind`` names the sort of corruption (``constant``, ``sign``, ``exponent``, ``factor``, ``teacher-scale``,
    ``sampler``, ``validity``, ``two-place``); the mutation's *effect* is measured, not labelled
    (:func:`mutation_effect`).
    """

    name: str
    description: str
    module: str
    target: str
    make: Callable[[Callable], Callable]
    kind: str = "constant"
    also: tuple = ()

    @property
    def patches(self) -> tuple:
        """Every ``(module, target, make)`` the mutation applies."""
        return ((self.module, self.target, self.make), *self.also)


def _post(transform):
    """A mutation that transforms the original function's returned expression(s)."""
    def make(orig):
        def mutated(*args, **kwargs):
            out = orig(*args, **kwargs)
            if isinstance(out, dict):
                return {k: transform(v, k) for k, v in out.items()}
            if isinstance(out, tuple):
                return tuple(transform(v, i) for i, v in enumerate(out))
            return transform(out, None)
        return mutated
    return make


def _number(x) -> sp.Basic:
    """A SymPy number from the mutation table's own constants (SymPy numbers or ints; no text parsing)."""
    return x if isinstance(x, sp.Basic) else sp.Integer(x)


def _swap(old, new, key=None):
    """Replace the exact number ``old`` by ``new`` in the result (or in the entry ``key`` of it)."""
    def transform(expr, k):
        if key is not None and k != key:
            return expr
        return expr.xreplace({_number(old): _number(new)})
    return _post(transform)


def _m_d_swapped(orig):
    def mutated(d_=sp.Symbol("d", positive=True, integer=True)):
        return sp.sqrt(2) * sp.gamma(d_ / 2) / sp.gamma((d_ + 1) / 2)
    return mutated


def _m_d_dropped(orig):
    def mutated(*args, **kwargs):
        return orig(*args, **kwargs) / sp.sqrt(2)
    return mutated


def _second_moment_KK(orig):
    def mutated(d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        d_ = j.d if d_ is None else d_
        K_ = j.K if K_ is None else K_
        sa2, sw2 = j.scale_variances(scale, "finite", d_, K_)
        return sa2 * sw2 * (K_ * d_ + K_**2 * 2 / sp.pi * j.m_d(d_) ** 2)
    return mutated


def _second_moment_pi(orig):
    def mutated(d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        d_ = j.d if d_ is None else d_
        K_ = j.K if K_ is None else K_
        sa2, sw2 = j.scale_variances(scale, "finite", d_, K_)
        return sa2 * sw2 * (K_ * d_ + K_ * (K_ - 1) / sp.pi * j.m_d(d_) ** 2)
    return mutated


def _dp_law_ln_n(orig):
    def mutated(p_=None, T_=None, d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        p_, T_ = (j.p if p_ is None else p_), (j.T if T_ is None else T_)
        d_, K_ = (j.d if d_ is None else d_), (j.K_dp if K_ is None else K_)
        n = j.n_of_p(p_, d_)
        # 1 + K ln(2n/K) -> 1 + K ln(n/K): subtract K ln 2 times the per-atom factor
        s2, mu = j.dp_scale_moments(d_, K_, scale)
        per_atom = (d_ * sp.log(2) + d_ / 2 * sp.log(s2 * T_ / (2 * d_)) + 3 * sp.log(2) + sp.log(mu)
                    + sp.log(T_ / 32) / 2 + 1 + sp.log(n))
        return orig(p_, T_, d_, K_, scale) - K_ * sp.log(2) * per_atom / T_
    return mutated


def _atoms_digamma_shift(orig):
    def mutated(n_, K_=None):
        from scaling_theory.theory import jeon_van_roy as j
        K_ = j.K_dp if K_ is None else K_
        return K_ * (sp.digamma(K_ + n_ + 1) - sp.digamma(K_))
    return mutated


def _atoms_drop_one(orig):
    def mutated(n_, K_=None):
        return orig(n_, K_) - 1 if K_ is not None else orig(n_) - 1
    return mutated


def _s2_squared(orig):
    def mutated(d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        d_ = j.d if d_ is None else d_
        K_ = j.K_dp if K_ is None else K_
        s2, mu = orig(d_, K_, scale)
        return s2 * d_, mu
    return mutated


def _dp_tilted_1_over_K(orig):
    def mutated(d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        d_ = j.d if d_ is None else d_
        K_ = j.K_dp if K_ is None else K_
        sa2, sw2 = j.scale_variances(scale, "dp", d_, K_)
        return sa2 * sw2 * (d_ / K_ + (K_ - 1) / K_ * 2 / sp.pi * j.m_d(d_) ** 2)
    return mutated


def _dp_output_variance(on_scale: str, wrong, kind: str = "dp"):
    """A mutation of ``scale_variances`` that gives the ``kind`` teacher's output variance ``wrong(K)`` on one scale."""
    def mutation(orig):
        def mutated(scale="barron", teacher="finite", d_=None, K_=None, sigma_=None):
            from scaling_theory.theory import teachers as t
            d_ = t.d if d_ is None else d_
            K_ = t._k_default(teacher, K_)
            sa2, sw2 = orig(scale, teacher, d_, K_, sigma_=sigma_)
            if scale == on_scale and t.canonical_kind(teacher) == kind:
                return wrong(K_), sw2
            return sa2, sw2
        return mutated
    return mutation


_normalised_dp_K = _dp_output_variance("normalised", lambda K_: K_)
_barron_dp_unit_weights = _dp_output_variance("barron", lambda K_: sp.Integer(1))
_normalised_py_no_discount = _dp_output_variance("normalised", lambda K_: K_ + 1, "pitman-yor")


def _direct_sqrt_dropped(orig):
    def mutated(T_=None, d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        T_, d_, K_ = (j.T if T_ is None else T_), (j.d if d_ is None else d_), (j.K if K_ is None else K_)
        S, mu = j.second_moment(d_, K_, scale), j.unit_scale_mean(d_, K_, scale, "finite")
        return (K_ * d_ / 2 + K_ / 2 + K_ * d_ * sp.log(1 + S * T_ / (2 * K_ * d_)) + K_ * sp.log(2)
                + K_ * sp.log(1 + mu * sp.sqrt(T_ / 32)) + K_) / T_
    return mutated


def _beta_drop_half(orig):
    def mutated(*args, **kwargs):
        out = dict(orig(*args, **kwargs))
        out["beta"] = out["beta"] - sp.Rational(1, 2)
        return out
    return mutated


def _relu_half_dropped(orig):
    # rho* = sqrt(32/T) -> sqrt(16/T)
    def mutated(T_=None):
        return orig(T_) / sp.sqrt(2) if T_ is not None else orig() / sp.sqrt(2)
    return mutated


def _finite_B_sign(orig):
    # B: -K ln(d+1) -> +K ln(d+1) (a flipped sign; the law only rises)
    def mutated(d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        d_ = j.d if d_ is None else d_
        K_ = j.K if K_ is None else K_
        out = dict(orig(d_, K_, scale))
        out["B"] = out["B"] + 2 * K_ * sp.log(d_ + 1)
        return out
    return mutated


def _truncation_sign(orig):
    # truncation route: + n/2 (the rounding distortion) -> - n/2
    def mutated(p_=None, T_=None, d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        p_, T_ = (j.p if p_ is None else p_), (j.T if T_ is None else T_)
        d_, K_ = (j.d if d_ is None else d_), (j.K_dp if K_ is None else K_)
        return orig(p_, T_, d_, K_, scale) - j.n_of_p(p_, d_) / T_
    return mutated


def _truncation_drop_sqrt(orig):
    # truncation route: ln(1 + sqrt(s2 t0 T/(n d))) -> ln(1 + s2 t0 T/(n d)) would rise; the tighter corruption
    # drops the route's direction term K d n/2 entirely
    def mutated(p_=None, T_=None, d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        p_, T_ = (j.p if p_ is None else p_), (j.T if T_ is None else T_)
        d_, K_ = (j.d if d_ is None else d_), (j.K_dp if K_ is None else K_)
        return orig(p_, T_, d_, K_, scale) - j.n_of_p(p_, d_) * d_ / (2 * T_)
    return mutated


def _tail_ratio(orig):
    # the stick's squared tail: (K/(K+2))^n/(K+1) -> (K/(K+1))^n/(K+1) (wrong ratio: the squared weights'
    # geometric factor replaced by the weights')
    def mutated(n_, K_=None):
        from scaling_theory.theory import teachers as t
        K_ = t.K_dp if K_ is None else K_
        return (K_ / (K_ + 1)) ** n_ / (K_ + 1)
    return mutated


def _tail_doubled(orig):
    def mutated(n_, K_=None):
        return 2 * (orig(n_) if K_ is None else orig(n_, K_))
    return mutated


def _truncation_halved_16(orig):
    # compensates _tail_doubled in the law: s2 t(n)/16 -> s2 t(n)/32, so the registered route is unchanged
    def mutated(p_=None, T_=None, d_=None, K_=None, scale="barron"):
        from scaling_theory.theory import jeon_van_roy as j
        from scaling_theory.theory import teachers as t
        p_, T_ = (j.p if p_ is None else p_), (j.T if T_ is None else T_)
        d_, K_ = (j.d if d_ is None else d_), (j.K_dp if K_ is None else K_)
        s2 = t.unit_second_moment("dp", scale, d_, K_)
        n = j.n_of_p(p_, d_)
        return orig(p_, T_, d_, K_, scale) - s2 * t.stick_square_tail(n, K_) / 32
    return mutated


def _output_moment_K(orig):
    # E[F^2] of the dp teacher: sigma^2 d/(2(K+1)) -> sigma^2 d/(2K)
    def mutated(teacher="finite", scale="barron", d_=None, K_=None, sigma_=None):
        from scaling_theory.theory import teachers as t
        value = orig(teacher, scale, t.d if d_ is None else d_, K_, sigma_=sigma_)
        if t.canonical_kind(teacher) != "dp":
            return value
        K_ = t.K_dp if K_ is None else K_
        return value * (K_ + 1) / K_
    return mutated


def _unit_abs_mean_sqrt(orig):
    # E|a| ||w||: sqrt(2/pi) -> 2/pi (wrong exponent)
    def mutated(*args, **kwargs):
        return orig(*args, **kwargs) * sp.sqrt(2 / sp.pi)
    return mutated


def _sampler_scale(on_scale: str, wrong, kind: str = "dp"):
    """A mutation of the samplers' scale alone (numeric_scales): the ``kind`` teacher's sigma_a becomes
    ``wrong(K, sigma)``."""
    def mutation(orig):
        def mutated(scale, teacher, d_, K_, sigma_=0.0):
            sa, sw = orig(scale, teacher, d_, K_, sigma_)
            from scaling_theory.theory.teachers import canonical_kind
            if scale == on_scale and canonical_kind(teacher) == kind:
                return float(wrong(float(K_), float(sigma_))), sw
            return sa, sw
        return mutated
    return mutation


def _sampler_w_scale(orig):
    # the finite teacher's hidden weights drawn with variance 1/d on the Barron scale (the normalised scale's)
    def mutated(scale, teacher, d_, K_, sigma_=0.0):
        sa, sw = orig(scale, teacher, d_, K_, sigma_)
        from scaling_theory.theory.teachers import canonical_kind
        if scale == "barron" and canonical_kind(teacher) == "finite":
            return sa, sw / float(d_) ** 0.5
        return sa, sw
    return mutated


def _law_variance_sqrtK(orig):
    # the laws' Barron-scale dp variance sigma_a^2 = K^2 -> K (the laws' side of a consistent two-place change)
    def mutated(scale="barron", teacher="finite", d_=None, K_=None, sigma_=None):
        from scaling_theory.theory import teachers as t
        d_ = t.d if d_ is None else d_
        sa2, sw2 = orig(scale, teacher, d_, K_, sigma_=sigma_)
        if scale == "barron" and t.canonical_kind(teacher) == "dp":
            K_ = t.K_dp if K_ is None else K_
            return K_, sw2
        return sa2, sw2
    return mutated


def _stick_sampler_2K(orig):
    # the simulator's stick broken with Beta(1, 2K) (its output weights keep the scale of K)
    def mutated(d, K, *, kind="finite", seed=0, tol=1e-8, max_atoms=100_000, scale="barron", sigma=None):
        from scaling_theory.theory.teachers import canonical_kind, numeric_scales
        t = orig(d, K, kind=kind, seed=seed, tol=tol, max_atoms=max_atoms, scale=scale, sigma=sigma)
        if canonical_kind(kind) != "dp":
            return t
        wide = orig(d, 2 * float(K), kind=kind, seed=seed, tol=tol, max_atoms=max_atoms, scale=scale)
        ratio = numeric_scales(scale, "dp", int(d), float(K))[0] / numeric_scales(scale, "dp", int(d), 2 * float(K))[0]
        import dataclasses
        return dataclasses.replace(wide, K=t.K, a=wide.a * ratio)
    return mutated


def _leading_gamma(orig):
    # the truncation route's leading orders with gamma = ln((K+1)/K) in place of ln((K+2)/K)
    def mutated(C_, d_=None, K_=None):
        from scaling_theory.theory import jeon_van_roy as j
        d_, K_ = (j.d if d_ is None else d_), (j.K_dp if K_ is None else K_)
        right, wrong = sp.log((K_ + 2) / K_), sp.log((K_ + 1) / K_)
        out = orig(C_, d_, K_)
        return {"model": out["model"] * right / wrong, "data": out["data"] * wrong / right,
                "loss": out["loss"] * right**2 / wrong**2}
    return mutated


def _chinchilla_cost(orig):
    # Chinchilla's compute C = 6ND -> 5ND in the registered law (its closed form keeps the 6)
    def mutated(name):
        import dataclasses
        law = orig(name)
        if law.name != "chinchilla":
            return law
        return dataclasses.replace(law, cost=law.cost * sp.Rational(5, 6))
    return mutated


def _chinchilla_alpha(orig):
    # Chinchilla's published alpha 0.34 -> 0.43 (digits swapped) in the registered parameter set
    def mutated(name):
        import dataclasses
        law = orig(name)
        if law.name != "chinchilla":
            return law
        sets = {k: dict(v) for k, v in law.parameter_sets.items()}
        sets["hoffmann2022"]["alpha"] = "0.43"
        return dataclasses.replace(law, parameter_sets=sets)
    return mutated


def _py_sigma_args(fn):
    """``(n, K, sigma)`` of a Pitman-Yor function called with defaults for the trailing ones."""
    def call(n_, K_=None, sigma_=None):
        from scaling_theory.theory import teachers as t
        return fn(n_, t.K_dp if K_ is None else K_, t.sigma if sigma_ is None else sigma_)
    return call


def _py_tail_no_discount(orig):
    # t(n) = (1-sigma)/(K+1) ... -> 1/(K+1) ...: the squared tail without its (1 - sigma)
    def mutated(n_, K_=None, sigma_=None):
        from scaling_theory.theory import teachers as t
        s_ = t.sigma if sigma_ is None else sigma_
        return _py_sigma_args(orig)(n_, K_, s_) / (1 - s_)
    return mutated


def _py_tail_bound_power(orig):
    # tbar(n) ~ n^(1 - 2/sigma) -> n^(1/2 - 2/sigma) (a power too many: no longer above t(n))
    def mutated(n_, K_=None, sigma_=None):
        from scaling_theory.theory import teachers as t
        K_ = t.K_dp if K_ is None else K_
        s_ = t.sigma if sigma_ is None else sigma_
        return orig(n_, K_, s_) / sp.sqrt(K_ / s_ + n_ + sp.Rational(1, 2))
    return mutated


def _py_tail_bound_doubled(orig):
    def mutated(n_, K_=None, sigma_=None):
        return 2 * _py_sigma_args(orig)(n_, K_, sigma_)
    return mutated


def _py_truncation_halved_16(orig):
    # compensates _py_tail_bound_doubled in the route: s2 tbar(n)/16 -> s2 tbar(n)/32, the route is unchanged
    def mutated(p_=None, T_=None, d_=None, K_=None, sigma_=None, scale="barron"):
        from scaling_theory.theory import pitman_yor as py
        from scaling_theory.theory import teachers as t
        p_, T_ = (py.p if p_ is None else p_), (py.T if T_ is None else T_)
        d_, K_, sigma_ = (py.d if d_ is None else d_), (py.K if K_ is None else K_), (py.sigma if sigma_ is None else sigma_)
        s2, _ = py.scale_moments(d_, K_, sigma_, scale)
        return orig(p_, T_, d_, K_, sigma_, scale) - s2 * t.py_stick_square_tail_bound(p_ / (d_ + 1), K_, sigma_) / 32
    return mutated


def _py_atoms_power(orig):
    # the registered count (2n/K)^sigma -> (2n/K)^(sigma/2): too few atoms
    def mutated(n_, K_=None, sigma_=None):
        from scaling_theory.theory import pitman_yor as py
        K_ = py.K if K_ is None else K_
        s_ = py.sigma if sigma_ is None else sigma_
        return K_ / s_ * ((2 * n_ / K_) ** (s_ / 2) * ((K_ + s_) / K_) ** (1 - s_) - 1)
    return mutated


def _py_atoms_shift(orig):
    # E N_n: Gamma(K+sigma+n) -> Gamma(K+sigma+n+1) (a shifted Gamma-function argument)
    def mutated(n_, K_=None, sigma_=None):
        return _py_sigma_args(orig)(n_ + 1, K_, sigma_)
    return mutated


def _py_truncation_sign(orig):
    # truncation route: + n/(2T) (the rounding distortion) -> - n/(2T)
    def mutated(p_=None, T_=None, d_=None, K_=None, sigma_=None, scale="barron"):
        from scaling_theory.theory import pitman_yor as py
        p_, T_ = (py.p if p_ is None else p_), (py.T if T_ is None else T_)
        d_, K_, sigma_ = (py.d if d_ is None else d_), (py.K if K_ is None else K_), (py.sigma if sigma_ is None else sigma_)
        return orig(p_, T_, d_, K_, sigma_, scale) - p_ / ((d_ + 1) * T_)
    return mutated


def _py_sampler_sigma(orig):
    # the simulator breaks its Pitman-Yor sticks with half the discount (the laws keep sigma)
    def mutated(rng, K, sigma, tol, max_atoms):
        return orig(rng, K, sigma / 2, tol, max_atoms)
    return mutated


def _py_sampler_shape(orig):
    # the simulator's sticks Beta(1, K + j sigma) instead of Beta(1 - sigma, K + j sigma)
    def mutated(rng, K, sigma, tol, max_atoms):
        pis, rest = [], 1.0
        while rest > tol and len(pis) < max_atoms:
            beta = rng.beta(1.0, K + (len(pis) + 1) * sigma)
            pis.append(rest * beta)
            rest *= 1.0 - beta
        return np.asarray(pis), rest
    return mutated


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("chi-mean-swapped-gamma", "m_d = sqrt(2) Gamma(d/2)/Gamma((d+1)/2) (swapped Gamma arguments)",
             _TEACHERS, "m_d", _m_d_swapped, "exponent"),
    Mutation("chi-mean-dropped-sqrt2", "m_d without its factor sqrt(2)", _TEACHERS, "m_d", _m_d_dropped, "factor"),
    Mutation("second-moment-2-over-pi", "E[V^2]: (2/pi) -> (1/pi)", _THEORY, "second_moment", _second_moment_pi),
    Mutation("second-moment-K-squared", "E[V^2]: K(K-1) -> K^2", _THEORY, "second_moment", _second_moment_KK),
    Mutation("first-moment-sqrt", "E[V]: sqrt(2/pi) -> 2/pi (wrong exponent)", _THEORY, "first_moment",
             _post(lambda e, k: e * sp.sqrt(2 / sp.pi)), "exponent"),
    Mutation("maurey-constant-16-to-15", "finite bound: S/(16 n) -> S/(15 n)", _THEORY, "exact_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15))),
    Mutation("exact-bound-3-halves", "finite bound: constant 3/2 -> 1", _THEORY, "exact_bound",
             _swap(sp.Rational(3, 2), 1)),
    Mutation("finite-A-16-to-15", "A = (d+1) S/16 -> (d+1) S/15", _THEORY, "large_T_coefficients",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15), "A")),
    Mutation("finite-beta-dropped-half", "beta = (Kd+1)/2 -> Kd/2", _THEORY, "large_T_coefficients", _beta_drop_half),
    Mutation("finite-B-2Kln2", "B: 2 K ln 2 -> K ln 2 (dropped factor)", _THEORY, "large_T_coefficients",
             _post(lambda e, k: e - sp.Symbol("K", positive=True, integer=True) * sp.log(2) if k == "B" else e),
             "factor"),
    Mutation("finite-B-sign-ln-d", "B: -K ln(d+1) -> +K ln(d+1) (flipped sign)", _THEORY, "large_T_coefficients",
             _finite_B_sign, "sign"),
    Mutation("direct-Kd-half", "direct route: K d/2 -> K d/4", _THEORY, "direct_bound",
             _post(lambda e, k: e - sp.Symbol("K", positive=True, integer=True)
                   * sp.Symbol("d", positive=True, integer=True) / (4 * sp.Symbol("T", positive=True)))),
    Mutation("direct-sqrt-dropped", "direct route: ln(1 + sqrt(S T/2Kd)) -> ln(1 + S T/2Kd) (wrong exponent)",
             _THEORY, "direct_bound", _direct_sqrt_dropped, "exponent"),
    Mutation("direct-sign-K", "direct route: + K (the last constant) -> - K (flipped sign)", _THEORY, "direct_bound",
             _post(lambda e, k: e - 2 * sp.Symbol("K", positive=True, integer=True) / sp.Symbol("T", positive=True)),
             "sign"),
    Mutation("atoms-digamma-shift", "E N_n = K (psi(K+n+1) - psi(K)) (shifted Gamma-function argument)",
             _THEORY, "expected_atoms", _atoms_digamma_shift),
    Mutation("atoms-upper-drop-1", "1 + K ln(1 + n/K) -> K ln(1 + n/K)", _THEORY, "atoms_upper", _atoms_drop_one),
    Mutation("dp-s2-wrong-exponent", "s2 = sigma^2 d -> sigma^2 d^2", _THEORY, "dp_scale_moments", _s2_squared,
             "exponent"),
    Mutation("dp-mu-dropped-factor", "mu_b without sqrt(2/pi)", _THEORY, "dp_scale_moments",
             _post(lambda e, i: e / sp.sqrt(2 / sp.pi) if i == 1 else e), "factor"),
    Mutation("dp-tilted-1-over-K", "DP E[V^2]: E[sum pi^2] = 1/(K+1) -> 1/K", _THEORY, "dp_second_moment",
             _dp_tilted_1_over_K),
    Mutation("dp-law-16-to-15", "DP law: s2/(16 n) -> s2/(15 n)", _THEORY, "dp_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15))),
    Mutation("dp-law-ln-2n", "DP law: 1 + K ln(2n/K) -> 1 + K ln(n/K)", _THEORY, "dp_bound", _dp_law_ln_n),
    Mutation("dp-exact-16-to-15", "DP bound: s2/(16 n) -> s2/(15 n)", _THEORY, "dp_exact_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15))),
    Mutation("normalised-dp-variance", "normalised DP teacher: sigma_a^2 = K + 1 -> K", _TEACHERS, "scale_variances",
             _normalised_dp_K, "teacher-scale"),
    Mutation("barron-dp-variance-K2-to-1", "Barron DP teacher: atoms weighted pi_k a_k (sigma_a^2 = K^2 -> 1), "
             "not the K pi_k a_k the simulator draws", _TEACHERS, "scale_variances", _barron_dp_unit_weights,
             "teacher-scale"),
    Mutation("delta-star-8-to-4", "delta*^2 = 8Kd/(S T) -> 4Kd/(S T)", _ENTROPY, "delta_star",
             _post(lambda e, k: e / sp.sqrt(2))),
    Mutation("rho-star-32-to-16", "rho*^2 = 32/T -> 16/T", _ENTROPY, "rho_star", _relu_half_dropped),
    Mutation("validity-8pi2-to-4pi2", "large-T validity 8 pi^2 -> 4 pi^2", _THEORY, "VALIDITY_T",
             lambda orig: 4 * sp.pi**2, "validity"),
    Mutation("validity-dropped-pi2", "large-T validity 8 pi^2 -> 8 (dropped factor)", _THEORY, "VALIDITY_T",
             lambda orig: sp.Integer(8), "validity"),
    Mutation("validity-16pi2", "large-T validity 8 pi^2 -> 16 pi^2 (a smaller window: looser)", _THEORY,
             "VALIDITY_T", lambda orig: 16 * sp.pi**2, "validity"),
    # the truncation route and the teachers' moments it is made of
    Mutation("truncation-16-to-8", "truncation route: s2 t(n)/16 -> s2 t(n)/8 (a looser constant)", _THEORY,
             "truncation_bound", _swap(sp.Rational(1, 16), sp.Rational(1, 8))),
    Mutation("truncation-16-to-32", "truncation route: s2 t(n)/16 -> s2 t(n)/32", _THEORY, "truncation_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 32))),
    Mutation("truncation-sign-rounding", "truncation route: + n/(2T) -> - n/(2T) (flipped sign)", _THEORY,
             "truncation_bound", _truncation_sign, "sign"),
    Mutation("truncation-drop-direction-term", "truncation route without its n d/(2T)", _THEORY,
             "truncation_bound", _truncation_drop_sqrt, "factor"),
    Mutation("stick-tail-ratio", "stick's squared tail: (K/(K+2))^n -> (K/(K+1))^n", _TEACHERS,
             "stick_square_tail", _tail_ratio),
    Mutation("stick-mean-exponent", "E pi_k = (K/(K+1))^(k-1)/(K+1) -> (K/(K+1))^k/(K+1)", _TEACHERS,
             "stick_mean", _post(lambda e, k: e * sp.Symbol("K", positive=True)
                                 / (sp.Symbol("K", positive=True) + 1)), "exponent"),
    Mutation("output-moment-1-over-K", "dp teacher E[F^2]: 1/(2(K+1)) -> 1/(2K)", _TEACHERS,
             "output_second_moment", _output_moment_K),
    Mutation("unit-abs-mean-exponent", "E|a| ||w||: sqrt(2/pi) -> 2/pi (wrong exponent)", _TEACHERS,
             "unit_abs_mean", _unit_abs_mean_sqrt, "exponent"),
    Mutation("truncation-leading-gamma", "truncation p* ~ (d+1) ln C/ln((K+2)/K) -> (d+1) ln C/ln((K+1)/K)",
             _THEORY, "truncation_leading", _leading_gamma),
    # the samplers: the simulator's scale drifting from the laws'
    Mutation("sampler-dp-scale-sqrtK", "simulator: Barron dp output scale K -> sqrt(K) (the laws keep K)", _TEACHERS,
             "numeric_scales", _sampler_scale("barron", lambda K_, s_: K_ ** 0.5), "sampler"),
    Mutation("sampler-normalised-dp-K", "simulator: normalised dp output scale sqrt(K+1) -> sqrt(K)", _TEACHERS,
             "numeric_scales", _sampler_scale("normalised", lambda K_, s_: K_ ** 0.5), "sampler"),
    Mutation("sampler-finite-w-scale", "simulator: Barron finite teacher's w ~ N(0, I/d) instead of N(0, I)",
             _TEACHERS, "numeric_scales", _sampler_w_scale, "sampler"),
    Mutation("sampler-stick-2K", "simulator: stick broken with Beta(1, 2K) instead of Beta(1, K)", _SIM,
             "sample_teacher", _stick_sampler_2K, "sampler"),
    # two places at once
    Mutation("two-place-tail-and-16", "stick tail doubled and the truncation route's 1/16 halved: the registered "
             "route is unchanged, its ingredients are wrong", _TEACHERS, "stick_square_tail", _tail_doubled,
             "two-place", also=((_THEORY, "truncation_bound", _truncation_halved_16),)),
    Mutation("two-place-scale-law-and-sampler", "Barron dp scale K^2 -> K in the laws and sqrt(K) in the sampler: "
             "consistent with each other, not with the teacher the derivations define", _TEACHERS, "scale_variances",
             _law_variance_sqrtK, "two-place",
             also=((_TEACHERS, "numeric_scales", _sampler_scale("barron", lambda K_, s_: K_ ** 0.5)),)),
    Mutation("two-place-S-and-M", "E[V^2] and E[V] both doubled", _THEORY, "second_moment",
             _post(lambda e, k: 2 * e), "two-place",
             also=((_THEORY, "first_moment", _post(lambda e, k: 2 * e)),)),
    # another law's constants
    Mutation("chinchilla-cost-6-to-5", "Chinchilla's compute 6ND -> 5ND in the registered law", _REGISTRY,
             "get_law", _chinchilla_cost, "constant"),
    Mutation("chinchilla-alpha-digits", "Chinchilla's published alpha 0.34 -> 0.43", _REGISTRY, "get_law",
             _chinchilla_alpha, "constant"),
    # the Pitman-Yor teacher: its stick's constants, its laws' routes, its sampler
    Mutation("py-tail-no-discount", "Pitman-Yor squared tail: (1-sigma)/(K+1) ... -> 1/(K+1) ... (dropped factor)",
             _TEACHERS, "py_stick_square_tail", _py_tail_no_discount, "factor"),
    Mutation("py-tail-bound-power", "Pitman-Yor tail bound: n^(1-2/sigma) -> n^(1/2-2/sigma) (wrong exponent)", _TEACHERS,
             "py_stick_square_tail_bound", _py_tail_bound_power, "exponent"),
    Mutation("py-stick-square-2-minus-sigma", "E pi_k^2: (1-sigma)(2-sigma) -> (1-sigma)(2+sigma)", _TEACHERS,
             "py_stick_square_mean", _post(lambda e, k: e * (2 + sp.Symbol("sigma", positive=True))
                                           / (2 - sp.Symbol("sigma", positive=True))), "sign"),
    Mutation("py-atoms-power", "Pitman-Yor count: (2n/K)^sigma -> (2n/K)^(sigma/2) (wrong exponent)", _PY,
             "atoms_relaxed", _py_atoms_power, "exponent"),
    Mutation("py-atoms-gamma-shift", "Pitman-Yor E N_n: Gamma(K+sigma+n) -> Gamma(K+sigma+n+1) (shifted argument)", _PY,
             "expected_atoms", _py_atoms_shift, "constant"),
    Mutation("py-maurey-16-to-17", "Pitman-Yor Maurey route: s2/(16 n) -> s2/(17 n)", _PY, "maurey_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 17)), "constant"),
    Mutation("py-truncation-sign-rounding", "Pitman-Yor truncation route: + n/(2T) -> - n/(2T) (flipped sign)", _PY,
             "truncation_bound", _py_truncation_sign, "sign"),
    Mutation("py-normalised-variance", "normalised Pitman-Yor teacher: sigma_a^2 = (K+1)/(1-sigma) -> K+1 in the laws",
             _TEACHERS, "scale_variances", _normalised_py_no_discount, "teacher-scale"),
    Mutation("sampler-py-sigma-halved", "simulator: Pitman-Yor sticks broken with discount sigma/2 (the laws keep "
             "sigma)", _SIM, "_pitman_yor_sticks", _py_sampler_sigma, "sampler"),
    Mutation("sampler-py-beta-shape", "simulator: Pitman-Yor sticks Beta(1, K + j sigma) instead of "
             "Beta(1 - sigma, K + j sigma)", _SIM, "_pitman_yor_sticks", _py_sampler_shape, "sampler"),
    Mutation("sampler-py-normalised-scale", "simulator: normalised Pitman-Yor output scale sqrt((K+1)/(1-sigma)) -> "
             "sqrt(K+1) (the laws keep it)", _TEACHERS, "numeric_scales",
             _sampler_scale("normalised", lambda K_, s_: (K_ + 1) ** 0.5, "pitman-yor"), "sampler"),
    Mutation("two-place-py-tail-and-16", "Pitman-Yor tail bound doubled and the truncation route's 1/16 halved: the "
             "registered route is unchanged, its ingredients are wrong", _TEACHERS, "py_stick_square_tail_bound",
             _py_tail_bound_doubled, "two-place", also=((_PY, "truncation_bound", _py_truncation_halved_16),)),
    Mutation("two-place-py-scale-law-and-sampler", "normalised Pitman-Yor sigma_a^2 (K+1)/(1-sigma) -> K+1 in the laws "
             "and in the sampler: consistent with each other, not with the normalised teacher (E[F^2] = 1/2)",
             _TEACHERS, "scale_variances", _normalised_py_no_discount, "two-place",
             also=((_TEACHERS, "numeric_scales", _sampler_scale("normalised", lambda K_, s_: (K_ + 1) ** 0.5,
                                                              "pitman-yor")),)),
)


# -- effect: what the mutated statements are, measured ---------------------------------------------------------

# what each target claims: an identity (any change is false), an upper bound (lower is false, higher looser), a
# validity threshold (lower claims a larger window: false; higher: looser), a sampler (another teacher), or a
# law of the registry (its routes and windows are compared below)
_CLAIMS = {"m_d": "equal", "second_moment": "equal", "first_moment": "equal", "exact_bound": "upper",
           "large_T_coefficients": "equal", "direct_bound": "upper", "expected_atoms": "equal", "atoms_upper": "upper",
           "dp_scale_moments": "equal", "dp_second_moment": "equal", "dp_bound": "upper", "dp_exact_bound": "upper",
           "scale_variances": "equal", "delta_star": "equal", "rho_star": "equal", "VALIDITY_T": "threshold",
           "truncation_bound": "upper", "stick_square_tail": "equal", "stick_mean": "equal",
           "output_second_moment": "equal", "unit_second_moment": "equal", "unit_abs_mean": "equal",
           "truncation_leading": "equal", "numeric_scales": "sampler", "sample_teacher": "sampler", "get_law": "law",
           "py_stick_square_tail": "equal", "py_stick_square_tail_bound": "upper", "py_stick_square_mean": "equal",
           "atoms_relaxed": "upper", "maurey_bound": "upper", "_pitman_yor_sticks": "sampler"}
_POINTS = 12
_TOL = 1e-20


def _call_symbolic(fn, like=None):
    """The target's output(s) with symbols for its arguments, for every scale and teacher kind it takes
    (the arguments read off ``like``'s signature: a mutated function is called as its original)."""
    import inspect

    from scaling_theory.theory import jeon_van_roy as j
    from scaling_theory.theory import teachers as t

    if not callable(fn):
        return [fn]
    params = inspect.signature(like if like is not None else fn).parameters
    positional = {"n_": sp.Symbol("n", positive=True), "k_": sp.Symbol("k", positive=True, integer=True),
                  "C_": j.C_budget, "T_": j.T, "K_": j.K_dp, "d_": j.d, "S_": sp.Symbol("S", positive=True),
                  "K": j.K, "d": j.d, "S": sp.Symbol("S", positive=True), "T": j.T}
    args = [positional[name] for name, p_ in params.items()
            if p_.default is inspect.Parameter.empty and p_.kind in (p_.POSITIONAL_ONLY, p_.POSITIONAL_OR_KEYWORD)
            and name in positional]
    scales = t.SCALES if "scale" in params else (None,)
    kinds = t.KINDS if "teacher" in params else (None,)
    outs = []
    for scale in scales:
        for kind in kinds:
            kw = {**({"scale": scale} if scale else {}), **({"teacher": kind} if kind else {})}
            try:
                out = fn(*args, **kw)
            except Exception:   # a variant the function does not take (finite-only moments, say)
                continue
            if isinstance(out, dict):
                outs += list(out.values())
            elif isinstance(out, tuple):
                outs += list(out)
            else:
                outs.append(out)
    return outs


def _sample_point(symbols, rng) -> dict:
    point = {}
    names = {s.name: s for s in symbols}
    K_value = None
    for s in sorted(symbols, key=lambda s: s.name):
        if s.name == "d":
            point[s] = sp.Integer(int(rng.integers(1, 65)))
        elif s.name == "K":
            point[s] = sp.Integer(int(rng.integers(1, 33))) if s.is_integer else \
                sp.Rational(str(round(float(np.exp(rng.uniform(np.log(0.1), np.log(40)))), 6)))
            K_value = point[s]
        elif s.name in ("k",):
            point[s] = sp.Integer(int(rng.integers(1, 200)))
    kmin = max(1, float(K_value)) if K_value is not None else 1.0
    for s in symbols:
        if s in point:
            continue
        lo, hi = {"n": (kmin * 1.01, 1e6), "T": (1e4 * max(1.0, 1 / kmin**2), 1e12), "C": (1e8, 1e40),
                  "S": (1, 1e5), "M": (0.5, 300), "sigma": (0.05, 0.95)}.get(s.name, (0.1, 10))
        if s.name == "p":
            dv = point.get(names.get("d"), sp.Integer(8))
            lo, hi = kmin * 1.01 * float(dv + 1), 1e9
        point[s] = sp.Rational(str(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))))
    return point


def _compare(original, mutated, rng) -> set:
    """Signs of ``mutated - original`` (relative) at sampled admissible points: a subset of {-1, 0, 1}."""
    import mpmath

    signs = set()
    expr = mutated - original
    if expr == 0:
        return {0}
    symbols = sorted(expr.free_symbols | original.free_symbols, key=lambda s: s.name)
    f_orig = sp.lambdify(symbols, original, modules="mpmath", dummify=True)
    f_mut = sp.lambdify(symbols, mutated, modules="mpmath", dummify=True)
    with mpmath.workdps(40):
        for _ in range(_POINTS if symbols else 1):
            point = _sample_point(symbols, rng)
            vals = [point[s] for s in symbols]
            try:
                a = mpmath.mpf(f_orig(*[mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in vals]).real)
                b = mpmath.mpf(f_mut(*[mpmath.mpf(sp.Rational(v).p) / sp.Rational(v).q for v in vals]).real)
            except (ValueError, ZeroDivisionError, TypeError, AttributeError):
                continue
            scale = max(abs(a), abs(b), mpmath.mpf(10) ** -30)
            diff = (b - a) / scale
            signs.add(0 if abs(diff) < _TOL else (1 if diff > 0 else -1))
    return signs


def _sampler_outputs(fn, target: str) -> list[np.ndarray]:
    if target == "numeric_scales":
        cases = [(s, k, dv, Kv) for s in ("barron", "normalised") for k in ("finite", "dp")
                 for dv, Kv in ((1, 1.0), (4, 2.0), (8, 32.0), (3, 0.5))]
        cases += [(s, "pitman-yor", dv, Kv, sv) for s in ("barron", "normalised")
                  for dv, Kv, sv in ((1, 1.0, 0.5), (4, 2.0, 0.25), (8, 32.0, 0.75))]
        return [np.asarray(fn(*c), dtype=float) for c in cases]
    if target == "_pitman_yor_sticks":
        return [np.asarray(fn(np.random.default_rng(7), Kv, sv, 1e-8, 500)[0])
                for Kv, sv in ((0.5, 0.25), (2.0, 0.5), (32.0, 0.75))]
    out = []
    for kind, dv, Kv, scale, sv in (("finite", 3, 2, "barron", None), ("dp", 2, 1.5, "barron", None),
                                    ("dp", 3, 4.0, "normalised", None), ("pitman-yor", 2, 1.5, "normalised", 0.5)):
        t_ = fn(dv, Kv, kind=kind, seed=7, scale=scale, **({"sigma": sv, "max_atoms": 500} if sv is not None else {}))
        out += [np.asarray(t_.a), np.asarray(t_.W).ravel()]
    return out


def mutation_effect(mutation: Mutation, seed: int = 0) -> str:
    """``invalid``, ``looser`` or ``equivalent``: the mutated statements measured against the originals
    (module docstring).

    Examples
    --------
    >>> known = {m.name: m for m in MUTATIONS}
    >>> mutation_effect(known["maurey-constant-16-to-15"]), mutation_effect(known["truncation-16-to-32"])
    ('looser', 'invalid')
    >>> mutation_effect(known["py-maurey-16-to-17"])   # a smaller bound than the proved one: false somewhere
    'invalid'
    """
    import importlib

    from scaling_theory.theory import jeon_van_roy as jvr
    from scaling_theory.theory import registry as treg

    rng = np.random.default_rng(seed)
    effects = set()
    originals = {}
    for module, target, _ in mutation.patches:
        home = importlib.import_module(module)
        originals[(module, target)] = getattr(home, target)
    # the laws' routes and windows before the mutation
    before = _law_snapshot(treg, jvr)
    with _applied(mutation):
        for module, target, _ in mutation.patches:
            home = importlib.import_module(module)
            orig, mut = originals[(module, target)], getattr(home, target)
            claim = _CLAIMS.get(target, "equal")
            if claim == "sampler":
                a, b = _sampler_outputs(orig, target), _sampler_outputs(mut, target)
                same = all(x.shape == y.shape and np.allclose(x, y, rtol=1e-12, atol=0) for x, y in zip(a, b))
                effects.add("equivalent" if same else "invalid")
                continue
            if claim == "law":
                effects |= _registry_law_effect(orig, mut, rng)
                continue
            outs, mouts = _call_symbolic(orig), _call_symbolic(mut, like=orig)
            if len(outs) != len(mouts):
                effects.add("invalid")   # the mutated function no longer answers where the original did
            for o, m in zip(outs, mouts):
                signs = _compare(sp.sympify(o), sp.sympify(m), rng) - {0}   # safe: the code's own expressions
                if not signs:
                    continue
                if claim == "equal" or (claim == "upper" and -1 in signs) or (claim == "threshold" and -1 in signs):
                    effects.add("invalid")
                else:
                    effects.add("looser")
        after = _law_snapshot(treg, jvr)
    effects |= _snapshot_effects(before, after, rng)
    if "invalid" in effects:
        return "invalid"
    return "looser" if "looser" in effects else "equivalent"


def _law_snapshot(treg, jvr) -> dict:
    """``{(law, route): (expr, min_model, min_data)}`` of every registered law with routes."""
    from scaling_theory.theory import pitman_yor

    out = {}
    for name in [law.name for law in (*jvr.LAWS, *pitman_yor.LAWS)]:
        law = treg._REGISTRY[name]
        for r in law.routes:
            out[(name, r.name)] = (r.expr, r.min_model, r.min_data)
    return out


def _snapshot_effects(before: dict, after: dict, rng) -> set:
    effects = set()
    for key, (expr, lo_p, lo_T) in before.items():
        m_expr, m_p, m_T = after[key]
        signs = _compare(expr, m_expr, rng) - {0}
        if -1 in signs:
            effects.add("invalid")
        elif signs:
            effects.add("looser")
        for orig, mut in ((lo_p, m_p), (lo_T, m_T)):
            w = _compare(sp.sympify(orig), sp.sympify(mut), rng) - {0}   # safe: the code's own expressions
            if -1 in w:
                effects.add("invalid")
            elif w:
                effects.add("looser")
    return effects


def _registry_law_effect(orig, mut, rng) -> set:
    """A mutated registry entry: its cost or a published value changed is a false statement of that law."""
    from scaling_theory.theory.registry import law_names

    effects = set()
    for name in law_names():
        a, b = orig(name), mut(name)
        if a.cost != b.cost or a.expr != b.expr or dict(a.parameter_sets) != dict(b.parameter_sets):
            effects.add("invalid")
    return effects


@dataclass
class MutationReport:
    """``rows``: one dict per mutation (``name``, ``kind``, ``description``, ``effect``, ``killed``, ``killed_by``)."""

    rows: list[dict] = field(default_factory=list)

    @property
    def mutations(self) -> int:
        return len(self.rows)

    @property
    def killed(self) -> int:
        return sum(1 for r in self.rows if r["killed"])

    @property
    def survivors(self) -> list[str]:
        return [r["name"] for r in self.rows if not r["killed"]]

    @property
    def invalid_total(self) -> int:
        """Mutations whose effect is ``invalid`` (a false statement): each must be killed."""
        return sum(1 for r in self.rows if r["effect"] == "invalid")

    @property
    def invalid_killed(self) -> int:
        return sum(1 for r in self.rows if r["effect"] == "invalid" and r["killed"])

    @property
    def ok(self) -> bool:
        """Every invalid mutation killed."""
        return self.invalid_killed == self.invalid_total

    def to_json(self) -> dict:
        """``{mutations: [{name, kind, effect, killed, ...}], total, killed, survivors, invalid_total,
        invalid_killed}`` for ``check --mutate --json``."""
        return {"mutations": self.rows, "total": self.mutations, "killed": self.killed, "survivors": self.survivors,
                "invalid_total": self.invalid_total, "invalid_killed": self.invalid_killed}


@contextlib.contextmanager
def _applied(mutation: Mutation):
    """Bind the corrupted functions wherever the originals are bound; rebuild the laws; clear every cache."""
    import importlib

    from scaling_theory.derivations import allocation, registry as dreg
    from scaling_theory.theory import jeon_van_roy as jvr
    from scaling_theory.theory import registry as treg

    patched = []
    try:
        for module_name, target, make in mutation.patches:
            home = importlib.import_module(module_name)
            original = getattr(home, target)
            corrupted = make(original)
            for name, module in list(sys.modules.items()):
                if not name.startswith("scaling_theory."):
                    continue
                if getattr(module, target, None) is original:
                    patched.append((module, target, original))
                    setattr(module, target, corrupted)
        saved_laws = dict(treg._REGISTRY)
        from scaling_theory.theory import pitman_yor
        for scale in jvr.SCALES:
            for law in (jvr._dp_law(scale), jvr._finite_law(scale), pitman_yor._law(scale)):
                treg._REGISTRY[law.name] = law
        _clear_caches(dreg, allocation)
        yield
    finally:
        for module, target, original in reversed(patched):
            setattr(module, target, original)
        treg._REGISTRY.clear()
        treg._REGISTRY.update(saved_laws)
        _clear_caches(dreg, allocation)


def _clear_caches(dreg, allocation) -> None:
    from scaling_theory.derivations import py_bound
    from scaling_theory.numeric.precision import routes, teacher_bounds
    from scaling_theory.theory import teachers

    dreg.get_derivation.cache_clear()
    allocation._coefficients.cache_clear()
    for fn in (teachers.numeric_scales, routes._curve, teacher_bounds.trivial_error, py_bound.optimum):
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()


def _first_failure(digits: int) -> str | None:
    from scaling_theory.derivations.check import check_derivation
    from scaling_theory.derivations.registry import get_derivation

    for name in FAMILY:
        try:
            der = get_derivation(name)
        except Exception as err:   # the corrupted closed form breaks the derivation itself
            return f"{name} (building it raised {type(err).__name__})"
        for step in der.steps:
            rows = check_derivation(type(der)(der.name, der.title, der.summary, (step,)), digits)
            if rows[0]["status"] == "FAILED":
                return f"{name}/{step.name}"
    return None


def run_mutations(names: list[str] | None = None, digits: int = 15) -> MutationReport:
    """Apply each mutation (or the named ones) in turn: measure its effect and check the family's derivations.

    Raises :class:`UserInputError` for an unknown mutation name.
    """
    known = {m.name: m for m in MUTATIONS}
    chosen = MUTATIONS if names is None else []
    for name in names or ():
        if name not in known:
            raise UserInputError(f"unknown mutation {name!r}")
        chosen.append(known[name])
    baseline = _first_failure(digits)
    if baseline is not None:   # a check that fails unmutated would "kill" every mutation
        raise UserInputError(f"the unmutated checks fail at {digits} digits ({baseline}): mutation testing needs "
                             "them to pass; try more --digits")
    report = MutationReport()
    for mutation in chosen:
        effect = mutation_effect(mutation)
        with _applied(mutation):
            culprit = _first_failure(digits)
        report.rows.append({"name": mutation.name, "kind": mutation.kind, "description": mutation.description,
                            "effect": effect, "killed": culprit is not None, "killed_by": culprit})
    return report
