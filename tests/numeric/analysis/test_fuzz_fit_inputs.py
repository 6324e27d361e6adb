"""Fuzz tests, one per input format of the fitting surfaces: a CSV of losses (`fit`) and a fit file
(`plan`, `allocate --from-fit`). Every input ends in exit 0 with a finite, checked answer, or in exit
2 with one line on stderr: never a traceback, never a NaN with exit 0. The CLI runs in-process."""

import json
import math

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from scaling_theory.cli import main
from scaling_theory.numeric.analysis.fit import fit, synthetic

CHIN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def _settings(n: int):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def _finite_numbers(obj):
    """Every number in parsed JSON output is finite (None stands for 'not available')."""
    if isinstance(obj, dict):
        return all(_finite_numbers(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite_numbers(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def _outcome(args, capsys):
    try:
        code = main(args)
    except SystemExit as exc:   # argparse
        code = exc.code
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, err[-500:])
    if code == 2:
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err and len(err) < 600, err
    else:
        assert err == "" or "expected to take" in err
    return code, out


# -- CSV ----------------------------------------------------------------------------------------

_GOOD = synthetic(**CHIN, budgets=[1e18, 1e19, 1e20], per_budget=5, noise=0.02, seed=7)

cells = st.one_of(
    st.sampled_from(["", " ", "nan", "inf", "-inf", "0", "-1", "1e400", "1e-400", "abc", "1,5", '"3"',
                     "0x10", "1_000", "\x00", "\u00e9", "2.5e", "--1", "1e308", "5e-324"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=1e-300, max_value=1e300).map(lambda v: f"{v:.6g}"),
)


@st.composite
def csv_texts(draw):
    header = draw(st.sampled_from(["N,D,loss", "n,d,LOSS", "N,C,loss", "N,D,C,loss", "N,loss", "loss,D,N,extra",
                                   "\ufeffN,D,loss", "N;D;loss", ""]))
    rows = []
    for n, d, l in zip(_GOOD.N.tolist(), _GOOD.D.tolist(), _GOOD.loss.tolist()):
        row = {"n": repr(n), "d": repr(d), "c": repr(6 * n * d), "loss": repr(l), "extra": "x"}
        rows.append(row)
    order = [h.strip("\ufeff").lower() for h in header.replace(";", ",").split(",")] if header else []
    lines = [header]
    for row in rows:
        values = [row.get(col, "1") for col in order]
        if values and draw(st.integers(0, 11)) == 0:   # damage one cell in about one row of twelve
            values[draw(st.integers(0, len(values) - 1))] = draw(cells)
        if draw(st.integers(0, 20)) == 0:
            values = values[:-1]   # a short row
        lines.append(",".join(values))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), "")   # a blank line
    if draw(st.integers(0, 4)) == 0:   # a truncated file
        lines = lines[:max(draw(st.integers(0, len(lines))), 1)]
    return "\n".join(lines) + "\n"


@given(text=csv_texts(), approach=st.sampled_from(["1", "2", "3", "all"]),
       loss=st.sampled_from(["huber", "mse", "mae", "log-cosh"]),
       delta=st.sampled_from(["1e-3", "1e-3", "0.1", "1", "1e9", "1e9", "0", "nan", "1e400"]))
@_settings(60)
def test_fit_csv_fuzz(text, approach, loss, delta, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("csv") / "runs.csv"
    path.write_text(text, encoding="utf-8")
    code, out = _outcome(["fit", str(path), "--approach", approach, "--bootstrap", "10", "--loss", loss,
                          "--delta", delta, "--json"], capsys)
    if code == 0:
        j = json.loads(out)
        assert _finite_numbers(j)
        assert any(r["ok"] for r in j["approaches"].values())
        r3 = j["approaches"].get("3")
        if r3 and r3["ok"]:
            assert r3["a"] + r3["b"] == pytest.approx(1.0)
            assert r3["A"] > 0 and r3["B"] > 0 and r3["E"] >= 0 and 0 < r3["alpha"] <= 5 and 0 < r3["beta"] <= 5
            if "a" in r3["ci"]:
                lo, hi = r3["ci"]["a"]
                assert lo <= hi


# -- fit files ----------------------------------------------------------------------------------

_FIT = fit(synthetic(**CHIN, budgets=[1e18, 1e19, 1e20], noise=0.01, seed=8), approach=3, bootstrap=12).to_json()

hostile_values = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1e308, 1e-308, -0.0, "", "x" * 1000, [], {}, [1, 2],
                     {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}, 10 ** 400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-10 ** 30, max_value=10 ** 30),
    st.text(max_size=20),
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, prefix + (i,))


_ALL_PATHS = [p for p in _paths(_FIT) if p]
# the fields plan and allocate read, drawn as often as all the others together
_USED = [p for p in _ALL_PATHS if p[0] in ("format", "cost", "ranges")
         or p[:2] == ("approaches", "3") and (len(p) == 2 or p[2] in ("ok", "E", "A", "B", "alpha", "beta",
                                                                      "residual_sd", "replicates"))]


@st.composite
def fit_files(draw):
    j = json.loads(json.dumps(_FIT))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_USED if draw(st.booleans()) else _ALL_PATHS))
        node = j
        try:
            for key in path[:-1]:
                node = node[key]
            if draw(st.integers(0, 5)) == 0 and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = draw(hostile_values)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier mutation removed this path
    return json.dumps(j)


@given(text=fit_files(), budget=st.sampled_from(["1e19", "1e21", "1e300", "1e-10"]),
       target=st.sampled_from(["5.76e23", "1e300", "1e-300"]), count=st.sampled_from(["1", "3", "61", "62"]))
@_settings(60)
def test_plan_fit_file_fuzz(text, budget, target, count, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    path.write_text(text)
    code, out = _outcome(["plan", str(path), "--budget", budget, "--target", target, "--count", count,
                          "--json"], capsys)
    if code == 0:
        j = json.loads(out)
        assert _finite_numbers(j)
        assert j["model_optimal"] > 0 and 0 <= j["sd_ratio"] and len(j["runs"]) == int(count)
        for r in j["runs"]:
            assert r["N"] > 0 and r["D"] > 0 and r["expected_loss"] > 0


@given(text=fit_files(), compute=st.sampled_from(["1e21", "5.76e23", "1e-300", "1e400"]))
@_settings(50)
def test_allocate_from_fit_file_fuzz(text, compute, tmp_path_factory, capsys):
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    path.write_text(text)
    code, out = _outcome(["allocate", "--from-fit", str(path), "--compute", compute, "--digits", "20", "--json"],
                         capsys)
    if code == 0:
        j = json.loads(out)
        assert j["verified"] is True
        for key in ("model", "data", "loss"):
            value = float(j[key])
            assert math.isfinite(value) and value > 0
