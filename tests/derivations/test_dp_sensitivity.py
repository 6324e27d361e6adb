"""The DP law's d/K sensitivity: leading-order signs on both scales, the exact optimum, mutations caught."""

import dataclasses

import mpmath
import pytest
import sympy as sp

from scaling_theory.derivations.check import check_derivation
from scaling_theory.derivations.dp_sensitivity import dp_allocation, share_leading
from scaling_theory.derivations.registry import get_derivation, resolve
from scaling_theory.theory.jeon_van_roy import K_dp as K, d


def test_registered_and_in_the_dp_chain():
    assert "dp-sensitivity" in resolve("jeon-van-roy") and "dp-sensitivity" in resolve("all")


def test_leading_share_signs_differ_between_scales():
    C = sp.Symbol("C", positive=True)
    at = {d: 8, C: sp.Integer(10) ** 12}
    barron = [share_leading("barron").subs({**at, K: k}) for k in (1, 4, 16)]
    normalised = [share_leading("normalised").subs({**at, K: k}) for k in (1, 4, 16)]
    assert barron[0] < barron[1] < barron[2]
    assert normalised[0] > normalised[1] > normalised[2]


def test_exact_optimum_matches_the_allocate_engine():
    # the same law's optimum from the public allocate engine (independent code path)
    from scaling_theory.numeric.precision.allocate import allocate

    r = dp_allocation(8, 32, 12, "barron", dps=30)
    ref = allocate("jeon-van-roy", 10**12, params={"d": 8, "K": 32}, digits=20, route="maurey")
    assert abs(r["p"] / mpmath.mpf(str(ref.model)) - 1) < 1e-15


@pytest.mark.slow
def test_every_step_verifies_and_a_wrong_sign_is_caught():
    der = get_derivation("dp-sensitivity")
    rows = check_derivation(der, digits=30)
    assert all(r["status"] == "verified" or r["step"] == "share-leading" for r in rows), rows
    assert {r["step"]: r["status"] for r in rows}["share-leading"] == "consistent"
    evidence = {r["step"]: r["evidence"] for r in rows}
    assert evidence["barron-exact-trends"] == "numerical-optimum"
    assert evidence["normalised-share-K"] == "certificate"
    # claiming the normalised share rises with K (the abstract's direction) fails on the sampled points
    step = der.step("normalised-share-K")
    wrong = dataclasses.replace(step, lhs=step.rhs, rhs=step.lhs, options={**step.options, "certificate": None})
    assert not wrong.verify(30).ok
