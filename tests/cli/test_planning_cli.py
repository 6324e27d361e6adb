"""`fit --loss/--weights/--plot`, `allocate --from-fit`, `plan`, `design`: outputs and one-line errors."""

import json

import pytest

from scaling_theory.cli import main
from scaling_theory.numeric.analysis.fit import synthetic

CHIN = dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    data = synthetic(**CHIN, budgets=[1e18, 1e19, 1e20, 1e21], noise=0.01, seed=2)
    path = tmp_path_factory.mktemp("plan") / "runs.csv"
    rows = ["N,D,loss,w"] + [f"{n!r},{d!r},{l!r},{1 + i % 2}"
                             for i, (n, d, l) in enumerate(zip(data.N.tolist(), data.D.tolist(), data.loss.tolist()))]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fit_json(csv_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("fitjson") / "fit.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["fit", str(csv_path), "--approach", "3", "--bootstrap", "20", "--json"]) == 0
    out.write_text(buf.getvalue())
    return out


def test_fit_loss_and_weights_are_stated(csv_path, capsys):
    assert main(["fit", str(csv_path), "--approach", "3", "--bootstrap", "0", "--loss", "log-cosh",
                 "--delta", "0.01", "--weights", "w", "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["loss"] == {"kind": "log-cosh", "delta": 0.01, "weights": "w"}
    assert main(["fit", str(csv_path), "--approach", "3", "--bootstrap", "0", "--loss", "mae",
                 "--weights", "compute"]) == 0
    assert "approach 3 loss: mae on log residuals, weighted by compute" in capsys.readouterr().out


def test_fit_plot_writes_four_pngs(csv_path, tmp_path, capsys):
    assert main(["fit", str(csv_path), "--approach", "3", "--bootstrap", "10", "--plot",
                 str(tmp_path / "figs")]) == 0
    names = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert names == sorted(["residuals.png", "predicted_vs_observed.png", "isoflop.png", "bootstrap.png"])
    assert "figures:" in capsys.readouterr().out


def test_allocate_from_fit_gives_intervals(fit_json, capsys):
    assert main(["allocate", "--from-fit", str(fit_json), "--compute", "5.76e23", "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    for key, point in (("model_ci", "model"), ("data_ci", "data"), ("loss_ci", "loss")):
        lo, hi = j[key]
        assert lo < float(j[point]) < hi
    assert j["verified"]


def test_plan_proposes_runs_within_budget(fit_json, capsys):
    assert main(["plan", str(fit_json), "--budget", "1e21", "--count", "2", "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert len(j["runs"]) == 2 and all(r["compute"] <= 1e21 for r in j["runs"])
    assert j["interval_after"][1] - j["interval_after"][0] < j["interval_before"][1] - j["interval_before"][0]


def test_design_table_has_both_grids(capsys):
    assert main(["design", "--budgets", "1e18", "1e19", "1e20", "--noise", "0", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "symmetric (1)" in out and "shifted x4" in out


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_one_line_errors(csv_path, fit_json, tmp_path, capsys):
    neg = _write(tmp_path, "neg.csv", "N,D,loss,w\n1e6,1e8,3,1\n2e6,5e7,3,-2\n")
    old = _write(tmp_path, "old.json", json.dumps({**json.loads(fit_json.read_text()), "format": "x/1"}))
    cases = [
        (["fit", neg, "--weights", "w"], "row 3, column w: a weight must be a non-negative number"),
        (["fit", str(csv_path), "--weights", "nope"], "missing column nope"),
        (["allocate", "--from-fit", old, "-C", "1e21"], "format 'x/1'"),
        (["allocate", "--from-fit", str(fit_json), "chinchilla", "-C", "1e21"], "--from-fit takes the law"),
        (["plan", str(fit_json), "--budget", "1e10"], "below the smallest sensible run"),
        (["design", "--law", "kaplan", "--budgets", "1e18", "1e19"], "design simulates"),
    ]
    for argv, needle in cases:
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
        assert code not in (0, None)
        err = capsys.readouterr().err.strip()
        assert needle in err and "\n" not in err, (argv, err)
