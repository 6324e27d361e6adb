"""Reading the store as SQLite promises: read-only stores read their WAL, non-regular paths are
refused without being opened, damaged rows are reported and skipped (issue 27, item 4)."""

import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
import uuid

import pytest

import scaling_theory.numeric.sweep.store as store_mod
from scaling_theory.cli import main
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
from scaling_theory.numeric.sweep.store import Store, StoreError

# a writer that records the quick sweep's runs, the second half with checkpoints off, then dies by
# SIGKILL: those runs are committed, but only in the write-ahead log
_KILLED_WRITER = """
import os, signal, sys
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import synthetic_runner
from scaling_theory.numeric.sweep.store import Store
path, split = sys.argv[1], int(sys.argv[2])
runs, _ = SweepConfig.quick().expand()
results = synthetic_runner(runs)
with Store(path, create=True) as s:
    for r, res in zip(runs[:split], results[:split]):
        s.record({"config_hash": r.config_hash, "config": r.to_config(), **res})
s = Store(path)
s._conn.execute("PRAGMA wal_autocheckpoint=0")
for r, res in zip(runs[split:], results[split:]):
    s.record({"config_hash": r.config_hash, "config": r.to_config(), **res})
os.kill(os.getpid(), signal.SIGKILL)
"""
N_QUICK = len(SweepConfig.quick().expand()[0])


def _killed_writer_store(folder, split=5):
    path = folder / "runs.sqlite"
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path), str(split)], capture_output=True,
                          timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert (folder / "runs.sqlite-wal").stat().st_size > 0
    return path


def _immutable_count(path):
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    finally:
        conn.close()


def _read_only(monkeypatch):
    # simulated read-only folder (tests may run as root, where chmod does not stop writes)
    monkeypatch.setattr(store_mod.os, "access", lambda p, mode: mode != os.W_OK)


@pytest.mark.subprocess
def test_read_only_store_reads_the_runs_a_killed_writer_left_in_its_wal(tmp_path, monkeypatch):
    path = _killed_writer_store(tmp_path)
    assert _immutable_count(path) == 5  # what the immutable open read: the rest of the runs dropped
    _read_only(monkeypatch)
    with Store(path) as store:
        assert store.readonly
        assert len(store.rows()) == N_QUICK and store.counts()["done"] == N_QUICK
    assert (tmp_path / "runs.sqlite-wal").stat().st_size > 0  # the reader changed nothing


@pytest.mark.subprocess
def test_read_only_store_whose_wal_sqlite_cannot_read_is_refused_in_one_line(tmp_path, monkeypatch):
    path = _killed_writer_store(tmp_path)
    (tmp_path / "runs.sqlite-shm").unlink()
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):
        # SQLite in a folder it cannot write: without PATH-shm a WAL file cannot be opened mode=ro
        if kwargs.get("uri") and "mode=ro" in str(database) and "immutable" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    _read_only(monkeypatch)
    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)
    with pytest.raises(StoreError) as err:
        Store(path)
    message = str(err.value)
    assert "write-ahead log runs.sqlite-wal" in message and "copy runs.sqlite and runs.sqlite-wal" in message
    assert "\n" not in message


def test_read_only_clean_store_without_shm_falls_back_to_immutable(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    assert not (tmp_path / "runs.sqlite-wal").exists()  # closed cleanly: every run in the main file
    real_connect = sqlite3.connect
    seen = []

    def connect(database, *args, **kwargs):
        seen.append(str(database))
        if kwargs.get("uri") and "mode=ro" in str(database) and "immutable" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    _read_only(monkeypatch)
    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)
    with Store(path) as store:
        assert len(store.rows()) == N_QUICK
    assert any("immutable=1" in s for s in seen)


@contextlib.contextmanager
def _read_only_mount(source, target):
    """A read-only bind mount of ``source`` at ``target`` (root only; skips where not allowed)."""
    target.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a read-only mount needs root")
    if subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True).returncode:
        pytest.skip("bind mounts are not allowed here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True).returncode:
            pytest.skip("read-only remounts are not allowed here")
        yield target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True)


@pytest.mark.subprocess
def test_store_on_a_real_read_only_mount(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    _killed_writer_store(source)
    with _read_only_mount(source, tmp_path / "ro") as ro:
        with Store(ro / "runs.sqlite") as store:           # WAL and -shm there: mode=ro reads the log
            assert store.readonly and len(store.rows()) == N_QUICK
        (source / "runs.sqlite-shm").unlink()              # no -shm and none can be made: refuse
        with pytest.raises(StoreError, match="write-ahead log runs.sqlite-wal"):
            Store(ro / "runs.sqlite")
        with Store(source / "runs.sqlite") as store:       # a writer checkpoints the log away
            assert len(store.rows()) == N_QUICK
        assert not (source / "runs.sqlite-wal").exists()
        with Store(ro / "runs.sqlite") as store:           # a clean store: immutable is safe
            assert store.readonly and len(store.rows()) == N_QUICK


# -- paths that are not regular files -------------------------------------------------------------


def _fifo(tmp_path, name="runs.sqlite"):
    path = tmp_path / name
    os.mkfifo(path)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_store_is_refused_from_its_stat_without_opening_it(tmp_path, monkeypatch):
    path = _fifo(tmp_path)
    opened = []
    real_open = os.open
    monkeypatch.setattr(store_mod.os, "open", lambda p, *a, **k: opened.append(p) or real_open(p, *a, **k))
    for create in (False, True):
        with pytest.raises(StoreError, match="is a FIFO \\(named pipe\\), not a regular file"):
            Store(path, create=create)
    assert opened == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("side", ["-wal", "-shm", "-journal"])
def test_side_file_that_is_not_a_regular_file_is_refused(tmp_path, side):
    path = tmp_path / "runs.sqlite"
    run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    os.mkfifo(f"{path}{side}")
    with pytest.raises(StoreError, match=f"runs.sqlite{side} is a FIFO"):
        Store(path)
    os.unlink(f"{path}{side}")
    os.mkdir(f"{path}{side}")
    with pytest.raises(StoreError, match=f"runs.sqlite{side} is a directory"):
        Store(path)


def test_device_as_store_is_refused(tmp_path):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    with pytest.raises(StoreError, match="is a character device, not a regular file"):
        Store("/dev/null")


@pytest.mark.subprocess
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", [["fit", "--store"], ["simulate", "--quick", "--store"]])
def test_cli_with_a_fifo_store_is_one_line_not_a_hang(tmp_path, command):
    path = _fifo(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "scaling_theory", *command, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "is a FIFO (named pipe), not a regular file" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_reproduce_with_a_fifo_results_store_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    _fifo(out, "results.sqlite")
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results.sqlite is a FIFO (named pipe)" in err


# -- damaged rows -----------------------------------------------------------------------------------


def _quick_store(tmp_path):
    path = tmp_path / "runs.sqlite"
    run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    return path


def _damage(path, sql, *params, row=3):
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")  # a file damaged outside SQLite's rules
        conn.execute(sql + " WHERE id = ?", (*params, row))
        conn.commit()
    finally:
        conn.close()


DAMAGE = {
    "config not JSON": ("UPDATE runs SET config = ?", "{oops", "config is not JSON"),
    "config NULL text": ("UPDATE runs SET config = ?", "null", "config is JSON NoneType, not an object"),
    "config a list": ("UPDATE runs SET config = ?", "[1, 2]", "config is JSON list, not an object"),
    "config deeply nested": ("UPDATE runs SET config = ?", "[" * 100_000 + "]" * 100_000,
                             "config is JSON nested too deeply"),
    "config huge integer": ("UPDATE runs SET config = ?", '{"d": ' + "9" * 5000 + "}", "config is not JSON"),
    "metrics not JSON": ("UPDATE runs SET metrics = ?", "{]", "metrics is not JSON"),
    "metrics value of 400 digits": ("UPDATE runs SET metrics = ?", '{"online_kl": 1' + "0" * 400 + "}",
                                    "metrics.online_kl is 1000"),
    "metrics value text": ("UPDATE runs SET metrics = ?", '{"online_kl": "abc"}',
                           "metrics.online_kl is the text 'abc', not a number"),
    "error text": ("UPDATE runs SET error = ?", "abc", "error is the text 'abc', not a number"),
    "error negative": ("UPDATE runs SET error = ?", -1.0, "error is -1.0, not >= 0"),
    "error blob": ("UPDATE runs SET error = ?", b"\x00\x01", "error is a blob of 2 bytes, not a number"),
    "width NULL": ("UPDATE runs SET width = ?", None, "width is NULL"),
    "width text": ("UPDATE runs SET width = ?", "wide", "width is the text 'wide', not a number"),
    "width zero": ("UPDATE runs SET width = ?", 0, "width is 0, not at least 1"),
    "width disagrees": ("UPDATE runs SET width = ?", 10**6, "column width = 1000000 disagrees with the row's config"),
    "compute negative": ("UPDATE runs SET compute = ?", -5.0, "compute is -5.0, not positive"),
    "kind number": ("UPDATE runs SET kind = ?", 7, "column kind = '7' disagrees with the row's config"),
    "kind blob": ("UPDATE runs SET kind = ?", b"\x00", "kind is b'\\x00', not text"),
    "status unknown": ("UPDATE runs SET status = ?", "maybe", "status is 'maybe', not one of done"),
    "hash blob": ("UPDATE runs SET config_hash = ?", b"\x01", "config_hash is b'\\x01', not text"),
}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_damaged_row_is_skipped_and_named(tmp_path, caplog, name):
    sql, value, reason = DAMAGE[name]
    path = _quick_store(tmp_path)
    _damage(path, sql, value)
    with caplog.at_level(logging.WARNING, logger=store_mod.__name__), Store(path) as store:
        rows = store.rows()
        assert len(rows) == N_QUICK - 1
        [bad] = store.damaged
        assert bad.id == 3 and reason in bad.reason and "\n" not in bad.reason
    [record] = [r for r in caplog.records if r.name == store_mod.__name__]
    message = record.getMessage()
    assert "skipped 1 damaged row: row 3" in message and reason in message and "\n" not in message


def test_many_damaged_rows_give_one_warning_line_naming_the_first(tmp_path, caplog):
    path = _quick_store(tmp_path)
    for row in range(1, 10):
        _damage(path, "UPDATE runs SET error = ?", "x", row=row)
    with caplog.at_level(logging.WARNING, logger=store_mod.__name__), Store(path) as store:
        store.rows()
        store.rows()  # the same rows again: not reported twice
    [record] = [r for r in caplog.records if r.name == store_mod.__name__]
    assert "skipped 9 damaged rows: row 1" in record.getMessage() and "and 4 more" in record.getMessage()


def test_old_rows_and_minimal_rows_are_not_damaged(tmp_path):
    # what earlier versions and the API's minimal runs wrote: no lr, no metrics, the old teacher name
    path = tmp_path / "s.sqlite"
    config = {"d": 4, "K": 2, "kind": "dirichlet", "compute": 1e4, "width": 2, "params": 10, "samples": 1000,
              "seed": 0}
    with Store(path, create=True) as store:
        store.record({"config_hash": "old", "config": config, "status": "done", "error": 0.1})
        store.record({"config_hash": "div", "config": config, "status": "diverged", "error": float("nan")})
        store.record({"config_hash": "bad", "config": config, "status": "failed", "reason": "boom"})
    _damage(path, "UPDATE runs SET metrics = ?", "", row=1)
    with Store(path) as store:
        assert [r["config_hash"] for r in store.rows()] == ["old", "div", "bad"] and store.damaged == []
        assert store.rows()[0]["kind"] == "dp"


def test_resumed_sweep_runs_damaged_rows_again_and_replaces_them(tmp_path):
    path = _quick_store(tmp_path)
    _damage(path, "UPDATE runs SET error = ?", "abc", row=2)
    _damage(path, "UPDATE runs SET config = ?", "{", row=5)
    again = run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    assert (again.already, again.done, again.concurrent) == (N_QUICK - 2, 2, 0)
    with Store(path) as store:
        rows = store.rows()
        assert len(rows) == N_QUICK and store.damaged == []
    assert len({r["config_hash"] for r in rows}) == N_QUICK


@pytest.mark.subprocess
def test_fit_on_a_damaged_store_names_the_rows_and_fits_the_rest(tmp_path):
    path = tmp_path / "runs.sqlite"
    # the synthetic law's optimum p* = sqrt(C) lies inside p/sqrt(C) in [0.1, 10] at every budget
    cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4, 1e5, 1e6], "widths_per_budget": 9,
                                 "p_over_sqrt_c": [0.1, 10], "seeds": [0, 1], "min_samples": 10})
    run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    _damage(path, "UPDATE runs SET config = ?", "{", row=4)
    _damage(path, "UPDATE runs SET error = ?", -0.5, row=7)
    _damage(path, "UPDATE runs SET samples = ?", "many", row=9)
    proc = subprocess.run([sys.executable, "-m", "scaling_theory", "fit", "--store", str(path), "--approach", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [warning] = proc.stderr.splitlines()
    assert "skipped 3 damaged rows: row 4" in warning and "row 7" in warning and "row 9" in warning
    assert "error is -0.5, not >= 0" in warning
    assert "27 points, 3 compute budgets" in proc.stdout  # a seed lost in 3 cells, no cell lost
    a = float(proc.stdout.split("approach 2: a = ")[1].split()[0])
    assert abs(a - 0.5) < 0.05  # the synthetic law's p* = sqrt(C)


def test_a_page_damaged_after_opening_is_a_store_error(tmp_path, monkeypatch):
    path = _quick_store(tmp_path)
    with Store(path) as store:
        class Broken:
            def execute(self, *a):
                raise sqlite3.DatabaseError("database disk image is malformed")

            def close(self):
                pass

        store._conn = Broken()
        for call in (store.rows, store.counts, store.finished_hashes, len):
            with pytest.raises(StoreError, match="cannot read store .* malformed"):
                call(store) if call is len else call()
