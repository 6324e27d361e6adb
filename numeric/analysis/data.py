"""Data to fit: loss measurements from a CSV file, a sweep's result store, or a known law.

Points are ``(N, D, loss)`` with compute ``C`` (``C = cost * N * D`` unless given): model size ``N``
(for our own runs the student's parameter count ``p``), data size ``D`` (samples ``T``) and the
loss (for our runs the reducible error, which has no irreducible term).  Points whose compute
agrees within 5% form one budget (one IsoFLOP profile).
"""

from __future__ import annotations

import csv
import math
import os
import sqlite3
import stat
from array import array
from dataclasses import dataclass, field, replace
from typing import Any, Collection, Iterable, Mapping, Sequence

import numpy as np

from scaling_theory.errors import UserInputError

__all__ = ["FitData", "load_csv", "from_store", "split_groups", "synthetic", "fit_memory", "check_fit_memory",
           "machine_memory", "FIT_BYTES_PER_POINT", "FIT_BASE_BYTES"]


@dataclass(frozen=True)
class FitData:
    """Loss measurements ready to fit.

    Parameters
    ----------
    N, D, loss, C : arrays of equal length (model size, data size, loss, compute), all positive.
    budget : compute budget label of each point; points with equal labels form one IsoFLOP profile.
    cost : compute per (model size x data size) unit, ``C = cost * N * D`` (6 for transformers).
    source : where the data came from (for messages).
    groups : optional per-point labels (e.g. ``{"d": array, "K": array, "kind": array}``).
    loss_se : optional standard error of each loss (seed-to-seed spread).
    weight : optional non-negative weight of each point in approach 3 (a CSV column).
    weight_name : the name of that column.

    Build one with :func:`load_csv`, :func:`from_store` or :func:`synthetic`.

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e19, 1e20], per_budget=5, noise=0.0)
    >>> len(data), data.cost, bool(np.allclose(data.C, 6 * data.N * data.D))
    (10, 6.0, True)
    >>> big = data.subset(data.budget == 1e20)
    >>> len(big), sorted(set(big.C.tolist()))
    (5, [1e+20])
    """

    N: np.ndarray
    D: np.ndarray
    loss: np.ndarray
    C: np.ndarray
    budget: np.ndarray
    cost: float = 6.0
    source: str = "data"
    groups: Mapping[str, np.ndarray] = field(default_factory=dict)
    loss_se: np.ndarray | None = None
    weight: np.ndarray | None = None
    weight_name: str = ""

    def __len__(self) -> int:
        return int(self.N.size)

    def subset(self, mask: np.ndarray) -> "FitData":
        """The points where ``mask`` is true."""
        return replace(
            self, N=self.N[mask], D=self.D[mask], loss=self.loss[mask], C=self.C[mask],
            budget=self.budget[mask], groups={k: v[mask] for k, v in self.groups.items()},
            loss_se=None if self.loss_se is None else self.loss_se[mask],
            weight=None if self.weight is None else self.weight[mask])


def _budget_labels(C: np.ndarray, rel_tol: float = 0.05) -> np.ndarray:
    """Cluster compute values that agree within ``rel_tol`` into one budget (their geometric mean)."""
    order = np.argsort(C)
    logs = np.log(C[order])
    labels = np.empty_like(C)
    start = 0
    for i in range(1, len(logs) + 1):
        if i == len(logs) or logs[i] - logs[start] > math.log1p(rel_tol):
            labels[order[start:i]] = math.exp(float(np.mean(logs[start:i])))
            start = i
    return labels


def _make(N, D, loss, C, *, cost, source, budget=None, groups=None, loss_se=None) -> FitData:
    N, D, loss, C = (np.asarray(x, float) for x in (N, D, loss, C))
    if budget is None:
        budget = _budget_labels(C) if C.size else C.copy()
    return FitData(N, D, loss, C, np.asarray(budget, float), float(cost), source,
                   dict(groups or {}), None if loss_se is None else np.asarray(loss_se, float))


def load_csv(path: str | os.PathLike, *, cost: float = 6.0, weight_column: str | None = None) -> FitData:
    """Read loss measurements from a CSV file with a header row.

    Columns (case-insensitive): ``N`` and ``loss``, and ``D`` or ``C`` (or both). Without ``C``,
    compute is ``C = cost * N * D``; without ``D``, ``D = C / (cost * N)``. Other columns are ignored.
    Points whose ``C`` agree within 5% form one compute budget (IsoFLOP profile).

    ``weight_column`` names a column of non-negative point weights for approach 3 (kept in
    ``FitData.weight``).

    Raises :class:`UserInputError` naming the file, row and column of the first bad value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> p = pathlib.Path(tmp.name) / "runs.csv"
    >>> _ = p.write_text("N,D,loss\\n1e6,2e7,3.1\\n2e6,1e7,3.0\\n")
    >>> data = load_csv(p)
    >>> len(data), float(data.C[0])
    (2, 120000000000000.0)
    >>> _ = p.write_text("N,C,loss\\n1e6,6e12,3.1\\n")   # D from C: D = C/(6 N)
    >>> float(load_csv(p).D[0])
    1000000.0
    >>> _ = p.write_text("N,loss\\n1e6,3.1\\n")
    >>> load_csv(p)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: ...runs.csv: missing column D or C (found: N, loss)
    >>> tmp.cleanup()
    """
    if not (math.isfinite(cost) and cost > 0):
        raise UserInputError(f"cost must be a positive number, got {cost}")
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except OSError:
        mode = None   # open() below says what is wrong
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # a device or pipe may never end (/dev/zero is one endless line) or block: not opened
        raise UserInputError(f"{name}: not a regular file; save the CSV to a file first")
    rows_hint = _count_rows(name)   # before parsing: refuse a file whose fit cannot fit in memory
    if rows_hint is not None:
        check_fit_memory(rows_hint, name)
    values: dict[str, array] = {}
    weight_values = array("d")
    lines = array("q")   # the file line of each point, for messages
    try:
        with open(name, newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheets write a BOM
            reader = csv.reader(fh)
            header: list[str] | None = None
            for row in reader:
                if any(cell.strip() for cell in row):
                    header = [h.strip() for h in row]
                    break
            if header is None:
                raise UserInputError(f"{name}: empty file, expected a header row with N, D (or C), loss")
            index = {h.lower(): i for i, h in enumerate(header)}
            missing = [c for c in ("N", "loss") if c.lower() not in index]
            if "d" not in index and "c" not in index:
                missing.append("D or C")
            if weight_column is not None and weight_column.lower() not in index:
                missing.append(f"{weight_column} (the weights column)")
            if missing:
                found = ", ".join(h for h in header if h) or "nothing"
                raise UserInputError(f"{name}: missing column {', '.join(missing)} (found: {found})")
            wanted = [c for c in ("N", "D", "C", "loss") if c.lower() in index]
            values = {c: array("d") for c in wanted}
            count = 0
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                lineno = reader.line_num
                lines.append(lineno)
                count += 1
                for col in wanted:
                    values[col].append(_cell(name, lineno, col, row, index[col.lower()]))
                if weight_column is not None:
                    weight_values.append(_weight_cell(name, lineno, weight_column, row,
                                                      index[weight_column.lower()]))
    except FileNotFoundError:
        raise UserInputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserInputError(f"{name}: is a directory, expected a CSV file") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{name}: not a UTF-8 text CSV file") from None
    except OSError as err:
        raise UserInputError(f"{name}: cannot read ({err.strerror or err})") from None
    except csv.Error as err:
        raise UserInputError(f"{name}: malformed CSV ({err})") from None
    if not values["N"]:
        raise UserInputError(f"{name}: no data rows after the header")
    N = np.array(values["N"], dtype=float)
    loss = np.array(values["loss"], dtype=float)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        if "D" in values and "C" in values:
            D, C = np.array(values["D"], dtype=float), np.array(values["C"], dtype=float)
        elif "D" in values:
            D = np.array(values["D"], dtype=float)
            C = cost * N * D
        else:
            C = np.array(values["C"], dtype=float)
            D = C / (cost * N)
        bad = ~(np.isfinite(C) & np.isfinite(D) & (C > 0) & (D > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserInputError(f"{name} row {lines[i]}: compute or data size out of floating-point range "
                             f"(N = {N[i]:g}, cost = {cost:g})")
    data = _make(N, D, loss, C, cost=cost, source=name)
    if weight_column is not None:
        if not any(v > 0 for v in weight_values):
            raise UserInputError(f"{name}: column {weight_column}: all weights are zero")
        data = replace(data, weight=np.array(weight_values), weight_name=weight_column)
    return data


def _cell(name: str, lineno: int, col: str, row: list[str], i: int) -> float:
    """One positive finite number of a CSV row, or a one-line error naming row and column."""
    cell = row[i].strip() if i < len(row) else ""
    if not cell:
        raise UserInputError(f"{name} row {lineno}, column {col}: missing value")
    try:
        x = float(cell)
    except ValueError:
        raise UserInputError(f"{name} row {lineno}, column {col}: not a number ({cell[:40]!r})") from None
    if not math.isfinite(x):
        raise UserInputError(f"{name} row {lineno}, column {col}: not a finite number ({cell[:40]})")
    if x <= 0:
        raise UserInputError(f"{name} row {lineno}, column {col}: must be positive, got {cell[:40]}")
    return x


def _weight_cell(name: str, lineno: int, col: str, row: list[str], i: int) -> float:
    cell = row[i].strip() if i < len(row) else ""
    try:
        x = float(cell)
    except ValueError:
        raise UserInputError(f"{name} row {lineno}, column {col}: not a number ({cell[:40]!r})") from None
    if not math.isfinite(x) or x < 0:
        raise UserInputError(f"{name} row {lineno}, column {col}: a weight must be a non-negative number, "
                             f"got {cell[:40]}")
    return x


FIT_BASE_BYTES = 300 * 2**20
"""Memory of a fit apart from its points: the interpreter, NumPy, SciPy and the 20000-point start screen."""

FIT_BYTES_PER_POINT = 800
"""Peak memory per data point of ``fit`` (all approaches, bootstrap included), measured: a 1e6-row CSV
peaks below 0.6 GB with ``--bootstrap 200`` (see docs/planning.md); rounded up."""


def machine_memory() -> float:
    """Bytes of memory this process may use: the machine's, or its control group's limit if lower."""
    try:
        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        total = math.inf
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, float(text))
    return total


def fit_memory(points: int) -> float:
    """Estimated peak bytes of fitting ``points`` points (:data:`FIT_BASE_BYTES` + per point).

    Examples
    --------
    >>> round(fit_memory(10**6) / 2**30, 2)    # GiB for a million rows
    1.04
    """
    return FIT_BASE_BYTES + FIT_BYTES_PER_POINT * float(points)


def check_fit_memory(points: int, source: str) -> None:
    """Refuse, with the estimate, a fit of ``points`` points that needs more than the machine's memory."""
    need, have = fit_memory(points), machine_memory()
    if need > have:
        raise UserInputError(f"{source}: about {points} data points need about {need / 2**30:.3g} GiB of memory "
                             f"to fit (about {FIT_BYTES_PER_POINT} bytes per point), more than this "
                             f"machine's {have / 2**30:.3g} GiB; fit a subset or a binned summary")


def _count_rows(name: str) -> int | None:
    """Line count of a regular file less its header (an upper bound on its data rows), or None if
    it cannot be read (then opening it says why)."""
    try:
        st = os.stat(name)
    except OSError:
        return None   # open() says what is wrong
    if not stat.S_ISREG(st.st_mode):
        return None
    lines, tail = 0, b""
    try:
        with open(name, "rb") as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
                tail = chunk[-1:]
    except OSError:
        return None
    return max(lines + (1 if tail not in (b"", b"\n") else 0) - 1, 0)   # less the header


def from_store(path: str | os.PathLike, *, config_hashes: Collection[str] | None = None) -> FitData:
    """Our own runs from a result store (:class:`scaling_theory.numeric.sweep.store.Store`), seeds averaged.

    Model size is the student's parameter count ``p``, data size the number of samples ``T`` and
    the loss the reducible error. Only runs with status ``done`` count; the mean over seeds of each
    configuration (d, K, teacher, compute, width) is one point, with its standard error in
    ``loss_se``. ``groups`` carries ``d``, ``K`` and ``kind`` per point, ``kind`` the teacher's name with
    its discount for a Pitman-Yor teacher (``pitman-yor(sigma=0.5)``, one group per discount). ``config_hashes``, if
    given, keeps only those runs (e.g. one sweep's runs in a store that holds several).

    Raises :class:`UserInputError` for a missing, foreign or empty store.

    Examples
    --------
    >>> import os, tempfile
    >>> from scaling_theory.numeric.sweep.config import SweepConfig
    >>> from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "runs.sqlite")
    >>> cfg = SweepConfig.from_dict({"d": [4, 8], "K": 2, "budgets": [1e4, 1e5], "widths": [1, 2, 4],
    ...                              "seeds": [0, 1]})
    >>> _ = run_sweep(cfg, path, executor="serial", progress=False, runner=synthetic_runner)
    >>> data = from_store(path)          # 24 runs, two seeds per point
    >>> len(data), data.N[:3].tolist(), data.D[:3].tolist()
    (12, [5.0, 10.0, 20.0], [2000.0, 1000.0, 500.0])
    >>> sorted(set(data.groups["d"].tolist())), bool(np.all(data.loss_se > 0))
    ([4, 8], True)
    >>> tmp.cleanup()
    >>> from_store(path)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: ...runs.sqlite: no such result store
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise UserInputError(f"{name}: no such result store")
    if os.path.isdir(name):
        raise UserInputError(f"{name}: is a directory, expected a result store (.sqlite)")
    # the store checks the file is SQLite (one check, in numeric.sweep.store)
    from scaling_theory.numeric.sweep.store import Store

    try:
        with Store(name) as store:
            rows = store.rows()
    except UserInputError:
        raise
    except (sqlite3.Error, KeyError) as err:
        raise UserInputError(f"{name}: not a scaling-theory result store ({err})") from None
    if config_hashes is not None:
        wanted = set(config_hashes)
        rows = [r for r in rows if r.get("config_hash") in wanted]
    return _from_rows(rows, name)


def _from_rows(rows: Iterable[Mapping[str, Any]], name: str) -> FitData:
    done = [r for r in rows if r.get("status") == "done" and r.get("error") is not None]
    if not done:
        raise UserInputError(f"{name}: the store has no finished runs (status 'done') to fit")
    # seeds of one configuration (optimiser settings included) -> one mean
    cells: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in done:
        # the teacher's name carries a Pitman-Yor teacher's discount: pitman-yor(sigma=0.5)
        key = (r.get("d"), r.get("K"), r.get("teacher") or r.get("kind"), float(r["compute"]), int(r["width"]),
               r.get("lr"), r.get("optimizer"), r.get("batch_size"))
        cells.setdefault(key, []).append(r)
    # several optimiser settings of one (teacher, budget, width): keep the best-tuned one
    best: dict[tuple, tuple[float, float, list]] = {}
    for key, rs in cells.items():
        errs = np.array([float(r["error"]) for r in rs])
        if not np.all(np.isfinite(errs)) or np.mean(errs) <= 0:
            continue
        mean = float(np.mean(errs))
        se = (float(np.std(errs, ddof=1) / math.sqrt(len(errs))) if len(errs) > 1
              else float(rs[0].get("error_se") or 0.0))
        if key[:5] not in best or mean < best[key[:5]][0]:
            best[key[:5]] = (mean, se, rs)
    N, D, loss, C, se_, gd, gk, gkind = [], [], [], [], [], [], [], []
    for (d, K, kind, compute, _w), (mean, se, rs) in sorted(
            best.items(), key=lambda kv: tuple(map(str, kv[0]))):
        N.append(float(np.mean([float(r["params"]) for r in rs])))
        D.append(float(np.mean([float(r["samples"]) for r in rs])))
        loss.append(mean)
        se_.append(se)
        C.append(compute)
        gd.append(d if d is not None else 0)
        gk.append(K if K is not None else 0)
        gkind.append(kind or "")
    if not N:
        raise UserInputError(f"{name}: the store has no finished runs with a positive error to fit")
    N_, D_, C_ = np.array(N), np.array(D), np.array(C)
    cost = float(np.median(C_ / (N_ * D_)))
    return _make(N_, D_, loss, C_, cost=cost, source=name, budget=C_,
                 groups={"d": np.array(gd), "K": np.array(gk), "kind": np.array(gkind, dtype=object)},
                 loss_se=np.array(se_))


def split_groups(data: FitData, keys: Sequence[str] = ("d", "K", "kind")) -> dict[tuple, FitData]:
    """Split data into one :class:`FitData` per distinct combination of the ``groups`` labels.

    Keys absent from ``data.groups`` are ignored; with none left the whole data set is one group
    keyed ``()``.

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e19], per_budget=4)
    >>> list(split_groups(data))          # synthetic data carry no group labels
    [()]
    >>> tagged = replace(data, groups={"d": np.array([4, 4, 8, 8]), "K": np.array([2, 2, 2, 2])})
    >>> {key: len(part) for key, part in split_groups(tagged).items()}
    {(4, 2): 2, (8, 2): 2}
    """
    keys = [k for k in keys if k in data.groups]
    if not keys:
        return {(): data}
    labels = list(zip(*(data.groups[k].tolist() for k in keys)))
    out = {}
    for lab in sorted(set(labels), key=lambda t: tuple(map(str, t))):
        mask = np.array([x == lab for x in labels])
        out[lab] = data.subset(mask)
    return out


def synthetic(E: float, A: float, B: float, alpha: float, beta: float, *,
              budgets: Sequence[float], per_budget: int = 9, span: float = 16.0, noise: float = 0.01,
              cost: float = 6.0, seed: int = 0, offset: float = 1.0) -> FitData:
    """IsoFLOP data from a known law ``E + A/N^alpha + B/D^beta`` with log-normal noise.

    Per budget, ``per_budget`` model sizes spaced evenly in log over a factor ``span`` either side
    of ``offset`` times the law's optimum (``offset = 1``: a grid symmetric in log N about the
    optimum); ``D = C/(cost N)``; loss multiplied by ``exp(noise * z)``, z ~ N(0, 1).

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e19, 1e20], per_budget=5)
    >>> len(data), sorted(set(data.budget.tolist()))
    (10, [1e+19, 1e+20])
    """
    rng = np.random.default_rng(seed)
    G = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    rows = []
    for C in budgets:
        n_opt = G * (C / cost) ** (beta / (alpha + beta))
        for N in offset * n_opt * np.geomspace(1 / span, span, per_budget):
            D = C / (cost * N)
            L = (E + A / N**alpha + B / D**beta) * math.exp(noise * rng.standard_normal())
            rows.append((N, D, L, C))
    N, D, L, C = map(np.array, zip(*rows))
    return _make(N, D, L, C, cost=cost, source="synthetic", budget=C)
