"""The durable result store of the teacher–student sweeps: one SQLite file, one row per finished run.

The store is what makes a sweep safe to kill at any moment: every finished run is
written by the coordinating process in its own transaction, keyed by a ``UNIQUE`` ``config_hash``, in
WAL mode with ``synchronous=FULL``. A run killed in flight simply is not there, and is run again on
resume; a run already there is never written twice (``INSERT ... ON CONFLICT``), so two sweeps writing
the same store at once give each finished run exactly once.

Statuses: ``done`` (error measured), ``diverged`` (training blew up; recorded, not retried) and
``failed`` (an exception; retried by the next sweep, which may replace the row with a finished one).

Reading follows what SQLite promises, so a reader never drops a committed run:

- the path must be a regular file (or a link to one); a FIFO, socket or device is refused from its
  ``stat`` alone, never opened (opening a FIFO for reading would block until a writer comes);
- a store whose folder (or file) is not writable is opened read-only (``mode=ro``), which still
  reads the runs a killed writer left committed in the write-ahead log ``PATH-wal``; only when
  SQLite cannot open it that way (no ``PATH-shm`` and no right to create one) *and* there is no
  write-ahead log to lose is it read as an immutable file; with a non-empty ``PATH-wal`` it is
  refused in one line saying how to read it (copy both files to a writable folder);
- a damaged row (a cell that is not JSON, a NULL or text where a number belongs, a column that
  disagrees with the row's config) is skipped and reported: :attr:`Store.damaged` lists each with
  its reason, a one-line warning names them (logger ``scaling_theory.numeric.sweep.store``), and a
  resumed sweep runs them again and replaces them.

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
import logging
import math
import os
import re
import sqlite3
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from scaling_theory._version import __version__
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sweep.config import teacher_tag
from scaling_theory.theory.teachers import KIND_ALIASES, KINDS

__all__ = ["Store", "StoreError", "DamagedRow", "SCHEMA_NAME", "SCHEMA_VERSION", "STATUSES", "FINISHED",
           "check_regular_file"]

_log = logging.getLogger(__name__)

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
# integrity-check lines that name one row's broken rule, not a broken file
_ROW_RULE = re.compile(r"^(CHECK constraint failed in runs|NULL value in runs\.\w+)$")
_CHECK_LINES = 20
# the files SQLite keeps beside the store
_SIDE_FILES = ("-wal", "-shm", "-journal")
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
        #: the damaged rows the last :meth:`rows` or :meth:`finished_hashes` call skipped
        self.damaged: list[DamagedRow] = []
        self._damaged_hashes: set[str] = set()
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
        info = _stat(path)  # never opens the path: a FIFO must not block us
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise StoreError(f"store path {path} is a directory, expected a .sqlite file")
        exists = info is not None
        if not exists and not create:
            raise StoreError(f"no result store at {path} (run 'scaling-theory simulate' first)")
        if exists:
            check_regular_file(path, "store path", info)
            for suffix in _SIDE_FILES:  # SQLite opens these itself; a FIFO or folder there is not ours
                side = Path(f"{path}{suffix}")
                side_info = _stat(side)
                if side_info is not None and not stat.S_ISREG(side_info.st_mode):
                    raise StoreError(f"store {path} cannot be opened: {side} is {_kind(side_info.st_mode)}, "
                                     f"not SQLite's {suffix[1:]} file (remove or rename it)")
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
            conn.row_factory = sqlite3.Row
            return conn
        # read-only: mode=ro still reads the write-ahead log (a killed writer's committed runs)
        uri = self.path.resolve().as_uri()
        conn = None
        try:
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as err:
            if conn is not None:
                conn.close()
            # a WAL store without its -shm file in a folder we cannot write: SQLite cannot read the log
            wal = Path(f"{self.path}-wal")
            info = _stat(wal)
            if info is not None and info.st_size > 0:
                raise StoreError(
                    f"store {self.path} is read-only here and its write-ahead log {wal.name} holds runs that "
                    f"SQLite cannot read without creating {self.path.name}-shm ({_describe(err)}); copy "
                    f"{self.path.name} and {wal.name} to a writable folder and read the copy") from None
            # no log: every committed run is in the main file, which immutable mode reads as it is
            conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=_BUSY_TIMEOUT_S,
                                   isolation_level=None)
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
        problems = [r[0] for r in conn.execute(f"PRAGMA quick_check({_CHECK_LINES})")]
        # a row breaking a CHECK or NOT NULL rule is one damaged row, which rows() skips and names;
        # anything else (a broken page, a bad index) makes the whole file unreadable
        broken = [p for p in problems if p != "ok" and not _ROW_RULE.match(p)]
        if broken:
            raise StoreError(f"{self.path} is a corrupt result store (integrity check: {broken[0]})")

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
        # a damaged row (found by rows() or finished_hashes()) is replaced like a failed one
        replace = values["config_hash"] in self._damaged_hashes
        sql = (f"INSERT INTO runs ({names}) VALUES ({marks}) ON CONFLICT(config_hash) DO UPDATE SET "
               f"{updates}" + ("" if replace else " WHERE runs.status = 'failed'"))
        if self.readonly:
            raise StoreError(f"cannot write store {self.path}: it is read-only")
        try:
            with _transaction(self._conn):
                cursor = self._write(sql, tuple(values.values()))
            self._damaged_hashes.discard(values["config_hash"])
            return cursor.rowcount > 0
        except sqlite3.Error as err:
            raise StoreError(f"cannot write run to store {self.path} ({_describe(err)}); finished runs "
                             f"are kept, fix this and rerun to resume") from None

    def _write(self, sql: str, params: tuple) -> sqlite3.Cursor:
        # the single place a row is written (tests inject I/O faults here)
        return self._conn.execute(sql, params)

    # -- reading ---------------------------------------------------------------------------------

    def finished_hashes(self) -> set[str]:
        """The ``config_hash`` of every run a resumed sweep skips (status ``done`` or ``diverged``).

        Damaged rows are not finished: they are reported (:attr:`damaged`) and a sweep that runs
        them again replaces them (:meth:`record`).
        """
        # every row is read, so a row whose status itself is damaged is found (and replaced) too
        return {r["config_hash"] for r in self.rows() if r["status"] in FINISHED}

    def finished_among(self, hashes: Iterable[str]) -> set[str]:
        """The subset of ``hashes`` already finished in the store (a cheap check before each task)."""
        hashes = list(hashes)
        if not hashes:
            return set()
        marks = ", ".join("?" for _ in hashes)
        sql = (f"SELECT config_hash FROM runs WHERE config_hash IN ({marks}) "
               f"AND status IN ({', '.join('?' for _ in FINISHED)})")
        return {r[0] for r in self._read(sql, (*hashes, *FINISHED))} - self._damaged_hashes

    def counts(self) -> dict[str, int]:
        """Number of rows per status, e.g. ``{'done': 40, 'diverged': 2, 'failed': 0}``."""
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self._read("SELECT status, COUNT(*) FROM runs GROUP BY status"):
            if status in counts:
                counts[status] = n
        return counts

    def __len__(self) -> int:
        return self._read("SELECT COUNT(*) FROM runs")[0][0]

    def rows(self, status: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every run as a flat dict, in the order written; damaged rows skipped and reported.

        Keys: ``config_hash``, ``config`` (dict), ``status``, ``reason``, ``error``, ``error_se``,
        ``seconds``, ``version``, ``created``, ``metrics`` (dict) and the flat columns ``d``, ``K``,
        ``kind``, ``compute``, ``width``, ``params``, ``samples``, ``seed``, ``lr``,
        ``batch_size``, ``optimizer``, ``parametrisation`` and ``precision`` (from ``config``;
        ``"standard"`` and ``"float64"`` for runs stored without them), ``sigma`` (the Pitman-Yor
        discount, ``None`` for the other kinds) and ``teacher`` (the teacher's name with its discount,
        ``pitman-yor(sigma=0.5)``, :func:`~scaling_theory.numeric.sweep.config.teacher_tag`). ``error`` is ``None`` unless the status is ``done``;
        ``seconds`` is the wall time of the training call, shared by the runs of one IsoFLOP row
        that trained together; ``metrics`` holds ``samples_seen``, ``eval_seconds`` and ``spent``
        (the compute c·p·T actually used, at most ``compute``) and, for finished runs of the real
        trainer, ``online_kl`` and ``online_kl_se`` (the time-averaged online KL over the training
        samples, beside the final weights' ``error``).

        A row is damaged when a cell cannot be what this store writes: ``config`` or ``metrics``
        not a JSON object, a NULL or text where a number belongs, a number out of its range (a
        width of 0, a negative error), or a flat column that disagrees with the row's ``config``.
        (A ``done`` run whose error was not finite is stored with a NULL error by :meth:`record`;
        that is not damage, and readers skip it.) Such rows are left out, listed in :attr:`damaged` (row id, hash, why) and
        named in one warning line; they never raise.

        Parameters
        ==========
        status : str or iterable of str, optional
            Keep only rows with these statuses (e.g. ``"done"``).

        Examples
        ========
        >>> import sqlite3, tempfile, os
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "runs.sqlite")
        >>> run = {"config": {"d": 4, "K": 2, "kind": "finite", "compute": 1e4, "width": 2, "params": 10,
        ...        "samples": 1000, "seed": 0}, "status": "done", "error": 0.12}
        >>> with Store(path, create=True) as store:
        ...     _ = [store.record({**run, "config_hash": h}) for h in ("h1", "h2", "h3")]
        >>> with sqlite3.connect(path) as conn:       # damage two rows by hand
        ...     _ = conn.execute("UPDATE runs SET config = '{not json' WHERE config_hash = 'h2'")
        ...     _ = conn.execute("UPDATE runs SET error = 'abc' WHERE config_hash = 'h3'")
        >>> with Store(path) as store:
        ...     print([r["config_hash"] for r in store.rows()])
        ...     print(*store.damaged, sep="\\n")
        ['h1']
        row 2 (h2): config is not JSON (Expecting property name enclosed in double quotes)
        row 3 (h3): error is the text 'abc', not a number
        >>> tmp.cleanup()
        """
        sql = "SELECT * FROM runs"
        params: tuple = ()
        if status is not None:
            wanted = (status,) if isinstance(status, str) else tuple(status)
            sql += f" WHERE status IN ({', '.join('?' for _ in wanted)})"
            params = wanted
        out = []
        damaged: list[DamagedRow] = []
        for row in self._read(sql + " ORDER BY id", params):
            item, problem = _parse_row(dict(row))
            if problem is not None:
                damaged.append(DamagedRow(row["id"], item.get("config_hash"), problem))
                continue
            out.append(item)
        self.damaged = damaged
        self._damaged_hashes |= {d.config_hash for d in damaged if isinstance(d.config_hash, str)}
        if damaged:
            _report_damaged(self.path, damaged)
        return out

    def _read(self, sql: str, params: tuple = ()) -> list:
        # a page damaged after the open's integrity check is one line, not a traceback
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot read store {self.path} ({_describe(err)})") from None

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


class DamagedRow(NamedTuple):
    """A row :meth:`Store.rows` skipped: its SQLite ``id``, its ``config_hash`` (as stored) and why."""

    id: int
    config_hash: Any
    reason: str

    def __str__(self) -> str:
        shown = self.config_hash[:12] if isinstance(self.config_hash, str) else _show(self.config_hash)
        return f"row {self.id} ({shown}): {self.reason}"


#: longest JSON cell read (a run's config or metrics is under 2 KB); longer is damage, not data
_MAX_JSON_CELL = 1 << 20
_REQUIRED_COLUMNS = ("d", "K", "kind", "compute", "width", "params", "samples")
_AT_LEAST_ONE = ("d", "K", "width", "params", "samples", "batch_size")
# metrics the analysis reads as numbers (protocol, fit); others are kept as they are
_METRIC_NUMBERS = ("online_kl", "online_kl_se", "val_error", "val_error_se", "spent", "samples_seen",
                   "eval_seconds")
# how many damaged rows one warning names (the rest are counted)
_NAMED_IN_WARNING = 5
_reported: set[tuple[str, tuple]] = set()


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer past the float range (JSON allows any length)
        return False


def _not_a_number(name: str, value: Any) -> str:
    if value is None:
        return f"{name} is NULL, not a number"
    if isinstance(value, str):
        return f"{name} is the text {_show(value)}, not a number"
    if isinstance(value, bytes):
        return f"{name} is a blob of {len(value)} bytes, not a number"
    return f"{name} is {_show(value)}, not a finite number"


def _json_object(value: Any, name: str) -> tuple[dict | None, str | None]:
    if value is None:
        return None, f"{name} is NULL, not a JSON object"
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None, f"{name} is a blob that is not UTF-8 text"
    if not isinstance(value, str):
        return None, f"{name} is {_show(value)}, not a JSON object"
    if len(value) > _MAX_JSON_CELL:
        return None, f"{name} is {len(value)} characters long (at most {_MAX_JSON_CELL})"
    try:
        parsed = json.loads(value)
    except RecursionError:
        return None, f"{name} is JSON nested too deeply"
    except ValueError as err:  # not JSON, or an integer too long to convert
        return None, f"{name} is not JSON ({str(err).split(':')[0]})"
    if not isinstance(parsed, dict):
        return None, f"{name} is JSON {type(parsed).__name__}, not an object"
    return parsed, None


def _parse_row(raw: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A stored row as :meth:`Store.rows` returns it, and why it is damaged (``None`` if it is not)."""
    item = dict(raw)
    item.pop("id", None)
    if not isinstance(item.get("config_hash"), str) or not item["config_hash"]:
        return item, f"config_hash is {_show(item.get('config_hash'))}, not text"
    status = item.get("status")
    if status not in STATUSES:
        return item, f"status is {_show(status)}, not one of {', '.join(STATUSES)}"
    config, problem = _json_object(item.get("config"), "config")
    if problem:
        return item, problem
    metrics_cell = item.get("metrics")
    metrics, problem = ({}, None) if metrics_cell in (None, "") else _json_object(metrics_cell, "metrics")
    if problem:
        return item, problem
    for name, kind in _CONFIG_COLUMNS.items():
        value = item.get(name)
        if value is None:
            if name in _REQUIRED_COLUMNS:
                return item, f"{name} is NULL"
            continue
        if kind == "TEXT":
            if not isinstance(value, str) or not value:
                return item, f"{name} is {_show(value)}, not text"
        elif not _is_number(value):
            return item, _not_a_number(name, value)
        elif name in _AT_LEAST_ONE and value < 1:
            return item, f"{name} is {value!r}, not at least 1"
        elif name in ("compute", "lr") and value <= 0:
            return item, f"{name} is {value!r}, not positive"
        stated = config.get(name)
        if name == "kind" and isinstance(stated, str):
            stated, value = KIND_ALIASES.get(stated, stated), KIND_ALIASES.get(value, value)
        if stated is not None and stated != value:
            return item, f"column {name} = {_show(value)} disagrees with the row's config ({_show(stated)})"
    for name in _RESULT_COLUMNS:
        value = item.get(name)
        if value is not None and not (_is_number(value) and value >= 0):
            return item, (_not_a_number(name, value) if not _is_number(value)
                          else f"{name} is {value!r}, not >= 0")
    for key in _METRIC_NUMBERS:
        value = metrics.get(key)
        if value is not None and not _is_number(value):
            return item, _not_a_number(f"metrics.{key}", value)
    seed = config.get("teacher_seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        return item, f"config.teacher_seed is {_show(seed)}, not an integer"
    sigma = config.get("sigma")
    if item.get("kind") == "pitman-yor" or sigma is not None:
        # the Pitman-Yor teacher is named by its discount: a row without a valid one cannot be grouped
        if item.get("kind") != "pitman-yor":
            return item, f"config.sigma is {_show(sigma)} on a {item.get('kind')} teacher (only pitman-yor has one)"
        if not (_is_number(sigma) and 0 <= sigma < 1):
            return item, f"config.sigma is {_show(sigma)}, not a Pitman-Yor discount in [0, 1)"
    item["config"], item["metrics"] = config, metrics
    # not a column: runs stored before the option existed are the standard parametrisation
    item["parametrisation"] = config.get("parametrisation", "standard")
    item["precision"] = config.get("precision", "float64")
    # runs stored before the teacher rename name the dp teacher "dirichlet"
    if item.get("kind") in KIND_ALIASES:
        item["kind"] = config["kind"] = KIND_ALIASES[item["kind"]]
    item["sigma"] = None if sigma is None else float(sigma)
    item["teacher"] = teacher_tag(item["kind"], item["sigma"]) if item["kind"] in KINDS else item["kind"]
    return item, None


def _report_damaged(path: Path, damaged: list[DamagedRow]) -> None:
    """One warning line naming the damaged rows (once per store and set of rows in a process)."""
    key = (str(path), tuple(d.id for d in damaged))
    if key in _reported:
        return
    _reported.add(key)
    named = "; ".join(str(d) for d in damaged[:_NAMED_IN_WARNING])
    more = len(damaged) - _NAMED_IN_WARNING
    _log.warning("warning: store %s: skipped %d damaged row%s: %s%s", path, len(damaged),
                 "" if len(damaged) == 1 else "s", named, f"; and {more} more" if more > 0 else "")


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


def _stat(path: Path) -> os.stat_result | None:
    """``os.stat`` (links followed) or ``None`` when nothing is there; never opens the path."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as err:
        raise StoreError(f"cannot read store {path}: {err.strerror or err}") from None


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a directory"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular_file(path: str | os.PathLike, what: str = "store path",
                       info: os.stat_result | None = None) -> None:
    """Raise :class:`StoreError` unless ``path`` is a regular file (a link to one is fine).

    Decided from ``stat`` alone: a FIFO, socket or device is refused without being opened, since
    opening a FIFO for reading blocks until some writer opens it.

    Examples
    ========
    >>> import os, tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> fifo = os.path.join(tmp.name, "results.sqlite")
    >>> os.mkfifo(fifo)
    >>> check_regular_file(fifo)
    Traceback (most recent call last):
    ...
    scaling_theory.numeric.sweep.store.StoreError: store path ...results.sqlite is a FIFO (named pipe), not a regular file
    >>> tmp.cleanup()
    """
    info = info if info is not None else _stat(Path(path))
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{what} {os.fspath(path)} is {_kind(info.st_mode)}, not a regular file")


def _check_magic(path: Path) -> None:
    # O_NONBLOCK: were the path swapped for a FIFO since its stat, the open still returns at once
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as err:
        raise StoreError(f"cannot read store {path}: {err.strerror or err}") from None
    try:
        check_regular_file(path, "store path", os.fstat(fd))
        head = os.read(fd, len(_SQLITE_MAGIC))
    except OSError as err:
        raise StoreError(f"cannot read store {path}: {err.strerror or err}") from None
    finally:
        os.close(fd)
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
