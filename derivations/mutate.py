"""Mutation testing of the derivations: corrupt each constant and closed form in turn, see whether a check fails.

Each mutation replaces one function of :mod:`scaling_theory.theory.jeon_van_roy` (or of the entropy
count) by a corrupted version -- a 16 that becomes 15, a dropped factor, a wrong exponent, a swapped
Gamma argument -- everywhere it is bound (the theory module, the derivation modules that imported it)
and rebuilds the registered Jeon-Van Roy laws from the corrupted functions.  The derivations of the
family are then rebuilt and checked; a mutation is *killed* when some step that carries evidence
fails (a failing ``consistency`` step does not count).  Survivors are corruptions no check can see.

Examples
--------
>>> names = [m.name for m in MUTATIONS]
>>> len(names) == len(set(names)) >= 20
True
>>> [m.target for m in MUTATIONS if m.name == "maurey-constant-16-to-15"]
['exact_bound']
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from scaling_theory.errors import UserInputError

__all__ = ["Mutation", "MutationReport", "MUTATIONS", "run_mutations", "FAMILY"]

FAMILY = ("maurey", "second-moment", "entropy-count", "dp-atoms", "jeon-van-roy-bound", "jeon-van-roy-allocation",
          "d-K-sensitivity", "dp-sensitivity")
"""The derivations the mutations can reach (cheap ones first, so that a kill is found early)."""

_THEORY = "scaling_theory.theory.jeon_van_roy"
_ENTROPY = "scaling_theory.derivations.entropy_count"


@dataclass(frozen=True)
class Mutation:
    """One corruption: ``module.target`` is replaced by ``make(original)``."""

    name: str
    description: str
    module: str
    target: str
    make: Callable[[Callable], Callable]


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


def _dp_output_variance(on_scale: str, wrong):
    """A mutation of ``scale_variances`` that gives the DP teacher's output variance ``wrong(K)`` on one scale."""
    def mutation(orig):
        def mutated(scale="barron", teacher="finite", d_=None, K_=None):
            from scaling_theory.theory import jeon_van_roy as j
            d_ = j.d if d_ is None else d_
            K_ = j.K if K_ is None else K_
            sa2, sw2 = orig(scale, teacher, d_, K_)
            if scale == on_scale and teacher == "dp":
                return wrong(K_), sw2
            return sa2, sw2
        return mutated
    return mutation


_normalised_dp_K = _dp_output_variance("normalised", lambda K_: K_)
_barron_dp_unit_weights = _dp_output_variance("barron", lambda K_: sp.Integer(1))


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


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("chi-mean-swapped-gamma", "m_d = sqrt(2) Gamma(d/2)/Gamma((d+1)/2) (swapped Gamma arguments)",
             _THEORY, "m_d", _m_d_swapped),
    Mutation("chi-mean-dropped-sqrt2", "m_d without its factor sqrt(2)", _THEORY, "m_d", _m_d_dropped),
    Mutation("second-moment-2-over-pi", "E[V^2]: (2/pi) -> (1/pi)", _THEORY, "second_moment", _second_moment_pi),
    Mutation("second-moment-K-squared", "E[V^2]: K(K-1) -> K^2", _THEORY, "second_moment", _second_moment_KK),
    Mutation("first-moment-sqrt", "E[V]: sqrt(2/pi) -> 2/pi (wrong exponent)", _THEORY, "first_moment",
             _post(lambda e, k: e * sp.sqrt(2 / sp.pi))),
    Mutation("maurey-constant-16-to-15", "finite bound: S/(16 n) -> S/(15 n)", _THEORY, "exact_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15))),
    Mutation("exact-bound-3-halves", "finite bound: constant 3/2 -> 1", _THEORY, "exact_bound",
             _swap(sp.Rational(3, 2), 1)),
    Mutation("finite-A-16-to-15", "A = (d+1) S/16 -> (d+1) S/15", _THEORY, "large_T_coefficients",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15), "A")),
    Mutation("finite-beta-dropped-half", "beta = (Kd+1)/2 -> Kd/2", _THEORY, "large_T_coefficients", _beta_drop_half),
    Mutation("finite-B-2Kln2", "B: 2 K ln 2 -> K ln 2 (dropped factor)", _THEORY, "large_T_coefficients",
             _post(lambda e, k: e - sp.Symbol("K", positive=True, integer=True) * sp.log(2) if k == "B" else e)),
    Mutation("direct-Kd-half", "direct route: K d/2 -> K d/4", _THEORY, "direct_bound",
             _post(lambda e, k: e - sp.Symbol("K", positive=True, integer=True)
                   * sp.Symbol("d", positive=True, integer=True) / (4 * sp.Symbol("T", positive=True)))),
    Mutation("direct-sqrt-dropped", "direct route: ln(1 + sqrt(S T/2Kd)) -> ln(1 + S T/2Kd) (wrong exponent)",
             _THEORY, "direct_bound", _direct_sqrt_dropped),
    Mutation("atoms-digamma-shift", "E N_n = K (psi(K+n+1) - psi(K)) (shifted Gamma-function argument)",
             _THEORY, "expected_atoms", _atoms_digamma_shift),
    Mutation("atoms-upper-drop-1", "1 + K ln(1 + n/K) -> K ln(1 + n/K)", _THEORY, "atoms_upper", _atoms_drop_one),
    Mutation("dp-s2-wrong-exponent", "s2 = sigma^2 d -> sigma^2 d^2", _THEORY, "dp_scale_moments", _s2_squared),
    Mutation("dp-mu-dropped-factor", "mu_b without sqrt(2/pi)", _THEORY, "dp_scale_moments",
             _post(lambda e, i: e / sp.sqrt(2 / sp.pi) if i == 1 else e)),
    Mutation("dp-tilted-1-over-K", "DP E[V^2]: E[sum pi^2] = 1/(K+1) -> 1/K", _THEORY, "dp_second_moment",
             _dp_tilted_1_over_K),
    Mutation("dp-law-16-to-15", "DP law: s2/(16 n) -> s2/(15 n)", _THEORY, "dp_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15))),
    Mutation("dp-law-ln-2n", "DP law: 1 + K ln(2n/K) -> 1 + K ln(n/K)", _THEORY, "dp_bound", _dp_law_ln_n),
    Mutation("dp-exact-16-to-15", "DP bound: s2/(16 n) -> s2/(15 n)", _THEORY, "dp_exact_bound",
             _swap(sp.Rational(1, 16), sp.Rational(1, 15))),
    Mutation("normalised-dp-variance", "normalised DP teacher: sigma_a^2 = K + 1 -> K", _THEORY, "scale_variances",
             _normalised_dp_K),
    Mutation("barron-dp-variance-K2-to-1", "Barron DP teacher: atoms weighted pi_k a_k (sigma_a^2 = K^2 -> 1), "
             "not the K pi_k a_k the simulator draws", _THEORY, "scale_variances", _barron_dp_unit_weights),
    Mutation("delta-star-8-to-4", "delta*^2 = 8Kd/(S T) -> 4Kd/(S T)", _ENTROPY, "delta_star",
             _post(lambda e, k: e / sp.sqrt(2))),
    Mutation("rho-star-32-to-16", "rho*^2 = 32/T -> 16/T", _ENTROPY, "rho_star", _relu_half_dropped),
    Mutation("validity-8pi2-to-4pi2", "large-T validity 8 pi^2 -> 4 pi^2", _THEORY, "VALIDITY_T",
             lambda orig: 4 * sp.pi**2),
    Mutation("validity-dropped-pi2", "large-T validity 8 pi^2 -> 8 (dropped factor)", _THEORY, "VALIDITY_T",
             lambda orig: sp.Integer(8)),
)


@dataclass
class MutationReport:
    """``rows``: one dict per mutation (``name``, ``description``, ``killed``, ``killed_by``); totals."""

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

    def to_json(self) -> dict:
        """``{mutations, killed, survivors, rows}`` for ``check --mutate --json``."""
        return {"mutations": self.mutations, "killed": self.killed, "survivors": self.survivors, "rows": self.rows}


@contextlib.contextmanager
def _applied(mutation: Mutation):
    """Bind the corrupted function wherever the original is bound; rebuild the family's laws."""
    from scaling_theory.derivations import allocation, registry as dreg
    from scaling_theory.theory import jeon_van_roy as jvr
    from scaling_theory.theory import registry as treg

    import importlib
    home = importlib.import_module(mutation.module)
    original = getattr(home, mutation.target)
    corrupted = mutation.make(original)
    patched = []
    for name, module in list(sys.modules.items()):
        if not (name.startswith("scaling_theory.derivations") or name.startswith("scaling_theory.theory")):
            continue
        if getattr(module, mutation.target, None) is original:
            patched.append(module)
            setattr(module, mutation.target, corrupted)
    saved_laws = {law.name: treg._REGISTRY[law.name] for law in jvr.LAWS}
    try:
        for scale in jvr.SCALES:
            for law in (jvr._dp_law(scale), jvr._finite_law(scale)):
                treg._REGISTRY[law.name] = law
        dreg.get_derivation.cache_clear()
        allocation._coefficients.cache_clear()
        yield
    finally:
        for module in patched:
            setattr(module, mutation.target, original)
        treg._REGISTRY.update(saved_laws)
        dreg.get_derivation.cache_clear()
        allocation._coefficients.cache_clear()


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
    """Apply each mutation (or the named ones) in turn and check the family's derivations.

    Raises :class:`UserInputError` for an unknown mutation name.
    """
    known = {m.name: m for m in MUTATIONS}
    chosen = MUTATIONS if names is None else []
    for name in names or ():
        if name not in known:
            raise UserInputError(f"unknown mutation {name!r}")
        chosen.append(known[name])
    report = MutationReport()
    for mutation in chosen:
        with _applied(mutation):
            culprit = _first_failure(digits)
        report.rows.append({"name": mutation.name, "description": mutation.description,
                            "killed": culprit is not None, "killed_by": culprit})
    return report
