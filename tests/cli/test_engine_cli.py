"""bounds / derive / allocate / latex on the command line: JSON keys, files, one-line errors."""

import json
import os

import pytest

from scaling_theory.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bounds_json(capsys):
    code, out, _ = _run(capsys, "bounds", "--json")
    laws = {law["name"]: law for law in json.loads(out)["laws"]}
    assert code == 0 and {"chinchilla", "kaplan"} <= set(laws)
    assert laws["chinchilla"]["parameter_sets"]["hoffmann2022"]["A"] == "406.4"


def test_derive_json_keys_and_values(capsys):
    code, out, _ = _run(capsys, "derive", "chinchilla", "--json")
    j = json.loads(out)
    assert code == 0
    for key in ("bound", "cost", "model_optimal", "data_optimal", "model_exponent", "data_exponent",
                "optimal_loss", "latex"):
        assert key in j
    assert j["model_exponent"] == "beta/(alpha + beta)" and j["data_exponent"] == "alpha/(alpha + beta)"
    assert j["latex"]["model_exponent"] == r"\frac{\beta}{\alpha + \beta}"


def test_derive_user_formula_text(capsys):
    code, out, _ = _run(capsys, "derive", "--expr", "A/N + B*log(D)/D", "--model", "N", "--data", "D",
                        "--cost", "6*N*D")
    assert code == 0 and "LambertW" in out and "a = 1/2" in out


def test_allocate_json(capsys):
    code, out, _ = _run(capsys, "allocate", "chinchilla", "--compute", "5.76e23", "--json")
    j = json.loads(out)
    assert code == 0 and j["verified"] is True and j["digits"] == 50
    assert j["model"].startswith("32189859151.368")
    code, out, _ = _run(capsys, "allocate", "--expr", "A/N + B/D", "--model", "N", "--data", "D",
                        "--cost", "N*D", "--param", "A=1", "--param", "B=4", "--compute", "1e10",
                        "--digits", "20", "--json")
    j = json.loads(out)
    assert code == 0 and j["model"] == "50000.000000000000000"


def test_latex_and_atomic_output(capsys, tmp_path):
    code, out, _ = _run(capsys, "latex", "kaplan")
    assert code == 0 and r"\alpha_N" in out
    target = tmp_path / "kaplan.tex"
    code, out, _ = _run(capsys, "latex", "kaplan", "--document", "-o", str(target))
    assert code == 0 and target.read_text().startswith(r"\documentclass")
    assert [p.name for p in tmp_path.iterdir()] == ["kaplan.tex"]   # no temp files left
    code, out, _ = _run(capsys, "latex", "kaplan", "--document", "--format", "markdown", "--json")
    assert code == 0 and json.loads(out)["document"].startswith("# Compute-optimal")


def test_latex_delegates_derivation_documents(capsys, monkeypatch):
    import derivations.registry
    import derivations.render

    monkeypatch.setattr(derivations.registry, "derivation_names", lambda: ["fake-step", "chinchilla"])
    monkeypatch.setattr(derivations.render, "render_document", lambda name, fmt: f"DOC {name} {fmt}")
    assert _run(capsys, "latex", "fake-step")[1] == "DOC fake-step latex\n"
    assert _run(capsys, "latex", "chinchilla", "--document", "--format", "markdown")[1] == \
        "DOC chinchilla markdown\n"
    # without --document a name that is also a law gives the law's LaTeX
    assert _run(capsys, "latex", "chinchilla")[1].startswith("L(N, D) =")


@pytest.mark.parametrize("argv, words", [
    (["derive", "chinchila"], "unknown law 'chinchila'"),
    (["allocate", "chinchilla", "--compute", "1e20", "--params", "nope"], "no parameter set 'nope'"),
    (["derive", "--expr", "__import__('os').system('ls')", "--model", "N", "--data", "D", "--cost", "N*D"],
     "formula error"),
    (["derive", "--expr", "A/N + B/D", "--model", "X", "--data", "D", "--cost", "N*D"], "model symbol 'X'"),
    (["derive", "--expr", "A/N + B/D", "--model", "N", "--data", "D"], "--expr needs --cost"),
    (["derive"], "give a law NAME"),
    (["derive", "kaplan", "--expr", "A/N"], "not both"),
    (["allocate", "--expr", "A/N + B/D", "--model", "N", "--data", "D", "--cost", "N*D", "--compute", "1e9"],
     "needs a value for A, B"),
    (["allocate", "chinchilla", "--compute", "0"], "must be positive"),
    (["allocate", "chinchilla", "--compute", "-5"], "must be positive"),
    (["allocate", "chinchilla", "--compute", "nan"], "finite"),
    (["allocate", "chinchilla", "--compute", "inf"], "finite"),
    (["allocate", "chinchilla", "--compute", "1e20", "--param", "alpha=-1"], "outside the domain"),
    (["allocate", "chinchilla", "--compute", "1e20", "--digits", "3"], "digits"),
    (["derive", "--expr", "A/N + B*D", "--model", "N", "--data", "D", "--cost", "N*D"], "no interior"),
    (["latex", "nothing-here"], "unknown"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, words, tmp_path):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def test_failed_write_leaves_nothing(capsys, tmp_path):
    code, _, err = _run(capsys, "latex", "kaplan", "-o", str(tmp_path / "missing" / "x.tex"))
    assert code == 2 and "does not exist" in err
    assert not os.path.exists(tmp_path / "missing")


def test_latex_output_onto_a_directory_is_one_line_error(capsys, tmp_path):
    target = tmp_path / "adir"
    target.mkdir()
    code, out, err = _run(capsys, "latex", "chinchilla", "-o", str(target))
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "is a directory" in err
    assert os.listdir(target) == [] and [p.name for p in tmp_path.iterdir()] == ["adir"]


def test_latex_document_of_a_name_that_is_law_and_derivation_is_the_derivation(capsys):
    from derivations.registry import ALIASES, derivation_names
    from derivations.render import render_document
    from theory.laws import law_names

    both = sorted(set([*derivation_names(), *ALIASES]) & set(law_names()))
    # chinchilla is a derivation; jeon-van-roy(-dp) name the chain of derivations behind the law
    assert {"chinchilla", "jeon-van-roy", "jeon-van-roy-dp"} <= set(both)
    for name in both:
        code, out, _ = _run(capsys, "latex", name, "--document")
        assert code == 0 and out.rstrip("\n") == render_document(name, "latex").rstrip("\n")


def test_derive_of_a_ten_digit_exponent_answers(capsys):
    code, out, _ = _run(capsys, "derive", "--expr", "A/N**(3392187463/10**10) + B/D", "--model", "N",
                        "--data", "D", "--cost", "6*N*D", "--json")
    j = json.loads(out)
    assert code == 0 and j["method"] == "power-law balance" and "3392187463" in j["model_exponent"]
