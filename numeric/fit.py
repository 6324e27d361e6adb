"""Fitting compute-optimal scaling laws to measured losses: Chinchilla's three approaches.

Data are points ``(N, D, loss)`` with compute ``C`` (``C = cost * N * D`` unless given): model
size ``N`` (for our own runs the student's parameter count ``p``), data size ``D`` (samples ``T``)
and the loss (for our runs the reducible error, which has no irreducible term).

- **Approach 1** (lower envelope): per compute budget the best configuration; power laws
  ``N_opt(C) = k_N C^a`` and ``D_opt(C) = k_D C^b`` by least squares in log-log.
- **Approach 2** (IsoFLOP profiles): per budget a parabola of ``ln loss`` against ``ln N``; its vertex
  gives ``N*(C)``, and ``D*(C) = C / (cost N*)``; then the same power laws.
- **Approach 3** (parametric): ``L(N, D) = E + A/N^alpha + B/D^beta`` fitted in log space as
  ``LSE(a - alpha ln N, b - beta ln D, e)`` with a Huber loss (delta = 1e-3) on the log residuals,
  by L-BFGS-B from a grid of starting points keeping the best; then ``a = beta/(alpha+beta)``,
  ``b = alpha/(alpha+beta)``.

Each approach reports ``a``, ``b`` with seeded bootstrap percentile intervals.

References
----------
Hoffmann et al. (2022), *Training Compute-Optimal Large Language Models*, Sec. 3 and App. D.
Besiroglu et al. (2024), *Chinchilla Scaling: A replication attempt*.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import math
import os
import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any, Collection, Iterable, Mapping, Sequence

import numpy as np

from theory.errors import UserInputError

__all__ = ["format_number", 
    "FitData", "ApproachResult", "FitResult", "load_csv", "from_store", "fit", "synthetic",
    "split_groups", "HUBER_DELTA",
]

HUBER_DELTA = 1e-3
"""Huber threshold on log-loss residuals (Hoffmann et al. 2022, App. D.2)."""

_CI_LEVEL = 0.95
_MIN_BUDGET_POINTS = 3  # a parabola needs three distinct model sizes


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

    def __len__(self) -> int:
        return int(self.N.size)

    def subset(self, mask: np.ndarray) -> "FitData":
        """The points where ``mask`` is true."""
        return replace(
            self, N=self.N[mask], D=self.D[mask], loss=self.loss[mask], C=self.C[mask],
            budget=self.budget[mask], groups={k: v[mask] for k, v in self.groups.items()},
            loss_se=None if self.loss_se is None else self.loss_se[mask])


@dataclass
class ApproachResult:
    """One approach's fit: exponents ``a`` (model) and ``b`` (data) with intervals, or why not.

    ``coefficients`` holds ``k_N``, ``k_D`` of ``N*(C) = k_N C^a``, ``D*(C) = k_D C^b``;
    ``params`` the fitted law (approach 3); ``points`` the per-budget optima (approaches 1, 2).

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.0)
    >>> r = fit(data, approach=1, bootstrap=0).approaches[1]
    >>> r.ok, round(r.a, 4), round(r.b, 4), len(r.points)     # exact a = 0.28/0.62 = 0.4516
    (True, 0.4516, 0.5484, 4)
    >>> f"{float(r.model_optimal(1e20)):.3e}", f"{float(r.data_optimal(1e20)):.3e}"
    ('6.449e+08', '2.585e+10')
    >>> few = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19], per_budget=2)
    >>> r = fit(few, approach=2, bootstrap=0).approaches[2]
    >>> r.ok, r.a, r.message.startswith("not enough data to fit")   # a reason, never a NaN
    (False, None, True)
    """

    approach: int
    ok: bool
    message: str = ""
    a: float | None = None
    b: float | None = None
    coefficients: dict[str, float] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)
    ci: dict[str, list[float]] = field(default_factory=dict)
    points: list[dict[str, Any]] = field(default_factory=list)
    n_points: int = 0
    bootstrap: int = 0

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (non-finite numbers as ``None``), for ``fit --json``."""
        out: dict[str, Any] = {"approach": self.approach, "ok": self.ok}
        if self.message:
            out["message"] = self.message
        out.update({k: _num(v) for k, v in self.params.items()})
        out["a"] = _num(self.a)
        out["b"] = _num(self.b)
        out["coefficients"] = {k: _num(v) for k, v in self.coefficients.items()}
        out["ci"] = {k: [_num(x) for x in v] for k, v in self.ci.items()}
        out["n_points"] = self.n_points
        out["bootstrap"] = self.bootstrap
        if self.points:
            out["points"] = [{k: ([_num(x) for x in v] if isinstance(v, list) else _num(v))
                              for k, v in p.items()} for p in self.points]
        return out

    def model_optimal(self, C):
        """``N*(C)`` from the fitted power law."""
        return self.coefficients["k_N"] * np.asarray(C, float) ** self.a

    def data_optimal(self, C):
        """``D*(C)`` from the fitted power law."""
        return self.coefficients["k_D"] * np.asarray(C, float) ** self.b


@dataclass
class FitResult:
    """The fits of one data set: ``approaches[k]`` for k in 1, 2, 3 (those requested).

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.0)
    >>> res = fit(data, approach=3, bootstrap=0)
    >>> res.n_points, res.n_budgets, list(res.approaches)
    (36, 4, [3])
    >>> print(res.summary())
    synthetic: 36 points, 4 compute budgets (C = 6*N*D)
    approach 3: a = 0.4516, b = 0.5484; E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28
    >>> sorted(res.to_json())
    ['approaches', 'cost', 'n_budgets', 'n_points', 'source']
    """

    approaches: dict[int, ApproachResult]
    n_points: int
    n_budgets: int
    cost: float
    source: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON with one entry per approach (keys ``"1"``, ``"2"``, ``"3"``)."""
        return {"source": self.source, "n_points": self.n_points, "n_budgets": self.n_budgets,
                "cost": self.cost,
                "approaches": {str(k): v.to_json() for k, v in sorted(self.approaches.items())}}

    def summary(self) -> str:
        """A few human-readable lines."""
        lines = [f"{self.source}: {self.n_points} points, {self.n_budgets} compute budgets "
                 f"(C = {format_number(self.cost)}*N*D)"]
        for k, r in sorted(self.approaches.items()):
            if not r.ok:
                lines.append(f"approach {k}: {r.message}")
                continue
            text = (f"approach {k}: a = {_with_ci(r.a, r.ci.get('a'))}, "
                    f"b = {_with_ci(r.b, r.ci.get('b'))}")
            if k == 3:
                p = r.params
                text += (f"; E = {_with_ci(p['E'], r.ci.get('E'))}, A = {format_number(p['A'])}, B = {format_number(p['B'])}, "
                         f"alpha = {_with_ci(p['alpha'], r.ci.get('alpha'))}, "
                         f"beta = {_with_ci(p['beta'], r.ci.get('beta'))}")
            if r.message:
                text += f" ({r.message})"
            lines.append(text)
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# input


def _num(v):
    if v is None:
        return None
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def format_number(x, digits: int = 4) -> str:
    """A number for a report: ``digits`` significant digits, ``"n/a"`` for None/NaN/inf, tiny -> ``"0"``.

    Examples
    --------
    >>> format_number(0.451612903), format_number(0.0183, 2), format_number(float("nan")), format_number(1e-15)
    ('0.4516', '0.018', 'n/a', '0')
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    return "0" if abs(x) < 1e-12 else f"{x:.{digits}g}"


def _with_ci(x, ci) -> str:
    if x is None:
        return "n/a"
    if not ci or any(c is None or not math.isfinite(c) for c in ci):
        return format_number(x)
    return f"{x:.4g} [{ci[0]:.4g}, {ci[1]:.4g}]"


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


def load_csv(path: str | os.PathLike, *, cost: float = 6.0) -> FitData:
    """Read loss measurements from a CSV file with a header row.

    Columns (case-insensitive): ``N`` and ``loss``, and ``D`` or ``C`` (or both). Without ``C``,
    compute is ``C = cost * N * D``; without ``D``, ``D = C / (cost * N)``. Other columns are ignored.
    Points whose ``C`` agree within 5% form one compute budget (IsoFLOP profile).

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
    theory.errors.UserInputError: ...runs.csv: missing column D or C (found: N, loss)
    >>> tmp.cleanup()
    """
    if not (math.isfinite(cost) and cost > 0):
        raise UserInputError(f"cost must be a positive number, got {cost}")
    name = os.fspath(path)
    try:
        with open(name, newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheets write a BOM
            rows = list(csv.reader(fh))
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
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise UserInputError(f"{name}: empty file, expected a header row with N, D (or C), loss")
    header = [h.strip() for h in rows[0]]
    index = {h.lower(): i for i, h in enumerate(header)}
    missing = [c for c in ("N", "loss") if c.lower() not in index]
    if "d" not in index and "c" not in index:
        missing.append("D or C")
    if missing:
        found = ", ".join(h for h in header if h) or "nothing"
        raise UserInputError(f"{name}: missing column {', '.join(missing)} (found: {found})")
    wanted = [c for c in ("N", "D", "C", "loss") if c.lower() in index]
    values: dict[str, list[float]] = {c: [] for c in wanted}
    for lineno, row in enumerate(rows[1:], start=2):
        for col in wanted:
            i = index[col.lower()]
            cell = row[i].strip() if i < len(row) else ""
            if not cell:
                raise UserInputError(f"{name} row {lineno}, column {col}: missing value")
            try:
                x = float(cell)
            except ValueError:
                raise UserInputError(
                    f"{name} row {lineno}, column {col}: not a number ({cell[:40]!r})") from None
            if not math.isfinite(x):
                raise UserInputError(f"{name} row {lineno}, column {col}: not a finite number ({cell})")
            if x <= 0:
                raise UserInputError(f"{name} row {lineno}, column {col}: must be positive, got {cell}")
            values[col].append(x)
    if not values["N"]:
        raise UserInputError(f"{name}: no data rows after the header")
    N = np.array(values["N"])
    loss = np.array(values["loss"])
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        if "D" in values and "C" in values:
            D, C = np.array(values["D"]), np.array(values["C"])
        elif "D" in values:
            D = np.array(values["D"])
            C = cost * N * D
        else:
            C = np.array(values["C"])
            D = C / (cost * N)
        bad = ~(np.isfinite(C) & np.isfinite(D) & (C > 0) & (D > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        raise UserInputError(f"{name} row {row}: compute or data size out of floating-point range "
                             f"(N = {N[row - 2]:g}, cost = {cost:g})")
    return _make(N, D, loss, C, cost=cost, source=name)


def from_store(path: str | os.PathLike, *, config_hashes: Collection[str] | None = None) -> FitData:
    """Our own runs from a result store (:class:`numeric.store.Store`), seeds averaged.

    Model size is the student's parameter count ``p``, data size the number of samples ``T`` and
    the loss the reducible error. Only runs with status ``done`` count; the mean over seeds of each
    configuration (d, K, teacher kind, compute, width) is one point, with its standard error in
    ``loss_se``. ``groups`` carries ``d``, ``K`` and ``kind`` per point. ``config_hashes``, if
    given, keeps only those runs (e.g. one sweep's runs in a store that holds several).

    Raises :class:`UserInputError` for a missing, foreign or empty store.

    Examples
    --------
    >>> import os, tempfile
    >>> from numeric.sweep import SweepConfig, run_sweep, synthetic_runner
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
    theory.errors.UserInputError: ...runs.sqlite: no such result store
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise UserInputError(f"{name}: no such result store")
    if os.path.isdir(name):
        raise UserInputError(f"{name}: is a directory, expected a result store (.sqlite)")
    try:
        with open(name, "rb") as fh:
            magic = fh.read(16)
    except OSError as err:
        raise UserInputError(f"{name}: cannot read ({err.strerror or err})") from None
    if magic != b"SQLite format 3\x00":
        raise UserInputError(f"{name}: not a result store (not an SQLite database)")
    from numeric.store import Store  # the sweep engineer's store; imported late (optional module)

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
        key = (r.get("d"), r.get("K"), r.get("kind"), float(r["compute"]), int(r["width"]),
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
              cost: float = 6.0, seed: int = 0) -> FitData:
    """IsoFLOP data from a known law ``E + A/N^alpha + B/D^beta`` with log-normal noise.

    Per budget, ``per_budget`` model sizes spaced evenly in log over a factor ``span`` either side
    of the law's optimum; ``D = C/(cost N)``; loss multiplied by ``exp(noise * z)``, z ~ N(0, 1).

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
        for N in n_opt * np.geomspace(1 / span, span, per_budget):
            D = C / (cost * N)
            L = (E + A / N**alpha + B / D**beta) * math.exp(noise * rng.standard_normal())
            rows.append((N, D, L, C))
    N, D, L, C = map(np.array, zip(*rows))
    return _make(N, D, L, C, cost=cost, source="synthetic", budget=C)


# --------------------------------------------------------------------------------------------
# approach 3: parametric fit


@contextlib.contextmanager
def _one_blas_thread():
    """Run with OpenBLAS at one thread (restored after).

    L-BFGS-B's few-parameter steps call BLAS; on a small shared machine OpenBLAS threads spinning
    against other processes made each fit ~10x slower (measured: 7 s vs 0.85 s). Linux-only; a
    no-op where the libraries cannot be found.
    """
    import scipy.optimize  # noqa: F401 - load its BLAS first, so it is found below

    handles = []
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
    except OSError:
        paths = set()
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", ""), ("scipy_openblas", "64_"), ("openblas", "")):
            try:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}")
            except AttributeError:
                continue
            handles.append((put, int(get())))
            put(1)
            break
    try:
        yield
    finally:
        for put, n in handles:
            put(n)


def _huber(r: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Huber loss and its derivative."""
    small = np.abs(r) <= delta
    value = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    grad = np.where(small, r, delta * np.sign(r))
    return value, grad


def _lse_objective(theta, x, y, logL, with_e, delta):
    """Huber objective (divided by delta for conditioning) and gradient of the log-sum-exp model."""
    if with_e:
        a, alpha, b, beta, e = theta
    else:
        a, alpha, b, beta = theta
    t = [a - alpha * x, b - beta * y]
    if with_e:
        t.append(np.full_like(x, e))
    T = np.vstack(t)
    m = T.max(axis=0)
    W = np.exp(T - m)
    s = W.sum(axis=0)
    pred = m + np.log(s)
    W /= s
    val, dr = _huber(pred - logL, delta)
    g = [np.sum(dr * W[0]), -np.sum(dr * W[0] * x), np.sum(dr * W[1]), -np.sum(dr * W[1] * y)]
    if with_e:
        g.append(np.sum(dr * W[2]))
    return float(val.sum()) / delta, np.array(g) / delta


def _grid_starts(x, y, logL, with_e, top: int):
    """Starting points: a data-scaled grid, evaluated in one pass; the ``top`` best are returned."""
    xm, ym, lm, lmin = np.median(x), np.median(y), np.median(logL), np.min(logL)
    alphas = betas = np.array([0.1, 0.25, 0.5, 0.8, 1.2])
    fracs = np.log([0.05, 0.2, 0.5, 1.0])  # share of the median loss each term carries at the median
    es = np.log([0.3, 0.7, 0.9, 0.97]) + lmin if with_e else np.array([0.0])
    grid = np.array(np.meshgrid(alphas, betas, fracs, fracs, es, indexing="ij")).reshape(5, -1).T
    al, be, fa, fb, e = grid.T
    a = lm + fa + al * xm
    b = lm + fb + be * ym
    T1 = a[:, None] - al[:, None] * x[None, :]
    T2 = b[:, None] - be[:, None] * y[None, :]
    stack = [T1, T2] + ([np.broadcast_to(e[:, None], T1.shape)] if with_e else [])
    pred = np.logaddexp.reduce(np.stack(stack), axis=0)
    val, _ = _huber(pred - logL[None, :], HUBER_DELTA)
    obj = val.sum(axis=1)
    best = np.argsort(obj)[:top]
    cols = [a, al, b, be] + ([e] if with_e else [])
    return [np.array([c[i] for c in cols]) for i in best]


def _fit_lse(x, y, logL, with_e, starts, delta=HUBER_DELTA):
    from scipy.optimize import minimize

    lo_e = float(np.min(logL)) - 40.0  # E below e^-40 of the smallest loss is indistinguishable from 0
    bounds = [(None, None), _EXPONENT_BOUNDS, (None, None), _EXPONENT_BOUNDS] + ([(lo_e, None)] if with_e else [])
    best = None
    for start in starts:
        start = np.array(start, float)
        if with_e:
            start[4] = max(start[4], lo_e)
        res = minimize(_lse_objective, start, args=(x, y, logL, with_e, delta), jac=True,
                       method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 3000, "ftol": 1e-14, "gtol": 1e-10})
        if np.all(np.isfinite(res.x)) and (best is None or res.fun < best.fun):
            best = res
    return best


def _exp(x: float) -> float:
    """``exp`` that gives ``inf`` instead of raising (degenerate bootstrap resamples)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _law_from_theta(theta, with_e, cost):
    a, alpha, b, beta = (float(t) for t in theta[:4])
    E = _exp(float(theta[4])) if with_e else 0.0
    A, B = _exp(a), _exp(b)
    ea, eb = beta / (alpha + beta), alpha / (alpha + beta)
    # N* = G (C/cost)^ea, D* = (C/cost)^eb / G   (Hoffmann et al. 2022, eq. 4)
    lnG = (math.log(alpha) + a - math.log(beta) - b) / (alpha + beta)
    k_N = _exp(lnG - ea * math.log(cost))
    k_D = _exp(-lnG - eb * math.log(cost))
    return {"E": E, "A": A, "B": B, "alpha": alpha, "beta": beta}, ea, eb, {"k_N": k_N, "k_D": k_D}


_EXPONENT_BOUNDS = (1e-4, 5.0)


def _approach3(data: FitData, bootstrap: int, rng, irreducible: bool) -> ApproachResult:
    n_par = 5 if irreducible else 4
    if len(data) < n_par + 1:
        return ApproachResult(3, False, f"not enough data to fit: {len(data)} points for {n_par} "
                                        "parameters", n_points=len(data))
    x, y, logL = np.log(data.N), np.log(data.D), np.log(data.loss)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return ApproachResult(3, False, "not enough data to fit: model or data size never varies",
                              n_points=len(data))
    starts = _grid_starts(x, y, logL, irreducible, top=8)
    res = _fit_lse(x, y, logL, irreducible, starts)
    if res is None:
        return ApproachResult(3, False, "fit failed: the optimiser found no finite optimum",
                              n_points=len(data))
    params, ea, eb, coef = _law_from_theta(res.x, irreducible, data.cost)
    params["objective"] = float(res.fun) * HUBER_DELTA
    notes = [] if irreducible else ["E fixed at 0 (reducible error)"]
    for name in ("alpha", "beta"):
        if min(abs(params[name] - b) for b in _EXPONENT_BOUNDS) < 1e-6:
            notes.append(f"{name} at its bound {params[name]:g}: the data do not determine it")
    if not all(math.isfinite(v) for v in list(params.values()) + list(coef.values())):
        notes.append("some fitted constants overflow: the data do not determine them")
    out = ApproachResult(3, True, "; ".join(notes), ea, eb, coef, params, n_points=len(data),
                         bootstrap=bootstrap)
    if bootstrap:
        keys = ["E", "A", "B", "alpha", "beta", "a", "b"]
        draws = {k: [] for k in keys}
        for _ in range(bootstrap):
            idx = rng.integers(0, len(data), len(data))
            r = _fit_lse(x[idx], y[idx], logL[idx], irreducible, [res.x] + starts[:1])
            if r is None:
                continue
            p, a_, b_, _ = _law_from_theta(r.x, irreducible, data.cost)
            p.update(a=a_, b=b_)
            for k in keys:
                draws[k].append(p[k])
        out.ci = _percentile_ci(draws)
    return out


# --------------------------------------------------------------------------------------------
# approaches 1 and 2: per-budget optima, then power laws in C


def _budget_optima(data: FitData, parabola: bool):
    """Per budget ``C, N_opt, D_opt, loss_opt, parabola``; skipped budgets with reasons.

    A budget whose optimum is not inside its sampled model sizes is skipped, not extrapolated.
    """
    points, skipped = [], []
    for C in np.unique(data.budget):
        m = data.budget == C
        N, L, Cs = data.N[m], data.loss[m], data.C[m]
        cost_here = float(np.median(Cs / (N * data.D[m])))
        if parabola:
            xs = np.log(N)
            if np.unique(xs).size < _MIN_BUDGET_POINTS:
                skipped.append((float(C), f"fewer than {_MIN_BUDGET_POINTS} model sizes"))
                continue
            c2, c1, c0 = np.polyfit(xs, np.log(L), 2)
            if not c2 > 0:
                skipped.append((float(C), "profile not convex"))
                continue
            xv = -c1 / (2 * c2)
            if not (xs.min() <= xv <= xs.max()):
                skipped.append((float(C), "minimum outside the sampled model sizes"))
                continue
            n_opt = math.exp(xv)
            l_opt = math.exp(c0 + c1 * xv + c2 * xv * xv)
            coeffs = [float(c2), float(c1), float(c0)]
        else:
            if np.unique(N).size < _MIN_BUDGET_POINTS:
                skipped.append((float(C), f"fewer than {_MIN_BUDGET_POINTS} model sizes"))
                continue
            i = int(np.argmin(L))
            if N[i] == N.min() or N[i] == N.max():
                # the best sampled size is the smallest/largest: the optimum may lie beyond the grid
                which = "smallest" if N[i] == N.min() else "largest"
                skipped.append((float(C), f"best at the {which} sampled model size"))
                continue
            n_opt, l_opt = float(N[i]), float(L[i])
            coeffs = []
        points.append({"C": float(C), "N_opt": n_opt, "D_opt": float(C) / (cost_here * n_opt),
                       "loss_opt": l_opt, "parabola": coeffs})
    return points, skipped


def _power_fit(C, Y):
    """Least squares ``ln Y = ln k + e ln C``; returns (k, e)."""
    e, lnk = np.polyfit(np.log(C), np.log(Y), 1)
    return math.exp(lnk), float(e)


def _approach12(data: FitData, k: int, bootstrap: int, rng) -> ApproachResult:
    parabola = k == 2
    points, skipped = _budget_optima(data, parabola)
    note = "; ".join(f"C={c:.3g} skipped ({why})" for c, why in skipped)
    if len(points) < 2:
        return ApproachResult(k, False, "not enough data to fit: fewer than 2 compute budgets with "
                              "an optimum" + (f" ({note})" if note else ""), n_points=len(data))
    Cs = np.array([p["C"] for p in points])
    kN, a = _power_fit(Cs, np.array([p["N_opt"] for p in points]))
    kD, b = _power_fit(Cs, np.array([p["D_opt"] for p in points]))
    msgs = [note] if note else []
    if len(points) == 2:
        msgs.append("only 2 budgets: the power law passes through both")
    out = ApproachResult(k, True, "; ".join(msgs), a, b, {"k_N": kN, "k_D": kD}, {},
                         points=points, n_points=len(data), bootstrap=bootstrap)
    if bootstrap:
        draws: dict[str, list[float]] = {"a": [], "b": []}
        per_budget: dict[float, list[float]] = {p["C"]: [] for p in points}
        budgets = [np.flatnonzero(data.budget == C) for C in np.unique(data.budget)]
        for _ in range(bootstrap):
            idx = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in budgets])
            pts, _ = _budget_optima(data.subset(idx), parabola)
            for p in pts:
                if p["C"] in per_budget:
                    per_budget[p["C"]].append(p["N_opt"])
            if len(pts) < 2:
                continue
            Cb = np.array([p["C"] for p in pts])
            draws["a"].append(_power_fit(Cb, np.array([p["N_opt"] for p in pts]))[1])
            draws["b"].append(_power_fit(Cb, np.array([p["D_opt"] for p in pts]))[1])
        out.ci = _percentile_ci(draws)
        if "a" not in out.ci:
            out.message = "; ".join(filter(None, [out.message, (
                f"no interval: only {len(draws['a'])} of {bootstrap} resamples had optima at 2+ "
                "budgets")]))
        # per-budget interval of N_opt (D_opt = C/(cost N_opt) is its mirror image)
        for p in points:
            ci = _percentile_ci({"N": per_budget[p["C"]]}).get("N")
            p["N_opt_ci"] = ci
    return out


def _percentile_ci(draws: Mapping[str, list[float]]) -> dict[str, list[float]]:
    lo, hi = 100 * (1 - _CI_LEVEL) / 2, 100 * (1 + _CI_LEVEL) / 2
    out = {}
    for key, vals in draws.items():
        v = np.asarray(vals, float)
        v = v[np.isfinite(v)]
        if v.size >= 10:
            out[key] = [float(np.percentile(v, lo)), float(np.percentile(v, hi))]
    return out


def fit(data: FitData, approach: str | int = "all", *, bootstrap: int = 200, seed: int = 0,
        irreducible: bool = True) -> FitResult:
    """Fit compute-optimal scaling by Chinchilla's approaches 1, 2 and 3.

    Parameters
    ----------
    data : from :func:`load_csv`, :func:`from_store` or :func:`synthetic`.
    approach : 1, 2, 3 or ``"all"``.
    bootstrap : number of bootstrap resamples for the 95% percentile intervals (0: none).
    seed : seed of the bootstrap resampling (results are reproducible).
    irreducible : fit the irreducible term ``E >= 0`` (approach 3); ``False`` fixes ``E = 0``,
        right for a reducible error, which vanishes as ``N, D -> oo``.

    Returns
    -------
    FitResult with one :class:`ApproachResult` per approach; an approach that cannot be fitted
    says why in ``message`` (``ok`` false) instead of returning NaN.

    Examples
    --------
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e18, 1e19, 1e20, 1e21],
    ...                  noise=0.0)
    >>> res = fit(data, bootstrap=0)
    >>> [round(res.approaches[k].a, 2) for k in (1, 2, 3)]  # exact: 0.28/0.62 = 0.4516
    [0.45, 0.45, 0.45]
    >>> round(res.approaches[3].params["alpha"], 3), round(res.approaches[3].params["E"], 2)
    (0.34, 1.69)

    With bootstrap resamples each exponent gets a seeded 95% percentile interval:

    >>> r2 = fit(data, approach=2, bootstrap=20, seed=0).approaches[2]
    >>> lo, hi = r2.ci["a"]
    >>> bool(lo <= r2.a <= hi and lo < 0.4516 < hi)
    True
    >>> r2.ci == fit(data, approach=2, bootstrap=20, seed=0).approaches[2].ci   # reproducible
    True
    """
    if approach not in ("all", 1, 2, 3, "1", "2", "3"):
        raise UserInputError(f"approach must be 1, 2, 3 or all, got {approach!r}")
    if bootstrap < 0:
        raise UserInputError(f"bootstrap must be >= 0, got {bootstrap}")
    wanted = (1, 2, 3) if approach == "all" else (int(approach),)
    if len(data) == 0:
        raise UserInputError(f"{data.source}: no data points to fit")
    out = {}
    with _one_blas_thread():
        for k in wanted:
            rng = np.random.default_rng([seed, k])
            out[k] = (_approach3(data, bootstrap, rng, irreducible) if k == 3
                      else _approach12(data, k, bootstrap, rng))
    return FitResult(out, len(data), int(np.unique(data.budget).size), data.cost, data.source)
