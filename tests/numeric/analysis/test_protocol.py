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


# -- hierarchical bootstrap, weighting, error kind, brackets, refinement, learning-rate curves ----------

from scaling_theory.numeric.analysis.protocol import (  # noqa: E402
    ERROR_KINDS, _draw, brackets, error_key, lr_curves, lr_optima, refine_widths)


def _seed_rows(a, seeds, rng, spread=0.15, level=0.2, teachers=None, lrs=(0.1,)):
    """Runs whose per-seed optimum ln p*_s(C) = ln(0.3 C^a) + spread * z_{s,C}: the seed mean's optimum
    moves with C at exactly the exponent ``a``, seeds scatter around it (a teacher effect)."""
    rows = []
    for s in range(seeds):
        t = s if teachers is None else s % teachers
        for C in (1e4, 1e5, 1e6, 1e7):
            ln_opt = math.log(0.3 * C ** a) + spread * rng.standard_normal()
            scale = math.exp(level * rng.standard_normal())
            for p in sorted({max(1, round(x)) for x in np.geomspace(0.3 * C ** a / 20, 0.3 * C ** a * 20, 9)}):
                for lr in lrs:
                    e = scale * (1 + 0.3 * (math.log(p) - ln_opt) ** 2) * C ** -0.3 * (1 + abs(math.log(lr / 0.1)))
                    e *= 1 + 0.01 * rng.standard_normal()
                    rows.append({"status": "done", "seed": s, "config": {"teacher_seed": t}, "compute": C,
                                 "params": p, "samples": int(C / p), "lr": lr, "error": e, "error_se": 0.01 * e,
                                 "metrics": {"val_error": e}})
    return rows


@pytest.mark.slow
def test_seed_bootstrap_intervals_cover_the_true_exponent_at_a_sensible_rate():
    rng = np.random.default_rng(1)
    hits = {"parabola-all": 0, "parabola-local": 0}
    widths = []
    trials = 20
    for trial in range(trials):
        res = analyse(_seed_rows(0.45, 8, rng), bootstrap=60, seed=trial, approach3=False)
        for name in hits:
            lo, hi = res["ci"][name]
            hits[name] += lo <= 0.45 <= hi
        widths.append(res["ci"]["parabola-local"][1] - res["ci"]["parabola-local"][0])
    # nominal 95%; a percentile bootstrap over 8 seeds under-covers somewhat, never badly
    for name, n in hits.items():
        assert 0.75 * trials <= n, (name, n)
    assert 0.01 < np.median(widths) < 0.3   # the intervals are seed scatter, not zero and not everything


def test_noisy_seeds_give_wide_intervals_and_an_inconclusive_verdict():
    rng = np.random.default_rng(2)
    res = analyse(_seed_rows(0.45, 3, rng, spread=0.8), bootstrap=60, approach3=False)
    lo, hi = res["ci"]["parabola-all"]
    assert hi - lo > MAX_CI_WIDTH
    assert verdict(res["estimates"]["parabola-all"], [lo, hi], 0.45, [[lo, hi]]) == "inconclusive"


def test_bootstrap_draws_teachers_then_seeds_within_them():
    hierarchy = {0: [0, 1, 2], 10: [3, 4, 5]}
    rng = np.random.default_rng(0)
    for _ in range(50):
        draw = _draw(rng, hierarchy)
        assert len(draw) == 6
        # two blocks of three, each from one teacher's seeds
        assert {tuple(sorted(set(b) <= {0, 1, 2} or set(b) <= {3, 4, 5} for b in (draw[:3], draw[3:])))} == {
            (True, True)}


def test_shared_teachers_widen_the_interval_against_treating_seeds_as_independent():
    # 6 seeds on 2 teachers: the teacher effect is shared within a teacher, so only 2 independent units
    rng = np.random.default_rng(3)
    rows = _seed_rows(0.45, 6, rng, spread=0.0, teachers=2)
    for r in rows:   # a strong teacher effect on the optimum: teacher 1's optimum is 2x wider at large C
        if r["config"]["teacher_seed"] == 1 and r["compute"] >= 1e6:
            r["error"] *= 1 + 0.3 * (math.log(r["params"]) - math.log(2 * 0.3 * r["compute"] ** 0.45)) ** 2
            r["error"] /= 1 + 0.3 * (math.log(r["params"]) - math.log(0.3 * r["compute"] ** 0.45)) ** 2
    flat = [{**r, "config": {"teacher_seed": r["seed"]}} for r in rows]
    hier = analyse(rows, bootstrap=80, approach3=False)["ci"]["parabola-all"]
    naive = analyse(flat, bootstrap=80, approach3=False)["ci"]["parabola-all"]
    assert hier[1] - hier[0] > naive[1] - naive[0]


def test_cell_fits_are_weighted_by_the_runs_standard_errors():
    # one budget's widths: a far-off point with a huge standard error must not move the vertex
    cells = {}
    for C in (1e4, 1e6):
        for p in (1, 3, 10, 30, 100, 300, 1000):
            opt = C ** 0.5 / 10
            cells[(C, p)] = {"error": math.exp(0.1 * math.log(p / opt) ** 2), "se": 1e-3, "T": C / p}
    bad = {"error": cells[(1e6, 300)]["error"] * 0.7, "T": 1e6 / 300}
    assert estimate({**cells, (1e6, 300): {**bad, "se": 10.0}}, approach3=False)["parabola-local"] == \
        pytest.approx(0.5, abs=0.005)
    # the same point claimed as precise as the others pulls the vertex
    assert estimate({**cells, (1e6, 300): {**bad, "se": 1e-3}}, approach3=False)["parabola-local"] > 0.53


def test_online_kl_is_used_when_every_run_has_it_else_the_final_weights_error():
    rows = _rows(seeds=2)
    assert error_key(rows) == "error"
    for r in rows:
        r["metrics"]["online_kl"], r["metrics"]["online_kl_se"] = 3 * r["error"], 0.01 * r["error"]
    assert error_key(rows) == "online_kl"
    res = analyse(rows, bootstrap=5, approach3=False)
    assert res["error_kind"] == ERROR_KINDS["online_kl"] == "time-averaged online KL"
    cell = res["cells"][(1e4, min(p for C, p in res["cells"] if C == 1e4))]
    assert cell["error"] > 2 * cell_table(rows)[(1e4, min(p for C, p in res["cells"] if C == 1e4))]["error"]
    del rows[0]["metrics"]["online_kl"]           # one run without it: the whole comparison falls back
    assert analyse(rows, bootstrap=5, approach3=False)["error_kind"] == "final-weights KL"


def test_brackets_and_refinement_add_widths_until_two_lie_each_side():
    d = 8   # p = 9 n
    err = lambda n: (math.log(n) - math.log(3)) ** 2 + 1     # minimum at width 3
    cells = {(1e6, 9 * n): {"error": err(n)} for n in (3, 6, 12, 24)}
    assert brackets(cells)[1e6]["left"] == 0
    added, stuck = refine_widths(cells, d)
    assert stuck == {} and added[1e6] == [1, 2]
    cells.update({(1e6, 9 * n): {"error": err(n)} for n in added[1e6]})
    assert brackets(cells)[1e6]["bracketed"]
    added, stuck = refine_widths(cells, d, midpoints=False)
    assert added == {} and stuck == {}


def test_a_minimum_beyond_the_budget_is_reported_not_silently_fitted():
    d, C = 8, 1e4     # T >= 100 allows widths up to 11
    cells = {(C, 9 * n): {"error": 10.0 / n} for n in (1, 2, 4, 8)}
    added, stuck = refine_widths(cells, d, min_samples=100)
    assert added == {C: [11]} and "fewer than 100 samples" in stuck[C]
    assert verdict(0.5, [0.45, 0.55], 0.5, [[0.45, 0.55]], bracketed=False) == "inconclusive"


def test_learning_rate_curves_and_the_stability_of_their_optimum():
    rows = _rows(seeds=3, lr_best=0.1)
    curves = lr_curves(rows)
    assert all(sorted(c) == [0.03, 0.1, 0.3, 1.0] for c in curves.values())
    c = curves[next(iter(curves))][0.1]
    assert c["lo"] < c["mean"] < c["hi"] and c["seeds"] == 3
    optima = lr_optima(curves)
    assert set(optima) == {1e4, 1e5, 1e6, 1e7}
    assert all(o["mode"] == 0.1 and o["stable"] and o["spread_steps"] == 0 for o in optima.values())
    # a width whose best rate is three grid steps away makes the budget unstable
    C, p = next(iter(curves))
    for lr, v in curves[(C, p)].items():
        v["mean"] = 1 / lr
    assert not lr_optima(curves)[C]["stable"]
