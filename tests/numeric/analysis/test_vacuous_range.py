"""Where the derived bound says something: the trivial error and the informative budget the figures shade."""

import math

import pytest

from scaling_theory.numeric.analysis.compare import law_params, theory_curve
from scaling_theory.numeric.analysis.plots import _vacuous_below
from scaling_theory.theory.registry import get_law


@pytest.mark.slow
def test_dp_law_turns_informative_between_the_budgets_it_is_evaluated_at():
    law = get_law("jeon-van-roy")
    budgets = [1e6, 1e12]
    th = theory_curve(law, law_params(law, 8, 32), budgets, cross_check=True)
    # trivial error of the constant predictor: positive and below log 2 (the cost of predicting 1/2 at most)
    assert 0 < th["trivial_error"] < math.log(2)
    # the flags are the optimum compared with the trivial error (3 standard errors margin), budget by budget
    assert th["informative"] == [L < th["trivial_error"] - 3 * th["trivial_error_se"] for L in th["best_loss_opt"]]
    assert th["informative"] == [False, True]
    # the informative budget lies between a vacuous and an informative budget
    assert 1e6 < th["informative_budget"] < 1e12
    assert _vacuous_below(th) == th["informative_budget"]


def test_other_laws_carry_no_trivial_error_and_shade_nothing():
    law = get_law("chinchilla")
    th = theory_curve(law, {}, [1e18, 1e20], cross_check=True)
    assert "trivial_error" not in th
    assert _vacuous_below(th) is None


def test_a_bound_never_informative_is_shaded_everywhere():
    assert _vacuous_below({"trivial_error": 0.5, "informative_budget": None}) == math.inf


@pytest.mark.slow
def test_finite_teacher_bound_exponent_is_the_direct_routes_zero():
    # at d=8, K=32 the direct width-K route is the better bound at these budgets: p* = K (d+1), fixed
    law = get_law("jeon-van-roy-finite")
    th = theory_curve(law, law_params(law, 8, 32), [1e7, 1e8])
    assert th["route"] == ["direct", "direct"]
    assert th["best_N_opt"] == [pytest.approx(32 * 9)] * 2
    assert abs(th["a_best"]) < 1e-9
    assert th["a_local"] > 0.3            # the Maurey route alone would keep growing the model
