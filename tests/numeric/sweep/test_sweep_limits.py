"""Sweep inputs and sizes checked before anything runs: memory and time estimates, the long-job limit,
TOML size and nesting, every field's range (issue 27, items 3 and 6)."""

import functools
import math
import os
import signal
import sqlite3

import pytest

import scaling_theory.numeric.sweep.config as config_mod
import scaling_theory.numeric.sweep.runner as runner_mod
from scaling_theory.cli import main
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sweep.config import (DP_MAX_K, MAX_TOML_BYTES, SweepConfig, memory_breakdown,
                                                 task_memory)
from scaling_theory.numeric.sweep.runner import (LONG_JOB_LIMIT_S, SweepInterrupted, estimate_sweep, run_sweep,
                                                 synthetic_runner)

GiB = 2**30


@pytest.fixture
def machine(monkeypatch):
    """A machine of 16 GiB (free), whatever this one has, so the refusals do not depend on it."""
    def set_memory(total, free=None):
        monkeypatch.setattr(config_mod, "machine_memory", lambda: float(total))
        monkeypatch.setattr(runner_mod, "machine_memory", lambda: float(total))
        monkeypatch.setattr(runner_mod, "available_memory", lambda: float(total if free is None else free))
    set_memory(16 * GiB)
    return set_memory


def _one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# -- the memory estimate covers the evaluation set, the teacher and the stream -----------------------


def test_evaluation_set_is_in_the_estimate(machine):
    base = {"d": 8, "K": 32, "budgets": [1e5], "widths": [4]}
    small = memory_breakdown(SweepConfig.from_dict(base))
    big = memory_breakdown(SweepConfig.from_dict({**base, "eval_samples": 10**7}))
    # the stream of 1e7 inputs is held whole: 2d + 3 float64 values per input
    assert big["evaluation"] - small["evaluation"] == pytest.approx(8 * (10**7 - 20_000) * 19)
    with pytest.raises(UserInputError) as err:   # 1e8 inputs: 14 GiB, over a 12 GiB machine
        machine(12 * GiB)
        SweepConfig.from_dict({**base, "eval_samples": 10**8})
    assert "evaluation 14.2" in _one_line(err) and "lower eval_samples" in str(err.value)


@pytest.mark.parametrize("kind, K, expected", [("finite", 10**9, 3 * 8 * 10**9 * 10), ("dp", 32, None)])
def test_teacher_units_or_atoms_are_in_the_estimate(machine, kind, K, expected):
    part = config_mod._teacher_bytes(8, K, kind)
    if expected is not None:
        assert part == expected
    else:  # about K ln(1e8) atoms, with a margin
        assert 3 * 8 * 10 * 32 * math.log(1e8) < part < 3 * 8 * 10 * 800
    if kind == "finite":
        with pytest.raises(UserInputError) as err:
            SweepConfig.from_dict({"d": 8, "K": K, "budgets": [1e5], "widths": [4]})
        assert "teacher 224" in _one_line(err) and "lower K (or d)" in str(err.value)


def test_training_stream_is_in_the_estimate():
    # four chunks of 8192 inputs in flight: the stream grows with d
    assert config_mod._stream_bytes(1000) > 8 * 8192 * 4 * 1000


def test_widths_with_too_few_samples_are_not_counted():
    # p/sqrt(C) up to 1e6: the widest students get T = 0 samples and are skipped, not estimated
    cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e6], "p_over_sqrt_c": [0.1, 1e6]})
    runs, skipped = cfg.expand()
    assert skipped and memory_breakdown(cfg)["students"] == pytest.approx(
        sum(config_mod._student_bytes(r.width, r.d, r.batch_size) for r in runs))


def test_simulator_sizes_the_model_repeats_are_the_simulators():
    import inspect

    from scaling_theory.numeric.sim import error, teacher

    assert config_mod._CHUNK == teacher.DEFAULT_CHUNK
    assert config_mod._EVAL_CACHE == error._EVAL_CACHE_BYTES
    defaults = inspect.signature(teacher.sample_teacher).parameters
    assert (config_mod._DP_TOL, config_mod._DP_MAX_ATOMS) == (defaults["tol"].default, defaults["max_atoms"].default)


def test_dp_atoms_bound_the_sampler():
    from scaling_theory.numeric.sim.teacher import sample_teacher

    for K in (4, 32, 200):
        assert sample_teacher(4, K, kind="dp", seed=1).m < config_mod.dp_atoms(K)
    t = sample_teacher(2, DP_MAX_K, kind="dp", seed=0)
    assert t.leftover < 1e-8 and t.m < config_mod._DP_MAX_ATOMS  # the largest K allowed still truncates


def test_dp_concentration_beyond_the_sampler_is_refused():
    with pytest.raises(UserInputError) as err:
        SweepConfig.from_dict({"d": 4, "K": DP_MAX_K + 1, "kind": "dp", "budgets": [1e4]})
    assert f"K is at most {DP_MAX_K} for kind dp" in _one_line(err)
    SweepConfig.from_dict({"d": 4, "K": DP_MAX_K + 1, "kind": "finite", "budgets": [1e4], "widths": [1]})


# -- the pool's memory and the long-job limit ---------------------------------------------------------


def _task_of(gib: float) -> dict:
    # a finite teacher of K units whose task needs about `gib` GiB
    K = int(gib * GiB / (3 * 8 * 10))
    return {"d": 8, "K": K, "budgets": [1e4], "widths": [1], "seeds": [0, 1, 2, 3]}


def test_pool_over_the_machine_memory_is_refused_with_a_worker_count_that_fits(machine, tmp_path):
    cfg = SweepConfig.from_dict(_task_of(6.0))   # 4 tasks of about 6.3 GiB on a 16 GiB machine
    path = tmp_path / "s.sqlite"
    with pytest.raises(UserInputError) as err:
        run_sweep(cfg, path, workers=4, progress=False, runner=synthetic_runner)
    message = _one_line(err)
    assert "on 4 worker processes" in message and "use at most 2 workers (--workers 2)" in message
    assert not path.exists()
    assert run_sweep(cfg, path, workers=1, progress=False, runner=synthetic_runner).complete


def test_estimate_over_free_memory_warns(machine, tmp_path, caplog):
    machine(16 * GiB, free=1 * GiB)
    cfg = SweepConfig.from_dict({**_task_of(2.0), "seeds": [0]})
    with caplog.at_level("WARNING", logger=runner_mod.__name__):
        run_sweep(cfg, tmp_path / "s.sqlite", workers=1, progress=False, runner=synthetic_runner)
    [record] = [r for r in caplog.records if r.name == runner_mod.__name__]
    assert "more than the 1 GiB free" in record.getMessage()


LONG = {"d": 8, "K": 10**6, "budgets": [1e12], "widths": [100]}  # a teacher of 1e6 units, 1.1e9 samples


def test_long_sweep_is_refused_unless_allowed(machine, tmp_path, capsys):
    cfg = SweepConfig.from_dict(LONG)
    estimate = estimate_sweep(cfg.expand()[0], 2)
    assert estimate.seconds > LONG_JOB_LIMIT_S
    path = tmp_path / "s.sqlite"
    with pytest.raises(UserInputError) as err:
        run_sweep(cfg, path, progress=False, runner=synthetic_runner)
    assert "over the 24 h limit" in _one_line(err) and "--allow-long" in str(err.value)
    assert not path.exists()
    # allowed: the estimate is printed before the runs start (a synthetic runner makes them instant)
    summary = run_sweep(cfg, path, progress=True, runner=synthetic_runner, allow_long=True)
    assert summary.complete and summary.estimated_seconds == pytest.approx(estimate.seconds, rel=1e-9)
    assert "estimate: 1 runs in 1 tasks, about" in capsys.readouterr().err


def test_cli_long_sweep_and_allow_long(machine, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(runner_mod, "train_runs", synthetic_runner)
    config = tmp_path / "long.toml"
    config.write_text('d = 8\nK = 1000000\nbudgets = [1e12]\nwidths = [100]\n')
    store = tmp_path / "s.sqlite"
    assert main(["simulate", "--config", str(config), "--store", str(store), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "over the 24 h limit" in err and not store.exists()
    assert main(["simulate", "--config", str(config), "--store", str(store), "--allow-long", "--json"]) == 0
    assert '"estimated_seconds"' in capsys.readouterr().out


# -- SIGTERM stops a sweep as Ctrl-C does ---------------------------------------------------------------


def _terminating_runner(runs, *, after):
    if runs[0].seed == after:
        os.kill(os.getpid(), signal.SIGTERM)
    return synthetic_runner(runs)


def test_sigterm_keeps_finished_runs_and_says_so(tmp_path):
    cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2], "seeds": [0, 1, 2, 3]})
    path = tmp_path / "s.sqlite"
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SweepInterrupted) as stop:
        run_sweep(cfg, path, executor="serial", progress=False,
                  runner=functools.partial(_terminating_runner, after=2))
    assert signal.getsignal(signal.SIGTERM) is previous   # the handler is the sweep's only
    summary = stop.value.summary
    assert summary.stopped_by == "SIGTERM" and summary.interrupted and not summary.complete
    assert "terminated (SIGTERM): finished runs are kept" in summary.text()
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert kept == summary.store_counts["done"] and 2 <= kept < 8
    again = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    assert again.already == kept and again.complete


# -- TOML: size, nesting, every field's range ----------------------------------------------------------


def _toml(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


HOSTILE_TOML = {
    "array 5000 deep": ("d = " + "[" * 5000 + "]" * 5000, "nests arrays or tables 5000 deep"),
    "inline tables 5000 deep": ("d = 4\nx = " + "{a = " * 5000 + "1" + "}" * 5000, "5000 deep"),
    "17 deep": ("d = " + "[" * 17 + "1" + "]" * 17 + "\nK = 2\nbudgets = [1e4]", "17 deep"),
    "integer of 5000 digits": ("d = " + "9" * 5000 + "\nK = 2\nbudgets = [1e4]", "thousands of digits"),
    "long unknown key": ("d = 4\nK = 2\nbudgets = [1e4]\n" + "k" * 100_000 + " = 1", "unknown field 'kkkk"),
    "huge d list": ("d = [" + ", ".join(["0"] * 50_000) + "]\nK = 2\nbudgets = [1e4]", "got 0"),
    "bool seed": ("d = 4\nK = 2\nbudgets = [1e4]\nseeds = [true]", "field 'seeds' must contain integers >= 0"),
    "negative seed": ("d = 4\nK = 2\nbudgets = [1e4]\nseeds = [0, -3]", "got -3"),
    "seed beyond 1e9": ("d = 4\nK = 2\nbudgets = [1e4]\nseeds = [10000000000]", "too large"),
    "float seed": ("d = 4\nK = 2\nbudgets = [1e4]\nseeds = [1.5]", "got 1.5"),
    "p/sqrt(C) 1e300": ("d = 4\nK = 2\nbudgets = [1e4]\np_over_sqrt_c = [0.1, 1e300]", "at most 1e+06"),
    "p/sqrt(C) nan": ("d = 4\nK = 2\nbudgets = [1e4]\np_over_sqrt_c = [nan, 1]", "positive finite"),
    "cost factor tiny": ("d = 4\nK = 2\nbudgets = [1e15]\ncost_factor = 1e-300", "at most 1e+15"),
    "cost factor inf": ("d = 4\nK = 2\nbudgets = [1e4]\ncost_factor = inf", "positive finite"),
    "t0 negative": ("d = 4\nK = 2\nbudgets = [1e4]\nt0 = -1", "field 't0' must contain positive"),
    "lr huge": ("d = 4\nK = 2\nbudgets = [1e4]\nlr = 1e9", "at most 1000"),
    "eval_samples float": ("d = 4\nK = 2\nbudgets = [1e4]\neval_samples = 1e8", "must be an integer"),
    "eval_samples over 1e8": ("d = 4\nK = 2\nbudgets = [1e4]\neval_samples = 100000001", "must be an integer"),
    "grid not a table": ("d = 4\nK = 2\nbudgets = [1e4]\ngrid = [1, 2]", "grid 1: expected a table"),
    "nested list of widths": ("d = 4\nK = 2\nbudgets = [1e4]\nwidths = [[1, 2]]", "got [1, 2]"),
    # integers past the float range, where a float was expected
    "budget of 400 digits": ("d = 4\nK = 2\nbudgets = [1" + "0" * 400 + "]", "is too large (at most 1e+15)"),
    "cost factor of 400 digits": ("d = 4\nK = 2\nbudgets = [1e4]\ncost_factor = 1" + "0" * 400,
                                  "must contain positive finite numbers"),
    "p/sqrt(C) of 400 digits": ("d = 4\nK = 2\nbudgets = [1e4]\np_over_sqrt_c = [1, 1" + "0" * 400 + "]",
                                "at most 1e+06"),
    "negative lr of 400 digits": ("d = 4\nK = 2\nbudgets = [1e4]\nlr = -1" + "0" * 400, "positive finite"),
}


@pytest.mark.parametrize("name", list(HOSTILE_TOML))
def test_hostile_toml_is_one_short_line(tmp_path, name):
    text, message = HOSTILE_TOML[name]
    with pytest.raises(UserInputError) as err:
        SweepConfig.from_toml(_toml(tmp_path, text))
    assert message in _one_line(err) and len(str(err.value)) < 400


def test_toml_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.toml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_TOML_BYTES + 1)
    with pytest.raises(UserInputError, match="a sweep config is at most 1 MiB"):
        SweepConfig.from_toml(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_toml_fifo_is_refused_without_blocking(tmp_path):
    path = tmp_path / "c.toml"
    os.mkfifo(path)
    with pytest.raises(UserInputError, match="not a regular file"):
        SweepConfig.from_toml(path)


def test_deep_toml_through_the_cli(tmp_path, capsys):
    path = _toml(tmp_path, "d = " + "[" * 5000 + "]" * 5000)
    assert main(["simulate", "--config", str(path), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "5000 deep" in err and "Traceback" not in err


def test_depth_scan_skips_strings_and_comments():
    text = 'name = "[[[[" # [[[[[\nx = \'{{{\'\ny = """\n[[[[\n"""\nz = [[1], [2]]\n'
    assert config_mod._toml_depth(text) == 2


def test_task_memory_agrees_with_the_config_estimate():
    cfg = SweepConfig.from_dict({"d": 4, "K": 8, "budgets": [1e4, 1e5], "widths": [1, 2, 4], "lr": [0.1, 0.2]})
    runs, _ = cfg.expand()
    # one task per teacher and seed: the config-level estimate is that task's
    assert task_memory(runs)["total"] == pytest.approx(memory_breakdown(cfg)["total"])


def test_a_thousand_dask_workers_are_refused_before_any_starts(machine, tmp_path, monkeypatch):
    import scaling_theory.numeric.sweep.executors as executors

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(executors, "_DaskExecutor", no_cluster)
    with pytest.raises(UserInputError) as err:
        run_sweep(SweepConfig.quick(), tmp_path / "s.sqlite", executor="dask", workers=1000, progress=False,
                  runner=synthetic_runner)
    assert "on 1000 worker processes" in _one_line(err) and "use at most" in str(err.value)
    assert not (tmp_path / "s.sqlite").exists()


def test_a_pool_starts_no_more_workers_than_tasks(tmp_path):
    summary = run_sweep(SweepConfig.quick(), tmp_path / "s.sqlite", workers=100_000, progress=False,
                        runner=synthetic_runner)
    assert summary.complete and summary.executor == "1 local worker process"   # the quick sweep is one task


def test_numpy_numbers_from_the_api_are_read_as_numbers():
    np = pytest.importorskip("numpy")
    cfg = SweepConfig.from_dict({"d": np.int64(4), "K": [np.int32(2)], "budgets": [np.float32(1e4)],
                                 "widths": [np.int64(1)], "eval_samples": np.int64(500)})
    assert cfg.grids[0].d == (4,) and type(cfg.grids[0].d[0]) is int and cfg.eval_samples == 500
    assert cfg.config_hash == SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1],
                                                     "eval_samples": 500}).config_hash
