"""The SQLite result store: round trip, refusal of foreign/corrupt/incompatible files, faults."""

import math
import os
import sqlite3

import pytest

import scaling_theory.numeric.sweep.store as store_mod
from scaling_theory.numeric.sweep.store import SCHEMA_VERSION, Store, StoreError


def _run(i, status="done", error=0.1, **extra):
    config = {"d": 4, "K": 2, "kind": "finite", "compute": 1e4, "width": i + 1, "params": 5 * (i + 1),
              "samples": 100, "seed": 0, "lr": 0.05, "batch_size": 1, "optimizer": "sgd"}
    return {"config_hash": f"h{i}", "config": config, "status": status, "error": error,
            "error_se": 0.01, "seconds": 0.5, **extra}


def _store_with(tmp_path, n=3):
    path = tmp_path / "runs.sqlite"
    with Store(path, create=True) as store:
        for i in range(n):
            store.record(_run(i, error=0.1 * (i + 1)))
    return path


def test_round_trip_flat_columns(tmp_path):
    path = _store_with(tmp_path, 3)
    with Store(path) as store:
        rows = store.rows()
        assert [r["width"] for r in rows] == [1, 2, 3]
        assert [r["error"] for r in rows] == pytest.approx([0.1, 0.2, 0.3])
        row = rows[0]
        expected = {"d": 4, "K": 2, "kind": "finite", "compute": 1e4, "params": 5, "samples": 100,
                    "seed": 0, "lr": 0.05, "status": "done", "error_se": 0.01, "seconds": 0.5}
        assert {k: row[k] for k in expected} == expected
        assert row["config"]["width"] == 1 and row["version"] and row["created"]
        assert store.counts() == {"done": 3, "diverged": 0, "failed": 0}
        assert len(store) == 3


def test_wal_mode_and_schema_version(tmp_path):
    path = _store_with(tmp_path, 1)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(conn.execute("SELECT key, value FROM meta"))["schema_version"] == str(SCHEMA_VERSION)
    conn.close()


def test_non_finite_numbers_are_stored_as_null(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path, create=True) as store:
        store.record(_run(0, status="diverged", error=math.nan, reason="loss blew up",
                          metrics={"loss": math.inf}))
        [row] = store.rows()
    assert row["error"] is None and row["metrics"] == {"loss": None}
    assert row["status"] == "diverged" and row["reason"] == "loss blew up"


def test_finished_run_is_never_rewritten_but_failed_is_replaced(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path, create=True) as store:
        assert store.record(_run(0, error=0.5)) is True
        assert store.record(_run(0, error=0.9)) is False          # done stays as it was
        assert store.record(_run(1, status="failed", error=None, reason="boom")) is True
        assert store.finished_hashes() == {"h0"}
        assert store.record(_run(1, error=0.2)) is True            # a retried failure replaces the row
        assert store.finished_among(["h0", "h1", "nope"]) == {"h0", "h1"}
        rows = store.rows()
    assert [(r["config_hash"], r["status"], r["error"]) for r in rows] == [("h0", "done", 0.5), ("h1", "done", 0.2)]


def test_rows_status_filter(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path, create=True) as store:
        store.record(_run(0))
        store.record(_run(1, status="diverged", error=None))
        assert [r["config_hash"] for r in store.rows("done")] == ["h0"]
        assert len(store.rows(["done", "diverged"])) == 2


def test_missing_store_is_an_error_and_not_created(tmp_path):
    path = tmp_path / "nothing.sqlite"
    with pytest.raises(StoreError, match="no result store"):
        Store(path)
    assert not path.exists()


def _foreign(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()


def _other_version(path):
    _store_with(path.parent, 1).rename(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()


def _other_schema_name(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema', 'someone-else')")
    conn.commit()
    conn.close()


def _corrupt(path):
    _store_with(path.parent, 50).rename(path)
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    data[100:len(data)] = b"\xa5" * (len(data) - 100)  # keep the header, destroy every page
    path.write_bytes(bytes(data))


BAD_FILES = {
    "text": (lambda p: p.write_text("N,D,loss\n1,2,3\n"), "not an SQLite file"),
    "foreign sqlite": (_foreign, "not a scaling-theory result store (tables: people)"),
    "other schema": (_other_schema_name, "schema 'someone-else'"),
    "other version": (_other_version, "schema version 999"),
    "corrupt pages": (_corrupt, "not a readable result store"),
    "empty file": (lambda p: p.write_bytes(b""), "empty database"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_refuses_files_that_are_not_our_store(tmp_path, name):
    make, message = BAD_FILES[name]
    path = tmp_path / "bad.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        Store(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert path.read_bytes() == before  # refused without touching it


def test_empty_file_becomes_a_store_when_creating(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    with Store(path, create=True) as store:
        assert store.rows() == []


def test_directory_as_store_path(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path, create=True)


def test_read_only_directory_creating(tmp_path, monkeypatch):
    # simulated (tests may run as root, where chmod does not stop writes)
    monkeypatch.setattr(store_mod.os, "access", lambda p, mode: mode != os.W_OK)
    with pytest.raises(StoreError, match="not writable"):
        Store(tmp_path / "new.sqlite", create=True)
    assert not (tmp_path / "new.sqlite").exists()


def test_read_only_existing_store_reads_but_refuses_writes(tmp_path, monkeypatch):
    path = _store_with(tmp_path, 2)
    monkeypatch.setattr(store_mod.os, "access", lambda p, mode: mode != os.W_OK)
    with Store(path) as store:
        assert store.readonly and len(store.rows()) == 2
        with pytest.raises(StoreError, match="read-only"):
            store.record(_run(5))


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory_for_real(tmp_path):
    path = _store_with(tmp_path, 2)
    tmp_path.chmod(0o555)
    try:
        with Store(path) as store:
            assert len(store.rows()) == 2
            with pytest.raises(StoreError, match="read-only"):
                store.record(_run(5))
    finally:
        tmp_path.chmod(0o755)


def test_disk_full_during_write_keeps_earlier_runs_and_no_partial_row(tmp_path):
    path = _store_with(tmp_path, 3)
    with Store(path) as store:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
        with pytest.raises(StoreError, match="disk is full.*rerun to resume"):
            store.record(_run(9, metrics={"blob": "x" * 200_000}))
    with Store(path) as store:
        assert [r["config_hash"] for r in store.rows()] == ["h0", "h1", "h2"]


def test_io_error_during_write_is_a_one_line_store_error(tmp_path, monkeypatch):
    path = _store_with(tmp_path, 1)

    def broken(self, sql, params):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Store, "_write", broken)
    with Store(path) as store:
        with pytest.raises(StoreError, match="disk I/O error") as err:
            store.record(_run(1))
        assert "\n" not in str(err.value)
        assert not store._conn.in_transaction
    monkeypatch.undo()
    with Store(path) as store:
        assert [r["config_hash"] for r in store.rows()] == ["h0"]


def test_two_connections_writing_at_once_never_duplicate(tmp_path):
    path = tmp_path / "s.sqlite"
    a, b = Store(path, create=True), Store(path, create=True)
    try:
        for i in range(20):
            a.record(_run(i))
            b.record(_run(19 - i))
        hashes = [r["config_hash"] for r in a.rows()]
    finally:
        a.close()
        b.close()
    assert sorted(hashes) == sorted(f"h{i}" for i in range(20))
