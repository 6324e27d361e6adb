"""The Bayes side of the compute study: paired teachers, one run per width, n*(C), bounds checked at every cell."""

import json
import math

import numpy as np
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes.smc import run_teachers
from scaling_theory.numeric.bayes.study import (BoundFailure, bayes_study, figure_data, n_star_smooth, samples_at,
                                                study_teachers)

SMALL = {"teachers": 3, "particles": 100, "bootstrap": 40}


@pytest.fixture(scope="module")
def dp_study():
    return bayes_study("dp", 1, 1.0, [120, 480], [1, 2, 3], seed=2, **SMALL)


def test_every_cell_is_the_run_of_its_width_at_its_T(dp_study):
    # paired teachers and prefix means: the cell (C, n) is what a run of width n to T = C/(n(d+1)) reports
    for b in dp_study["budgets"]:
        for n, T, err, err_v in zip(b["widths"], b["T"], b["bayes_error"], b["bayes_error_evidence"]):
            assert T == samples_at(b["C"], n, 1)
            _, r = run_teachers("dp", 1, 1.0, T, teachers=3, particles=100, seed=2, width=n)
            assert err == pytest.approx(r.error_rb.mean(), rel=1e-12)
            assert err_v == pytest.approx(r.error.mean(), rel=1e-12, abs=1e-15)
    assert json.loads(json.dumps(dp_study))["budgets"][0]["C"] == 120.0


def test_finite_widths_from_K_up_share_the_unrestricted_run():
    s = bayes_study("finite", 1, 2, [240], [1, 2, 3, 4], **SMALL)
    assert [r["widths"] for r in s["runs"]] == [[1], [2, 3, 4]]
    b = s["budgets"][0]
    for n, T, err in zip(b["widths"], b["T"], b["bayes_error"]):
        _, r = run_teachers("finite", 1, 2, T, teachers=3, particles=100, width=None if n >= 2 else n)
        assert err == pytest.approx(r.error_rb.mean(), rel=1e-12)


def test_n_star_its_intervals_and_the_exponent(dp_study):
    for b in dp_study["budgets"]:
        i = int(np.argmin(b["bayes_error"]))
        assert b["n_star"] == b["widths"][i]
        lo, hi = b["n_star_ci"]
        assert min(b["widths"]) <= lo <= hi <= max(b["widths"])
        assert sum(b["n_star_share"].values()) == pytest.approx(1.0)
        assert b["n_star_interior"] == (0 < i < len(b["widths"]) - 1)
    a, lo, hi = dp_study["exponents"]["bayes"]
    C = [b["C"] for b in dp_study["budgets"]]
    ns = [b["n_star_smooth"] for b in dp_study["budgets"]]
    assert a == pytest.approx(math.log(ns[1] / ns[0]) / math.log(C[1] / C[0]), abs=1e-12)
    assert lo <= hi


def test_seeded_studies_reproduce(dp_study):
    again = bayes_study("dp", 1, 1.0, [120, 480], [1, 2, 3], seed=2, **SMALL)
    for x, y in zip(dp_study["budgets"], again["budgets"]):
        assert x["bayes_error"] == y["bayes_error"] and x["n_star_ci"] == y["n_star_ci"]


def test_bounds_are_checked_at_every_valid_cell_and_a_failure_names_it():
    calls = []

    def maurey(n, T):
        calls.append((n, T))
        return None if n == 1 else 1.0            # not valid at n = 1: skipped, not failed

    s = bayes_study("finite", 1, 2, [120, 480], [1, 2, 3], bounds={"maurey": maurey}, **SMALL)
    for b in s["budgets"]:
        assert b["bound_holds"] is True and b["bound_cells_checked"] == len(b["widths"]) - 1
        assert b["bounds"]["maurey"][0] is None and b["routes"]["maurey"] in (2, 3)
    assert len(calls) == sum(len(b["widths"]) for b in s["budgets"])
    with pytest.raises(BoundFailure, match=r"route 'tight' .* C=480, width n=2, T=120") as err:
        bayes_study("finite", 1, 2, [120, 480], [1, 2, 3],
                    bounds={"tight": lambda n, T: 1e-9 if (n, T) == (2, 120) else 1.0}, **SMALL)
    assert err.value.cell["n"] == 2 and err.value.cell["T"] == 120
    plain = bayes_study("finite", 1, 2, [120], [1, 2], **SMALL)
    assert plain["budgets"][0]["bound_holds"] is None


def test_smoothed_n_star():
    w = [1, 2, 4, 8]
    n, inside = n_star_smooth(w, np.exp((np.log(w) - np.log(3.0)) ** 2))
    assert inside and n == pytest.approx(3.0, rel=1e-9)
    assert n_star_smooth(w, [4.0, 3.0, 2.0, 1.0]) == (8.0, False)
    assert n_star_smooth(w, [2.0, float("nan"), 1.0, 3.0])[0] == pytest.approx(math.exp(0.5 * (math.log(2)
                                                                                         + math.log(8))), rel=0.5)


@pytest.mark.parametrize("kwargs,needle", [({"budgets": [-1.0]}, "budgets must be"),
                                           ({"budgets": [100.0, 100.0]}, "budgets must be"),
                                           ({"widths": [2]}, "widths must be at least two"),
                                           ({"widths": [0, 1]}, "widths must be"),
                                           ({"teachers": 1}, "teachers must be"),
                                           ({"K": 2.5}, "K must be an integer"),
                                           ({"seed": -1}, "seed must be"),
                                           ({"budgets": [1.0], "widths": [2, 3]}, "no width"),
                                           ({"budgets": [2e6], "teachers": 64, "particles": 20000},
                                            "above the limit")])
def test_bad_input_is_refused_before_any_run(kwargs, needle):
    args = {"teacher": "finite", "d": 1, "K": 2, "budgets": [100.0], "widths": [1, 2], "teachers": 2,
            "particles": 100, **kwargs}
    with pytest.raises(UserInputError, match=needle):
        bayes_study(args.pop("teacher"), args.pop("d"), args.pop("K"), args.pop("budgets"), args.pop("widths"),
                    **args)


def test_study_teachers_are_the_sampler_s(dp_study):
    pairs = study_teachers("dp", 1, 1.0, 3, seed=2)
    ts, _ = run_teachers("dp", 1, 1.0, 5, teachers=3, particles=100, seed=2)
    assert [s for _, s in pairs] == [200006, 200007, 200008]
    assert all(np.array_equal(a.a, b.a) for (a, _), b in zip(pairs, ts))


def test_figures_from_a_study(dp_study, tmp_path):
    from scaling_theory.numeric.analysis.plots import bayes_n_star, bayes_width_curves

    data = figure_data([dp_study])
    assert data["n_star"][0]["n_star"] == [b["n_star"] for b in dp_study["budgets"]]
    for fn, key in ((bayes_width_curves, "width_curves"), (bayes_n_star, "n_star")):
        path = fn(data[key], tmp_path / f"{key}.png")
        assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
