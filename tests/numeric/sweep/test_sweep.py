"""Sweeps: configs, T from the budget, resume after kill -9, faults, executors (local pool, Dask)."""

import functools
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sweep.store import Store, StoreError
from scaling_theory.numeric.sweep.config import RunSpec, SweepConfig
from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner, train_runs


def _cfg(**over):
    base = {"d": [4], "K": [2], "budgets": [1e4, 1e5], "widths": [1, 2, 4, 8], "seeds": [0, 1, 2]}
    return SweepConfig.from_dict({**base, **over})


def _result_set(path):
    with Store(path) as store:
        return {(r["config_hash"], r["status"], r["error"]) for r in store.rows()}


def _hashes(path):
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        return [h for (h,) in conn.execute("SELECT config_hash FROM runs")]


# -- configuration ----------------------------------------------------------------------------

# (d, width, C, cost_factor) -> T = floor(C / (c n (d+1)))
SAMPLES = {
    (4, 1, 1e4, 1.0): 2000,
    (4, 3, 1e4, 1.0): 666,
    (9, 10, 1e5, 2.0): 500,
    (1, 7, 1400.0, 1.0): 100,
}


@pytest.mark.parametrize("key", list(SAMPLES))
def test_samples_spend_the_budget(key):
    d, width, compute, cost = key
    cfg = SweepConfig.from_dict({"d": d, "K": 1, "budgets": compute, "widths": width,
                                 "cost_factor": cost, "min_samples": 1})
    [run] = cfg.expand()[0]
    assert run.samples == SAMPLES[key]
    assert run.params == width * (d + 1)
    assert cost * run.params * run.samples <= compute < cost * run.params * (run.samples + 1)


def test_too_few_samples_are_skipped_with_a_reason():
    runs, skipped = _cfg(budgets=[1e3], min_samples=100).expand()
    assert sorted({r.width for r in runs}) == [1, 2]
    assert {s["width"] for s in skipped} == {4, 8}
    assert all("< min_samples = 100" in s["reason"] for s in skipped)


def test_auto_widths_bracket_linear_allocation():
    cfg = SweepConfig.from_dict({"d": 8, "K": 4, "budgets": 1e6, "widths_per_budget": 5,
                                 "p_over_sqrt_c": [0.1, 10], "min_samples": 1})
    widths = [r.width for r in cfg.expand()[0]]
    ratios = [w * 9 / 1e3 for w in widths]
    assert len(widths) == 5 and widths == sorted(widths)
    assert ratios[0] == pytest.approx(0.1, rel=0.05) and ratios[-1] == pytest.approx(10, rel=0.01)
    assert ratios[2] == pytest.approx(1, rel=0.05)


def test_grids_union_deduplicates_runs():
    cfg = SweepConfig.from_dict({"K": 2, "budgets": [1e4], "widths": [1, 2], "grid": [
        {"name": "a", "d": [4]}, {"name": "b", "d": [4, 8]}]})
    runs, _ = cfg.expand()
    assert len(runs) == 4 and len({r.config_hash for r in runs}) == 4


def test_run_hash_is_stable_and_sensitive():
    run = _cfg().expand()[0][0]
    again = _cfg().expand()[0][0]
    assert run.config_hash == again.config_hash and len(run.config_hash) == 64
    # golden value: a store written today must be resumable by later versions of the toolkit
    golden = RunSpec(4, 2, "finite", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu")
    assert golden.config_hash == "aacdecf7c19f52ae494ced267909d8c2a63e3d28c30c04cc9948c66eb15b8cb4"
    for name, value in {"lr": 0.1, "seeds": 7, "eval_samples": 500, "kind": "dirichlet"}.items():
        assert _cfg(**{name: value}).expand()[0][0].config_hash != run.config_hash, name


def test_seeds_give_independent_streams():
    run = _cfg().expand()[0][0]
    assert len({run.teacher_seed, run.data_seed, run.init_seed, run.eval_seed}) == 4


def test_default_and_quick_are_informative():
    default = SweepConfig.default()
    runs, _ = default.expand()
    iso = [r for r in runs if (r.d, r.K) == (default.grids[0].d[0], default.grids[0].K[0])]
    budgets = sorted({r.compute for r in iso})
    assert budgets[-1] / budgets[0] >= 100
    for c in budgets:
        assert len({r.width for r in iso if r.compute == c}) >= 5
    assert len({r.seed for r in runs}) >= 3
    assert len({r.d for r in runs}) >= 3 and len({r.K for r in runs}) >= 3
    quick_runs, _ = SweepConfig.quick().expand()
    assert 0 < len(quick_runs) <= 16


def test_dict_round_trip_and_config_hash():
    cfg = SweepConfig.default()
    again = SweepConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.config_hash == cfg.config_hash
    assert _cfg(lr=0.1).config_hash != _cfg().config_hash


def test_from_toml_reads_grids(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(textwrap.dedent("""
        seeds = [0, 1]
        lr = 0.1
        schedule = "inverse"
        [[grid]]
        name = "iso"
        d = [8]
        K = [4]
        budgets = [1e5, 1e6]
        [[grid]]
        name = "d-trend"
        d = [4, 16]
        K = 4
        budgets = [1e5]
        widths = [2, 4]
    """))
    cfg = SweepConfig.from_toml(path)
    assert [g.name for g in cfg.grids] == ["iso", "d-trend"]
    assert cfg.grids[1].widths == (2, 4) and cfg.grids[0].widths is None
    assert cfg.grids[0].lr == (0.1,) and cfg.grids[1].schedule == ("inverse",)


BAD_TOML = {
    "d = [0]\nK = 1\nbudgets = 1e4": "field 'd' must contain positive integers, got 0",
    "d = 4\nK = 1.5\nbudgets = 1e4": "field 'K' must contain positive integers, got 1.5",
    "d = 4\nK = 1\nbudgets = ['x']": "field 'budgets' must contain positive finite numbers",
    "d = 4\nK = 1\nbudgets = -1e4": "field 'budgets' must contain positive finite numbers",
    "d = 4\nK = 1\nbudgets = nan": "field 'budgets' must contain positive finite numbers",
    "d = 4\nK = 1\nbudgets = inf": "field 'budgets' must contain positive finite numbers",
    "d = 4\nK = 1\nbudgets = 1e300": "field 'budgets' value 1e+300 is too large",
    "d = 4\nK = 1\nbudgets = []": "field 'budgets' must not be empty",
    "d = 4\nK = 1": "field 'budgets' is missing",
    "d = 4\nK = 1\nbudgets = 1e4\nlr = -0.1": "field 'lr' must contain positive finite numbers",
    "d = 4\nK = 1\nbudgets = 1e4\nkind = 'weird'": "field 'kind' must be one of finite, dp",
    "d = 4\nK = 1\nbudgets = 1e4\noptimizer = 'lbfgs'": "field 'optimizer' must be one of sgd, adam",
    "d = 4\nK = 1\nbudgets = 1e4\nwidths = 'some'": "field 'widths' must be \"auto\"",
    "d = 4\nK = 1\nbudgets = 1e4\np_over_sqrt_c = [2, 1]": "field 'p_over_sqrt_c' must have lo <= hi",
    "d = 4\nK = 1\nbudgets = 1e4\nseeds = [-1]": "field 'seeds' must contain integers >= 0",
    "d = 4\nK = 1\nbudgets = 1e4\nmin_samples = 0": "field 'min_samples' must be an integer",
    "d = 4\nK = 1\nbudgets = 1e4\ndevice = 'gpu'": "field 'device' must be one of cpu, numpy, cuda",
    "d = 4\nK = 1\nbudgets = 1e4\ncost_factor = [1, 2]": "field 'cost_factor' must be a single number",
    "d = 4\nK = 1\nbudgets = 1e4\ncolour = 'red'": "unknown field 'colour'",
    "K = 1\nbudgets = 1e4\n[[grid]]\nname = 'g'\nd = 4\nfoo = 1": "grid 1: unknown field 'foo'",
    "K = 1\nbudgets = 1e4\n[[grid]]\nname = 'g'": "grid 'g': field 'd' is missing",
    "d = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nK = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nbudgets = 1e4\n"
    "widths = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nseeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n"
    "lr = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]": "at most 100000 are allowed",
    "d = [": "is not valid TOML",
}


@pytest.mark.parametrize("text", list(BAD_TOML))
def test_bad_toml_is_a_one_line_error_naming_the_field(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UserInputError) as err:
        SweepConfig.from_toml(path)
    message = str(err.value)
    assert BAD_TOML[text] in message and "\n" not in message


def test_unreadable_toml_files(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        SweepConfig.from_toml(tmp_path / "none.toml")
    with pytest.raises(UserInputError, match="is a directory"):
        SweepConfig.from_toml(tmp_path)
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UserInputError, match="not UTF-8"):
        SweepConfig.from_toml(tmp_path / "bin.toml")


# -- running, resuming, faults ------------------------------------------------------------------


def test_sweep_records_every_run_once_and_resume_skips(tmp_path):
    path = tmp_path / "runs.sqlite"
    cfg = _cfg()
    first = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    assert (first.total, first.done, first.already, first.complete) == (24, 24, 0, True)
    again = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    assert (again.done, again.already) == (0, 24)
    with Store(path) as store:
        rows = store.rows()
    assert sorted(r["config_hash"] for r in rows) == sorted(r.config_hash for r in cfg.expand()[0])
    assert all(r["error"] > 0 and r["params"] == r["width"] * 5 for r in rows)
    assert all(r["metrics"]["spent"] <= r["compute"] for r in rows)
    # the call's p*T is what it recorded (the rate's numerator); a resumed call trained nothing
    assert first.pT == pytest.approx(sum(r["params"] * r["samples"] for r in rows), rel=1e-12) and first.pT > 0
    assert again.pT == 0 and again.to_json()["pT"] == 0


def test_a_bigger_sweep_on_the_same_store_runs_only_the_new_runs(tmp_path):
    path = tmp_path / "runs.sqlite"
    run_sweep(_cfg(seeds=[0]), path, executor="serial", progress=False, runner=synthetic_runner)
    more = run_sweep(_cfg(seeds=[0, 1]), path, executor="serial", progress=False, runner=synthetic_runner)
    assert (more.already, more.done) == (8, 8)


def test_failed_runs_are_recorded_and_retried(tmp_path):
    path = tmp_path / "runs.sqlite"
    failing = functools.partial(synthetic_runner, fail_width=2)
    cfg = _cfg(budgets=[1e4], widths=[2, 4], seeds=[0])
    # widths 2 and 4 train in one call; the failure is pinned on width 2 alone
    s = run_sweep(cfg, path, executor="serial", progress=False, runner=failing)
    assert (s.failed, s.done) == (1, 1) and not s.complete
    with Store(path) as store:  # the failed run's p*T is not counted in the call's rate
        assert s.pT == sum(r["params"] * r["samples"] for r in store.rows("done")) > 0
    assert "n=2" in s.failures[0] and "synthetic failure at width 2" in s.failures[0]
    assert "rerun to resume" in s.text("scaling-theory simulate --store x")
    s = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    assert (s.done, s.already, s.complete) == (1, 1, True)
    with Store(path) as store:
        assert store.counts() == {"done": 2, "diverged": 0, "failed": 0}


def test_diverged_runs_are_kept_and_not_retried(tmp_path):
    path = tmp_path / "runs.sqlite"
    runner = functools.partial(synthetic_runner, diverge_below=1000)
    s = run_sweep(_cfg(seeds=[0]), path, executor="serial", progress=False, runner=runner)
    assert s.diverged == 2 and s.complete
    assert run_sweep(_cfg(seeds=[0]), path, executor="serial", progress=False,
                     runner=synthetic_runner).already == 8
    with Store(path) as store:
        diverged = store.rows("diverged")
    assert {r["width"] for r in diverged} == {4, 8} and all(r["error"] is None for r in diverged)


def test_disk_full_mid_sweep_stops_with_store_error_and_resume_completes(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    real_write = Store._write
    calls = {"n": 0}

    def fails_after_five(self, sql, params):
        calls["n"] += 1
        if calls["n"] > 5:
            raise sqlite3.OperationalError("database or disk is full")
        return real_write(self, sql, params)

    monkeypatch.setattr(Store, "_write", fails_after_five)
    with pytest.raises(StoreError, match="disk is full"):
        run_sweep(_cfg(), path, executor="serial", progress=False, runner=synthetic_runner)
    monkeypatch.undo()
    assert len(_hashes(path)) == 5
    s = run_sweep(_cfg(), path, executor="serial", progress=False, runner=synthetic_runner)
    assert (s.already, s.done) == (5, 19)
    hashes = _hashes(path)
    assert len(hashes) == len(set(hashes)) == 24


def test_read_only_store_fails_before_running_anything(tmp_path, monkeypatch):
    import scaling_theory.numeric.sweep.store as store_mod
    path = tmp_path / "runs.sqlite"
    run_sweep(_cfg(seeds=[0]), path, executor="serial", progress=False, runner=synthetic_runner)
    monkeypatch.setattr(store_mod.os, "access", lambda p, mode: mode != os.W_OK)
    called = []
    with pytest.raises(StoreError, match="read-only"):
        run_sweep(_cfg(), path, executor="serial", progress=False,
                  runner=lambda runs: called.append(runs) or synthetic_runner(runs))
    assert called == []


@pytest.mark.subprocess
def test_foreign_store_is_refused_by_the_sweep(tmp_path):
    path = tmp_path / "x.sqlite"
    path.write_text("hello")
    with pytest.raises(StoreError, match="not an SQLite file"):
        run_sweep(_cfg(), path, executor="serial", progress=False, runner=synthetic_runner)
    assert path.read_text() == "hello"


_SCRIPT = """
import functools, json, sys
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
cfg = SweepConfig.from_dict(json.loads(sys.argv[1]))
runner = functools.partial(synthetic_runner, delay=float(sys.argv[3]))
s = run_sweep(cfg, sys.argv[2], executor=sys.argv[4], workers=int(sys.argv[5]), progress=False, runner=runner)
print(json.dumps(s.to_json()))
"""


def _spawn(cfg_dict, path, delay, executor="serial", workers=1):
    return subprocess.Popen([sys.executable, "-c", _SCRIPT, json.dumps(cfg_dict), str(path), str(delay),
                             executor, str(workers)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_rows(path, n, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                if len(_hashes(path)) >= n:
                    return
            except sqlite3.Error:
                pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the sweep wrote no rows in time")


CFG_60 = {"d": [4], "K": [2], "budgets": [1e4, 1e5], "widths": [1, 2, 3, 4, 5, 6], "seeds": list(range(5))}


def test_kill_9_mid_sweep_then_resume_loses_and_duplicates_nothing(tmp_path):
    path = tmp_path / "runs.sqlite"
    proc = _spawn(CFG_60, path, delay=0.05)
    _wait_for_rows(path, 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _result_set(path)
    assert 10 <= len(before) < 60
    s = run_sweep(SweepConfig.from_dict(CFG_60), path, executor="serial", progress=False,
                  runner=synthetic_runner)
    # a run whose commit was durable but not yet in the WAL index when the writer died shows up
    # once SQLite recovers the WAL (the next writer), so at most one more run than `before` read
    assert len(before) <= s.already <= len(before) + 1 and s.done == 60 - s.already
    after = _result_set(path)
    assert before <= after and len(after) == 60
    hashes = _hashes(path)
    assert len(hashes) == len(set(hashes)) == 60
    expected = {r.config_hash for r in SweepConfig.from_dict(CFG_60).expand()[0]}
    assert set(hashes) == expected


def test_two_sweeps_writing_one_store_at_once(tmp_path):
    path = tmp_path / "runs.sqlite"
    Store(path, create=True).close()
    procs = [_spawn(CFG_60, path, delay=0.01) for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    hashes = _hashes(path)
    assert len(hashes) == len(set(hashes)) == 60
    # every run was recorded by exactly one of them; the other saw it and skipped it
    assert sum(o["done"] for o in outs) == 60
    assert all(o["complete"] for o in outs)


# -- executors ----------------------------------------------------------------------------------


def test_local_process_pool_gives_the_same_rows_as_serial(tmp_path):
    cfg = _cfg(seeds=[0, 1])
    run_sweep(cfg, tmp_path / "a.sqlite", executor="serial", progress=False, runner=synthetic_runner)
    s = run_sweep(cfg, tmp_path / "b.sqlite", executor="local", workers=2, progress=False,
                  runner=synthetic_runner)
    assert s.done == 16 and "2 local worker processes" in s.executor
    assert _result_set(tmp_path / "a.sqlite") == _result_set(tmp_path / "b.sqlite")


def test_dask_local_cluster_gives_the_same_rows_as_local(tmp_path):
    pytest.importorskip("distributed")
    cfg = _cfg(seeds=[0, 1])
    run_sweep(cfg, tmp_path / "a.sqlite", executor="serial", progress=False, runner=synthetic_runner)
    s = run_sweep(cfg, tmp_path / "b.sqlite", executor="dask", workers=2, progress=False,
                  runner=synthetic_runner)
    assert s.done == 16 and "LocalCluster" in s.executor
    assert _result_set(tmp_path / "a.sqlite") == _result_set(tmp_path / "b.sqlite")


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_dask_scheduler_address_runs_on_that_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = _cfg(seeds=[0])
    run_sweep(cfg, tmp_path / "a.sqlite", executor="serial", progress=False, runner=synthetic_runner)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        s = run_sweep(cfg, tmp_path / "b.sqlite", executor="dask", scheduler=cluster.scheduler_address,
                      progress=False, runner=synthetic_runner)
    assert s.done == 8 and cluster.scheduler_address in s.executor
    assert _result_set(tmp_path / "a.sqlite") == _result_set(tmp_path / "b.sqlite")


def test_unreachable_dask_scheduler_is_a_quick_one_line_error(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import scaling_theory.numeric.sweep.executors as ex
    monkeypatch.setattr(ex, "DASK_CONNECT_TIMEOUT_S", 1.0)
    start = time.monotonic()
    with pytest.raises(UserInputError) as err:
        run_sweep(_cfg(), tmp_path / "runs.sqlite", executor="dask", scheduler="tcp://127.0.0.1:9",
                  progress=False, runner=synthetic_runner)
    assert time.monotonic() - start < 30
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in str(err.value)
    assert "\n" not in str(err.value)


def test_executor_argument_errors(tmp_path):
    for kwargs, message in {(("executor", "mpi"),): "unknown executor 'mpi'",
                            (("executor", "local"), ("scheduler", "tcp://x:1")): "--scheduler needs",
                            (("executor", "local"), ("workers", 0)): "workers must be a positive"}.items():
        with pytest.raises(UserInputError, match=message):
            run_sweep(_cfg(), tmp_path / "r.sqlite", progress=False, runner=synthetic_runner, **dict(kwargs))


# -- the real trainer, tiny -------------------------------------------------------------------


def test_real_trainer_end_to_end_and_resume_is_grouping_independent(tmp_path):
    cfg = SweepConfig.from_dict({"d": 3, "K": 2, "budgets": [2000], "widths": [1, 2, 3], "seeds": [0],
                                 "kind": ["finite", "dp"], "eval_samples": 500, "min_samples": 10})
    path = tmp_path / "real.sqlite"
    s = run_sweep(cfg, path, executor="serial", progress=False)
    assert s.done == 6 and s.complete, s.failures
    with Store(path) as store:
        rows = {(r["kind"], r["width"]): r for r in store.rows()}
    assert all(math.isfinite(r["error"]) and r["error"] >= 0 and r["error_se"] > 0 for r in rows.values())
    assert {w: r["samples"] for (kind, w), r in rows.items()} == {1: 500, 2: 250, 3: 166}
    # a resumed sweep may train one run of a row alone: the numbers must not depend on that
    runs = [r for r in cfg.expand()[0] if r.width == 2 and r.kind == "finite"]
    [alone] = train_runs(runs)
    assert alone["error"] == rows[("finite", 2)]["error"]
    # the time-averaged online KL (what the bound is about) is recorded beside the final error
    assert alone["metrics"]["online_kl"] == rows[("finite", 2)]["metrics"]["online_kl"]
    assert all(r["metrics"]["online_kl"] > r["metrics"]["online_kl_se"] > 0 for r in rows.values())


def test_old_teacher_name_is_read_as_dp_and_keeps_its_hash():
    # 'dirichlet' is the old name of the dp teacher: read as dp, hashed as before so old stores resume
    old = _cfg(kind="dirichlet").expand()[0][0]
    new = _cfg(kind="dp").expand()[0][0]
    assert old.kind == new.kind == "dp" and old.config_hash == new.config_hash
    spec = RunSpec(4, 2, "dp", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu")
    legacy = dict(spec.to_config(), kind="dirichlet")
    from scaling_theory.numeric.sweep.config import _hash
    assert spec.config_hash == _hash(legacy)


def test_store_reads_old_teacher_name_as_dp(tmp_path):
    from scaling_theory.numeric.sweep.store import Store
    with Store(tmp_path / "old.sqlite", create=True) as store:
        store.record({"config_hash": "h-old", "config": {"d": 4, "K": 2, "kind": "dirichlet", "compute": 1e4,
                      "width": 1, "params": 5, "samples": 2000, "seed": 0, "lr": 0.1, "batch_size": 1,
                      "optimizer": "sgd"}, "status": "done", "error": 0.1, "error_se": 0.01, "seconds": 1.0})
        [row] = store.rows()
    assert row["kind"] == "dp" and row["config"]["kind"] == "dp"
