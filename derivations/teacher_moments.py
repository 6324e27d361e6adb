"""The simulator's own teacher has the moments the laws use (ours): Monte Carlo on ``sample_teacher`` itself.

Every constant of the Jeon-Van Roy laws is a moment of the teacher distribution,
:class:`scaling_theory.theory.teachers.TeacherSpec`: ``E[F^2]``, ``E[a^2 ||w||^2]``, ``E|a| ||w||`` and, for the
Dirichlet-process teacher, the stick's means ``E pi_k`` and squared tails ``E sum_{k>n} pi_k^2``.  The other
derivations check those closed forms against their own hand-written samplers; this one draws from the
simulator's :func:`scaling_theory.numeric.sim.teacher.sample_teacher` (the teachers the sweeps and the SMC
learn), on both scales, and holds its moments against the constants the laws read.  A sampler whose scale
drifts from the laws' (``K`` in place of ``K^2``, say) fails here, not silently in a study.

References
----------
docs/paper-setting.md, "Ours: teachers, student and bound".
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from scaling_theory.derivations.core import Derivation, monte_carlo_cases
from scaling_theory.theory import teachers as spec
from scaling_theory.theory.teachers import K, K_dp, d

__all__ = ["derivation", "CASES"]

CASES = (("finite", "barron", 3, 2), ("finite", "normalised", 4, 3), ("dp", "barron", 2, 1.5),
         ("dp", "normalised", 3, 2.0), ("dp", "barron", 4, 4.0))
"""``(kind, scale, d, K)`` of the teachers drawn."""
_TEACHERS = 4000       # teachers per case (each with its own seed)
_INPUTS = 16           # inputs per teacher for E[F^2]


def _number(expr) -> float:
    return float(sp.N(expr, 30))


def _draw(kind: str, scale: str, dv: int, Kv, rng, m: int):
    """``m`` teachers from the simulator's sampler, seeds drawn from ``rng`` (looked up at call time, so a
    mutation of the sampler is what is drawn)."""
    from scaling_theory.numeric.sim import teacher as sim

    seeds = rng.integers(0, 2**31 - 1, size=m)
    return [sim.sample_teacher(dv, Kv, kind=kind, seed=int(s), scale=scale) for s in seeds]


def _output_square(kind, scale, dv, Kv):
    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_draw(kind, scale, dv, Kv, rng, m)):
            X = rng.standard_normal((_INPUTS, dv))
            out[j] = np.mean((np.maximum(X @ t.W.T, 0.0) @ t.a) ** 2)
        return out
    return sample


def _unit_weights(t) -> np.ndarray:
    """Each unit's own output weight ``a_k`` (the dp teacher stores ``pi_k a_k``)."""
    return t.a if t.pi is None else t.a / t.pi


def _unit_moment(kind, scale, dv, Kv, power):
    def sample(rng, m):
        out = np.empty(m)
        for j, t in enumerate(_draw(kind, scale, dv, Kv, rng, m)):
            out[j] = (abs(_unit_weights(t)[0]) * np.linalg.norm(t.W[0])) ** power   # the first unit: one draw
        return out
    return sample


def _stick_tail(Kv, nv):
    def sample(rng, m):
        return np.array([np.sum(t.pi[nv:] ** 2) for t in _draw("dp", "barron", 1, Kv, rng, m)])
    return sample


def _stick_weight(Kv, kv):
    def sample(rng, m):
        return np.array([t.pi[kv - 1] if t.pi.size >= kv else 0.0 for t in _draw("dp", "barron", 1, Kv, rng, m)])
    return sample


def _k(kind, Kv):
    return sp.Integer(int(Kv)) if kind == "finite" else sp.nsimplify(Kv)


def derivation() -> Derivation:
    """Monte Carlo of the simulator's teacher against the laws' teacher constants (docs/paper-setting.md "Ours").

    Returns
    -------
    Derivation
        ``teacher-moments``: 5 steps, each over several teachers.

    Examples
    --------
    >>> der = derivation()
    >>> der.name, [s.name for s in der.steps][:2]
    ('teacher-moments', ['output-second-moment', 'unit-second-moment'])
    """
    cases_F = [(f"E[F^2] {k} {s} d={dv} K={Kv}", _output_square(k, s, dv, Kv),
                (lambda e: lambda: _number(e))(spec.output_second_moment(k, s, sp.Integer(dv), _k(k, Kv))), _TEACHERS)
               for k, s, dv, Kv in CASES]
    cases_u2 = [(f"E[a^2||w||^2] {k} {s} d={dv} K={Kv}", _unit_moment(k, s, dv, Kv, 2),
                 (lambda e: lambda: _number(e))(spec.unit_second_moment(k, s, sp.Integer(dv), _k(k, Kv))), _TEACHERS)
                for k, s, dv, Kv in CASES]
    cases_u1 = [(f"E|a| ||w|| {k} {s} d={dv} K={Kv}", _unit_moment(k, s, dv, Kv, 1),
                 (lambda e: lambda: _number(e))(spec.unit_abs_mean(k, s, sp.Integer(dv), _k(k, Kv))), _TEACHERS)
                for k, s, dv, Kv in CASES]
    tails = [(f"E sum_(k>{nv}) pi_k^2 K={Kv}", _stick_tail(Kv, nv),
              (lambda e: lambda: _number(e))(spec.stick_square_tail(sp.Integer(nv), sp.nsimplify(Kv))), _TEACHERS)
             for Kv, nv in ((1.0, 0), (2.0, 3), (4.0, 8), (0.5, 1))]
    means = [(f"E pi_{kv} K={Kv}", _stick_weight(Kv, kv),
              (lambda e: lambda: _number(e))(spec.stick_mean(sp.Integer(kv), sp.nsimplify(Kv))), _TEACHERS)
             for Kv, kv in ((1.0, 1), (2.0, 3), (4.0, 2))]
    n = sp.Symbol("n", positive=True, integer=True)
    k = sp.Symbol("k", positive=True, integer=True)
    steps = (
        monte_carlo_cases("output-second-moment", sp.Symbol("E[F(X)^2]"), spec.output_second_moment("dp", "barron"),
                          "The simulator's teachers (sample_teacher, both kinds and scales) have the output second "
                          "moment the laws use: K sigma_a^2 sigma_w^2 d/2 (finite), sigma_a^2 sigma_w^2 d/(2(K+1)) "
                          "(dp); mean over teachers of F^2 at 16 fresh inputs each (ours).",
                          cases=cases_F, ours=True, seed=300),
        monte_carlo_cases("unit-second-moment", sp.Symbol("E[a^2 ||w||^2]"), spec.unit_second_moment("dp", "barron"),
                          "Each unit of the simulator's teacher has E[a^2 ||w||^2] = sigma_a^2 sigma_w^2 d, the "
                          "misspecification constant s2 of the DP routes (the dp teacher's stored weight divided by "
                          "its stick weight) (ours).", cases=cases_u2, ours=True, seed=310),
        monte_carlo_cases("unit-abs-mean", sp.Symbol("E|a| ||w||"), spec.unit_abs_mean("dp", "barron"),
                          "... and E|a| ||w|| = sigma_a sigma_w sqrt(2/pi) m_d, the scale the routes quantise the "
                          "output weights on (ours).", cases=cases_u1, ours=True, seed=320),
        monte_carlo_cases("stick-square-tail", sp.Symbol(r"E \sum_{k>n} \pi_k^2"), spec.stick_square_tail(n, K_dp),
                          "The simulator's stick (Beta(1, K) breaks, cut at leftover 1e-8) has the squared tail "
                          "(K/(K+2))^n/(K+1) that the truncation route's misspecification is made of.",
                          cases=tails, seed=330),
        monte_carlo_cases("stick-mean", sp.Symbol(r"E \pi_k"), spec.stick_mean(k, K_dp),
                          "... and the stick means (K/(K+1))^(k-1)/(K+1) the truncation route's weight entropy uses.",
                          cases=means, seed=340),
    )
    return Derivation(
        "teacher-moments", "The simulator's teacher has the laws' moments",
        "Monte Carlo on the simulator's own sample_teacher, both teachers and scales: E[F^2], E[a^2 ||w||^2], "
        "E|a| ||w||, the stick's squared tail and means equal the constants of the laws.", steps,
        conclusion={"E[F^2] (finite)": spec.output_second_moment("finite", "barron", d, K),
                    "E[F^2] (dp)": spec.output_second_moment("dp", "barron", d, K_dp),
                    "stick tail": spec.stick_square_tail(n, K_dp)},
        notes=("A sampler and a law that read different scales would pass every other derivation (each has its "
               "own sampler); these steps draw from the simulator itself.",))
