"""Worker processes: none outlives its coordinator, however the coordinator ends (issue 27, item 5),
and none re-runs the calling script (issue 28, item 4a).

Processes are counted by a tag in their environment (every descendant of the coordinator inherits
it, the fork server and its workers included), read from ``/proc/PID/environ``; Linux only.
"""

import functools
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from scaling_theory.numeric.sweep import executors
from scaling_theory.numeric.sweep.config import SweepConfig

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="counts processes through /proc")


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _tagged(tag: str) -> list[int]:
    """Live (not zombie) processes whose environment holds ST_PROCESS_TAG=tag."""
    want = f"ST_PROCESS_TAG={tag}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                if want not in fh.read().split(b"\0"):
                    continue
            with open(f"/proc/{name}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(name))
        except OSError:
            pass
    return found


def _wait_gone(tag: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = _tagged(tag)
        if not left:
            return []
        time.sleep(0.1)
    left = _tagged(tag)
    for pid in left:  # leave nothing behind for the next test, then fail
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def _start(tmp_path, script: str, *args, tag: str):
    path = tmp_path / "coordinator.py"
    path.write_text(textwrap.dedent(script))
    # output to files, not pipes: an orphan holding a pipe open would hang the test instead of failing it
    out, err = open(tmp_path / "out.txt", "w"), open(tmp_path / "err.txt", "w")
    # a test run started in the background inherits SIGINT ignored; the child must see Ctrl-C as a user's would
    proc = subprocess.Popen([sys.executable, str(path), *map(str, args)], stdout=out, stderr=err, cwd=tmp_path,
                            env={**os.environ, "ST_PROCESS_TAG": tag}, preexec_fn=_default_sigint)
    out.close()
    err.close()
    return proc


def _rows(store) -> int:
    try:
        with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def _wait_rows(store, n: int, proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while _rows(store) < n:
        assert proc.poll() is None, (store.parent / "err.txt").read_text()
        assert time.monotonic() < deadline, "the sweep wrote no rows in time"
        time.sleep(0.05)


# no `if __name__ == "__main__":` guard on purpose: the workers must not run this script again
_SIMULATE = """
import functools, sys
import scaling_theory.numeric.sweep.runner as sweep
sweep.train_runs = functools.partial(sweep.synthetic_runner, delay=0.1)
from scaling_theory.cli import main
sys.exit(main(["simulate", "--config", sys.argv[1], "--store", sys.argv[2], "--workers", "2", "--quiet"]))
"""
CONFIG = 'd = 4\nK = 2\nbudgets = [1e4, 1e5]\nwidths = [1, 2, 3, 4, 5, 6]\nseeds = [0, 1, 2, 3, 4, 5, 6, 7]\n'
EXPECTED = {signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGKILL: -signal.SIGKILL}


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_no_worker_outlives_simulate_however_it_ends(tmp_path, sig):
    (tmp_path / "s.toml").write_text(CONFIG)
    store = tmp_path / "r.sqlite"
    tag = uuid.uuid4().hex
    proc = _start(tmp_path, _SIMULATE, "s.toml", store, tag=tag)
    _wait_rows(store, 4, proc)
    # the coordinator, the fork server, the resource tracker and two workers
    assert len(_tagged(tag)) >= 4
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == EXPECTED[sig]
    assert _wait_gone(tag, timeout=10) == []
    err = (tmp_path / "err.txt").read_text()
    if sig != signal.SIGKILL:  # one line saying what was kept and how to resume
        [line] = err.strip().splitlines()
        assert "runs are kept in" in line and "resume with: scaling-theory simulate" in line
    with sqlite3.connect(store) as conn:  # the store survives intact and resumes without duplicates
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert 4 <= kept < 96
    resumed = subprocess.run([sys.executable, str(tmp_path / "coordinator.py"), "s.toml", str(store)],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(store) as conn:
        hashes = [h for (h,) in conn.execute("SELECT config_hash FROM runs")]
    assert len(hashes) == len(set(hashes)) == 96


_REPRODUCE = """
import functools, sys
import scaling_theory as st
from scaling_theory.numeric.sweep.runner import synthetic_runner
st.reproduce(sys.argv[1], quick=True, progress=False, checks=False, workers=2,
             runner=functools.partial(synthetic_runner, delay=0.1))
"""


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_no_worker_outlives_reproduce(tmp_path, sig):
    tag = uuid.uuid4().hex
    proc = _start(tmp_path, _REPRODUCE, "out", tag=tag)
    _wait_rows(tmp_path / "out" / "results.sqlite", 4, proc)
    assert len(_tagged(tag)) >= 4
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert _wait_gone(tag, timeout=10) == []
    with sqlite3.connect(tmp_path / "out" / "results.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.slow
@pytest.mark.subprocess
def test_reproduce_warm_up_child_ends_with_reproduce(tmp_path):
    # the CLI with the real trainer: a warm-up child compiles the kernels during the derivation checks
    tag = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "scaling_theory", "reproduce", "--quick", "--out",
                             str(tmp_path / "out"), "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ST_PROCESS_TAG": tag})
    deadline = time.monotonic() + 60
    while len(_tagged(tag)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert len(_tagged(tag)) >= 2, "the warm-up child never started"
    proc.kill()
    proc.wait()
    assert _wait_gone(tag, timeout=10) == []


_HOLDS_THE_GIL = """
import math, sys, time
from scaling_theory.numeric.sweep.executors import open_executor
ex = open_executor("local", workers=1).__enter__()
ex.submit(math.factorial, 2_000_000)   # C code holding the GIL for half a minute: no watchdog runs
time.sleep(1.0)
print(*[p.pid for p in ex._pool._processes.values()], flush=True)
time.sleep(600)
"""


@pytest.mark.subprocess
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_worker_busy_in_c_code_dies_with_its_coordinator_at_once(tmp_path):
    tag = uuid.uuid4().hex
    path = tmp_path / "gil.py"
    path.write_text(_HOLDS_THE_GIL)
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "ST_PROCESS_TAG": tag})
    [worker] = [int(p) for p in proc.stdout.readline().split()]
    proc.kill()
    proc.wait()
    started = time.monotonic()
    assert _wait_gone(tag, timeout=10) == []
    # the fork server exits once the coordinator's end of its pipe closes, and the kernel kills the
    # worker with it (PR_SET_PDEATHSIG) while factorial still holds the GIL (about 30 s of it)
    assert time.monotonic() - started < 5
    assert not os.path.exists(f"/proc/{worker}") or "Z" in open(f"/proc/{worker}/stat").read().rsplit(")", 1)[1][:3]


def test_exit_with_parent_ends_a_subprocess_child_when_its_parent_is_killed(tmp_path):
    tag = uuid.uuid4().hex
    # a parent that starts a child with exit_with_parent, then waits to be killed
    parent = f"""
import os, subprocess, sys, time
code = "from scaling_theory.numeric.sweep.executors import exit_with_parent; exit_with_parent(%d); import time; time.sleep(600)" % os.getpid()
subprocess.Popen([sys.executable, "-c", code])
print("ready", flush=True)
time.sleep(600)
"""
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "ST_PROCESS_TAG": tag})
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while len(_tagged(tag)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert _wait_gone(tag, timeout=10) == []


# -- the calling script is never re-run in the workers ------------------------------------------------


_UNGUARDED = """
import functools, sys
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
with open("ran.txt", "a") as fh:          # every run of this script's body leaves a line
    fh.write("ran\\n")
cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4, 1e5], "widths": [1, 2, 3], "seeds": [0, 1, 2, 3]})
s = run_sweep(cfg, "r.sqlite", workers=2, progress=False, runner=functools.partial(synthetic_runner, delay=0.01))
print(s.executor, s.done, s.complete)
"""


@pytest.mark.subprocess
def test_script_without_main_guard_runs_its_sweep_once(tmp_path):
    path = tmp_path / "api.py"
    path.write_text(_UNGUARDED)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2 local worker processes 24 True"
    assert (tmp_path / "ran.txt").read_text() == "ran\n"   # not once more per worker
    assert time.monotonic() - started < 120


_RUNNER_IN_SCRIPT = """
import sys
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
with open("ran.txt", "a") as fh:
    fh.write("ran\\n")

def my_runner(runs):
    return synthetic_runner(runs)

def work():
    cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2], "seeds": [0, 1, 2]})
    s = run_sweep(cfg, "r.sqlite", workers=2, progress=False, runner=my_runner)
    print(s.done, s.complete)
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("guarded", [False, True])
def test_runner_defined_in_the_script(tmp_path, guarded):
    path = tmp_path / "api.py"
    path.write_text(_RUNNER_IN_SCRIPT + ('if __name__ == "__main__":\n    work()\n' if guarded else "work()\n"))
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    if guarded:  # the workers import the script to find my_runner; the guard keeps its work out
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == "6 True"
    else:  # refused in one line at the first pool start, before any worker re-ran the script
        assert proc.returncode == 1
        last = proc.stderr.strip().splitlines()[-1]
        assert "UserInputError: the sweep's runner is defined in" in last and "__name__ ==" in last
        assert (tmp_path / "ran.txt").read_text() == "ran\n"
        assert time.monotonic() - started < 60


def test_main_module_is_hidden_only_while_workers_start():
    main = sys.modules["__main__"]
    before = (main.__dict__.get("__file__"), main.__dict__.get("__spec__"))
    with executors._main_module_hidden():
        from multiprocessing import spawn

        data = spawn.get_preparation_data("x")
        assert "init_main_from_path" not in data and "init_main_from_name" not in data
    assert (main.__dict__.get("__file__"), main.__dict__.get("__spec__")) == before


def test_tasks_that_refer_to_main_are_recognised():
    from scaling_theory.numeric.sweep.runner import _execute, synthetic_runner

    def local():
        pass

    local.__module__ = "__main__"
    assert not executors._refers_to_main((_execute, functools.partial(synthetic_runner, delay=0.1), []))
    assert executors._refers_to_main((_execute, functools.partial(local), []))
    assert executors._refers_to_main((_execute, local, []))


def test_runner_from_interactive_main_is_refused(monkeypatch):
    from scaling_theory.errors import UserInputError

    main = sys.modules["__main__"]
    monkeypatch.delattr(main, "__file__", raising=False)
    with pytest.raises(UserInputError, match="interactive session"):
        executors._check_main_importable()


def test_local_pool_still_agrees_with_serial(tmp_path):
    from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
    from scaling_theory.numeric.sweep.store import Store

    cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4, 1e5], "widths": [1, 2, 4], "seeds": [0, 1]})
    out = {}
    for executor, workers in (("serial", 1), ("local", 2)):
        path = tmp_path / f"{executor}.sqlite"
        run_sweep(cfg, path, executor=executor, workers=workers, progress=False, runner=synthetic_runner)
        with Store(path) as store:
            out[executor] = sorted((r["config_hash"], r["error"]) for r in store.rows())
    assert out["serial"] == out["local"] and len(out["serial"]) == 12
    assert all(math.isfinite(e) for _, e in out["serial"])
