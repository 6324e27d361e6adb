"""The Pitman-Yor teacher in the sweep: config (sigma field, hashes), memory estimate, runner, store, read paths, CLI."""

import json
import math
import sqlite3

import numpy as np
import pytest
import sympy as sp

from scaling_theory.cli import main
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.data import from_store, split_groups
from scaling_theory.numeric.sim.teacher import sample_teacher
from scaling_theory.numeric.sweep import config as sweep_config
from scaling_theory.numeric.sweep.config import (RunSpec, SweepConfig, pitman_yor_cut, pitman_yor_dropped_share,
                                                 split_teacher_tag, teacher_tag)
from scaling_theory.numeric.sweep.runner import estimate_sweep, run_sweep, synthetic_runner, train_runs
from scaling_theory.numeric.sweep.store import Store
from scaling_theory.theory import teachers

PY = {"d": [4], "K": [2], "kind": ["finite", "pitman-yor"], "sigma": [0.25, 0.5], "budgets": [1e4, 1e5],
      "widths": [1, 2, 4], "seeds": [0, 1]}


# -- configuration ------------------------------------------------------------------------------


def test_sigma_crosses_the_pitman_yor_kind_only():
    runs, _ = SweepConfig.from_dict(PY).expand()
    teachers_ = sorted({r.teacher for r in runs})
    assert teachers_ == ["finite", "pitman-yor(sigma=0.25)", "pitman-yor(sigma=0.5)"]
    assert len(runs) == SweepConfig.from_dict(PY).size() == 3 * 2 * 3 * 2
    assert all((r.sigma is None) == (r.kind != "pitman-yor") for r in runs)
    assert len({r.config_hash for r in runs}) == len(runs)    # each discount is its own run


def test_finite_and_dp_hashes_are_those_of_old_stores():
    # golden values written before the sigma field existed: old stores must resume
    spec = RunSpec(4, 2, "dp", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu")
    assert spec.config_hash == "64d146491913e8729aaa13c71dcb111878a29ee3c2b56b3fa0634d6f765b4919"
    fin = RunSpec(4, 2, "finite", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu")
    assert fin.config_hash == "aacdecf7c19f52ae494ced267909d8c2a63e3d28c30c04cc9948c66eb15b8cb4"
    assert "sigma" not in spec.to_config() and "sigma" not in SweepConfig.default().to_dict()["grid"][0]
    assert SweepConfig.default().config_hash == "cba3a0d45b993fb1dbfc9df68bd617f405f3ff1cc8bb905202eca10ee44ca09f"
    assert SweepConfig.protocol().config_hash == "e89f6b20bd36b266590647d37fc59d3e5cfed2a71ea2003be4b915e6bf6a85d8"


def test_pitman_yor_hash_names_the_discount_and_round_trips():
    cfg = SweepConfig.from_dict(PY)
    again = SweepConfig.from_dict(cfg.to_dict())
    assert again == cfg and again.config_hash == cfg.config_hash
    a = RunSpec(4, 2, "pitman-yor", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu", sigma=0.5)
    b = RunSpec(4, 2, "pitman-yor", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu", sigma=0.25)
    dp = RunSpec(4, 2, "dp", 1e4, 1, 0, 0.05, 1, "sgd", "constant", 1e4, 2000, 20000, 1.0, "cpu")
    assert a.to_config()["sigma"] == 0.5 and a.to_config()["kind"] == "pitman-yor"
    assert len({a.config_hash, b.config_hash, dp.config_hash}) == 3


@pytest.mark.parametrize("over, message", [
    ({"sigma": [0.5]}, "field 'sigma' is the Pitman-Yor discount; it needs kind 'pitman-yor' (kind is finite)"),
    ({"kind": "dp", "sigma": 0.5}, "it needs kind 'pitman-yor' (kind is dp)"),
    ({"kind": "pitman-yor"}, "kind 'pitman-yor' needs field 'sigma'"),
    ({"kind": "pitman-yor", "sigma": 1}, "field 'sigma' must contain Pitman-Yor discounts in [0, 1), got 1"),
    ({"kind": "pitman-yor", "sigma": [0.5, -0.1]}, "got -0.1"),
    ({"kind": "pitman-yor", "sigma": math.nan}, "got nan"),
    ({"kind": "pitman-yor", "sigma": math.inf}, "got inf"),
    ({"kind": "pitman-yor", "sigma": True}, "field 'sigma' must contain numbers in [0, 1), got True"),
    ({"kind": "pitman-yor", "sigma": "0.5"}, "got '0.5'"),
    ({"kind": "pitman-yor", "sigma": []}, "field 'sigma' must not be empty"),
    ({"kind": "pitman-yor", "sigma": 0.9, "K": 1024}, "needs more than 1e+07 atoms to drop at most 1e-06 of its"),
])
def test_bad_sigma_is_one_line(over, message):
    with pytest.raises(UserInputError) as err:
        SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], **over})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_teacher_tags_round_trip():
    for kind, sigma in [("finite", None), ("dp", None), ("pitman-yor", 0.0), ("pitman-yor", 1 / 3)]:
        assert split_teacher_tag(teacher_tag(kind, sigma)) == (kind, sigma)
    with pytest.raises(UserInputError, match="named with its discount"):
        split_teacher_tag("pitman-yor")
    with pytest.raises(UserInputError, match=r"lie in \[0, 1\)"):
        split_teacher_tag("pitman-yor(sigma=2)")


def test_with_widths_refines_one_discount():
    cfg = SweepConfig.from_dict(PY)
    more = cfg.with_widths({(4, 2, "pitman-yor(sigma=0.5)"): {1e4: [3]}})
    added = [r for r in more.expand()[0] if r.width == 3]
    assert {r.teacher for r in added} == {"pitman-yor(sigma=0.5)"} and len(added) == 2
    with pytest.raises(UserInputError, match="no grid of the sweep holds .*pitman-yor.sigma=0.75"):
        cfg.with_widths({(4, 2, "pitman-yor(sigma=0.75)"): {1e4: [3]}})


# -- the atoms a Pitman-Yor teacher holds (memory and time estimates) ----------------------------


def test_the_cut_is_the_samplers_and_drops_at_most_1e6_of_the_signal():
    from scaling_theory.numeric.bayes.smc import TEACHER_DROPPED_SHARE, py_teacher_atoms, teacher_arguments

    assert sweep_config.PY_TEACHER_SHARE == TEACHER_DROPPED_SHARE
    for K in (1, 2, 8, 32, 100):
        for s in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9):
            try:
                cut = pitman_yor_cut(K, s)
            except UserInputError:
                with pytest.raises(UserInputError):
                    py_teacher_atoms(float(K), s)
                continue
            assert cut == py_teacher_atoms(float(K), s)       # one rule: the SMC's and the sweep's teachers
            assert pitman_yor_dropped_share(K, s, cut) <= 1e-6 < pitman_yor_dropped_share(K, s, cut - 1)
    # the sweep's teacher is the SMC's: the same atoms, weights and sticks for the same kind and seed
    runs, _ = SweepConfig.from_dict({"d": 3, "K": 2, "kind": "pitman-yor", "sigma": 0.5, "budgets": [1e3],
                                     "widths": [1], "min_samples": 1}).expand()
    ours = sample_teacher(3, 2, kind="pitman-yor", seed=runs[0].teacher_seed, **teacher_arguments("pitman-yor", 2, 0.5))
    assert ours.m == pitman_yor_cut(2, 0.5) == 589 and ours.dropped_share < 1e-4
    counts = [sample_teacher(2, 8, kind="pitman-yor", sigma=0.1, seed=i, max_atoms=pitman_yor_cut(8, 0.1)).m
              for i in range(10)]
    assert counts == [pitman_yor_cut(8, 0.1)] * 10    # the cut ends the stick before the leftover's tolerance
    with pytest.raises(UserInputError, match="needs more than 1e.07 atoms to drop at most 1e-06"):
        SweepConfig.from_dict({"d": 4, "K": 1024, "kind": "pitman-yor", "sigma": 0.9, "budgets": [1e4]})


def test_dropped_share_is_the_squared_tail_of_the_closed_form():
    for K, s, n in [(2, sp.Rational(1, 2), 50), (32, sp.Rational(3, 4), 1000), (3, sp.Integer(0), 10)]:
        t = teachers.py_stick_square_tail(sp.Integer(n), sp.Integer(K), s) / teachers.py_stick_square_tail(
            sp.Integer(0), sp.Integer(K), s)
        assert pitman_yor_dropped_share(K, float(s), n) == pytest.approx(float(t), rel=1e-10)
    t = sample_teacher(2, 2.0, kind="pitman-yor", sigma=0.75, seed=0, max_atoms=2000)
    assert t.dropped_share < 50 * pitman_yor_dropped_share(2, 0.75, 2000)   # one draw, the same order


def test_memory_and_time_estimates_count_the_atoms():
    def one(kind, sigma=None):
        extra = {} if sigma is None else {"sigma": sigma}
        cfg = SweepConfig.from_dict({"d": 8, "K": 32, "kind": kind, "budgets": [1e5], "widths": [4], **extra})
        runs, _ = cfg.expand()
        return sweep_config.memory_breakdown(cfg)["teacher"], estimate_sweep(runs).core_seconds

    (dp_mem, dp_time), (py_mem, py_time) = one("dp"), one("pitman-yor", 0.75)
    assert py_mem == 3 * 8.0 * pitman_yor_cut(32, 0.75) * (8 + 2)   # 175117 atoms: its cut
    assert py_mem > 100 * dp_mem and py_time > 10 * dp_time
    assert one("pitman-yor", 0.0) == (dp_mem, dp_time)       # sigma = 0 is the dp teacher's stick


# -- runs, store, resume, read paths ------------------------------------------------------------


def test_sweep_stores_resumes_and_reads_back_labelled(tmp_path):
    path = tmp_path / "runs.sqlite"
    cfg = SweepConfig.from_dict(PY)
    first = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    assert first.done == first.total == 36 and first.complete
    again = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    assert again.already == 36 and again.done == 0
    with Store(path) as store:
        rows = store.rows()
    by_teacher = {}
    for r in rows:
        by_teacher.setdefault(r["teacher"], []).append(r)
    assert sorted(by_teacher) == ["finite", "pitman-yor(sigma=0.25)", "pitman-yor(sigma=0.5)"]
    assert {r["sigma"] for r in by_teacher["pitman-yor(sigma=0.5)"]} == {0.5}
    assert {r["kind"] for r in by_teacher["pitman-yor(sigma=0.5)"]} == {"pitman-yor"}
    assert {r["sigma"] for r in by_teacher["finite"]} == {None}
    # the fit reads one group per discount, named by it
    groups = split_groups(from_store(path))
    assert sorted(k[2] for k in groups) == ["finite", "pitman-yor(sigma=0.25)", "pitman-yor(sigma=0.5)"]
    assert all(len(part) == 6 for part in groups.values())    # 2 budgets x 3 widths, seeds averaged


def test_a_pitman_yor_row_without_its_discount_is_damaged(tmp_path):
    path = tmp_path / "runs.sqlite"
    cfg = SweepConfig.from_dict({**PY, "kind": ["pitman-yor"], "sigma": [0.5], "seeds": [0]})
    run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    with sqlite3.connect(path) as conn:
        [(h, text)] = conn.execute("SELECT config_hash, config FROM runs LIMIT 1").fetchall()
        config = json.loads(text)
        del config["sigma"]
        conn.execute("UPDATE runs SET config = ? WHERE config_hash = ?", (json.dumps(config), h))
    with Store(path) as store:
        rows = store.rows()
        assert len(rows) == 5 and [d.config_hash for d in store.damaged] == [h]
        assert "not a Pitman-Yor discount" in store.damaged[0].reason
    # a resumed sweep runs it again and replaces it
    assert run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner).done == 1


def test_real_runner_samples_the_pitman_yor_teacher_and_reproduces():
    cfg = SweepConfig.from_dict({"d": 2, "K": 2, "kind": "pitman-yor", "sigma": [0.25], "budgets": [3e3],
                                 "widths": [1, 2], "eval_samples": 500})
    runs, _ = cfg.expand()
    out, again = train_runs(runs), train_runs(runs)
    assert [o["error"] for o in out] == [o["error"] for o in again]       # seeded: the same numbers
    teacher = sample_teacher(2, 2, kind="pitman-yor", sigma=0.25, seed=runs[0].teacher_seed,
                             max_atoms=pitman_yor_cut(2, 0.25))
    assert all(o["status"] == "done" and o["error"] > 0 for o in out)
    assert out[0]["metrics"]["teacher_atoms"] == teacher.m == 74
    assert out[0]["metrics"]["teacher_leftover"] == teacher.leftover
    assert out[0]["metrics"]["teacher_dropped_share"] == teacher.dropped_share < 1e-3
    # another discount is another teacher: other numbers on the same seeds
    other = SweepConfig.from_dict({**cfg.to_dict(), "grid": [{**cfg.to_dict()["grid"][0], "sigma": [0.5]}]})
    assert train_runs(other.expand()[0])[0]["error"] != out[0]["error"]
    # sigma = 0 is the dp teacher bit for bit: the same numbers under another key
    zero = SweepConfig.from_dict({**cfg.to_dict(), "grid": [{**cfg.to_dict()["grid"][0], "sigma": [0.0]}]})
    dp = SweepConfig.from_dict({**cfg.to_dict(), "grid": [{k: v for k, v in cfg.to_dict()["grid"][0].items()
                                                           if k != "sigma"} | {"kind": ["dp"]}]})
    (z, zr), (p, pr) = ((c.expand()[0], train_runs(c.expand()[0])) for c in (zero, dp))
    assert [o["error"] for o in zr] == [o["error"] for o in pr] and z[0].config_hash != p[0].config_hash


# -- the CLI ------------------------------------------------------------------------------------


def test_simulate_and_fit_name_the_discount(tmp_path, capsys, monkeypatch):
    import scaling_theory.numeric.sweep.runner as sweep

    monkeypatch.setattr(sweep, "train_runs", sweep.synthetic_runner)
    toml = tmp_path / "py.toml"
    toml.write_text('d = 4\nK = 2\nkind = ["dp", "pitman-yor"]\nsigma = [0.5]\nbudgets = [1e4, 1e5, 1e6]\n'
                    'widths_per_budget = 5\n')
    store = tmp_path / "r.sqlite"
    assert main(["simulate", "--config", str(toml), "--store", str(store), "--workers", "1", "--quiet"]) == 0
    assert "this call: 24 done" in capsys.readouterr().out
    assert main(["fit", "--store", str(store), "--bootstrap", "0", "--approach", "2", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert [(g["kind"], g.get("sigma"), g["teacher"]) for g in groups] == [
        ("dp", None, "dp"), ("pitman-yor", 0.5, "pitman-yor(sigma=0.5)")]
    assert main(["fit", "--store", str(store), "--bootstrap", "0", "--approach", "2"]) == 0
    assert "[d=4, K=2, pitman-yor(sigma=0.5)]" in capsys.readouterr().out


@pytest.mark.parametrize("line, message", [
    ('kind = "pitman-yor"\nsigma = [1.0]', "discounts in [0, 1), got 1.0"),
    ('kind = "pitman-yor"\nsigma = [nan]', "got nan"),
    ('kind = "finite"\nsigma = [0.5]', "needs kind 'pitman-yor'"),
    ('kind = "pitman-yor"', "needs field 'sigma'"),
])
def test_simulate_refuses_a_bad_discount_in_one_line(tmp_path, capsys, line, message):
    toml = tmp_path / "bad.toml"
    toml.write_text(f"d = 4\nK = 2\nbudgets = [1e4]\n{line}\n")
    store = tmp_path / "r.sqlite"
    assert main(["simulate", "--config", str(toml), "--store", str(store), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not store.exists()
