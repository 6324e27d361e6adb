"""`plan` and `allocate --from-fit` read a fit file as hostile input: a schema check before use; every
subcommand's --help reads cleanly."""

import copy
import json
import math
import os

import pytest

from scaling_theory.cli import build_parser, main
from scaling_theory.commands import COMMANDS
from scaling_theory.numeric.analysis import planning
from scaling_theory.numeric.analysis.fit import fit, synthetic

CHIN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


@pytest.fixture(scope="module")
def good():
    data = synthetic(**CHIN, budgets=[1e18, 1e19, 1e20], noise=0.01, seed=5)
    return fit(data, approach=3, bootstrap=12).to_json()


def _with(j, path, value):
    out = copy.deepcopy(j)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


A3 = ("approaches", "3")
HOSTILE = {
    "nan alpha": (A3 + ("alpha",), math.nan, "alpha must be a finite number"),
    "inf E": (A3 + ("E",), math.inf, "E must be a finite number"),
    "zero A": (A3 + ("A",), 0, "A must be > 0"),
    "negative beta": (A3 + ("beta",), -0.3, "beta must be > 0"),
    "huge beta": (A3 + ("beta",), 1e6, "at most 100"),
    "bool A": (A3 + ("A",), True, "A must be a number"),
    "string B": (A3 + ("B",), "410", "B must be a number"),
    "huge int A": (A3 + ("A",), 10 ** 400, "A must be a finite number"),
    "negative cost": (("cost",), -6, "cost must be > 0"),
    "zero cost": (("cost",), 0, "cost must be > 0"),
    "string replicates": (A3 + ("replicates",), "many", "replicates must be a list"),
    "number replicate": (A3 + ("replicates", 0), 7, "replicate 1 must be an object"),
    "negative replicate": (A3 + ("replicates", 3, "alpha"), -1.0, "replicate 4 alpha must be > 0"),
    "approaches a list": (("approaches",), [1, 2], "no approach 3 fit"),
    "approach 3 a string": (A3, "x", "no approach 3 fit"),
    "ranges a string": (("ranges", "N"), "ab", "ranges N must be [min, max]"),
    "negative range": (("ranges", "D"), [-5.0, 1.0], "ranges D must be > 0"),
    "inverted range": (("ranges", "N"), [10.0, 1.0], "min 10 above max 1"),
    "residual_sd text": (A3 + ("residual_sd",), "x", "residual_sd must be a number"),
    "long format": (("format",), "x" * 100_000, "expected 'scaling-theory-fit/2'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["plan", "allocate"])
def test_damaged_fit_files_are_refused_in_one_line(good, case, command, tmp_path, capsys):
    path_in_json, value, message = HOSTILE[case]
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(_with(good, path_in_json, value)))   # NaN/Infinity as JSON allows them
    args = (["plan", str(path), "--budget", "1e21"] if command == "plan"
            else ["allocate", "--from-fit", str(path), "--compute", "1e21", "--digits", "20"])
    code, out, err = _run(args, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and len(err) < 400 and message in err, err


@pytest.mark.parametrize("text, message", [
    ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
    ('{"a":' * 50 + "1" + "}" * 50, "nested deeper than"),
    ('{"format": 1' + "0" * 5000 + "}", "not a fit JSON file"),
    ("\xff\xfe garbage", "not a UTF-8 text file"),
    ("", "not a fit JSON file"),
    ("[]", "expected an object"),
])
def test_malformed_json_is_refused_in_one_line(text, message, tmp_path, capsys):
    path = tmp_path / "fit.json"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    code, _, err = _run(["plan", str(path), "--budget", "1e21"], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_oversized_and_special_files_are_refused_without_reading(good, tmp_path, capsys, monkeypatch):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(good))
    monkeypatch.setattr(planning, "MAX_FIT_BYTES", 100)
    code, _, err = _run(["plan", str(path), "--budget", "1e21"], capsys)
    assert code == 2 and "more than a fit file holds" in err
    fifo = tmp_path / "fit.fifo"
    os.mkfifo(fifo)   # opening it for reading would block forever
    code, _, err = _run(["allocate", "--from-fit", str(fifo), "--compute", "1e21"], capsys)
    assert code == 2 and "not a regular file" in err


def test_plan_refuses_more_runs_than_candidates_and_notes_extrapolation(good, tmp_path, capsys):
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(good))
    code, _, err = _run(["plan", str(path), "--budget", "1e21", "--count", "1000000000"], capsys)
    assert code == 2 and "distinct model sizes" in err
    code, out, _ = _run(["plan", str(path), "--budget", "1e21", "--target", "1e300", "--json"], capsys)
    j = json.loads(out)
    assert code == 0 and any("decades above" in n for n in j["notes"])


def test_plan_never_prints_a_non_finite_number(good, tmp_path, capsys):
    # valid constants whose optimum overflows: refused, not "N* = inf" with exit 0
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(_with(_with(good, A3 + ("A",), 1e308), A3 + ("B",), 1e-308)))
    code, out, err = _run(["plan", str(path), "--budget", "1e21"], capsys)
    assert code == 2 and "no finite, positive plan" in err and out == ""


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_help_text_reads_cleanly(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "%%" not in out and "Traceback" not in out
    build_parser()   # building it twice is harmless


def test_plan_help_prints_a_single_percent_sign(capsys):
    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    assert "95% interval" in " ".join(capsys.readouterr().out.split())
