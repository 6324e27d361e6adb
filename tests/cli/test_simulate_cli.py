"""`scaling-theory simulate`: summary, JSON, resume hint, one-line errors, Ctrl-C."""

import functools
import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import scaling_theory.numeric.sweep.runner as sweep
from scaling_theory.cli import main

SMALL_TOML = 'd = 4\nK = 2\nbudgets = [1e4, 1e5]\nwidths = [1, 2, 4, 8]\nseeds = [0, 1]\n'


def test_quick_sweep_with_the_real_trainer_then_resume(tmp_path, capsys):
    store = tmp_path / "q.sqlite"
    assert main(["simulate", "--quick", "--store", str(store), "--workers", "1", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["complete"] and first["done"] == first["total"] > 0 and first["failed"] == 0
    assert main(["simulate", "--quick", "--store", str(store), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{first['total']} already in the store" in out and "this call: 0 done" in out
    assert f"store: {store} ({first['total']} done" in out


def test_failed_runs_give_exit_1_and_say_how_to_resume(tmp_path, capsys, monkeypatch):
    config = tmp_path / "s.toml"
    config.write_text(SMALL_TOML)
    monkeypatch.setattr(sweep, "train_runs", functools.partial(sweep.synthetic_runner, fail_width=8))
    argv = ["simulate", "--config", str(config), "--store", str(tmp_path / "r.sqlite"), "--workers", "1",
            "--quiet"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "synthetic failure at width 8" in out
    assert f"rerun to resume: scaling-theory simulate --config {config} --store {tmp_path / 'r.sqlite'}" in out
    monkeypatch.setattr(sweep, "train_runs", sweep.synthetic_runner)
    assert main(argv) == 0
    assert "this call: 4 done" in capsys.readouterr().out


def _foreign(tmp_path):
    path = tmp_path / "foreign.sqlite"
    path.write_text("not a database")
    return str(path)


def _bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL_TOML + "colour = 'red'\n")
    return str(path)


BAD_ARGS = {
    "zero workers": (lambda t: ["--quick", "--workers", "0"], "expected a positive integer"),
    "text workers": (lambda t: ["--quick", "--workers", "many"], "expected a positive integer"),
    "missing config": (lambda t: ["--config", str(t / "none.toml")], "does not exist"),
    "unknown field": (lambda t: ["--config", _bad_toml(t)], "unknown field 'colour'"),
    "config and quick": (lambda t: ["--quick", "--config", "x.toml"], "not allowed with argument"),
    "unknown executor": (lambda t: ["--quick", "--executor", "mpi"], "invalid choice"),
    "scheduler without dask": (lambda t: ["--quick", "--executor", "local", "--scheduler", "tcp://h:1"],
                               "--scheduler needs --executor dask"),
    "foreign store": (lambda t: ["--quick", "--store", _foreign(t)], "not an SQLite file"),
    "directory store": (lambda t: ["--quick", "--store", str(t)], "is a directory"),
    "unreachable scheduler": (lambda t: ["--quick", "--scheduler", "tcp://127.0.0.1:9"],
                              "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
}


@pytest.mark.parametrize("name", list(BAD_ARGS))
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, monkeypatch, name):
    import scaling_theory.numeric.sweep.executors
    monkeypatch.setattr(scaling_theory.numeric.sweep.executors, "DASK_CONNECT_TIMEOUT_S", 1.0)
    monkeypatch.setattr(sweep, "train_runs", sweep.synthetic_runner)
    monkeypatch.chdir(tmp_path)
    make, message = BAD_ARGS[name]
    try:
        code = main(["simulate", *make(tmp_path)])
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "results.sqlite").exists()  # nothing half-written


_CTRL_C_SCRIPT = """
import functools, sys
import scaling_theory.numeric.sweep.runner as sweep
sweep.train_runs = functools.partial(sweep.synthetic_runner, delay=0.05)
from scaling_theory.cli import main
sys.exit(main(["simulate", "--config", sys.argv[1], "--store", sys.argv[2], "--workers", sys.argv[3], "--quiet"]))
"""


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.subprocess
@pytest.mark.slow
def test_ctrl_c_stops_cleanly_keeps_runs_and_says_how_to_resume(tmp_path, workers):
    config = tmp_path / "s.toml"
    config.write_text('d = 4\nK = 2\nbudgets = [1e4, 1e5]\nwidths = [1, 2, 3, 4, 5, 6]\nseeds = [0, 1, 2, 3, 4]\n')
    store = tmp_path / "r.sqlite"
    # a test run started in the background inherits SIGINT ignored; the child must see Ctrl-C as a user's would
    proc = subprocess.Popen([sys.executable, "-c", _CTRL_C_SCRIPT, str(config), str(store), workers],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 180          # a loaded machine compiles the workers' kernels slowly
    rows = 0
    while rows < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        if not store.exists():
            continue
        try:
            with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.Error:
            rows = 0
    assert rows >= 5, "the sweep stored fewer than 5 runs in 180 s: nothing to interrupt yet"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert f"resume with: scaling-theory simulate --config {config} --store {store}" in err
    with sqlite3.connect(store) as conn:
        kept = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert 5 <= kept < 60
    resumed = subprocess.run([sys.executable, "-c", _CTRL_C_SCRIPT.replace("delay=0.05", "delay=0.0"),
                              str(config), str(store), "1"], capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} already in the store" in resumed.stdout
    with sqlite3.connect(store) as conn:
        hashes = [h for (h,) in conn.execute("SELECT config_hash FROM runs")]
    assert len(hashes) == len(set(hashes)) == 60


TINY_TOML = 'd = 2\nK = 2\nbudgets = [300]\nwidths = [1, 2]\nseeds = [0]\neval_samples = 200\nmin_samples = 10\n'


@pytest.mark.slow
@pytest.mark.subprocess
def test_device_cuda_trains_the_sweep_in_the_simulator_like_the_cpu(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_TOML)
    out = {}
    for device, env in (("cuda", {"NUMBA_ENABLE_CUDASIM": "1"}), ("cpu", {})):
        store = tmp_path / f"{device}.sqlite"
        proc = subprocess.run([sys.executable, "-m", "scaling_theory", "simulate", "--config", str(config),
                               "--store", str(store), "--device", device, "--workers", "1", "--json"],
                              capture_output=True, text=True, timeout=600,
                              env={**__import__("os").environ, **env})
        assert proc.returncode == 0, proc.stderr
        payload = json.loads(proc.stdout)
        assert payload["done"] == payload["total"] == 2 and "--device " + device in payload["resume_command"]
        with sqlite3.connect(store) as db:
            out[device] = sorted(db.execute("SELECT status FROM runs").fetchall())
    assert out["cuda"] == out["cpu"] == [("done",), ("done",)]


@pytest.mark.subprocess
def test_device_cuda_without_gpu_or_simulator_is_one_line_and_writes_nothing(tmp_path):
    import os

    from scaling_theory.numeric.sim.train_cuda import gpu_available

    if gpu_available():
        pytest.skip("a GPU is present")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    store = tmp_path / "s.sqlite"
    proc = subprocess.run([sys.executable, "-m", "scaling_theory", "simulate", "--quick", "--store", str(store),
                           "--device", "cuda"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "NVIDIA GPU" in lines[0] and "Traceback" not in proc.stderr
    assert not store.exists()


def test_device_cuda_over_a_float32_config_is_refused_before_anything_is_written(tmp_path, capsys):
    from scaling_theory.cli import main

    config = tmp_path / "f32.toml"
    config.write_text(TINY_TOML + 'precision = ["float32"]\n')
    store = tmp_path / "s.sqlite"
    assert main(["simulate", "--config", str(config), "--store", str(store), "--device", "cuda", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--device cuda: precision float32 runs on the CPU engine only" in err
    assert not store.exists()  # no store, no failed runs recorded
    # the other engines take the float32 config
    assert main(["simulate", "--config", str(config), "--store", str(store), "--device", "numpy", "--quiet"]) == 0


# -- any locale encoding (issue 27, item 6) -------------------------------------------------------------


def _ascii_env(**extra):
    import os

    return {**os.environ, "PYTHONIOENCODING": "ascii", **extra}


@pytest.mark.subprocess
def test_non_ascii_store_name_prints_under_an_ascii_locale(tmp_path):
    store = tmp_path / "résultats-ü.sqlite"
    proc = subprocess.run([sys.executable, "-m", "scaling_theory", "simulate", "--quick", "--store", str(store),
                           "--workers", "1", "--quiet"], capture_output=True, timeout=300, env=_ascii_env())
    assert proc.returncode == 0, proc.stderr
    assert b"r\\xe9sultats-\\xfc.sqlite (14 done" in proc.stdout  # escaped, not a UnicodeEncodeError
    assert store.exists()
    fit = subprocess.run([sys.executable, "-m", "scaling_theory", "fit", "--store", str(tmp_path / "nö.sqlite")],
                         capture_output=True, timeout=300, env=_ascii_env())
    assert fit.returncode == 2 and fit.stderr.count(b"\n") == 1 and b"n\\xf6.sqlite" in fit.stderr


@pytest.mark.subprocess
def test_help_and_undecodable_file_names_print_in_a_c_locale(tmp_path):
    import os

    env = _ascii_env(LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    proc = subprocess.run([sys.executable, "-m", "scaling_theory", "simulate", "--help"], capture_output=True,
                          timeout=120, env=env)
    assert proc.returncode == 0 and b"--allow-long" in proc.stdout
    name = os.fsencode(tmp_path) + b"/bad\xff\xc3\xbc.sqlite"   # not valid in any locale's text
    proc = subprocess.run([sys.executable, "-m", "scaling_theory", "fit", "--store", name], capture_output=True,
                          timeout=120, env=env)
    assert proc.returncode == 2 and proc.stderr.count(b"\n") == 1 and b"Traceback" not in proc.stderr
    assert b"no such result store" in proc.stderr
