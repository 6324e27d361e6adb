"""IsoFLOP sweeps of the teacher–student experiment, resumable, on a local pool or a Dask cluster.

A sweep is a union of grids over (d, K, teacher kind, compute budget C, width n, seed, optimiser
settings). Each budget fixes the number of samples T of single-pass SGD so that every run at one C
spends the same compute (NOTES.md, "Empirical check"; compute C = c·p·T with p = n(d+1)):

    T = floor(C / (c · p)),   p = n (d + 1),   c = ``cost_factor`` (default 1).

Flooring keeps every run within its budget (the spent compute c·p·T is stored as ``metrics.spent``);
a run with T < ``min_samples`` is *skipped* (listed in the summary, never stored). With
``widths = "auto"`` the widths of one budget are ``widths_per_budget`` integers spaced
geometrically so that p/√C spans ``p_over_sqrt_c``, so every budget brackets its optimum as the
optimum moves with C. (The default range lies below p = √C: single-pass SGD's measured optimum
is at p*/√C ≈ 0.03–0.2 for the default teacher, i.e. T* ≫ p*.)

Every run is identified by the SHA-256 of the canonical JSON of its full configuration (seeds and
evaluation settings included, the toolkit version excluded), so rerunning a sweep skips what the
store already holds and a killed sweep resumes with nothing lost and nothing duplicated.

Examples
--------
>>> from numeric.sweep import SweepConfig
>>> cfg = SweepConfig.quick()
>>> runs, skipped = cfg.expand()
>>> len(runs) > 0 and all(r.samples >= cfg.min_samples for r in runs)
True
>>> r = runs[0]; r.params == r.width * (r.d + 1) and r.params * r.samples <= r.compute
True
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from theory.errors import UserInputError

from numeric.store import Store, StoreError

__all__ = ["SweepConfig", "Grid", "RunSpec", "SweepSummary", "SweepInterrupted", "run_sweep",
           "train_runs", "synthetic_runner", "EXPERIMENT"]

#: names the experiment a run's numbers come from; part of every config hash (bump if it changes)
EXPERIMENT = "teacher-student-single-pass/1"

KINDS = ("finite", "dirichlet")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "inverse", "inverse_sqrt")
DEVICES = ("cpu", "numpy", "cuda")
_MAX_RUNS = 100_000
_SERIAL_BELOW = 1e8  # total compute under which a default local sweep runs in this process (~1 s)
_MAX_BUDGET = 1e15  # T = C/p must stay a sane int64 sample count


# ---------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class Grid:
    """One product grid of runs; a :class:`SweepConfig` is a union of grids (runs deduplicated).

    ``widths=None`` means automatic widths per budget (see the module docstring).

    Parameters
    ==========
    name : label of the grid (``[[grid]] name = ...`` in TOML).
    d, K, kind, budgets, seeds, lr, batch_size, optimizer, schedule, t0 : the values crossed.
    widths : student widths, or ``None`` for ``widths_per_budget`` automatic widths per budget with
        ``p/sqrt(C)`` spanning ``p_over_sqrt_c``.

    Examples
    ========
    >>> cfg = SweepConfig.from_dict({"d": [4, 8], "K": 2, "budgets": [1e4, 1e5], "widths": [1, 2]})
    >>> g = cfg.grids[0]
    >>> g.name, g.d, g.budgets, g.widths, g.kind
    ('main', (4, 8), (10000.0, 100000.0), (1, 2), ('finite',))
    >>> cfg.size()   # 2 d x 2 budgets x 2 widths
    8
    """

    name: str
    d: tuple[int, ...]
    K: tuple[int, ...]
    kind: tuple[str, ...]
    budgets: tuple[float, ...]
    widths: tuple[int, ...] | None
    widths_per_budget: int
    p_over_sqrt_c: tuple[float, float]
    seeds: tuple[int, ...]
    lr: tuple[float, ...]
    batch_size: tuple[int, ...]
    optimizer: tuple[str, ...]
    schedule: tuple[str, ...]
    t0: tuple[float, ...]


_GRID_FIELDS = tuple(f.name for f in fields(Grid) if f.name != "name")
_GLOBAL_FIELDS = ("min_samples", "eval_samples", "cost_factor", "device")


@dataclass(frozen=True)
class RunSpec:
    """One training run: the teacher, the student, the budget and every seed.

    ``samples`` is ``T = floor(compute/(cost_factor * params))``; the teacher, data, initialisation
    and evaluation seeds are derived from ``seed`` (independent streams); ``config_hash`` (SHA-256 of
    :meth:`to_config`) is the run's key in the store.

    Examples
    ========
    >>> [run, *_], skipped = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2, 4]}).expand()
    >>> run.width, run.params, run.samples, run.params * run.samples <= run.compute
    (1, 5, 2000, True)
    >>> run.teacher_seed, run.data_seed != run.init_seed != run.eval_seed
    (0, True)
    >>> len(run.config_hash), run.to_config()["experiment"]
    (64, 'teacher-student-single-pass/1')
    """

    d: int
    K: int
    kind: str
    compute: float
    width: int
    seed: int
    lr: float
    batch_size: int
    optimizer: str
    schedule: str
    t0: float
    samples: int
    eval_samples: int
    cost_factor: float
    device: str

    @property
    def params(self) -> int:
        """Student parameter count p = n(d+1) (NOTES.md, "Ours")."""
        return self.width * (self.d + 1)

    @property
    def teacher_seed(self) -> int:
        """Seed of :func:`numeric.teacher.sample_teacher` (the user's seed itself)."""
        return self.seed

    @property
    def data_seed(self) -> int:
        """Seed of the training stream (derived from ``seed``)."""
        return _derived_seed(self.seed, 1)

    @property
    def init_seed(self) -> int:
        """Seed of the student's initialisation (derived from ``seed``)."""
        return _derived_seed(self.seed, 2)

    @property
    def eval_seed(self) -> int:
        """Seed of the fresh evaluation inputs (derived from ``seed``)."""
        return _derived_seed(self.seed, 3)

    def to_config(self) -> dict[str, Any]:
        """The full configuration stored with the run (and hashed)."""
        out = asdict(self)
        out.update(experiment=EXPERIMENT, params=self.params, teacher_seed=self.teacher_seed,
                   data_seed=self.data_seed, init_seed=self.init_seed, eval_seed=self.eval_seed)
        return out

    @functools.cached_property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_config`."""
        return _hash(self.to_config())


def _derived_seed(seed: int, purpose: int) -> int:
    # independent streams for teacher, data, init and evaluation from one user seed
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: grids of runs plus global settings (see :meth:`from_dict` for every field).

    Build one with :meth:`default` (the study ``reproduce`` runs), :meth:`quick` (seconds),
    :meth:`from_toml` or :meth:`from_dict`.

    Examples
    ========
    >>> cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2, 4]})
    >>> [(r.width, r.samples) for r in cfg.expand()[0]][:3]
    [(1, 2000), (2, 1000), (4, 500)]
    >>> SweepConfig.from_dict({"d": 0, "K": 2, "budgets": [1e4]})
    Traceback (most recent call last):
    ...
    theory.errors.UserInputError: sweep config: field 'd' must contain positive integers, got 0
    """

    grids: tuple[Grid, ...]
    min_samples: int = 100
    eval_samples: int = 20_000
    cost_factor: float = 1.0
    device: str = "cpu"

    # -- builders ----------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "sweep config") -> "SweepConfig":
        """Validate a mapping (the TOML layout) into a config; every mistake is a one-line error.

        Top-level keys: the global settings ``min_samples`` (int, default 100), ``eval_samples``
        (Monte-Carlo inputs for the error, default 20000), ``cost_factor`` (c in C = c·p·T,
        default 1), ``device`` (``cpu``/``numpy``/``cuda``); the grid fields below as defaults for
        every grid; and optionally ``grid``, a list of tables (``[[grid]]``) each with a ``name``
        and any grid fields. Without ``grid`` the top level is the one grid.

        Grid fields (a scalar means a one-element list): ``d``, ``K`` (positive ints), ``kind``
        (``finite``/``dirichlet``), ``budgets`` (compute, positive numbers), ``widths`` (positive
        ints or ``"auto"``), ``widths_per_budget`` (int, auto widths), ``p_over_sqrt_c`` ([lo, hi],
        auto widths), ``seeds`` (ints >= 0), ``lr`` (positive), ``batch_size`` (positive ints),
        ``optimizer`` (``sgd``/``adam``), ``schedule`` (``constant``/``inverse``/``inverse_sqrt``,
        learning rate lr/(1+t/t0) or lr/sqrt(1+t/t0) after t samples), ``t0`` (samples).
        """
        if not isinstance(data, Mapping):
            raise UserInputError(f"{source}: expected a table of settings, got {type(data).__name__}")
        known = set(_GRID_FIELDS) | set(_GLOBAL_FIELDS) | {"grid"}
        for key in data:
            if key not in known:
                raise UserInputError(f"{source}: unknown field {key!r} (known: {', '.join(sorted(known))})")
        glob = {
            "min_samples": _int(data, "min_samples", 100, source, minimum=1),
            "eval_samples": _int(data, "eval_samples", 20_000, source, minimum=100, maximum=10**8),
            "cost_factor": _number(data, "cost_factor", 1.0, source),
            "device": _choice(data, "device", "cpu", DEVICES, source),
        }
        defaults = {k: data[k] for k in _GRID_FIELDS if k in data}
        raw_grids = data.get("grid")
        if raw_grids is None:
            grids = (_grid("main", defaults, source),)
        else:
            if not isinstance(raw_grids, list) or not raw_grids:
                raise UserInputError(f"{source}: field 'grid' must be a non-empty list of tables ([[grid]])")
            grids = []
            for i, raw in enumerate(raw_grids):
                where = f"{source}: grid {i + 1}"
                if not isinstance(raw, Mapping):
                    raise UserInputError(f"{where}: expected a table, got {type(raw).__name__}")
                for key in raw:
                    if key not in _GRID_FIELDS and key != "name":
                        raise UserInputError(f"{where}: unknown field {key!r} "
                                             f"(known: name, {', '.join(_GRID_FIELDS)})")
                name = raw.get("name", f"grid{i + 1}")
                if not isinstance(name, str) or not name.strip():
                    raise UserInputError(f"{where}: field 'name' must be a non-empty string")
                grids.append(_grid(name, {**defaults, **{k: v for k, v in raw.items() if k != "name"}},
                                   f"{source}: grid {name!r}"))
            grids = tuple(grids)
        config = cls(grids=grids, **glob)
        n = config.size()
        if n > _MAX_RUNS:
            raise UserInputError(f"{source}: the sweep has {n} runs; at most {_MAX_RUNS} are allowed")
        return config

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "SweepConfig":
        """Read and validate a TOML sweep file (layout: :meth:`from_dict`).

        Examples
        ========
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = Path(tmp.name) / "sweep.toml"
        >>> _ = path.write_text('d = [4]\\nK = [2]\\nbudgets = [1e4, 1e5]\\nseeds = [0, 1]\\n')
        >>> SweepConfig.from_toml(path).grids[0].budgets
        (10000.0, 100000.0)
        >>> tmp.cleanup()
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise UserInputError(f"sweep config {path} does not exist") from None
        except IsADirectoryError:
            raise UserInputError(f"sweep config {path} is a directory, expected a .toml file") from None
        except OSError as err:
            raise UserInputError(f"cannot read sweep config {path}: {err.strerror or err}") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise UserInputError(f"sweep config {path} is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as err:
            raise UserInputError(f"sweep config {path} is not valid TOML: {err}") from None
        return cls.from_dict(data, source=f"sweep config {path}")

    @classmethod
    def default(cls) -> "SweepConfig":
        """The study ``scaling-theory reproduce`` runs (finite teacher, single-pass SGD with
        lr = 0.2/(1 + t/1000)): IsoFLOPs at (d, K) = (8, 32) for C in {1e5, 1e6, 1e7, 1e8, 3e8}
        (3.5 decades), plus IsoFLOPs at C in {1e6, 1e7, 1e8} for d in {4, 8, 16} (K = 32) and
        for K in {8, 32, 128} (d = 8), the d- and K-trends of the model share; 9 widths per budget
        with p/sqrt(C) from 0.005 to 0.64 (around the measured optimum, which moves from
        p*/sqrt(C) ~ 0.17 at C = 1e5 to ~ 0.04 at C = 3e8), 3 teacher seeds each: 435 runs."""
        return cls.from_dict(_DEFAULT)

    @classmethod
    def quick(cls) -> "SweepConfig":
        """A tiny sweep (seconds): (d, K) = (4, 8), C in {1e4, 1e5, 1e6}, 4–5 widths each, one seed."""
        return cls.from_dict(_QUICK)

    # -- expansion ---------------------------------------------------------------------------

    def expand(self) -> tuple[list[RunSpec], list[dict[str, Any]]]:
        """All runs (deduplicated, in grid order) and the skipped configurations with reasons."""
        runs: dict[str, RunSpec] = {}
        skipped: list[dict[str, Any]] = []
        for grid in self.grids:
            for d in grid.d:
                for compute in grid.budgets:
                    for width in _widths(grid, d, compute):
                        params = width * (d + 1)
                        samples = int(math.floor(compute / (self.cost_factor * params) * (1 + 1e-12)))
                        for K in grid.K:
                            for kind in grid.kind:
                                for seed in grid.seeds:
                                    for lr, batch, opt, sched, t0 in itertools.product(
                                            grid.lr, grid.batch_size, grid.optimizer, grid.schedule,
                                            grid.t0):
                                        spec = RunSpec(d, K, kind, compute, width, seed, lr, batch, opt,
                                                       sched, t0, samples, self.eval_samples,
                                                       self.cost_factor, self.device)
                                        if samples < self.min_samples:
                                            skipped.append({
                                                **spec.to_config(), "grid": grid.name,
                                                "reason": f"T = {samples} samples < min_samples"
                                                          f" = {self.min_samples}"})
                                        else:
                                            runs.setdefault(spec.config_hash, spec)
        return list(runs.values()), skipped

    def size(self) -> int:
        """Number of configurations before skipping and deduplication (cheap)."""
        total = 0
        for g in self.grids:
            n_widths = len(g.widths) if g.widths is not None else g.widths_per_budget
            total += (len(g.d) * len(g.K) * len(g.kind) * len(g.budgets) * n_widths * len(g.seeds)
                      * len(g.lr) * len(g.batch_size) * len(g.optimizer) * len(g.schedule) * len(g.t0))
        return total

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout (``from_dict(cfg.to_dict()) == cfg``)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _GLOBAL_FIELDS}
        grids = []
        for g in self.grids:
            item = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(g).items()}
            item["widths"] = "auto" if g.widths is None else list(g.widths)
            grids.append(item)
        out["grid"] = grids
        return out

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of the whole config (plus the experiment name)."""
        return _hash({"experiment": EXPERIMENT, **self.to_dict()})


def _widths(grid: Grid, d: int, compute: float) -> list[int]:
    if grid.widths is not None:
        return list(grid.widths)
    lo, hi = grid.p_over_sqrt_c
    root = math.sqrt(compute)
    count = grid.widths_per_budget
    out: list[int] = []
    for i in range(count):
        frac = i / (count - 1) if count > 1 else 0.5
        ratio = lo * (hi / lo) ** frac
        width = max(1, round(ratio * root / (d + 1)))
        if width not in out:
            out.append(width)
    return out


# -- field validation (one-line messages naming the field) -----------------------------------


def _list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _ints(value: Any, name: str, source: str, minimum: int) -> tuple[int, ...]:
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field {name!r} must not be empty")
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < minimum:
            what = "positive integers" if minimum == 1 else f"integers >= {minimum}"
            raise UserInputError(f"{source}: field {name!r} must contain {what}, got {item!r}")
        if item > 10**9:
            raise UserInputError(f"{source}: field {name!r} value {item} is too large (at most 1e9)")
    return tuple(dict.fromkeys(items))


def _floats(value: Any, name: str, source: str, maximum: float = math.inf) -> tuple[float, ...]:
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field {name!r} must not be empty")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item) or item <= 0:
            raise UserInputError(f"{source}: field {name!r} must contain positive finite numbers, got {item!r}")
        if item > maximum:
            raise UserInputError(f"{source}: field {name!r} value {item!r} is too large (at most {maximum:g})")
        out.append(float(item))
    return tuple(dict.fromkeys(out))


def _choices(value: Any, name: str, allowed: Sequence[str], source: str) -> tuple[str, ...]:
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field {name!r} must not be empty")
    for item in items:
        if item not in allowed:
            raise UserInputError(f"{source}: field {name!r} must be one of {', '.join(allowed)}, got {item!r}")
    return tuple(dict.fromkeys(items))


def _int(data: Mapping, name: str, default: int, source: str, minimum: int = 1,
         maximum: int = 10**12) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UserInputError(f"{source}: field {name!r} must be an integer in [{minimum}, {maximum:g}], "
                             f"got {value!r}")
    return value


def _number(data: Mapping, name: str, default: float, source: str) -> float:
    value = data.get(name, default)
    if isinstance(value, (list, tuple)):
        raise UserInputError(f"{source}: field {name!r} must be a single number, not a list")
    return _floats(value, name, source)[0]


def _choice(data: Mapping, name: str, default: str, allowed: Sequence[str], source: str) -> str:
    value = data.get(name, default)
    if value not in allowed:
        raise UserInputError(f"{source}: field {name!r} must be one of {', '.join(allowed)}, got {value!r}")
    return value


_GRID_DEFAULTS = {
    "kind": ["finite"], "widths": "auto", "widths_per_budget": 6, "p_over_sqrt_c": [0.125, 8.0],
    "seeds": [0], "lr": [0.05], "batch_size": [1], "optimizer": ["sgd"], "schedule": ["constant"],
    "t0": [1e4],
}


def _grid(name: str, raw: Mapping[str, Any], source: str) -> Grid:
    values = {**_GRID_DEFAULTS, **raw}
    for required in ("d", "K", "budgets"):
        if required not in values:
            raise UserInputError(f"{source}: field {required!r} is missing")
    widths_raw = values["widths"]
    if widths_raw == "auto":
        widths = None
    elif isinstance(widths_raw, str):
        raise UserInputError(f"{source}: field 'widths' must be \"auto\" or a list of positive integers, "
                             f"got {widths_raw!r}")
    else:
        widths = _ints(widths_raw, "widths", source, 1)
    span = values["p_over_sqrt_c"]
    if not isinstance(span, (list, tuple)) or len(span) != 2:
        raise UserInputError(f"{source}: field 'p_over_sqrt_c' must be a list [lo, hi], got {span!r}")
    lo, hi = (_floats(x, "p_over_sqrt_c", source)[0] for x in span)
    if lo > hi:
        raise UserInputError(f"{source}: field 'p_over_sqrt_c' must have lo <= hi, got {list(span)!r}")
    per_budget = values["widths_per_budget"]
    if isinstance(per_budget, bool) or not isinstance(per_budget, int) or not 1 <= per_budget <= 1000:
        raise UserInputError(f"{source}: field 'widths_per_budget' must be an integer in [1, 1000], "
                             f"got {per_budget!r}")
    return Grid(
        name=name,
        d=_ints(values["d"], "d", source, 1),
        K=_ints(values["K"], "K", source, 1),
        kind=_choices(values["kind"], "kind", KINDS, source),
        budgets=_floats(values["budgets"], "budgets", source, maximum=_MAX_BUDGET),
        widths=widths,
        widths_per_budget=per_budget,
        p_over_sqrt_c=(lo, hi),
        seeds=_ints(values["seeds"], "seeds", source, 0),
        lr=_floats(values["lr"], "lr", source, maximum=1e3),
        batch_size=_ints(values["batch_size"], "batch_size", source, 1),
        optimizer=_choices(values["optimizer"], "optimizer", OPTIMIZERS, source),
        schedule=_choices(values["schedule"], "schedule", SCHEDULES, source),
        t0=_floats(values["t0"], "t0", source, maximum=1e15),
    )


# The built-in studies (TOML layout). Calibrated against the Numba trainer on 2 cores.
_DEFAULT: dict[str, Any] = {
    # K = 32 > the optimal widths, so the student stays misspecified (n < K) over the whole range;
    # a 1/t learning-rate decay lets the error keep falling with T (constant-lr SGD stalls at its noise floor)
    "seeds": [0, 1, 2],
    "lr": [0.2],
    "schedule": ["inverse"],
    "t0": [1000.0],
    "widths_per_budget": 9,
    "p_over_sqrt_c": [0.005, 0.64],
    "grid": [
        {"name": "isoflop", "d": [8], "K": [32], "budgets": [1e5, 1e6, 1e7, 1e8, 3e8]},
        {"name": "d-trend", "d": [4, 8, 16], "K": [32], "budgets": [1e6, 1e7, 1e8]},
        {"name": "K-trend", "d": [8], "K": [8, 32, 128], "budgets": [1e6, 1e7, 1e8]},
    ],
}
_QUICK: dict[str, Any] = {
    # the default's shape at toy size: 3 budgets x 4-5 widths, one seed (about a second of training)
    "d": [4], "K": [8], "budgets": [1e4, 1e5, 1e6], "widths_per_budget": 5, "p_over_sqrt_c": [0.02, 0.64],
    "seeds": [0], "lr": [0.2], "schedule": ["inverse"], "t0": [1000.0], "eval_samples": 2000,
}


# ---------------------------------------------------------------------------------------------
# runners: a task is a list of runs sharing teacher, data stream and T; a runner returns one
# result dict per run (status, reason, error, error_se, seconds, metrics)


def _student_config(StudentConfig, run: RunSpec):
    names = {f.name for f in fields(StudentConfig)}
    kwargs: dict[str, Any] = {"lr": run.lr, "batch_size": run.batch_size, "optimizer": run.optimizer,
                              "init_seed": run.init_seed, "schedule": run.schedule, "t0": run.t0}
    kwargs["width" if "width" in names else "n"] = run.width
    return StudentConfig(**{k: v for k, v in kwargs.items() if k in names})


def train_runs(runs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    """The real runner: sample the teacher, train every student on one data stream, measure error.

    Uses ``numeric.teacher.sample_teacher``, ``numeric.training.train`` (single-pass SGD, each
    sample seen once, so compute is exactly p·T) and ``numeric.error.reducible_error`` (Monte-Carlo
    KL on fresh inputs, NOTES.md "Empirical check"). A non-finite error is recorded as diverged.
    """
    from numeric.error import reducible_error
    from numeric.teacher import sample_teacher
    from numeric.training import StudentConfig, train

    first = runs[0]
    teacher = sample_teacher(first.d, first.K, kind=first.kind, seed=first.teacher_seed)
    students = [_student_config(StudentConfig, run) for run in runs]
    # one call per IsoFLOP row: every student reads a prefix of the same stream
    results = train(teacher, students, [run.samples for run in runs], data_seed=first.data_seed,
                    device=first.device)
    out = []
    for run, res in zip(runs, results):
        item: dict[str, Any] = {"status": res.status, "reason": res.reason, "error": None, "error_se": None,
                                "seconds": float(res.seconds),
                                "metrics": {"samples_seen": int(res.samples_seen)}}
        if res.status == "done":
            start = time.perf_counter()
            mean, se = reducible_error(teacher, res.W, res.v, n_samples=run.eval_samples, seed=run.eval_seed)
            item["metrics"]["eval_seconds"] = time.perf_counter() - start
            if math.isfinite(mean) and math.isfinite(se):
                item.update(error=float(mean), error_se=float(se))
            else:
                item.update(status="diverged", reason="reducible error is not finite")
        elif not item["reason"]:
            item["reason"] = "training diverged"
        out.append(item)
    return out


def synthetic_runner(runs: Sequence[RunSpec], *, delay: float = 0.0, diverge_below: int = 0,
                     fail_width: int | None = None) -> list[dict[str, Any]]:
    """A stand-in runner for tests and demos: error from a known law, no training.

    error = 0.5·(d·K)/p^0.5 + 2·K/T^0.5 with 1% multiplicative noise fixed by the run's seed;
    runs with T < ``diverge_below`` are ``diverged``; ``fail_width`` raises (a ``failed`` run);
    ``delay`` sleeps per run (to test kills and interrupts).

    Parameters
    ==========
    runs : the runs of one task (an IsoFLOP row).
    delay : seconds slept per run.
    diverge_below : runs with fewer samples are reported ``diverged``.
    fail_width : a run of this width raises ``RuntimeError`` (recorded as ``failed``, retried).

    Returns
    =======
    list[dict]
        One result per run (``status``, ``reason``, ``error``, ``error_se``, ``seconds``,
        ``metrics``), the layout :func:`train_runs` returns.

    Examples
    ========
    >>> runs, _ = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2, 4]}).expand()
    >>> [(r.params, r.samples) for r in runs]
    [(5, 2000), (10, 1000), (20, 500)]
    >>> out = synthetic_runner(runs, diverge_below=1000)
    >>> [(o["status"], None if o["error"] is None else round(o["error"], 4)) for o in out]
    [('done', 1.865), ('done', 1.3943), ('diverged', None)]
    >>> round(0.5 * 4 * 2 / 5**0.5 + 2 * 2 / 2000**0.5, 4)   # the law without its 1% noise
    1.8783
    """
    out = []
    for run in runs:
        if delay:
            time.sleep(delay)
        if fail_width is not None and run.width == fail_width:
            raise RuntimeError(f"synthetic failure at width {run.width}")
        if run.samples < diverge_below:
            out.append({"status": "diverged", "reason": "synthetic divergence", "error": None,
                        "error_se": None, "seconds": delay, "metrics": {}})
            continue
        noise = 1 + 0.01 * math.sin(run.eval_seed % 1000 + run.width)
        error = (0.5 * run.d * run.K / math.sqrt(run.params) + 2.0 * run.K / math.sqrt(run.samples)) * noise
        out.append({"status": "done", "reason": None, "error": error, "error_se": 0.01 * error,
                    "seconds": delay, "metrics": {"synthetic": True}})
    return out


def _execute(runner: Callable, runs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    # runs in a worker: an exception becomes a 'failed' result (retried on resume); if a row of
    # several runs fails, each run is tried alone so one bad run does not fail its whole row
    try:
        return _checked(runner, runs)
    except Exception as err:  # noqa: BLE001 - recorded as the run's reason
        if len(runs) == 1:
            return [_failure(err)]
    out = []
    for run in runs:
        try:
            out.extend(_checked(runner, [run]))
        except Exception as err:  # noqa: BLE001
            out.append(_failure(err))
    return out


def _checked(runner: Callable, runs: Sequence[RunSpec]) -> list[dict[str, Any]]:
    results = list(runner(runs))
    if len(results) != len(runs):
        raise RuntimeError(f"runner returned {len(results)} results for {len(runs)} runs")
    return results


def _failure(err: BaseException) -> dict[str, Any]:
    reason = f"{type(err).__name__}: {' '.join(str(err).split())}"[:500]
    return {"status": "failed", "reason": reason, "error": None, "error_se": None, "seconds": None,
            "metrics": {}}


# ---------------------------------------------------------------------------------------------
# running


@dataclass
class SweepSummary:
    """What one :func:`run_sweep` call did (counts are runs; ``skipped`` lists configs not run).

    Parameters
    ==========
    store, executor : where the results went and what ran them.
    total : runs in the sweep; ``already`` of them were finished in the store before this call.
    done, diverged, failed : what this call recorded; ``concurrent``: finished by another sweep.
    remaining : runs not run (an interrupt); ``interrupted``: Ctrl-C stopped the call.
    store_counts : rows per status in the store afterwards.

    Examples
    ========
    >>> s = SweepSummary(store="runs.sqlite", executor="serial", total=3, done=1, remaining=2,
    ...                  interrupted=True, store_counts={"done": 1})
    >>> s.complete, s.to_json()["skipped"]
    (False, 0)
    >>> print(s.text("scaling-theory simulate --store runs.sqlite"))
    sweep: 3 runs (0 configs skipped: too few samples), 0 already in the store
    this call: 1 done, 0 diverged, 0 failed, 2 not run in 0.0 s on serial
    store: runs.sqlite (1 done, 0 diverged, 0 failed)
    interrupted: finished runs are kept; rerun to resume: scaling-theory simulate --store runs.sqlite
    """

    store: str
    executor: str
    total: int = 0
    already: int = 0
    done: int = 0
    diverged: int = 0
    failed: int = 0
    concurrent: int = 0
    remaining: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    store_counts: dict[str, int] = field(default_factory=dict)
    config_hash: str = ""

    @property
    def complete(self) -> bool:
        """Every run of the sweep is finished (done or diverged) in the store."""
        return not self.interrupted and self.failed == 0 and self.remaining == 0

    def to_json(self) -> dict[str, Any]:
        """Counts as plain JSON (``skipped`` as a number, plus ``skipped_reasons`` and ``complete``)."""
        out = asdict(self)
        out["skipped"] = len(self.skipped)
        out["skipped_reasons"] = sorted({s["reason"].split(" < ")[-1] for s in self.skipped})
        out["complete"] = self.complete
        return out

    def text(self, resume_command: str | None = None) -> str:
        """A few lines for people: counts, where the results are, how to resume."""
        lines = [f"sweep: {self.total} runs ({len(self.skipped)} configs skipped: too few samples), "
                 f"{self.already} already in the store",
                 f"this call: {self.done} done, {self.diverged} diverged, {self.failed} failed"
                 + (f", {self.concurrent} written by another sweep" if self.concurrent else "")
                 + (f", {self.remaining} not run" if self.remaining else "")
                 + (f" in {self.seconds:.1f} s on {self.executor}" if self.already < self.total
                    else " (nothing left to run)")]
        if self.failures:
            lines.append(f"first failure: {self.failures[0]}")
        c = self.store_counts
        lines.append(f"store: {self.store} ({c.get('done', 0)} done, {c.get('diverged', 0)} diverged, "
                     f"{c.get('failed', 0)} failed)")
        if not self.complete:
            why = "interrupted" if self.interrupted else "failed runs are retried"
            lines.append(f"{why}: finished runs are kept; rerun to resume"
                         + (f": {resume_command}" if resume_command else ""))
        return "\n".join(lines)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_sweep`; ``summary`` holds what was finished (and kept)."""

    def __init__(self, summary: SweepSummary):
        super().__init__("sweep interrupted")
        self.summary = summary


def _cost(runs: Sequence[RunSpec]) -> float:
    # rough work units for the progress bar's ETA: training p·T (+ input sampling) plus evaluation
    first = runs[0]
    data = max(r.samples for r in runs) * first.d * 16
    train = sum(r.samples * (r.params + 8 * r.width) for r in runs)
    evaluation = sum(r.eval_samples * (r.width + r.K) * (r.d + 2) for r in runs)
    return float(data + train + evaluation)


def _group(runs: Iterable[RunSpec]) -> list[list[RunSpec]]:
    # one IsoFLOP row (one teacher, one data stream, one budget) trains in one train() call
    groups: dict[tuple, list[RunSpec]] = {}
    for run in runs:
        key = (run.d, run.K, run.kind, run.seed, run.compute, run.device, run.cost_factor, run.eval_samples)
        groups.setdefault(key, []).append(run)
    # largest first: better packing on few workers
    return sorted(groups.values(), key=_cost, reverse=True)


def run_sweep(config: SweepConfig, store_path: str | os.PathLike, *, executor: str = "local",
              scheduler: str | None = None, workers: int | None = None, progress: bool = True,
              runner: Callable[[Sequence[RunSpec]], list[dict]] | None = None) -> SweepSummary:
    """Run every unfinished run of ``config`` and record each in the store at ``store_path``.

    Parameters
    ==========
    config : SweepConfig
    store_path : path
        The SQLite store (created if missing). Runs already ``done`` or ``diverged`` there are
        skipped; ``failed`` runs are retried.
    executor : {"local", "dask", "serial"}
        ``local`` is a process pool (``workers=1`` runs in this process); ``dask`` uses
        ``scheduler`` or a new LocalCluster. Only this process writes the store.
    workers : int, optional
        Worker processes (default ``os.cpu_count()``; a default local sweep of under 1e8 total
        compute runs in this process, where a pool's start-up would cost more than it saves).
        Process executors re-import the calling script: guard it with ``if __name__ == "__main__":``.
    progress : bool
        A tqdm bar with ETA on stderr.
    runner : callable, optional
        ``runner(runs) -> list[dict]`` replacing the real trainer (:func:`train_runs`); must be
        picklable for process executors (e.g. ``functools.partial(synthetic_runner, delay=0.1)``).

    Returns
    =======
    SweepSummary

    Raises
    ======
    SweepInterrupted
        On Ctrl-C, after stopping the workers; every run finished before it is in the store.
    StoreError
        The store is foreign, corrupt, read-only, or a write failed (disk full); earlier runs are kept.

    Examples
    ========
    >>> import tempfile, os
    >>> from numeric.sweep import SweepConfig, run_sweep, synthetic_runner
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "runs.sqlite")
    >>> s = run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    >>> (s.done, s.already, s.complete)
    (14, 0, True)

    Rerunning resumes: nothing finished is run or written again.

    >>> again = run_sweep(SweepConfig.quick(), path, executor="serial", progress=False, runner=synthetic_runner)
    >>> again.already, again.done, again.store_counts
    (14, 0, {'done': 14, 'diverged': 0, 'failed': 0})
    >>> from numeric.store import Store
    >>> with Store(path) as store:
    ...     sorted({r["compute"] for r in store.rows()})
    [10000.0, 100000.0, 1000000.0]
    >>> tmp.cleanup()
    """
    from tqdm import tqdm

    from numeric.executors import open_executor

    if executor == "local" and workers == 1:
        executor = "serial"
    runner = runner or train_runs
    started = time.perf_counter()
    runs, skipped = config.expand()
    # an existing store is checked now; a new one is created only once the executor is up,
    # so a bad --scheduler (or any start-up error) leaves no file behind
    path = Path(store_path)
    store = Store(path, create=True) if path.exists() else None  # (an empty file may be filled)
    try:
        if store is None:
            Store.check_creatable(path)
        elif store.readonly:
            raise StoreError(f"cannot write store {store.path}: it or its directory is read-only")
        finished = store.finished_hashes() if store is not None else set()
        pending = [r for r in runs if r.config_hash not in finished]
        summary = SweepSummary(store=str(path), executor=executor, total=len(runs),
                               already=len(runs) - len(pending), skipped=skipped,
                               remaining=len(pending), config_hash=config.config_hash)
        tasks = _group(pending)
        if executor == "local" and workers is None and sum(r.compute for r in pending) < _SERIAL_BELOW:
            executor = "serial"  # a pool's start-up would cost more than it saves
        if tasks:
            with open_executor(executor, workers=workers, scheduler=scheduler) as ex:
                summary.executor = ex.description
                if store is None:
                    store = Store(path, create=True)
                _drive(ex, tasks, runner, store, summary, progress, tqdm)
        elif store is None:
            store = Store(path, create=True)
        summary.store_counts = store.counts()
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        if store is not None:
            store.close()


def _drive(ex, tasks, runner, store: Store, summary: SweepSummary, progress: bool, tqdm) -> None:
    # keep a few tasks per worker in flight, so a concurrent sweep on the same store can take the rest
    window = max(2, 2 * (getattr(ex, "workers", None) or os.cpu_count() or 1))
    queue = list(reversed(tasks))
    in_flight: dict[Any, list[RunSpec]] = {}
    total_cost = sum(_cost(t) for t in tasks)
    # the bar advances by estimated work (not run count), so its ETA is fair to uneven runs
    bar = tqdm(total=total_cost, disable=not progress, file=sys.stderr,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
               desc=f"simulate: 0/{summary.remaining} runs", dynamic_ncols=True, mininterval=0.5)
    ran = 0
    try:
        while queue or in_flight:
            while queue and len(in_flight) < window:
                task = queue.pop()
                # another sweep on the same store may have finished some of these meanwhile
                finished = store.finished_among([r.config_hash for r in task])
                if finished:
                    left = [r for r in task if r.config_hash not in finished]
                    summary.concurrent += len(task) - len(left)
                    summary.remaining -= len(task) - len(left)
                    bar.update(_cost(task) - (_cost(left) if left else 0.0))
                    if not left:
                        continue
                    task = left
                in_flight[ex.submit(_execute, runner, task)] = task
            if not in_flight:
                break
            done, _ = ex.wait(list(in_flight))
            for fut in done:
                task = in_flight.pop(fut)
                results = ex.result(fut)
                for run, res in zip(task, results):
                    status = res["status"]
                    written = store.record({"config_hash": run.config_hash, "config": run.to_config(),
                                            "metrics": {**(res.get("metrics") or {}),
                                                        "spent": run.cost_factor * run.params * run.samples},
                                            **{k: res.get(k) for k in ("status", "reason", "error",
                                                                       "error_se", "seconds")}})
                    summary.remaining -= 1
                    ran += 1
                    if not written:
                        summary.concurrent += 1
                    else:
                        setattr(summary, status, getattr(summary, status) + 1)
                        if status == "failed" and len(summary.failures) < 5:
                            summary.failures.append(f"{_describe_run(run)}: {res.get('reason')}")
                bar.update(_cost(task))
                bar.set_description_str(f"simulate: {ran}/{ran + summary.remaining} runs", refresh=False)
    except KeyboardInterrupt:
        summary.interrupted = True
        summary.store_counts = store.counts()
        bar.close()
        raise SweepInterrupted(summary) from None
    finally:
        bar.close()


def _describe_run(run: RunSpec) -> str:
    return f"d={run.d} K={run.K} {run.kind} C={run.compute:g} n={run.width} seed={run.seed}"
