"""The durable result store of the teacher–student sweeps: one SQLite file, one row per finished run.

The store is what makes a sweep safe to kill at any moment: every finished run is
written by the coordinating process in its own transaction, keyed by a ``UNIQUE`` ``config_hash``, in
WAL mode with ``synchronous=FULL``. A run killed in flight simply is not there, and is run again on
resume; a run already there is never written twice (``INSERT ... ON CONFLICT``), so two sweeps writing
the same store at once give each finished run exactly once.

Statuses: ``done`` (error measured), ``diverged`` (training blew up; recorded, not retried) and
``failed`` (an exception; retried by the next sweep, which may replace the row with a finished one).

Examples
--------
>>> import tempfile, os
>>> from scaling_theory.numeric.sweep.store import Store
>>> tmp = tempfile.TemporaryDirectory()
>>> path = os.path.join(tmp.name, "runs.sqlite")
>>> with Store(path, create=True) as store:
...     store.record({"config_hash": "abc", "config": {"d": 4, "K": 2, "kind": "finite",
...                   "compute": 1e4, "width": 2, "params": 10, "samples": 1000, "seed": 0},
...                   "status": "done", "error": 0.12, "error_se": 0.01, "seconds": 0.5})
...     [(r["d"], r["width"], r["status"], r["error"]) for r in store.rows()]
True
[(4, 2, 'done', 0.12)]
>>> tmp.cleanup()
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from scaling_theory._version import __version__
from scaling_theory.errors import UserInputError
from scaling_theory.theory.teachers import KIND_ALIASES

__all__ = ["Store", "StoreError", "SCHEMA_NAME", "SCHEMA_VERSION", "STATUSES", "FINISHED"]

#: identifies our files among all SQLite databases (``meta.schema``)
SCHEMA_NAME = "scaling-theory-runs"
#: bump when the table layout changes; a store with another version is refused
SCHEMA_VERSION = 1
STATUSES = ("done", "diverged", "failed")
#: statuses a resumed sweep does not run again
FINISHED = ("done", "diverged")

# flat columns copied out of the run config, for SQL queries and for ``rows()``
_CONFIG_COLUMNS = {
    "d": "INTEGER", "K": "INTEGER", "kind": "TEXT", "compute": "REAL", "width": "INTEGER",
    "params": "INTEGER", "samples": "INTEGER", "seed": "INTEGER", "lr": "REAL",
    "batch_size": "INTEGER", "optimizer": "TEXT",
}
_RESULT_COLUMNS = {"error": "REAL", "error_se": "REAL", "seconds": "REAL"}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    config_hash TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    {", ".join(f"{name} {kind}" for name, kind in _CONFIG_COLUMNS.items())},
    status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    reason TEXT,
    {", ".join(f"{name} {kind}" for name, kind in _RESULT_COLUMNS.items())},
    metrics TEXT NOT NULL DEFAULT '{{}}',
    version TEXT NOT NULL,
    created TEXT NOT NULL
);
"""

_SQLITE_MAGIC = b"SQLite format 3\x00"
# seconds a writer waits for another process's transaction before giving up
_BUSY_TIMEOUT_S = 60.0


class StoreError(UserInputError):
    """The store cannot be opened or written (foreign, corrupt, read-only, disk full); one line.

    A :class:`scaling_theory.errors.UserInputError`, so the CLI prints it as one stderr line (exit 2).

    Examples
    ========
    >>> import os, sqlite3, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> foreign = os.path.join(tmp.name, "other.sqlite")
    >>> with sqlite3.connect(foreign) as conn:
    ...     _ = conn.execute("CREATE TABLE users (name TEXT)")
    >>> Store(foreign)
    Traceback (most recent call last):
    ...
    scaling_theory.numeric.sweep.store.StoreError: ...other.sqlite is an SQLite database but not a scaling-theory result store (tables: users)
    >>> with open(os.path.join(tmp.name, "notes.txt"), "w") as fh:
    ...     _ = fh.write("hello")
    >>> try:
    ...     Store(os.path.join(tmp.name, "notes.txt"))
    ... except UserInputError as err:
    ...     print(type(err).__name__, str(err).endswith("is not a result store (not an SQLite file)"))
    StoreError True
    >>> tmp.cleanup()
    """


class Store:
    """A SQLite file of sweep runs (table ``runs``, one row per ``config_hash``).

    Parameters
    ==========
    path : str or Path
        The SQLite file.
    create : bool
        Create the file (and its directory) if missing. Without it a missing file is a
        :class:`StoreError`, so reading (``fit --store``) never leaves an empty file behind.

    Raises
    ======
    StoreError
        If ``path`` is not a scaling-theory store (another SQLite database, a corrupt or non-SQLite
        file), was written with another schema version, or cannot be created.

    Examples
    ========
    >>> import tempfile, os
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "none.sqlite")
    >>> Store(path)
    Traceback (most recent call last):
    ...
    scaling_theory.numeric.sweep.store.StoreError: no result store at ...none.sqlite (run 'scaling-theory simulate' first)

    A finished run is written once; writing it again keeps the first row:

    >>> run = {"config_hash": "h1", "config": {"d": 4, "K": 2, "kind": "finite", "compute": 1e4,
    ...        "width": 2, "params": 10, "samples": 1000, "seed": 0},
    ...        "status": "done", "error": 0.12, "error_se": 0.01, "seconds": 0.5}
    >>> with Store(path, create=True) as store:
    ...     first, again = store.record(run), store.record({**run, "error": 0.5})
    ...     store.record({**run, "config_hash": "h2", "status": "failed", "error": float("nan")})
    ...     print(first, again, len(store), store.counts())
    ...     print([(r["config_hash"], r["error"]) for r in store.rows()], store.finished_hashes())
    True
    True False 2 {'done': 1, 'diverged': 0, 'failed': 1}
    [('h1', 0.12), ('h2', None)] {'h1'}
    >>> with Store(path) as store:   # reopened: the runs are still there
    ...     [r["params"] for r in store.rows(status="done")]
    [10]
    >>> tmp.cleanup()
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path)
        self.readonly = False
        self._conn = self._open(create)

    @staticmethod
    def check_creatable(path: str | os.PathLike) -> None:
        """Raise :class:`StoreError` if a new store could not be created at ``path`` (creates nothing).

        Examples
        ========
        >>> import tempfile, os
        >>> tmp = tempfile.TemporaryDirectory()
        >>> Store.check_creatable(os.path.join(tmp.name, "sub", "new.sqlite"))
        >>> os.listdir(tmp.name)             # nothing was created
        []
        >>> Store.check_creatable(tmp.name)
        Traceback (most recent call last):
        ...
        scaling_theory.numeric.sweep.store.StoreError: store path ... is a directory, expected a .sqlite file
        >>> tmp.cleanup()
        """
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"store path {path} is a directory, expected a .sqlite file")
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise StoreError(f"cannot create store {path}: {parent} is not a directory")
        if not os.access(parent, os.W_OK):
            raise StoreError(f"cannot create store {path}: directory {parent} is not writable")

    # -- opening -------------------------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise StoreError(f"store path {path} is a directory, expected a .sqlite file")
        exists = path.exists()
        if not exists and not create:
            raise StoreError(f"no result store at {path} (run 'scaling-theory simulate' first)")
        if exists:
            _check_magic(path)
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"cannot create store directory {path.parent}: {err.strerror or err}") from None
            if not os.access(path.parent, os.W_OK):
                raise StoreError(f"cannot create store {path}: directory {path.parent} is not writable")
        writable = os.access(path.parent, os.W_OK) and (not exists or os.access(path, os.W_OK))
        self.readonly = not writable
        conn = None
        try:
            conn = self._connect(writable)
            self._check_or_init(conn, create=create)
            if writable:
                # only now, so a refused file is left untouched
                conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit that returned survives a crash (kill -9, power loss) of this process
                conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.OperationalError as err:
            if conn is not None:
                conn.close()
            raise StoreError(f"cannot open store {path} ({_describe(err)})") from None
        except sqlite3.DatabaseError as err:
            if conn is not None:
                conn.close()
            raise StoreError(f"{path} is not a readable result store ({_describe(err)})") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn

    def _connect(self, writable: bool) -> sqlite3.Connection:
        if writable:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        else:
            # a read-only directory: WAL needs its -shm file, so read the file as immutable
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def _check_or_init(self, conn: sqlite3.Connection, *, create: bool) -> None:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and not (create and not self.readonly):
            raise StoreError(f"{self.path} is an empty database, not a result store "
                             f"(run 'scaling-theory simulate --store {self.path}' to fill it)")
        if not tables:
            # a new (or zero-byte) file: make it a store, all or nothing
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.executemany(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    [("schema", SCHEMA_NAME), ("schema_version", str(SCHEMA_VERSION)),
                     ("created_by", __version__), ("created", _now())])
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            tables = {"meta", "runs"}
        if "meta" not in tables:
            shown = ", ".join(sorted(t for t in tables if not t.startswith("sqlite_"))) or "none"
            raise StoreError(f"{self.path} is an SQLite database but not a scaling-theory result store "
                             f"(tables: {shown})")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema") != SCHEMA_NAME:
            raise StoreError(f"{self.path} is an SQLite database but not a scaling-theory result store "
                             f"(schema {meta.get('schema')!r})")
        version = meta.get("schema_version")
        if version != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self.path} was written by scaling-theory {meta.get('created_by', '?')} with store schema "
                f"version {version}; this version ({__version__}) reads version {SCHEMA_VERSION}: "
                f"use another --store path or that toolkit version")
        if "runs" not in tables:
            raise StoreError(f"{self.path} is a damaged result store (table 'runs' is missing)")
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
        if result != "ok":
            raise StoreError(f"{self.path} is a corrupt result store (integrity check: {result})")

    # -- writing ---------------------------------------------------------------------------------

    def record(self, run: Mapping[str, Any]) -> bool:
        """Write one finished run in its own transaction; return whether a row was written.

        ``run`` has ``config_hash``, ``config`` (dict with at least the flat columns), ``status``
        and optionally ``reason``, ``error``, ``error_se``, ``seconds`` and ``metrics`` (dict). A
        ``done`` or ``diverged`` row already in the store is kept (return ``False``); a ``failed``
        one is replaced. Non-finite numbers are stored as NULL, never as NaN.

        Raises
        ======
        StoreError
            On a read-only store, a full disk or an I/O error; the transaction is rolled back, so
            the store keeps every earlier run and no partial row.
        """
        status = run["status"]
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        config = dict(run["config"])
        values = {
            "config_hash": str(run["config_hash"]),
            "config": json.dumps(config, sort_keys=True, separators=(",", ":")),
            **{name: _finite(config.get(name)) for name in _CONFIG_COLUMNS},
            "status": status,
            "reason": run.get("reason"),
            **{name: _finite(run.get(name)) for name in _RESULT_COLUMNS},
            "metrics": json.dumps(_clean(run.get("metrics") or {}), sort_keys=True),
            "version": __version__,
            "created": _now(),
        }
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{n} = excluded.{n}" for n in values if n != "config_hash")
        sql = (f"INSERT INTO runs ({names}) VALUES ({marks}) ON CONFLICT(config_hash) DO UPDATE SET "
               f"{updates} WHERE runs.status = 'failed'")
        if self.readonly:
            raise StoreError(f"cannot write store {self.path}: it is read-only")
        try:
            with _transaction(self._conn):
                cursor = self._write(sql, tuple(values.values()))
            return cursor.rowcount > 0
        except sqlite3.Error as err:
            raise StoreError(f"cannot write run to store {self.path} ({_describe(err)}); finished runs "
                             f"are kept, fix this and rerun to resume") from None

    def _write(self, sql: str, params: tuple) -> sqlite3.Cursor:
        # the single place a row is written (tests inject I/O faults here)
        return self._conn.execute(sql, params)

    # -- reading ---------------------------------------------------------------------------------

    def finished_hashes(self) -> set[str]:
        """The ``config_hash`` of every run a resumed sweep skips (status ``done`` or ``diverged``)."""
        marks = ", ".join("?" for _ in FINISHED)
        cur = self._conn.execute(f"SELECT config_hash FROM runs WHERE status IN ({marks})", FINISHED)
        return {r[0] for r in cur}

    def finished_among(self, hashes: Iterable[str]) -> set[str]:
        """The subset of ``hashes`` already finished in the store (a cheap check before each task)."""
        hashes = list(hashes)
        if not hashes:
            return set()
        marks = ", ".join("?" for _ in hashes)
        sql = (f"SELECT config_hash FROM runs WHERE config_hash IN ({marks}) "
               f"AND status IN ({', '.join('?' for _ in FINISHED)})")
        return {r[0] for r in self._conn.execute(sql, (*hashes, *FINISHED))}

    def counts(self) -> dict[str, int]:
        """Number of rows per status, e.g. ``{'done': 40, 'diverged': 2, 'failed': 0}``."""
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self._conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            counts[status] = n
        return counts

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def rows(self, status: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every run as a flat dict, in the order written.

        Keys: ``config_hash``, ``config`` (dict), ``status``, ``reason``, ``error``, ``error_se``,
        ``seconds``, ``version``, ``created``, ``metrics`` (dict) and the flat columns ``d``, ``K``,
        ``kind``, ``compute``, ``width``, ``params``, ``samples``, ``seed``, ``lr``,
        ``batch_size``, ``optimizer``, ``parametrisation`` and ``precision`` (from ``config``;
        ``"standard"`` and ``"float64"`` for runs stored without them). ``error`` is ``None`` unless the status is ``done``;
        ``seconds`` is the wall time of the training call, shared by the runs of one IsoFLOP row
        that trained together; ``metrics`` holds ``samples_seen``, ``eval_seconds`` and ``spent``
        (the compute c·p·T actually used, at most ``compute``) and, for finished runs of the real
        trainer, ``online_kl`` and ``online_kl_se`` (the time-averaged online KL over the training
        samples, beside the final weights' ``error``).

        Parameters
        ==========
        status : str or iterable of str, optional
            Keep only rows with these statuses (e.g. ``"done"``).
        """
        sql = "SELECT * FROM runs"
        params: tuple = ()
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            sql += f" WHERE status IN ({', '.join('?' for _ in wanted)})"
            params = wanted
        out = []
        for row in self._conn.execute(sql + " ORDER BY id", params):
            item = dict(row)
            item.pop("id")
            item["config"] = json.loads(item["config"])
            item["metrics"] = json.loads(item["metrics"] or "{}")
            # not a column: runs stored before the option existed are the standard parametrisation
            item["parametrisation"] = item["config"].get("parametrisation", "standard")
            item["precision"] = item["config"].get("precision", "float64")
            # runs stored before the teacher rename name the dp teacher "dirichlet"
            if item.get("kind") in KIND_ALIASES:
                item["kind"] = item["config"]["kind"] = KIND_ALIASES[item["kind"]]
            out.append(item)
        return out

    # -- lifetime --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one to report
        return False


def _check_magic(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as err:
        raise StoreError(f"cannot read store {path}: {err.strerror or err}") from None
    if head and head != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not a result store (not an SQLite file)")


def _describe(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return _finite(obj)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
