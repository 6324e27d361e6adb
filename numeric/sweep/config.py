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

Teachers: ``kind`` is ``finite``, ``dp`` or ``pitman-yor`` (:mod:`scaling_theory.theory.teachers`); a
Pitman-Yor grid lists its discounts in ``sigma`` (each in ``[0, 1)``), crossed with the other fields, and a
run names its teacher ``pitman-yor(sigma=0.5)`` (:func:`teacher_tag`).  Runs of the other kinds carry no
``sigma``, so their config hashes are those of stores written before the field existed.

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
import numbers
import os
import re
import reprlib
import stat
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping, Sequence

from scaling_theory.errors import UserInputError
from scaling_theory.theory.teachers import KIND_ALIASES, canonical_kind, check_discount, py_cut_atoms


__all__ = ["SweepConfig", "Grid", "RunSpec", "EXPERIMENT", "KINDS", "OPTIMIZERS", "SCHEDULES", "DEVICES",
           "PARAMETRISATIONS", "PRECISIONS", "memory_breakdown", "memory_estimate", "task_memory",
           "machine_memory", "available_memory", "describe_memory", "dp_atoms", "DP_MAX_K",
           "pitman_yor_dropped_share", "pitman_yor_cut", "PY_TEACHER_SHARE", "teacher_tag", "teacher_units", "split_teacher_tag", "WORKER_BASE_BYTES",
           "MAX_TOML_BYTES", "MAX_TOML_DEPTH"]

#: names the experiment a run's numbers come from; part of every config hash (bump if it changes)
EXPERIMENT = "teacher-student-single-pass/1"

KINDS = ("finite", "dp", "pitman-yor")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "inverse", "inverse_sqrt")
PARAMETRISATIONS = ("standard", "mup")  # as numeric.sim.students (config stays importable without it)
PRECISIONS = ("float64", "float32")  # likewise
DEVICES = ("cpu", "numpy", "cuda")
_MAX_RUNS = 100_000
_MAX_BUDGET = 1e15  # T = C/p must stay a sane int64 sample count
_MAX_SAMPLES = 1e15
#: largest sweep TOML file read (a sweep config is a few hundred bytes)
MAX_TOML_BYTES = 1 << 20
#: deepest nesting of arrays and tables a sweep TOML may have (the layout needs 3)
MAX_TOML_DEPTH = 16


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
    sigma : the Pitman-Yor discounts crossed with the ``pitman-yor`` kind (``None`` when the grid has no
        such teacher; the other kinds of the grid ignore it).

    Examples
    ========
    >>> cfg = SweepConfig.from_dict({"d": [4, 8], "K": 2, "budgets": [1e4, 1e5], "widths": [1, 2]})
    >>> g = cfg.grids[0]
    >>> g.name, g.d, g.budgets, g.widths, g.kind
    ('main', (4, 8), (10000.0, 100000.0), (1, 2), ('finite',))
    >>> cfg.size()   # 2 d x 2 budgets x 2 widths
    8
    >>> py = SweepConfig.from_dict({"d": 4, "K": 2, "kind": ["finite", "pitman-yor"], "sigma": [0.25, 0.5],
    ...                             "budgets": [1e4], "widths": [1]})
    >>> py.grids[0].sigma, py.size()   # finite, pitman-yor(sigma=0.25), pitman-yor(sigma=0.5)
    ((0.25, 0.5), 3)
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
    sigma: tuple[float, ...] | None = None

    def teachers(self) -> list[tuple[str, float | None]]:
        """The grid's teachers as ``(kind, sigma)`` pairs: one per discount for ``pitman-yor``, ``sigma = None``
        for the other kinds."""
        return [(kind, s) for kind in self.kind for s in (self.sigma if kind == "pitman-yor" else (None,))]


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
    >>> run.teacher, "sigma" in run.to_config()       # no discount: the hash of a run stored before the field
    ('finite', False)
    >>> [py], _ = SweepConfig.from_dict({"d": 4, "K": 2, "kind": "pitman-yor", "sigma": 0.5, "budgets": [1e4],
    ...                                  "widths": [1]}).expand()
    >>> py.teacher, py.to_config()["sigma"]
    ('pitman-yor(sigma=0.5)', 0.5)
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
    sigma: float | None = None

    @property
    def teacher(self) -> str:
        """The teacher's name with its discount: ``finite``, ``dp`` or ``pitman-yor(sigma=0.5)`` (:func:`teacher_tag`)."""
        return teacher_tag(self.kind, self.sigma)

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
        if self.sigma is None:
            del out["sigma"]  # only a Pitman-Yor teacher has a discount: other runs keep their hashes
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
        (``finite``/``dp``/``pitman-yor``; the old name ``dirichlet`` is read as ``dp``), ``sigma`` (the
        Pitman-Yor discounts, numbers in [0, 1); required with kind ``pitman-yor`` and refused without it),
        ``budgets`` (compute, positive numbers), ``widths`` (positive
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
                raise UserInputError(f"{source}: unknown field {_shown(key)} (known: {', '.join(sorted(known))})")
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
                        raise UserInputError(f"{where}: unknown field {_shown(key)} "
                                             f"(known: name, {', '.join(_GRID_FIELDS)})")
                name = raw.get("name", f"grid{i + 1}")
                if not isinstance(name, str) or not name.strip():
                    raise UserInputError(f"{where}: field 'name' must be a non-empty string")
                grids.append(_grid(name, {**defaults, **{k: v for k, v in raw.items() if k != "name"}},
                                   f"{source}: grid {_shown(name)}"))
            grids = tuple(grids)
        config = cls(grids=grids, **glob)
        largest = max(max(g.budgets) for g in grids)
        if largest / (config.cost_factor * 2) > _MAX_SAMPLES:  # p = n (d + 1) >= 2
            raise UserInputError(f"{source}: field 'cost_factor' = {config.cost_factor:g} with a budget of "
                                 f"{largest:g} gives runs of up to {largest / (config.cost_factor * 2):.3g} "
                                 f"samples; at most {_MAX_SAMPLES:g} (raise cost_factor or lower the budgets)")
        _check_device(config, source)
        _check_memory(config, source)
        n = config.size()
        if n > _MAX_RUNS:
            raise UserInputError(f"{source}: the sweep has {n} runs; at most {_MAX_RUNS} are allowed")
        return config

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> "SweepConfig":
        """Read and validate a TOML sweep file (layout: :meth:`from_dict`).

        The file must be a regular file of at most 1 MiB (:data:`MAX_TOML_BYTES`) nesting arrays and
        tables at most 16 deep (:data:`MAX_TOML_DEPTH`), checked before it is parsed; each limit
        broken is a one-line error.

        Examples
        ========
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = Path(tmp.name) / "sweep.toml"
        >>> _ = path.write_text('d = [4]\\nK = [2]\\nbudgets = [1e4, 1e5]\\nseeds = [0, 1]\\n')
        >>> SweepConfig.from_toml(path).grids[0].budgets
        (10000.0, 100000.0)
        >>> _ = path.write_text("d = " + "[" * 5000 + "]" * 5000)
        >>> SweepConfig.from_toml(path)
        Traceback (most recent call last):
        ...
        scaling_theory.errors.UserInputError: sweep config ...sweep.toml nests arrays or tables 5000 deep; a sweep config nests at most 16 deep
        >>> tmp.cleanup()
        """
        path = Path(path)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise UserInputError(f"sweep config {path} does not exist") from None
        except OSError as err:
            raise UserInputError(f"cannot read sweep config {path}: {err.strerror or err}") from None
        if stat.S_ISDIR(info.st_mode):
            raise UserInputError(f"sweep config {path} is a directory, expected a .toml file")
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read until some writer comes
            raise UserInputError(f"sweep config {path} is not a regular file (a pipe, socket or device); "
                                 f"save the config to a file")
        if info.st_size > MAX_TOML_BYTES:
            raise UserInputError(f"sweep config {path} is {info.st_size / 2**20:.3g} MiB; a sweep config is "
                                 f"at most {MAX_TOML_BYTES // 2**20} MiB")
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_TOML_BYTES + 1)
        except OSError as err:
            raise UserInputError(f"cannot read sweep config {path}: {err.strerror or err}") from None
        if len(raw) > MAX_TOML_BYTES:
            raise UserInputError(f"sweep config {path} is over {MAX_TOML_BYTES // 2**20} MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UserInputError(f"sweep config {path} is not UTF-8 text") from None
        depth = _toml_depth(text)
        if depth > MAX_TOML_DEPTH:
            raise UserInputError(f"sweep config {path} nests arrays or tables {depth} deep; a sweep config "
                                 f"nests at most {MAX_TOML_DEPTH} deep")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise UserInputError(f"sweep config {path} is not valid TOML: {err}") from None
        except RecursionError:  # nesting the depth scan missed (it is a bound, not a parser)
            raise UserInputError(f"sweep config {path} nests arrays or tables too deeply") from None
        except ValueError as err:  # an integer of thousands of digits (Python's int conversion limit)
            why = "an integer in it has thousands of digits" if "digits" in str(err) else " ".join(str(err).split())[:120]
            raise UserInputError(f"sweep config {path} cannot be read: {why}") from None
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
        schedule, ...) of the grid that holds ``(d, K, kind, budget)``.  A Pitman-Yor teacher is named
        with its discount, ``kind = "pitman-yor(sigma=0.5)"`` (:func:`teacher_tag`).  Runs already in the
        sweep keep their config hashes, so a store that holds them skips them.

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
        for (d, K, tag), by_budget in added.items():
            kind, sigma = split_teacher_tag(tag)
            for C, widths in sorted(by_budget.items()):
                if not widths:
                    continue
                base = next((g for g in self.grids if d in g.d and K in g.K and (kind, sigma) in g.teachers()
                             and float(C) in g.budgets), None)
                if base is None:
                    raise UserInputError(f"no grid of the sweep holds d={d}, K={K}, kind={tag}, C={C:g}")
                grids.append(replace(base, name=f"{base.name}-refine-d{d}-K{K}-{tag}-C{C:g}", d=(int(d),),
                                     K=(int(K),), kind=(kind,), budgets=(float(C),),
                                     sigma=None if sigma is None else (sigma,),
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
                        samples = _samples(compute, params, self.cost_factor)
                        for K in grid.K:
                            for kind, sigma in grid.teachers():
                                for seed in grid.seeds:
                                    for lr, batch, opt, sched, t0, par, prec in itertools.product(
                                            grid.lr, grid.batch_size, grid.optimizer, grid.schedule,
                                            grid.t0, grid.parametrisation, grid.precision):
                                        spec = RunSpec(d, K, kind, compute, width, seed, lr, batch, opt,
                                                       sched, t0, samples, self.eval_samples,
                                                       self.cost_factor, self.device, par, prec, sigma)
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
            total += (len(g.d) * len(g.K) * len(g.teachers()) * len(g.budgets) * n_widths * len(g.seeds)
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
            if g.sigma is None:
                del item["sigma"]  # no Pitman-Yor teacher: configs written before the field keep their hash
            grids.append(item)
        out["grid"] = grids
        return out

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical JSON of the whole config (plus the experiment name)."""
        return _hash({"experiment": EXPERIMENT, **self.to_dict()})


# -- the memory model of one task (one teacher, one data stream, every student of that teacher) ---
#
# Sizes the simulator uses, repeated here so the config stays importable without it (a test holds
# them equal): rows per data chunk (numeric.sim.teacher.DEFAULT_CHUNK), the evaluation streams kept
# per process (numeric.sim.error._EVAL_CACHE_BYTES), the Dirichlet-process sampler's truncation
# (numeric.sim.teacher.sample_teacher's tol and max_atoms).
_CHUNK = 8192
_EVAL_CACHE = 1 << 26
_DP_TOL = 1e-8
_DP_MAX_ATOMS = 100_000
#: memory of a worker process before its task: Python, NumPy, Numba and the compiled kernels
#: (measured: about 0.2 GiB resident per worker)
WORKER_BASE_BYTES = 0.25 * 2**30


def _dp_max_k() -> int:
    # the largest K whose atoms (mean + 5 sd) fit the sampler's cap: x^2 + 5x + 10 = max_atoms, x^2 = K ln(1/tol)
    x = (-5 + math.sqrt(25 + 4 * (_DP_MAX_ATOMS - 10))) / 2
    return int(x * x / math.log(1 / _DP_TOL))


#: the largest concentration of a dp teacher whose stick the sampler truncates at leftover mass
#: 1e-8 within its 100000 atoms
DP_MAX_K = _dp_max_k()


def dp_atoms(K: float) -> float:
    """Atoms the Dirichlet-process sampler draws for concentration ``K`` (mean plus five standard
    deviations): the stick's leftover falls by a factor ``exp(-1/K)`` per atom on average, so
    reaching ``tol`` takes about ``K ln(1/tol)`` atoms (a Poisson count).

    Examples
    ========
    >>> round(dp_atoms(32))          # K = 32: about 590 atoms, 721 with the margin
    721
    """
    mean = K * math.log(1 / _DP_TOL)
    return mean + 5 * math.sqrt(mean) + 10


#: the share of a Pitman-Yor teacher's mean signal ``E[F^2]`` its stick's cut may drop in expectation: the data
#: teachers of the sweep, the SMC and the compute study keep :func:`pitman_yor_cut` atoms (repeated from
#: numeric.bayes.smc.TEACHER_DROPPED_SHARE so the config stays importable without the sampler; a test holds them equal)
PY_TEACHER_SHARE = 1e-6
_PY_MAX_CUT = 10**7


def pitman_yor_cut(K: float, sigma: float) -> int:
    """The atoms a Pitman-Yor data teacher keeps at most (``sample_teacher``'s ``max_atoms``): the fewest ``m``
    whose cut drops at most :data:`PY_TEACHER_SHARE` of ``E[F^2]`` in expectation (:func:`pitman_yor_dropped_share`
    ``<= 1e-6``), the rule of :func:`scaling_theory.numeric.bayes.smc.py_teacher_atoms` (a test holds them equal);
    ``sigma = 0``: the sampler's default 100000 (the dp teacher's stick, which its tolerance ends long before).
    A one-line :class:`UserInputError` above ten million atoms.

    Examples
    ========
    >>> pitman_yor_cut(2, 0.5), pitman_yor_cut(32, 0.75), pitman_yor_cut(32, 0.0)
    (589, 175117, 100000)
    """
    if sigma <= 0.0:
        return _DP_MAX_ATOMS
    m = py_cut_atoms(float(K), float(sigma), PY_TEACHER_SHARE, limit=int(_PY_MAX_CUT))
    if m is None:
        raise UserInputError(f"a pitman-yor teacher with K = {K:g}, sigma = {sigma:g} needs more than "
                             f"{_PY_MAX_CUT:g} atoms to drop at most {PY_TEACHER_SHARE:g} of its mean signal "
                             f"E[F^2] (lower K or sigma)")
    return m


def pitman_yor_dropped_share(K: float, sigma: float, n: int = _DP_MAX_ATOMS) -> float:
    """Expected share of a Pitman-Yor teacher's ``E[F^2]`` carried by the atoms past the first ``n``:
    ``t(n)/t(0) = prod_{j<=n} (K + j sigma)/(K + 2 + (j-1) sigma)``, the squared stick tail
    (:func:`scaling_theory.theory.teachers.py_stick_square_tail`); the expectation of the sampled teacher's
    :attr:`~scaling_theory.numeric.sim.teacher.Teacher.dropped_share` when its stick is cut at ``n`` atoms.

    Examples
    ========
    >>> f"{pitman_yor_dropped_share(32, 0.75, 175117):.2g}", f"{pitman_yor_dropped_share(32, 0.75, 100_000):.2g}"
    ('1e-06', '2.5e-06')
    """
    if sigma == 0.0:
        return (K / (K + 2)) ** n
    a, g = K / sigma, (K + 2) / sigma
    return math.exp(math.lgamma(g) + math.lgamma(a + n + 1) - math.lgamma(a + 1) - math.lgamma(g + n))


def teacher_tag(kind: str, sigma: float | None = None) -> str:
    """The name of a teacher in stores, tables and fits: ``finite``, ``dp`` or ``pitman-yor(sigma=0.5)``.

    A Pitman-Yor teacher is named with its discount (shortest round-trip decimal), so runs of two discounts
    never share a group; the other kinds take no discount.  :func:`split_teacher_tag` reads it back.

    Examples
    ========
    >>> teacher_tag("dirichlet"), teacher_tag("pitman-yor", 0.5), teacher_tag("pitman-yor", 0)
    ('dp', 'pitman-yor(sigma=0.5)', 'pitman-yor(sigma=0.0)')
    >>> teacher_tag("finite", 0.5)
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: sigma is the Pitman-Yor discount: a finite teacher takes none (kind 'pitman-yor')
    """
    kind = canonical_kind(kind)
    if kind == "pitman-yor":
        if sigma is None:
            raise UserInputError("a Pitman-Yor teacher needs its discount sigma in [0, 1)")
        return f"pitman-yor(sigma={check_discount(sigma)!r})"
    if sigma is not None:
        raise UserInputError(f"sigma is the Pitman-Yor discount: a {kind} teacher takes none (kind 'pitman-yor')")
    return kind


_TAG = re.compile(r"pitman-yor\(sigma=([^()]*)\)")


def split_teacher_tag(tag: str) -> tuple[str, float | None]:
    """``(kind, sigma)`` of a teacher's name (:func:`teacher_tag`); a bare kind has ``sigma = None``.

    Examples
    ========
    >>> split_teacher_tag("pitman-yor(sigma=0.25)"), split_teacher_tag("dirichlet")
    (('pitman-yor', 0.25), ('dp', None))
    """
    match = _TAG.fullmatch(tag) if isinstance(tag, str) else None
    if match is not None:
        return "pitman-yor", check_discount(match.group(1))
    kind = canonical_kind(tag)
    if kind == "pitman-yor":
        raise UserInputError("a Pitman-Yor teacher is named with its discount, e.g. 'pitman-yor(sigma=0.5)'")
    return kind, None


def _student_bytes(width: int, d: int, batch_size: int) -> float:
    # weights, gradient and two Adam moments in float64, a float32 copy, the returned weights and
    # the evaluator's copy (8 copies of p in all), plus hidden-unit scratch for a block of rows
    # (2 rows for online SGD, up to 256 for a minibatch) in both precisions
    p = width * (d + 1)
    rows = 2 if batch_size == 1 else min(batch_size, 256)
    return 8.0 * 8 * p + 12.0 * rows * width


def teacher_units(d: int, K: int, kind: str, sigma: float | None = None, *, bound: bool = True) -> float:
    """Hidden units of a sampled teacher: ``K`` (finite), the atoms of a dp teacher (:func:`dp_atoms` when
    ``bound``, else its mean ``K ln(1/tol)``) or of a Pitman-Yor teacher (its cut, :func:`pitman_yor_cut`, which
    the sampler never exceeds; the leftover's tolerance ``1e-8`` ends the stick earlier only by chance, since
    the squared tail ``t(m)/t(0)``, falling like ``m^(1 - 2/sigma)``, reaches ``1e-6`` long before the mean
    leftover ``E R_m``, falling like ``m^(-(1-sigma)/sigma)``, reaches ``1e-8``).

    Examples
    ========
    >>> teacher_units(8, 32, "finite"), round(teacher_units(8, 32, "dp")), teacher_units(8, 32, "pitman-yor", 0.5)
    (32.0, 721, 6534.0)
    """
    if kind == "finite":
        return float(K)
    if kind == "dp" or not sigma:  # sigma = 0: the dp teacher's stick, bit for bit
        return min(_DP_MAX_ATOMS, dp_atoms(K) if bound else K * math.log(1 / _DP_TOL))
    return float(pitman_yor_cut(K, sigma))


def _teacher_bytes(d: int, K: int, kind: str, sigma: float | None = None) -> float:
    # the hidden weights with the transposed copy the labelling kernel makes and a sampling
    # temporary: three copies of m x (d + 2) values for m units (m atoms of a stick-breaking teacher)
    return 3 * 8.0 * teacher_units(d, K, kind, sigma) * (d + 2)


def _stream_bytes(d: int) -> float:
    # four training chunks alive (two drawn ahead, one being drawn, one in use) of inputs, uniforms,
    # labels and logits, the trainer's teacher parts and float32 inputs of the chunk in use
    return 8.0 * _CHUNK * (4 * (d + 3) + 3) + 4.0 * _CHUNK * d


def _eval_bytes(n_eval: int, d: int) -> float:
    # the evaluation stream is held whole while every student of the task is evaluated: inputs,
    # their transpose and the teacher's logit, softplus and sigma (2d + 3 values per input), plus
    # the streams a worker keeps for its next tasks
    return 8.0 * n_eval * (2 * d + 3) + _EVAL_CACHE


def memory_breakdown(config: "SweepConfig") -> dict[str, float]:
    """Peak bytes of the largest task (one teacher and data stream, every budget of it), by part.

    Parts: ``students`` (every student of the teacher at every budget, width and optimiser
    setting of the grids that hold it, widths with too few samples left out), ``teacher`` (its
    units, or a stick-breaking teacher's atoms, :func:`teacher_units`), ``stream`` (the training chunks in flight) and
    ``evaluation`` (the evaluation stream of ``eval_samples`` inputs, held whole, plus the streams
    a worker keeps); ``total`` is their sum, for the largest task. Task memory of a worker process;
    a local pool runs one task per worker at once (see
    :func:`scaling_theory.numeric.sweep.runner.estimate_sweep`).

    Examples
    ========
    >>> part = memory_breakdown(SweepConfig.from_dict({"d": 8, "K": 32, "budgets": [1e5], "widths": [4],
    ...                                                "eval_samples": 10_000_000}))
    >>> round(part["evaluation"] / 2**30, 2)   # 1e7 inputs x 19 float64 values, plus 64 MiB kept
    1.48

    A config whose largest task cannot fit this machine is refused when it is read:

    >>> SweepConfig.from_dict({"d": 10**9, "K": 10**9, "budgets": [1e15], "widths": [1]})
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: sweep config: the largest task (one teacher, every budget) needs about ... GiB (teacher ...) of memory in one process, more than this machine's ... GiB; lower K (or d)
    """
    students: dict[tuple, float] = {}
    for g in config.grids:
        per_row = (len(g.lr) * len(g.optimizer) * len(g.schedule) * len(g.t0) * len(g.parametrisation)
                   * len(g.precision))
        for d in g.d:
            total = 0.0
            for C in g.budgets:
                for w in _widths(g, d, C):
                    if _samples(C, w * (d + 1), config.cost_factor) >= config.min_samples:
                        total += per_row * sum(_student_bytes(w, d, b) for b in g.batch_size)
            for K in g.K:
                for kind, sigma in g.teachers():
                    students[(d, K, kind, sigma)] = students.get((d, K, kind, sigma), 0.0) + total
    best: dict[str, float] = {"total": 0.0}
    for (d, K, kind, sigma), student in students.items():
        part = {"students": student, "teacher": _teacher_bytes(d, K, kind, sigma), "stream": _stream_bytes(d),
                "evaluation": _eval_bytes(config.eval_samples, d)}
        part["total"] = sum(part.values())
        if part["total"] > best["total"]:
            best = part
    return best


def task_memory(runs: Sequence["RunSpec"]) -> dict[str, float]:
    """Peak bytes of one task (runs sharing a teacher and data stream), by part, as :func:`memory_breakdown`.

    Examples
    ========
    >>> runs, _ = SweepConfig.from_dict({"d": 4, "K": 2, "budgets": [1e4], "widths": [1, 2]}).expand()
    >>> part = task_memory(runs)
    >>> sorted(part), part["total"] == sum(v for k, v in part.items() if k != "total")
    (['evaluation', 'stream', 'students', 'teacher', 'total'], True)
    """
    first = runs[0]
    part = {"students": sum(_student_bytes(r.width, r.d, r.batch_size) for r in runs),
            "teacher": _teacher_bytes(first.d, first.K, first.kind, first.sigma), "stream": _stream_bytes(first.d),
            "evaluation": _eval_bytes(max(r.eval_samples for r in runs), first.d)}
    part["total"] = sum(part.values())
    return part


def memory_estimate(config: "SweepConfig") -> float:
    """Peak bytes of the largest task in one worker process (:func:`memory_breakdown`'s total).

    Examples
    ========
    >>> round(memory_estimate(SweepConfig.quick()) / 2**20)     # MiB: mostly the evaluation cache
    66
    """
    return memory_breakdown(config)["total"]


def machine_memory() -> float:
    """Bytes of memory this process may use: physical memory, or a lower container (cgroup) limit.

    Examples
    ========
    >>> machine_memory() > 2**26
    True
    """
    try:
        have = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        have = math.inf
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < have:
            have = float(text)
    return have


def available_memory() -> float:
    """Bytes of memory free for new work now (``MemAvailable`` of ``/proc/meminfo``; the machine's
    memory where that is not known).

    Examples
    ========
    >>> 0 < available_memory() <= machine_memory() * 1.01
    True
    """
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return min(float(line.split()[1]) * 1024, machine_memory())
    except (OSError, ValueError, IndexError):
        pass
    return machine_memory()


def _machine_memory() -> float:
    return machine_memory()


def _check_device(config: "SweepConfig", source: str) -> None:
    """Refuse float32 students on the CUDA engine (float64 only) before any run is tried."""
    if config.device == "cuda" and any("float32" in g.precision for g in config.grids):
        raise UserInputError(f"{source}: precision float32 runs on the CPU engine only, not device 'cuda' "
                             '(set precision = ["float64"] in the config to train on it)')


def describe_memory(part: Mapping[str, float]) -> str:
    """``"15.2 GiB (evaluation 15.1, teacher 0.0, stream 0.0, students 0.0)"`` for a breakdown.

    Examples
    ========
    >>> describe_memory({"students": 2**30, "teacher": 0.0, "stream": 2**20, "evaluation": 2**31, "total": 3 * 2**30})
    '3 GiB (evaluation 2, students 1, stream 0.001, teacher 0 GiB)'
    """
    parts = sorted(((k, v) for k, v in part.items() if k != "total"), key=lambda kv: -kv[1])
    return (f"{part['total'] / 2**30:.3g} GiB ("
            + ", ".join(f"{k} {v / 2**30:.1g}" if v < 2**29 else f"{k} {v / 2**30:.3g}" for k, v in parts)
            + " GiB)")


def _check_memory(config: "SweepConfig", source: str) -> None:
    part, have = memory_breakdown(config), _machine_memory()
    if part["total"] + WORKER_BASE_BYTES > have:
        raise UserInputError(f"{source}: the largest task (one teacher, every budget) needs about "
                             f"{describe_memory(part)} of memory in one process, more than this machine's "
                             f"{have / 2**30:.3g} GiB; lower {_largest_part(part)}")


def _largest_part(part: Mapping[str, float]) -> str:
    name = max((k for k in part if k != "total"), key=lambda k: part[k])
    return {"evaluation": "eval_samples", "teacher": "K (or d)", "stream": "d",
            "students": "d, the widths or the number of budgets and settings per teacher"}[name]


def _samples(compute: float, params: int, cost_factor: float) -> int:
    """T = floor(C / (c p)), with a relative 1e-12 so a budget that is an exact multiple is spent."""
    return int(math.floor(compute / (cost_factor * params) * (1 + 1e-12)))


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


def _toml_depth(text: str) -> int:
    """An upper bound on how deep ``text`` nests TOML arrays and inline tables, without parsing it.

    Brackets and braces are counted outside strings and comments (basic, literal and multi-line
    strings are skipped); :mod:`tomllib` recurses once per level of them and raises RecursionError
    a few hundred levels down, so the text is refused before it is parsed (and a RecursionError
    from a nesting this scan missed is caught all the same).

    Examples
    ========
    >>> _toml_depth('a = [[1, 2], {b = "[[["}]  # ]]]')
    2
    >>> _toml_depth("a = " + "[" * 5000)
    5000
    """
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                if c == '"' and text[i] == "\\":
                    i += 1
                elif len(quote) == 1 and text[i] == "\n":
                    break  # an unterminated one-line string: the parser reports it
                i += 1
            i += len(quote)
            continue
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


# -- field validation (one-line messages naming the field) -----------------------------------


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 4, 40, 40


def _shown(value: Any) -> str:
    """A short repr for a one-line message (a huge or deeply nested value is abbreviated)."""
    return _REPR.repr(value)


def _list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _ints(value: Any, name: str, source: str, minimum: int) -> tuple[int, ...]:
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field {name!r} must not be empty")
    out = []
    for item in items:
        # any integer type (NumPy's too, from the API), never a bool
        if isinstance(item, bool) or not isinstance(item, numbers.Integral) or item < minimum:
            what = "positive integers" if minimum == 1 else f"integers >= {minimum}"
            raise UserInputError(f"{source}: field {name!r} must contain {what}, got {_shown(item)}")
        if item > 10**9:
            raise UserInputError(f"{source}: field {name!r} value {_shown(item)} is too large (at most 1e9)")
        out.append(int(item))
    return tuple(dict.fromkeys(out))


def _floats(value: Any, name: str, source: str, maximum: float = math.inf) -> tuple[float, ...]:
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field {name!r} must not be empty")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise UserInputError(f"{source}: field {name!r} must contain positive finite numbers, got {_shown(item)}")
        try:
            number = float(item)
        except OverflowError:  # an integer beyond the float range
            number = math.inf if item > 0 else -math.inf
        if number > maximum and math.isinf(number) and isinstance(item, numbers.Integral):
            raise UserInputError(f"{source}: field {name!r} value {_shown(item)} is too large (at most {maximum:g})")
        if not math.isfinite(number) or number <= 0:
            raise UserInputError(f"{source}: field {name!r} must contain positive finite numbers, got {_shown(item)}")
        if number > maximum:
            raise UserInputError(f"{source}: field {name!r} value {_shown(item)} is too large (at most {maximum:g})")
        out.append(number)
    return tuple(dict.fromkeys(out))


def _kind_name(value: Any) -> Any:
    """An old teacher-kind name (``dirichlet``) read as its canonical one; anything else unchanged."""
    return KIND_ALIASES.get(value, value) if isinstance(value, str) else value


def _discounts(value: Any, source: str) -> tuple[float, ...] | None:
    """The grid's Pitman-Yor discounts (``None`` when absent); each a number in [0, 1), one-line errors."""
    if value is None:
        return None
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field 'sigma' must not be empty")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise UserInputError(f"{source}: field 'sigma' must contain numbers in [0, 1), got {_shown(item)}")
        try:
            out.append(check_discount(item))
        except UserInputError:
            raise UserInputError(f"{source}: field 'sigma' must contain Pitman-Yor discounts in [0, 1), "
                                 f"got {_shown(item)}") from None
    return tuple(dict.fromkeys(out))


def _choices(value: Any, name: str, allowed: Sequence[str], source: str) -> tuple[str, ...]:
    items = _list(value)
    if not items:
        raise UserInputError(f"{source}: field {name!r} must not be empty")
    for item in items:
        if item not in allowed:
            raise UserInputError(f"{source}: field {name!r} must be one of {', '.join(allowed)}, got {_shown(item)}")
    return tuple(dict.fromkeys(items))


def _int(data: Mapping, name: str, default: int, source: str, minimum: int = 1,
         maximum: int = 10**12) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not minimum <= value <= maximum:
        raise UserInputError(f"{source}: field {name!r} must be an integer in [{minimum}, {maximum:g}], "
                             f"got {_shown(value)}")
    return int(value)


def _number(data: Mapping, name: str, default: float, source: str) -> float:
    value = data.get(name, default)
    if isinstance(value, (list, tuple)):
        raise UserInputError(f"{source}: field {name!r} must be a single number, not a list")
    return _floats(value, name, source)[0]


def _choice(data: Mapping, name: str, default: str, allowed: Sequence[str], source: str) -> str:
    value = data.get(name, default)
    if value not in allowed:
        raise UserInputError(f"{source}: field {name!r} must be one of {', '.join(allowed)}, got {_shown(value)}")
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
                             f"got {_shown(widths_raw)}")
    else:
        widths = _ints(widths_raw, "widths", source, 1)
    span = values["p_over_sqrt_c"]
    if not isinstance(span, (list, tuple)) or len(span) != 2:
        raise UserInputError(f"{source}: field 'p_over_sqrt_c' must be a list [lo, hi], got {_shown(span)}")
    lo, hi = (_floats(x, "p_over_sqrt_c", source, maximum=1e6)[0] for x in span)
    if lo > hi:
        raise UserInputError(f"{source}: field 'p_over_sqrt_c' must have lo <= hi, got {_shown(list(span))}")
    per_budget = values["widths_per_budget"]
    if isinstance(per_budget, bool) or not isinstance(per_budget, int) or not 1 <= per_budget <= 1000:
        raise UserInputError(f"{source}: field 'widths_per_budget' must be an integer in [1, 1000], "
                             f"got {_shown(per_budget)}")
    grid = Grid(
        name=name,
        d=_ints(values["d"], "d", source, 1),
        K=_ints(values["K"], "K", source, 1),
        kind=_choices([_kind_name(k) for k in _list(values["kind"])], "kind", KINDS, source),
        sigma=_discounts(values.get("sigma"), source),
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
    if grid.sigma is not None and "pitman-yor" not in grid.kind:
        raise UserInputError(f"{source}: field 'sigma' is the Pitman-Yor discount; it needs kind 'pitman-yor' "
                             f"(kind is {', '.join(grid.kind)})")
    if grid.sigma is None and "pitman-yor" in grid.kind:
        raise UserInputError(f"{source}: kind 'pitman-yor' needs field 'sigma', its discounts in [0, 1) "
                             f"(e.g. sigma = [0.25, 0.5])")
    for K, sigma in ((K, s) for K in grid.K for s in grid.sigma or ()):
        try:
            pitman_yor_cut(K, sigma)   # the teacher's cut: refused here, not in every worker
        except UserInputError as err:
            raise UserInputError(f"{source}: {err}") from None
    if "dp" in grid.kind and max(grid.K) > DP_MAX_K:
        K = max(grid.K)
        raise UserInputError(f"{source}: field 'K': a dp teacher of concentration K = {K} needs about "
                             f"{dp_atoms(K):.3g} atoms to truncate its stick at leftover mass {_DP_TOL:g}, "
                             f"more than the sampler's {_DP_MAX_ATOMS}; K is at most {DP_MAX_K} for kind dp")
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
