"""Learning-rate choice on validation, estimators, seed-bootstrap intervals and verdicts."""

import math

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.protocol import MAX_CI_WIDTH, analyse, cell_table, estimate, verdict


def _rows(a=0.45, seeds=5, noise=0.03, lr_best=0.1):
    rng = np.random.default_rng(0)
    rows = []
    for s in range(seeds):
        for C in (1e4, 1e5, 1e6, 1e7):
            p_opt = 0.3 * C ** a
            for p in sorted({max(1, round(x)) for x in np.geomspace(p_opt / 30, p_opt * 30, 9)}):
                for lr in (0.03, 0.1, 0.3, 1.0):
                    e = (0.1 * math.log(p / p_opt) ** 2 + 1) * (1 + abs(math.log(lr / lr_best))) * C ** -0.3
                    e *= 1 + noise * rng.standard_normal()
                    rows.append({"status": "done", "seed": s, "compute": C, "params": p, "samples": int(C / p),
                                 "lr": lr, "error": e, "error_se": 0.01 * e,
                                 "metrics": {"val_error": e * (1 + 0.01 * rng.standard_normal())}})
    return rows


def test_learning_rate_is_chosen_on_validation_not_on_the_reported_error():
    rows = [{"status": "done", "seed": s, "compute": 1e4, "params": 10, "samples": 1000, "lr": lr,
             "error": rep, "error_se": 0.01, "metrics": {"val_error": val}}
            for s in (0, 1) for lr, val, rep in ((0.1, 0.2, 0.9), (0.3, 0.4, 0.1))]
    cell = cell_table(rows)[(1e4, 10)]
    assert cell["lr"] == 0.1 and cell["error"] == pytest.approx(0.9)   # the reported error at the chosen rate
    assert sorted(cell["lr_table"]) == [0.1, 0.3]                     # every rate kept


def test_a_rate_some_seed_did_not_finish_is_not_chosen():
    rows = [{"status": "done", "seed": s, "compute": 1e4, "params": 10, "samples": 1000, "lr": 0.1,
             "error": 0.5, "error_se": 0.01, "metrics": {"val_error": 0.5}} for s in (0, 1)]
    rows.append({"status": "done", "seed": 0, "compute": 1e4, "params": 10, "samples": 1000, "lr": 1.0,
                 "error": 0.1, "error_se": 0.01, "metrics": {"val_error": 0.1}})
    rows.append({"status": "diverged", "seed": 1, "compute": 1e4, "params": 10, "samples": 1000, "lr": 1.0,
                 "error": None, "error_se": None, "metrics": {}})
    assert cell_table(rows)[(1e4, 10)]["lr"] == 0.1


def test_estimators_recover_a_known_exponent_with_intervals_covering_it():
    res = analyse(_rows(a=0.45), bootstrap=40)
    for name in ("parabola-all", "parabola-local", "approach-3"):
        lo, hi = res["ci"][name]
        assert lo - 0.03 <= 0.45 <= hi + 0.03, (name, res["ci"][name])
    assert res["seeds"] == 5


def test_fewer_than_two_seeds_is_a_one_line_error():
    with pytest.raises(UserInputError, match="at least 2 seeds"):
        analyse(_rows(seeds=1), bootstrap=5)


def test_verdict_rules():
    assert verdict(0.45, [0.40, 0.50], 0.46, [[0.40, 0.50]]) == "agrees"
    assert verdict(0.30, [0.25, 0.35], 0.46, [[0.25, 0.35]]) == "disagrees"
    assert verdict(0.30, [0.2, 0.2 + MAX_CI_WIDTH + 0.01], 0.46, []) == "inconclusive"
    # two estimators whose intervals do not overlap: the data cannot decide
    assert verdict(0.30, [0.25, 0.35], 0.46, [[0.25, 0.35], [0.40, 0.50]]) == "inconclusive"
    assert verdict(None, None, 0.46, []) == "inconclusive"


def test_too_few_widths_give_no_parabola():
    cells = {(1e4, 1): {"error": 1.0, "se": 0.1, "T": 1e4}, (1e4, 2): {"error": 0.9, "se": 0.1, "T": 5e3}}
    est = estimate(cells)
    assert est["parabola-all"] is None and est["best-sampled"] is None
