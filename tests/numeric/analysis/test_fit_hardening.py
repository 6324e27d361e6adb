"""Approach 3 converges to its loss's own minimum at every --delta, or says it did not; memory and time
are estimated before a fit starts; one budget and parameters on their bounds are flagged."""

import json
import math
import tracemalloc

import mpmath
import numpy as np
import pytest

from scaling_theory.cli import main
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis import approach3, data as data_mod, design
from scaling_theory.numeric.analysis.approach3 import fit_warnings, robust_loss
from scaling_theory.numeric.analysis.fit import fit, fit_estimate, load_csv, synthetic

CHIN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


@pytest.fixture(scope="module")
def noisy():
    return synthetic(**CHIN, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.02, seed=1)


def _a3(data, **kw):
    return fit(data, approach=3, **kw).approaches[3]


@pytest.fixture(scope="module")
def mse_fit(noisy):
    return _a3(noisy, bootstrap=20, loss="mse")


@pytest.mark.parametrize("kind, delta", [("huber", 1.0), ("huber", 1e5), ("huber", 1e7), ("huber", 1e9),
                                         ("huber", 1e30), ("log-cosh", 1e3), ("log-cosh", 1e9), ("log-cosh", 1e30)])
def test_a_large_delta_fits_like_mse(noisy, mse_fit, kind, delta):
    # huber is r^2/2 once delta exceeds every residual, log-cosh up to (r/delta)^2: the least-squares fit
    r = _a3(noisy, bootstrap=20, loss=kind, delta=delta)
    assert r.ok
    for k in ("alpha", "beta", "E"):
        assert r.params[k] == pytest.approx(mse_fit.params[k], rel=1e-5), k
    lo, hi = r.ci["a"]
    assert hi - lo > 1e-3   # the bootstrap moved: no zero-width interval
    assert r.ci["a"] == pytest.approx(mse_fit.ci["a"], rel=1e-3)


def test_mse_and_mae_ignore_delta(noisy):
    for kind in ("mse", "mae"):
        base = _a3(noisy, bootstrap=0, loss=kind).params
        for delta in (1.0, 1e9):
            other = _a3(noisy, bootstrap=0, loss=kind, delta=delta).params
            assert other["alpha"] == pytest.approx(base["alpha"], rel=1e-4), (kind, delta)


def test_mae_reaches_a_lower_objective_than_the_old_kinked_stop(noisy):
    # L-BFGS-B alone stopped at a scale-dependent kink; the Huber continuation goes lower
    r = _a3(noisy, bootstrap=0, loss="mae")
    x, y, L = np.log(noisy.N), np.log(noisy.D), np.log(noisy.loss)
    starts = approach3._grid_starts(x, y, L, True, 8, kind="mae", delta=1.0)
    kinked = approach3._fit_lse(x, y, L, True, starts, delta=1.0, kind="mae", scale=1.0)
    assert r.params["objective"] <= approach3._raw_objective(kinked.x, x, y, L, True, "mae", 1.0, None) + 1e-12


def test_log_cosh_is_exact_when_delta_dwarfs_the_residual():
    r = np.array([1e-3, -0.02, 0.5])
    for delta in (1e3, 1e9, 1e150):
        v, _ = robust_loss(r, "log-cosh", delta)
        with mpmath.workdps(700):   # cosh(1e-153) - 1 needs ~310 digits
            ref = [float(mpmath.mpf(delta) ** 2 * mpmath.log(mpmath.cosh(mpmath.mpf(x) / delta))) for x in r]
        assert np.allclose(v, ref, rtol=1e-12), delta


def test_a_fit_that_does_not_converge_is_refused_in_one_line(noisy, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(approach3, "_RESTARTS", 0)   # no restart: convergence is never confirmed
    r = _a3(noisy, bootstrap=10)
    assert not r.ok and r.message.startswith("fit did not converge") and r.a is None and not r.ci
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{l!r}\n" for n, d, l in
                                           zip(noisy.N.tolist(), noisy.D.tolist(), noisy.loss.tolist())))
    assert main(["fit", str(path), "--approach", "3", "--bootstrap", "10"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not converge" in err


def test_an_exact_fit_counts_as_converged():
    exact = synthetic(**CHIN, budgets=[1e18, 1e19, 1e20], noise=0.0)
    for kind in ("huber", "mse", "mae", "log-cosh"):
        r = _a3(exact, bootstrap=0, loss=kind)
        assert r.ok and r.params["alpha"] == pytest.approx(0.34, rel=1e-3), kind


def test_one_budget_and_bounds_are_flagged_in_text_and_json(capsys, tmp_path):
    one = synthetic(**CHIN, budgets=[1e19], per_budget=9, noise=0.01, seed=4)
    res = fit(one, approach=3, bootstrap=20)
    r3 = res.approaches[3]
    assert any("rests on one compute budget" in w for w in r3.warnings)
    j = res.to_json()["approaches"]["3"]
    assert any("one compute budget" in w for w in j["warnings"])
    assert "warning (approach 3): rests on one compute budget" in res.summary()
    assert fit_warnings(one, {"alpha": 0.3, "beta": 5.0})[-1] == "beta at its bound 5: the data do not determine it"
    several = synthetic(**CHIN, budgets=[1e18, 1e19, 1e20], noise=0.01)
    assert fit_warnings(several, {"alpha": 0.34, "beta": 0.28}) == []


def test_the_start_screen_stays_small_at_many_points():
    rng = np.random.default_rng(0)
    n = 200_000
    x, y = rng.uniform(10, 25, n), rng.uniform(15, 30, n)
    L = np.log(1.7 + np.exp(6 - 0.34 * x) + np.exp(6 - 0.28 * y))
    tracemalloc.start()
    approach3._grid_starts(x, y, L, True, 8)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 150 * 2**20   # was 1600 x n doubles per array: 2.6 GB each at this n


def test_a_csv_beyond_the_machines_memory_is_refused_before_parsing(tmp_path, monkeypatch):
    path = tmp_path / "many.csv"
    path.write_text("N,D,loss\n" + "1e6,1e7,2\n" * 2000)
    monkeypatch.setattr(data_mod, "machine_memory", lambda: data_mod.fit_memory(1000))
    with pytest.raises(UserInputError, match=r"about 2000 data points need about .* GiB of memory"):
        load_csv(path)


def test_csv_rows_are_named_by_their_file_line(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("N,D,loss\n1e6,1e7,2\n\n1e6,x,2\n")
    with pytest.raises(UserInputError, match="row 4, column D: not a number"):
        load_csv(path)


def test_a_long_fit_says_how_long_before_it_starts(noisy, tmp_path, capsys, monkeypatch):
    from scaling_theory.commands import fit as fit_cmd

    est = fit_estimate(noisy, bootstrap=200)
    assert 0 < est["point_seconds"] < est["seconds"] and est["memory"] == data_mod.fit_memory(len(noisy))
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n" + "".join(f"{n!r},{d!r},{l!r}\n" for n, d, l in
                                           zip(noisy.N.tolist(), noisy.D.tolist(), noisy.loss.tolist())))
    monkeypatch.setattr(fit_cmd, "LONG_FIT_SECONDS", 0.0)
    assert main(["fit", str(path), "--approach", "2", "--bootstrap", "5"]) == 0
    assert "expected to take about" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--noise", "1e300"], "noise must be a number in [0, 5]"),
    (["--repeats", "1000000000"], "above the limit 10000"),
    (["--widths-per-budget", "100000000"], "above the limit 10000"),
    (["--widths-per-budget", "100000000", "--allow-large"], "GiB of memory"),
    (["--span", "1e300"], "span must exceed 1 and be at most"),
    (["--offset", "1e-300"], "offset must lie in"),
])
def test_design_refuses_out_of_range_inputs_in_one_line(args, message, capsys):
    assert main(["design", "--budgets", "1e18", "1e19", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("command", [["design", "--budgets", "1e18", "1e19"], ["fit", "x.csv"]])
def test_negative_seeds_are_argument_errors(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--seed", "-1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "expected a non-negative integer" in err and err.count("\n") == 1


def test_design_limits_are_documented_constants():
    assert design.MAX_REPEATS == 10_000 and design.MAX_WIDTHS_PER_BUDGET == 10_000
    est = design.design_estimate(CHIN, [1e18, 1e19], repeats=3)
    assert est["seconds"] > 0 and math.isfinite(est["seconds"])


def test_fit_json_warnings_are_plain_strings(noisy, capsys):
    res = fit(noisy.subset(noisy.budget == 1e19), approach=3, bootstrap=0)
    j = json.loads(json.dumps(res.to_json()))
    assert all(isinstance(w, str) and "\n" not in w for w in j["approaches"]["3"]["warnings"])
