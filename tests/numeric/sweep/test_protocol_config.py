"""The protocol studies and the up-front refusals (learning-rate grid, memory)."""

import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sweep.config import SweepConfig, memory_estimate


def test_default_study_crosses_lr_grid_seeds_and_both_teachers():
    cfg = SweepConfig.protocol()
    runs, _ = cfg.expand()
    lrs = sorted({r.lr for r in runs})
    assert len(lrs) >= 4 and all(b / a == pytest.approx(lrs[1] / lrs[0], rel=0.15) for a, b in zip(lrs, lrs[1:]))
    assert len({r.seed for r in runs}) >= 5
    assert {r.kind for r in runs} == {"dp", "finite"}
    assert cfg.grids[0].kind[0] == "dp"       # the paper's (infinite-width) setting first
    # the width grid reaches the bound's optimum p/sqrt(C) ~ 1.2-1.4 at every budget
    for C in {r.compute for r in runs}:
        assert max(r.params for r in runs if r.compute == C) / C ** 0.5 > 1.4
    assert memory_estimate(cfg) < 2 * 2**30
    # validation and reported errors come from different evaluation streams
    assert all(r.val_seed != r.eval_seed for r in runs[:50])


@pytest.mark.parametrize("lr", [0.0, -0.1, [0.1, -1.0]])
def test_non_positive_learning_rates_are_refused(lr):
    with pytest.raises(UserInputError, match="'lr' must contain positive"):
        SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "lr": lr})


def test_a_config_beyond_the_machine_memory_is_refused_with_its_estimate():
    with pytest.raises(UserInputError) as err:
        SweepConfig.from_dict({"d": 10_000_000, "K": 2, "budgets": [1e15]})
    message = str(err.value)
    assert "GiB" in message and "memory" in message and "\n" not in message
