"""`scaling-theory bayes`: JSON keys, one-line errors naming the limit, the bench, the subprocess path."""

import json
import subprocess
import sys

import pytest

from scaling_theory.cli import main


def test_json_has_the_promised_keys(capsys):
    argv = ["bayes", "--teacher", "finite", "--d", "1", "--K", "1", "--T", "100", "--teachers", "2",
            "--particles", "100", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"error", "error_se", "bound", "holds", "sgd_error", "ess_min"} <= set(out)
    assert out["holds"] is True and out["bound"] > out["error"] > 0 and out["sgd_error"] > 0
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["error"] == out["error"]   # seeded


def test_text_summary_for_the_infinite_teacher(capsys):
    argv = ["bayes", "--teacher", "dp", "--d", "1", "--K", "1", "--T", "100", "--teachers", "2",
            "--particles", "100", "--no-sgd"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "jeon-van-roy" in out and "holds: yes" in out and "min ESS" in out


@pytest.mark.parametrize("args,needle", [(["--d", "65"], "d must be an integer in [1, 64]"),
                                         (["--K", "65"], "K must be an integer in [1, 64]"),
                                         (["--T", "0"], "T must be an integer in [1, 1000000]"),
                                         (["--T", "2e6"], "T must be an integer in [1, 1000000]"),
                                         (["--T", "150.5"], "T must be an integer"),
                                         (["--T", "nan"], "T must be an integer"),
                                         (["--particles", "20"], "particles must be an integer in [100, 1000000]"),
                                         (["--teachers", "1"], "teachers must be an integer in [2, 100000]"),
                                         (["--width", "0"], "width must be an integer in [1, 4096]"),
                                         (["--width", "-3"], "width must be an integer in [1, 4096]"),
                                         (["--seed", "-1"], "seed must be an integer in [0, "),
                                         (["--particles", "20000", "--teachers", "256", "--T", "20000"],
                                          "above the limit of 10 min; pass --allow-long"),
                                         (["--d", "64", "--K", "64", "--particles", "1000000", "--teachers",
                                           "100000", "--T", "1000000"], "more memory than this machine's")])
def test_bad_input_is_one_line_naming_the_limit(args, needle, capsys):
    assert main(["bayes", *args]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert out == ""                                       # nothing written


def test_the_width_K_learner_is_the_unrestricted_one_and_small_T_is_measured(capsys):
    base = ["bayes", "--d", "1", "--K", "2", "--T", "60", "--teachers", "2", "--particles", "100", "--no-sgd",
            "--json"]
    assert main(base) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*base, "--width", "2"]) == 0
    wide = json.loads(capsys.readouterr().out)
    assert wide["error"] == plain["error"] and wide["curve"] == plain["curve"] and wide["width"] == 2
    # T = 60 is below the Maurey route's window; the direct route (n >= K = 2) holds there
    assert plain["bound_route"] == "direct" and plain["bound_routes"]["maurey"] is None and plain["holds"] is True
    assert main([*base, "--width", "1"]) == 0
    narrow = json.loads(capsys.readouterr().out)
    assert narrow["error"] != plain["error"] and narrow["error"] > 0
    # width 1 < K and T < 8 pi^2: no route covers the cell; the error is measured anyway
    assert narrow["bound"] is None and narrow["holds"] is None and "below every route's window" in narrow["bound_note"]


def test_a_long_job_prints_its_estimate_first(capsys, monkeypatch):
    import scaling_theory.commands.bayes as command

    monkeypatch.setattr(command, "_ANNOUNCE_SECONDS", 0.0)
    argv = ["bayes", "--d", "1", "--K", "1", "--T", "1", "--teachers", "2", "--particles", "100", "--no-sgd"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.startswith("scaling-theory bayes: estimated about ") and "particle updates" in err


def test_bench_prints_throughput(capsys, monkeypatch):
    import scaling_theory.numeric.bayes.bench as bench

    full = bench.bench_kernels
    small = lambda: full(d=1, K=1, teachers=1, particles=100, t=10, repeat=1)  # noqa: E731
    monkeypatch.setattr(bench, "bench_kernels", small)
    assert main(["bayes", "--bench", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["numba_updates_per_s"] > 0 and out["speedup"] > 0


@pytest.mark.subprocess
def test_installed_cli_error_exit():
    p = subprocess.run([sys.executable, "-m", "scaling_theory", "bayes", "--particles", "10"], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "particles must be an integer in [100, 1000000]" in p.stderr
    assert p.stdout == ""


def test_a_failing_bound_is_loud_and_exits_1(capsys, monkeypatch):
    import scaling_theory.numeric.bayes.compare as compare

    monkeypatch.setattr(compare, "bound_routes", lambda *a: {"maurey": (1e-9, 2.0)})   # a (broken) bound far too low
    argv = ["bayes", "--d", "1", "--K", "1", "--T", "100", "--teachers", "2", "--particles", "100", "--no-sgd"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "HOLDS: NO" in out and "bug in a derivation" in out
