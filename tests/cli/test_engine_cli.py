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
    import scaling_theory.derivations.registry
    import scaling_theory.derivations.render

    monkeypatch.setattr(scaling_theory.derivations.registry, "derivation_names", lambda: ["fake-step", "chinchilla"])
    monkeypatch.setattr(scaling_theory.derivations.render, "render_document", lambda name, fmt: f"DOC {name} {fmt}")
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
    from scaling_theory.derivations.registry import ALIASES, derivation_names
    from scaling_theory.derivations.render import render_document
    from scaling_theory.theory.registry import law_names

    both = sorted(set([*derivation_names(), *ALIASES]) & set(law_names()))
    # chinchilla is a derivation; jeon-van-roy(-finite) name the chain of derivations behind the law
    assert {"chinchilla", "jeon-van-roy-finite", "jeon-van-roy"} <= set(both)
    for name in both:
        code, out, _ = _run(capsys, "latex", name, "--document")
        assert code == 0 and out.rstrip("\n") == render_document(name, "latex").rstrip("\n")


def test_derive_of_a_ten_digit_exponent_answers(capsys):
    code, out, _ = _run(capsys, "derive", "--expr", "A/N**(3392187463/10**10) + B/D", "--model", "N",
                        "--data", "D", "--cost", "6*N*D", "--json")
    j = json.loads(out)
    assert code == 0 and j["method"] == "power-law balance" and "3392187463" in j["model_exponent"]


def test_derive_jeon_van_roy_is_written_in_its_abbreviations(capsys):
    code, out, _ = _run(capsys, "derive", "jeon-van-roy-finite", "--route", "maurey")
    lines = out.splitlines()
    results = [line.strip() for line in lines if line.strip().startswith(("p* =", "T* =", "p*/T* =", "L* =", "p* ~"))]
    assert code == 0 and len(results) == 5
    assert not any("gamma(" in line for line in results)
    assert lines[0] == "law jeon-van-roy-finite, route maurey"
    assert "  L(p, T) = A/p + (B + K*log(p) + beta*log(T))/T" in lines
    assert "a = 1/2, b = 1/2" in out
    where = lines[lines.index("where") + 1:]
    assert [line.split(" = ")[0].strip() for line in where] == ["A", "B", "beta"]
    assert where[0] == "  A = (d + 1)*(K*d + 4*K*(K - 1)*gamma(d/2 + 1/2)**2/(pi*gamma(d/2)**2))/16"
    assert where[2] == "  beta = K*d/2 + 1/2"


def test_derive_and_latex_json_carry_the_abbreviations(capsys):
    import sympy as sp

    from scaling_theory.theory.jeon_van_roy import large_T_coefficients

    code, out, _ = _run(capsys, "derive", "jeon-van-roy-finite", "--json")
    j = json.loads(out)
    maurey = j["routes"][0]["allocation"]
    assert code == 0 and maurey["abbreviations"] == {k: sp.sstr(v) for k, v in large_T_coefficients().items()}
    assert maurey["abbreviations_latex"]["beta"] == r"\beta = \frac{K d}{2} + \frac{1}{2}"
    assert "gamma" not in maurey["model_optimal"] and "gamma" not in maurey["optimal_loss"]
    code, out, _ = _run(capsys, "latex", "jeon-van-roy-finite", "--json")
    j = json.loads(out)
    assert code == 0 and j["routes"] == ["maurey", "direct"]
    assert r"\Gamma" not in j["latex"][1] and any(r"\Gamma" in line for line in j["latex"] if line.startswith("A ="))
    code, out, _ = _run(capsys, "latex", "jeon-van-roy-finite")
    assert code == 0 and out.splitlines()[-1] == r"\beta = \frac{K d}{2} + \frac{1}{2}" and "\nwhere\n" in out
    code, out, _ = _run(capsys, "derive", "chinchilla", "--json")
    assert code == 0 and json.loads(out)["abbreviations"] == {} and "where" not in out


# recorded before laws had abbreviations (commit a9e39f5): the abbreviations must not move a digit
_RECORDED = {
    ("jeon-van-roy-finite", "1e12", "d=16", "K=4"): (
        "580065.69742803013441852916533646672750304428671547",
        "1723942.6575884913817659547543223051058087037424005",
        "6.8499853170045656245866147181570643828461191968303e-4"),
    ("jeon-van-roy-finite", "1e300", "d=16", "K=4"): (
        "1.2344516120288857217507304923234736440325302271840e+149",
        "8.1007630453529705566971497597626323235172154547796e+150",
        "3.1446261509028112405091425976788358223017397576887e-147"),
    ("jeon-van-roy-finite", "1e12", "d=1", "K=1"): (
        "65451.038515089093945965047220715626189182858944703",
        "15278596.378107275163987780221264095678916137928963",
        "3.8196490945268187909969450553160239197290344822407e-6"),
    ("jeon-van-roy-finite", "1e12", "d=1000", "K=4"): (
        "5103660.3402090143926460627090834195865279628172101",
        "195937.80411316443109473929620902235944732462980065",
        "0.29545663248717461298855304614263231935707253424901"),
    # the infinite-width (DP) law, recorded when its Barron scale became the simulated K pi_k a_k teacher
    ("jeon-van-roy", "1e20"): (
        "1192572814.6748064408174998121224050144080723838913",
        "83852322281.275743425667574549960840635826332413798",
        "4.4988170063640997168748487118564797748735282031093e-7"),
}


@pytest.mark.parametrize("run", list(_RECORDED))
def test_allocate_digits_unchanged_by_the_abbreviations(capsys, run):
    name, compute, *params = run
    argv = ["allocate", name, "--compute", compute, "--json", "--route", "maurey"]   # the closed-form route
    for p in params:
        argv += ["--param", p]
    code, out, _ = _run(capsys, *argv)
    j = json.loads(out)
    assert code == 0 and j["verified"] is True
    assert (j["model"], j["data"], j["loss"]) == _RECORDED[run]


def test_bounds_shows_the_short_form_and_defines_its_names(capsys):
    code, out, _ = _run(capsys, "bounds")
    jvr = [line for line in out.splitlines() if line.startswith("jeon-van-roy-finite:")][0]
    assert code == 0 and "gamma(" not in jvr and "A/p" in jvr
    assert "    where beta = K*d/2 + 1/2" in out.splitlines()
    code, out, _ = _run(capsys, "bounds", "--json")
    law = {entry["name"]: entry for entry in json.loads(out)["laws"]}["jeon-van-roy-finite"]
    assert set(law["abbreviations"]) == {"A", "B", "beta"} and "gamma(" in law["bound"]
