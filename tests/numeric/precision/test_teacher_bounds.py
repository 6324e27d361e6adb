"""Trivial error, the best route of the Jeon-Van Roy laws, validity windows, informative budget."""

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.precision.allocate import allocate
from scaling_theory.numeric.precision.teacher_bounds import (bound_optimum, informative_budget, trivial_error,
                                                             sample_teacher_outputs)
from scaling_theory.theory.jeon_van_roy import direct_bound
from scaling_theory.theory.registry import get_law


def test_trivial_error_is_a_minimum_over_constant_predictions():
    """The reported error is below the KL to any other constant prediction q (here q* +- 0.05)."""
    te = trivial_error("finite", "barron", 4, 3, teachers=300, inputs=128, seed=3)
    rng = np.random.default_rng(3)
    F = np.stack([sample_teacher_outputs("finite", "barron", 4, 3, rng, 128) for _ in range(300)])
    p = 1 / (1 + np.exp(-F))
    for q in (te.q - 0.05, te.q + 0.05):
        kl = np.mean(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)))
        assert kl > te.value
    assert abs(te.q - 0.5) < 0.02   # symmetric a: the computed optimum is close to 1/2


def test_finite_law_switches_to_the_direct_route_and_stops_growing():
    law = get_law("jeon-van-roy-finite")
    vals = law.parameters(None, {"d": 16, "K": 4})
    opts = [bound_optimum(law, vals, 10**k) for k in (9, 12, 18)]
    assert all(o.route == "direct" and o.model == 68 for o in opts)
    assert all(o.loss < next(r.loss for r in o.routes if r.name == "maurey") for o in opts)
    T_ = sp.Symbol("T", positive=True)
    expected = sp.N(direct_bound(T_, sp.Integer(16), sp.Integer(4)).subs(T_, sp.Rational(10**12, 68)), 20)
    assert abs(float(opts[1].loss) / float(expected) - 1) < 1e-12


def test_dp_optimum_respects_the_validity_window():
    law = get_law("jeon-van-roy")
    vals = law.parameters(None, {"d": 8, "K": 32})
    opt = bound_optimum(law, vals, 10**6, route="maurey")   # the Maurey route needs n >= K
    assert opt.route == "maurey" and opt.model >= 32 * 9 and opt.loss > 0
    best = bound_optimum(law, vals, 10**6)                   # the truncation route needs only n >= 1
    assert best.route == "truncation" and best.model >= 9 and best.loss < opt.loss


@pytest.mark.slow
def test_allocate_json_carries_trivial_error_and_informative():
    j = allocate("jeon-van-roy-finite", "1e12", digits=15).to_json()
    assert float(j["trivial_error"]) > 0.3 and j["informative"] is True and j["route"] == "direct"
    j = allocate("jeon-van-roy", "1e6", params={"d": 8, "K": 32}, digits=15).to_json()
    assert j["informative"] is False and float(j["loss"]) > float(j["trivial_error"])   # vacuous at 1e6
    assert "trivial_error" not in allocate("chinchilla", "1e20", digits=15).to_json()


def test_budget_below_smallest_model_is_one_line_error():
    with pytest.raises(UserInputError, match="below the smallest budget") as exc:
        allocate("jeon-van-roy", "10", digits=15)
    assert "\n" not in str(exc.value)


def test_informative_budget_brackets_the_crossing():
    law = get_law("jeon-van-roy-finite")
    vals = law.parameters()
    c = informative_budget(law, vals, trivial=0.3)
    assert bound_optimum(law, vals, sp.Float(c * 1.01, 30)).loss <= 0.3 < bound_optimum(law, vals, sp.Float(c / 1.01, 30)).loss


@pytest.mark.parametrize("teacher,scale,d,K", [("tree", "barron", 4, 2), ("dp", "unit", 4, 2), ("finite", "barron", 4, 0)])
def test_bad_teacher_input_is_one_line(teacher, scale, d, K):
    with pytest.raises(UserInputError) as exc:
        trivial_error(teacher, scale, d, K, teachers=10, inputs=4)
    assert "\n" not in str(exc.value)
