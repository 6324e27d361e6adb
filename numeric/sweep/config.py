"""The sweep's configuration: grids, runs, their seeds and config hashes, and TOML validation.

A sweep is a union of grids over (d, K, teacher kind, compute budget C, width n, seed, optimiser
settings). Each budget fixes the number of samples T of single-pass SGD so that every run at one C
spends the same compute (docs/paper-setting.md, "Empirical check"; compute C = c·p·T with p = n(d+1)):

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
>>> from scaling_theory.numeric.sweep.config import SweepConfig
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
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from scaling_theory.errors import UserInputError
from scaling_theory.theory.teachers import KIND_ALIASES


__all__ = ["SweepConfig", "Grid", "RunSpec", "EXPERIMENT", "KINDS", "OPTIMIZERS", "SCHEDULES", "DEVICES",
           "PARAMETRISATIONS", "PRECISIONS"]

#: names the experiment a run's numbers come from; part of every config hash (bump if it changes)
EXPERIMENT = "teacher-student-single-pass/1"

KINDS = ("finite", "dp")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "inverse", "inverse_sqrt")
PARAMETRISATIONS = ("standard", "mup")  # as numeric.sim.students (config stays importable without it)
PRECISIONS = ("float64", "float32")  # likewise
DEVICES = ("cpu", "numpy", "cuda")
_MAX_RUNS = 100_000
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
    d, K, kind, budgets, seeds, lr, batch_size, optimizer, schedule, t0, parametrisation, precision :
        the values crossed (``parametrisation``: ``standard`` or ``mup``, see
        :func:`scaling_theory.numeric.sim.students.layer_lr_factors`; ``precision``: ``float64`` or
        ``float32``, the students' arithmetic).
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
    parametrisation: tuple[str, ...] = ("standard",)
    precision: tuple[str, ...] = ("float64",)


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
    parametrisation: str = "standard"
    precision: str = "float64"

    @property
    def params(self) -> int:
        """Student parameter count p = n(d+1) (docs/paper-setting.md, "Ours")."""
        return self.width * (self.d + 1)

    @property
    def teacher_seed(self) -> int:
        """Seed of :func:`scaling_theory.numeric.sim.teacher.sample_teacher` (the user's seed itself)."""
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

    @property
    def val_seed(self) -> int:
        """Seed of the validation inputs (derived from ``seed``, independent of ``eval_seed``):
        learning rates are chosen on this estimate, the reported error uses ``eval_seed``."""
        return _derived_seed(self.seed, 4)

    def to_config(self) -> dict[str, Any]:
        """The full configuration stored with the run (and hashed)."""
        out = asdict(self)
        if self.parametrisation == "standard":
            del out["parametrisation"]  # runs stored before the option existed keep their hashes
        if self.precision == "float64":
            del out["precision"]
        out.update(experiment=EXPERIMENT, params=self.params, teacher_seed=self.teacher_seed,
                   data_seed=self.data_seed, init_seed=self.init_seed, eval_seed=self.eval_seed)
        return out

    @functools.cached_property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_config`, with the ``dp`` teacher hashed under its old
        name ``dirichlet``, so runs stored before the rename keep their keys (a sweep resumes over them)."""
        config = self.to_config()
        if config["kind"] == "dp":
            config["kind"] = "dirichlet"
        return _hash(config)


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
    scaling_theory.errors.UserInputError: sweep config: field 'd' must contain positive integers, got 0
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
        (``finite``/``dp``; the old name ``dirichlet`` is read as ``dp``), ``budgets`` (compute, positive numbers), ``widths`` (positive
        ints or ``"auto"``), ``widths_per_budget`` (int, auto widths), ``p_over_sqrt_c`` ([lo, hi],
        auto widths), ``seeds`` (ints >= 0), ``lr`` (positive), ``batch_size`` (positive ints),
        ``optimizer`` (``sgd``/``adam``), ``schedule`` (``constant``/``inverse``/``inverse_sqrt``,
        learning rate lr/(1+t/t0) or lr/sqrt(1+t/t0) after t samples), ``t0`` (samples),
        ``parametrisation`` (``standard``/``mup``: the width-aware maximal-update parametrisation,
        base width 1, see :func:`scaling_theory.numeric.sim.students.layer_lr_factors`), ``precision``
        (``float64``/``float32``: the students' arithmetic, float32 for online SGD only, see
        :class:`scaling_theory.numeric.sim.students.StudentConfig`).
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
        _check_device(config, source)
        _check_memory(config, source)
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
    def protocol(cls, quick: bool = False) -> "SweepConfig":
        """The tuned study ``reproduce`` runs (``quick``: its toy version, seconds).

        The infinite-width (Dirichlet-process) teacher first and the finite teacher as the
        contrast, both at (d, K) = (8, 32); C in {1e5, 1e6, 1e7, 1e8}; 9 widths per budget with
        p/sqrt(C) from 0.02 to 4 (reaching the bound's optimum near 1.2-1.4); single-pass SGD
        in the width-aware maximal-update parametrisation (``mup``, base width 1:
        :func:`scaling_theory.numeric.sim.students.layer_lr_factors`) with lr0/(1 + t/1000) for lr0
        on a log-spaced grid of 4 values, 0.03 to 1 (the rate of each (budget, width) is chosen on
        a validation stream, see
        :mod:`scaling_theory.numeric.analysis.protocol`); 5 seeds (teacher, data and
        initialisation) per configuration; float32 students (``precision``: their weights and
        steps in single precision, the loss and online KL in float64).

        Examples
        ========
        >>> runs, _ = SweepConfig.protocol(quick=True).expand()
        >>> sorted({r.kind for r in runs}), sorted({r.lr for r in runs}), len({r.seed for r in runs})
        (['dp', 'finite'], [0.03, 0.1, 0.3, 1.0], 2)
        """
        return cls.from_dict(_PROTOCOL_QUICK if quick else _PROTOCOL)

    @classmethod
    def quick(cls) -> "SweepConfig":
        """A tiny sweep (seconds): (d, K) = (4, 8), C in {1e4, 1e5, 1e6}, 4–5 widths each, one seed."""
        return cls.from_dict(_QUICK)

    def with_widths(self, added: Mapping[tuple, Mapping[float, Sequence[int]]]) -> "SweepConfig":
        """This sweep plus extra widths at some budgets (a refinement after a coarse pass).

        ``added`` maps a teacher setting ``(d, K, kind)`` to ``{budget: [widths]}``; each budget
        gets one more grid with those widths and every other setting (seeds, learning rates,
        schedule, ...) of the grid that holds ``(d, K, kind, budget)``.  Runs already in the sweep
        keep their config hashes, so a store that holds them skips them.

        Examples
        ========
        >>> cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 4], "seeds": [0, 1]})
        >>> more = cfg.with_widths({(4, 2, "finite"): {1e4: [2]}})
        >>> sorted({r.width for r in more.expand()[0]}), len(more.expand()[0])
        ([1, 2, 4], 6)
        >>> cfg.with_widths({(4, 2, "dp"): {1e4: [2]}})
        Traceback (most recent call last):
        ...
        scaling_theory.errors.UserInputError: no grid of the sweep holds d=4, K=2, kind=dp, C=10000
        """
        from dataclasses import replace

        grids = list(self.grids)
        for (d, K, kind), by_budget in added.items():
            for C, widths in sorted(by_budget.items()):
                if not widths:
                    continue
                base = next((g for g in self.grids if d in g.d and K in g.K and kind in g.kind
                             and float(C) in g.budgets), None)
                if base is None:
                    raise UserInputError(f"no grid of the sweep holds d={d}, K={K}, kind={kind}, C={C:g}")
                grids.append(replace(base, name=f"{base.name}-refine-d{d}-K{K}-{kind}-C{C:g}", d=(int(d),),
                                     K=(int(K),), kind=(kind,), budgets=(float(C),),
                                     widths=_ints(list(widths), "widths", "refinement", 1)))
        return replace(self, grids=tuple(grids))

    def with_device(self, device: str) -> "SweepConfig":
        """This sweep with every run trained on ``device`` (the ``simulate --device`` override).

        Examples
        ========
        >>> cfg = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1], "precision": ["float32"]})
        >>> cfg.with_device("numpy").device
        'numpy'
        >>> cfg.with_device("cuda")
        Traceback (most recent call last):
        ...
        scaling_theory.errors.UserInputError: --device cuda: precision float32 runs on the CPU engine only, not device 'cuda' (set precision = ["float64"] in the config to train on it)
        """
        from dataclasses import replace

        if device not in DEVICES:
            raise UserInputError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
        config = replace(self, device=device)
        _check_device(config, f"--device {device}")
        return config

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
                                    for lr, batch, opt, sched, t0, par, prec in itertools.product(
                                            grid.lr, grid.batch_size, grid.optimizer, grid.schedule,
                                            grid.t0, grid.parametrisation, grid.precision):
                                        spec = RunSpec(d, K, kind, compute, width, seed, lr, batch, opt,
                                                       sched, t0, samples, self.eval_samples,
                                                       self.cost_factor, self.device, par, prec)
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
                      * len(g.lr) * len(g.batch_size) * len(g.optimizer) * len(g.schedule) * len(g.t0)
                      * len(g.parametrisation) * len(g.precision))
        return total

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout (``from_dict(cfg.to_dict()) == cfg``)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _GLOBAL_FIELDS}
        grids = []
        for g in self.grids:
            item = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(g).items()}
            item["widths"] = "auto" if g.widths is None else list(g.widths)
            if g.parametrisation == ("standard",):
                del item["parametrisation"]  # the default: configs written before it keep their hash
            if g.precision == ("float64",):
                del item["precision"]
            grids.append(item)
        out["grid"] = grids
        return out

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of the whole config (plus the experiment name)."""
        return _hash({"experiment": EXPERIMENT, **self.to_dict()})


def memory_estimate(config: "SweepConfig") -> float:
    """Peak bytes of the largest task (one teacher and data stream, every budget of it): data
    chunks plus every student's state.

    Three training chunks (one in use, two drawn ahead) and an evaluation chunk of
    ``8192 x d`` float64, plus per student ``W`` and ``v`` with gradient and Adam buffers
    (7 copies of ``p`` values) for every budget, width and learning-rate setting of the grids
    with that ``d`` (an upper bound: a task holds one teacher's runs).

    Examples
    ========
    >>> round(memory_estimate(SweepConfig.quick()) / 2**20, 1)     # MiB
    1.1
    """
    students: dict[int, float] = {}
    for g in config.grids:
        per_row = (len(g.lr) * len(g.batch_size) * len(g.optimizer) * len(g.schedule) * len(g.t0)
                   * len(g.parametrisation) * len(g.precision))
        for d in g.d:
            students[d] = students.get(d, 0.0) + sum(sum(w * (d + 1) for w in _widths(g, d, C)) * per_row
                                                     for C in g.budgets)
    return max((8.0 * (4 * 8192 * d + 7 * n) for d, n in students.items()), default=0.0)


def _machine_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return math.inf


def _check_device(config: "SweepConfig", source: str) -> None:
    """Refuse float32 students on the CUDA engine (float64 only) before any run is tried."""
    if config.device == "cuda" and any("float32" in g.precision for g in config.grids):
        raise UserInputError(f"{source}: precision float32 runs on the CPU engine only, not device 'cuda' "
                             '(set precision = ["float64"] in the config to train on it)')


def _check_memory(config: "SweepConfig", source: str) -> None:
    need, have = memory_estimate(config), _machine_memory()
    if need > have:
        raise UserInputError(f"{source}: the largest run group needs about {need / 2**30:.3g} GiB of "
                             f"memory (data chunks of 8192 x d plus the students), more than this "
                             f"machine's {have / 2**30:.3g} GiB; lower d or the widths")


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


def _kind_name(value: Any) -> Any:
    """An old teacher-kind name (``dirichlet``) read as its canonical one; anything else unchanged."""
    return KIND_ALIASES.get(value, value) if isinstance(value, str) else value


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
    "t0": [1e4], "parametrisation": ["standard"], "precision": ["float64"],
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
    grid = Grid(
        name=name,
        d=_ints(values["d"], "d", source, 1),
        K=_ints(values["K"], "K", source, 1),
        kind=_choices([_kind_name(k) for k in _list(values["kind"])], "kind", KINDS, source),
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
        parametrisation=_choices(values["parametrisation"], "parametrisation", PARAMETRISATIONS, source),
        precision=_choices(values["precision"], "precision", PRECISIONS, source),
    )
    if "float32" in grid.precision and (grid.batch_size != (1,) or grid.optimizer != ("sgd",)):
        raise UserInputError(f"{source}: precision float32 is implemented for online SGD only "
                             f"(batch_size 1, optimizer sgd), got batch_size {list(grid.batch_size)}, "
                             f"optimizer {list(grid.optimizer)}")
    return grid


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
_PROTOCOL: dict[str, Any] = {
    "d": [8], "K": [32], "kind": ["dp", "finite"], "budgets": [1e5, 1e6, 1e7, 1e8],
    "widths_per_budget": 9, "p_over_sqrt_c": [0.02, 4.0], "seeds": [0, 1, 2, 3, 4],
    # muP: the best lr0 is 0.1-0.3 at every width and budget (standard: it falls like 1/n, down to
    # 0.003 at C = 1e8), so four rates bracket it everywhere (docs/tuned-protocol.md, "Learning rate")
    # 4000 inputs: a run's Monte-Carlo error (~4%) stays far below the spread over seeds (~29%)
    "lr": [0.03, 0.1, 0.3, 1.0], "schedule": ["inverse"], "t0": [1000.0], "eval_samples": 4000,
    "parametrisation": ["mup"],
    # float32 students: 1.2x the sweep's rate, and every exponent, interval and verdict as in
    # float64 (benchmarks/precision_study.py; docs/tuned-protocol.md, "Precision")
    "precision": ["float32"],
}
_PROTOCOL_QUICK: dict[str, Any] = {
    "d": [4], "K": [8], "kind": ["dp", "finite"], "budgets": [1e4, 1e5, 1e6],
    "widths_per_budget": 7, "p_over_sqrt_c": [0.01, 4.0], "seeds": [0, 1],
    "lr": [0.03, 0.1, 0.3, 1.0], "schedule": ["inverse"], "t0": [1000.0], "eval_samples": 2000,
    "parametrisation": ["mup"], "precision": ["float32"],
}
