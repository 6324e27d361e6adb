"""Fuzzing the sweep's two input formats (issue 27, item 7): sweep TOML and store rows.

Each example ends in "exit 0 with a finite, checked answer, or exit 2 with one line" (plus, for a
damaged store, one warning line naming the rows it skipped), never a traceback. Derandomized, so CI
is reproducible; about 40 s on 2 shared cores in all.
"""

import contextlib
import json
import math
import os
import shutil
import sqlite3
import tempfile

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import scaling_theory.numeric.sweep.runner as runner_mod
from scaling_theory.cli import main
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import run_sweep, synthetic_runner
from scaling_theory.numeric.sweep.store import Store, StoreError

pytestmark = [pytest.mark.slow]

N_TOML, N_ROWS = 120, 40


def _fuzz(n: int) -> settings:
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
SMALL_SWEEP = 150  # valid configs up to this many runs go through `simulate` (larger: checked, not run)


@contextlib.contextmanager
def _cli(capsys):
    """The CLI in this process with the synthetic runner, in a fresh folder; yields a runner of argv."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner_mod, "train_runs", synthetic_runner)
        mp.chdir(tmp)
        capsys.readouterr()

        def run(argv):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code
            out, err = capsys.readouterr()
            return code, out, err

        yield tmp, run


def _finite_numbers(obj) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(_finite_numbers(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite_numbers(v) for v in obj)
    return True


def _check_refusal(err: str, command: str) -> None:
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert lines and lines[-1].startswith(f"scaling-theory {command}: error: "), err
    assert all(line.startswith("warning: ") for line in lines[:-1]), err


# -- sweep TOML ------------------------------------------------------------------------------------

_WORDS = ["auto", "finite", "dp", "dirichlet", "infinite", "sgd", "adam", "constant", "inverse", "inverse_sqrt",
          "standard", "mup", "float32", "float64", "cpu", "numpy", "cuda", "", "main"]
_SCALARS = st.one_of(
    st.integers(-3, 12), st.integers(-2**63, 2**63 - 1), st.sampled_from([10**400, -10**400, 10**9 + 1]),
    st.booleans(), st.sampled_from(_WORDS),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e3, 1e4, 1e5, 1e6, 1e15, 1e16, 0.02, 0.64]),
    st.text(max_size=6))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
_GRID_FIELDS = ["d", "K", "kind", "budgets", "widths", "widths_per_budget", "p_over_sqrt_c", "seeds", "lr",
                "batch_size", "optimizer", "schedule", "t0", "parametrisation", "precision"]
_FIELDS = _GRID_FIELDS + ["min_samples", "eval_samples", "cost_factor", "device", "colour"]


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    return "[" + ", ".join(_toml_value(v) for v in value) + "]"


@st.composite
def sweep_tomls(draw) -> str:
    # a small valid sweep, then up to three fields replaced by anything, and maybe grids
    table = {"d": draw(st.lists(st.integers(1, 8), min_size=1, max_size=2)),
             "K": draw(st.integers(1, 8)),
             "budgets": draw(st.lists(st.sampled_from([1e3, 1e4, 1e5]), min_size=1, max_size=2)),
             "widths": draw(st.sampled_from(["auto", [1, 2], [1, 3, 5]])),
             "widths_per_budget": draw(st.integers(1, 4)), "eval_samples": 200, "min_samples": 10}
    for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=3)):
        table[name] = draw(_VALUES)
    lines = [f"{name} = {_toml_value(value)}" for name, value in table.items()]
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[grid]]")
        for name in draw(st.lists(st.sampled_from(_GRID_FIELDS + ["name"]), max_size=2, unique=True)):
            lines.append(f"{name} = {_toml_value(draw(_VALUES))}")
    return "\n".join(lines) + "\n"


@_fuzz(N_TOML)
@given(text=sweep_tomls())
def test_fuzz_sweep_toml(capsys, text):
    with _cli(capsys) as (tmp, run):
        with open("s.toml", "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(text)
        try:
            config = SweepConfig.from_toml("s.toml")
        except UserInputError as err:
            assert "\n" not in str(err)
            config = None
            event("toml refused when read")
        if config is not None and config.size() > SMALL_SWEEP:
            runs, skipped = config.expand()   # too large to run here: check what would run
            for r in runs[:2000]:
                assert r.samples >= config.min_samples and math.isfinite(r.compute)
                assert r.cost_factor * r.params * r.samples <= r.compute * (1 + 1e-9)
            event("toml valid, too large to run here")
            return
        code, out, err = run(["simulate", "--config", "s.toml", "--store", "r.sqlite", "--workers", "1", "--json"])
        if code == 2:
            _check_refusal(err, "simulate")
            assert config is None or "limit" in err or "memory" in err  # a valid config refused by its estimate
            assert not os.path.exists("r.sqlite") or config is not None
            if config is not None:
                event("toml valid, refused by its estimate")
            return
        assert code == 0, err
        event("toml ran")
        payload = json.loads(out)
        assert payload["complete"] and payload["done"] + payload["diverged"] == payload["total"]
        with Store("r.sqlite") as store:
            rows = store.rows()
            assert store.damaged == [] and len(rows) == payload["total"]
            assert all(math.isfinite(r["error"]) and r["error"] > 0 for r in rows if r["status"] == "done")


# -- store rows --------------------------------------------------------------------------------------

# the synthetic law's optimum lies inside the sampled widths at every budget, so `fit` has an answer
_STORE_CONFIG = {"d": 4, "K": 2, "budgets": [1e4, 1e5, 1e6], "widths_per_budget": 9, "p_over_sqrt_c": [0.1, 10],
                 "seeds": [0, 1], "min_samples": 10}
_COLUMNS = ["config_hash", "config", "d", "K", "kind", "compute", "width", "params", "samples", "seed", "lr",
            "batch_size", "optimizer", "status", "reason", "error", "error_se", "seconds", "metrics"]
_CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.binary(max_size=6), st.integers(-2**63, 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=True), st.integers(-2, 3),
    st.sampled_from(["{", "[]", "null", "{}", '"x"', "1e999", '{"online_kl": "x"}', '{"val_error": null}',
                     '{"teacher_seed": 1.5}', '{"d": 1e999}', '{"width": 3}', "[" * 3000 + "]" * 3000,
                     '{"online_kl": 1' + "0" * 400 + "}", '{"val_error": -1' + "0" * 400 + "}",
                     '{"d": ' + "9" * 5000 + "}", "done", "diverged", "failed", "dirichlet", "nan"]))


@pytest.fixture(scope="module")
def clean_store():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clean.sqlite")
        run_sweep(SweepConfig.from_dict(_STORE_CONFIG), path, executor="serial", progress=False,
                  runner=synthetic_runner)
        with Store(path) as store:
            hashes = {r["config_hash"] for r in store.rows()}
        yield path, hashes


def _damage(path, damages) -> int:
    applied = 0
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        for row, column, value in damages:
            try:
                conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, row))
                applied += 1
            except sqlite3.IntegrityError:  # NOT NULL and UNIQUE hold even so
                pass
        conn.commit()
    finally:
        conn.close()
    return applied


@_fuzz(N_ROWS)
@given(damages=st.lists(st.tuples(st.integers(1, 54), st.sampled_from(_COLUMNS), _CELLS), min_size=1, max_size=3))
def test_fuzz_store_rows(capsys, clean_store, damages):
    source, hashes = clean_store
    with _cli(capsys) as (tmp, run):
        shutil.copy(source, "runs.sqlite")
        _damage("runs.sqlite", damages)
        with Store("runs.sqlite") as store:   # reading never raises: damaged rows are left out, named
            rows = store.rows()
            assert len(rows) + len(store.damaged) == len(store)
            for r in rows:
                assert all(math.isfinite(r[k]) and r[k] > 0 for k in ("compute", "width", "params", "samples"))
                assert r["status"] != "done" or (math.isfinite(r["error"]) and r["error"] >= 0)
        code, out, err = run(["fit", "--store", "runs.sqlite", "--approach", "2", "--bootstrap", "20", "--json"])
        event(f"fit exit {code}")
        if code == 0:
            assert _finite_numbers(json.loads(out)), out
            assert all(line.startswith("warning: store ") for line in err.strip().splitlines()), err
        else:
            assert code == 2, err
            _check_refusal(err, "fit")
        # a resumed sweep runs the damaged rows again and replaces them
        with open("s.toml", "w") as fh:
            fh.write("".join(f"{k} = {_toml_value(v)}\n" for k, v in _STORE_CONFIG.items()))
        code, out, err = run(["simulate", "--config", "s.toml", "--store", "runs.sqlite", "--workers", "1",
                              "--quiet"])
        assert code == 0, err
        with Store("runs.sqlite") as store:
            assert hashes <= {r["config_hash"] for r in store.rows()}
