"""`scaling-theory fit`: CSV and store input, JSON output, one-line errors."""

import json

import pytest

from scaling_theory.numeric.sweep import runner as sweep
from scaling_theory.numeric.analysis.fit import synthetic
from scaling_theory.cli import main

CHINCHILLA = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def _write_csv(path, data):
    lines = ["N,D,loss"] + [f"{n!r},{d!r},{l!r}" for n, d, l in zip(*(x.tolist() for x in (data.N, data.D, data.loss)))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_csv_json_recovers_chinchilla_exponents(tmp_path, capsys):
    data = synthetic(**CHINCHILLA, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.0)
    path = _write_csv(tmp_path / "c.csv", data)
    assert main(["fit", str(path), "--bootstrap", "0", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    a3 = out["approaches"]["3"]
    assert a3["alpha"] == pytest.approx(0.34, rel=1e-3) and a3["E"] == pytest.approx(1.69, rel=1e-3)
    assert out["approaches"]["2"]["a"] == pytest.approx(0.28 / 0.62, abs=0.01)
    assert out["n_budgets"] == 4


def test_fit_text_output_names_every_approach(tmp_path, capsys):
    data = synthetic(**CHINCHILLA, budgets=[1e18, 1e19, 1e20], noise=0.01)
    path = _write_csv(tmp_path / "c.csv", data)
    assert main(["fit", str(path), "--approach", "2", "--bootstrap", "20"]) == 0
    text = capsys.readouterr().out
    assert "approach 2: a = " in text and "approach 3" not in text


ERRORS = {
    ("fit",): "give exactly one of FILE.csv or --store",
    ("fit", "{tmp}/none.csv"): "no such file",
    ("fit", "{tmp}/bad.csv"): "missing column loss",
    ("fit", "--store", "{tmp}/none.sqlite"): "no such result store",
    ("fit", "--store", "{tmp}/bad.csv"): "not a result store",
    ("fit", "{tmp}/bad.csv", "--store", "{tmp}/x.sqlite"): "exactly one",
}


@pytest.mark.parametrize("argv,message", ERRORS.items())
def test_fit_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "bad.csv").write_text("N,D\n1,2\n")
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "none.sqlite").exists()


def test_fit_with_too_little_data_for_any_approach_is_an_error(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("N,D,loss\n1e6,1e7,2.5\n")
    assert main(["fit", str(path), "--bootstrap", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not enough data to fit" in captured.err
    assert captured.err.count("\n") == 1


def test_fit_bad_option_value_is_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fit", "x.csv", "--bootstrap", "-1"])
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1


def test_fit_store_with_several_teachers_fits_each(tmp_path, capsys):
    cfg = sweep.SweepConfig.from_dict({"d": [4, 8], "K": 2, "budgets": [1e4, 1e5, 1e6],
                                       "widths": [1, 2, 4, 8, 16], "seeds": [0, 1]})
    store = tmp_path / "runs.sqlite"
    sweep.run_sweep(cfg, store, executor="serial", progress=False, runner=sweep.synthetic_runner)
    assert main(["fit", "--store", str(store), "--bootstrap", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(g["d"], g["K"]) for g in out["groups"]] == [(4, 2), (8, 2)]
    for g in out["groups"]:
        assert g["approaches"]["3"]["E"] == 0.0  # reducible error: no irreducible term
        assert g["n_budgets"] == 3
