"""The exponent map: symbolic exponents against the numeric minimiser, the best route, the measured hook, the
figure, the LaTeX page and the CLI."""

import json
import re

import pytest
import sympy as sp

from scaling_theory.cli import main
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.analysis.exponent_map import (TOLERANCE, check_measured, exponent_map, parse_sigmas)

SIGMAS = (0.0, 0.25, 0.5, 0.75)


@pytest.fixture(scope="module")
def pitman_yor_map():
    return exponent_map("pitman-yor", SIGMAS, params={"d": 8, "K": 32})


def test_every_symbolic_exponent_is_within_002_of_the_numeric_one(pitman_yor_map):
    rows = pitman_yor_map.rows
    assert {r.sigma for r in rows} == set(SIGMAS) and {r.route for r in rows} == {"maurey", "truncation"}
    assert len(rows) == 8
    for r in rows:
        assert abs(float(r.model_exponent) - r.numeric_exponent) <= TOLERANCE, r
    assert pitman_yor_map.ok


def test_the_exponents_are_the_derived_curves(pitman_yor_map):
    s = sp.Symbol("sigma", positive=True)
    assert pitman_yor_map.curves == {"maurey": 1 / (s + 2), "truncation": s / (s + 2)}
    for r in pitman_yor_map.rows:
        want = {"maurey": sp.Rational(1, 2), "truncation": 0} if r.sigma == 0 else \
            {k: v.subs(s, sp.nsimplify(r.sigma)) for k, v in pitman_yor_map.curves.items()}
        assert r.model_exponent == want[r.route]


def test_truncation_is_best_and_moves_with_sigma_while_no_best_row_is_linear(pitman_yor_map):
    best = [r for r in pitman_yor_map.rows if r.best]
    assert [r.route for r in best] == ["truncation"] * 4
    trunc = [r.numeric_exponent for r in pitman_yor_map.rows if r.route == "truncation"]
    assert trunc == sorted(trunc) and trunc[-1] - trunc[0] >= 0.05
    assert all(float(r.model_exponent) < 1 / 3 for r in best)
    linear = [(r.sigma, r.route) for r in pitman_yor_map.rows if r.model_exponent == sp.Rational(1, 2)]
    assert linear == [(0.0, "maurey")]
    assert all(float(r.loss_exponent) < float(m.loss_exponent) for r in best for m in pitman_yor_map.rows
               if m.sigma == r.sigma and not m.best)


def test_finite_and_dp_teachers_have_their_own_rows():
    fin = exponent_map("finite")
    assert [(r.sigma, r.route, r.model_exponent, r.best) for r in fin.rows] == [
        (None, "maurey", sp.Rational(1, 2), False), (None, "direct", 0, True)]
    dp = exponent_map("dirichlet", route="truncation")   # an old name of the dp teacher
    assert [(r.teacher, r.sigma, r.route, r.law) for r in dp.rows] == [("dp", 0.0, "truncation", "jeon-van-roy")]


def test_json_rows_have_the_issue_fields_and_a_null_measured(pitman_yor_map):
    payload = pitman_yor_map.to_json()
    row = payload["rows"][0]
    assert {"sigma", "route", "model_exponent", "numeric_exponent", "measured", "leading_order", "best"} <= set(row)
    assert row["measured"] is None and set(row["leading_order"]) == {"model", "data", "loss"}
    json.dumps(payload)


def test_measured_hook_attaches_by_sigma_and_is_validated(pitman_yor_map):
    m = pitman_yor_map.with_measured({"0.5": {"bayes": [0.21, 0.15, 0.27], "sgd": [0.3, 0.2, 0.4],
                                              "budgets": [1e5, 1e6, 1e7]}})
    at = [r.measured for r in m.rows if r.sigma == 0.5]
    assert len(at) == 2 and all(x["bayes"] == [0.21, 0.15, 0.27] for x in at)
    assert all(r.measured is None for r in m.rows if r.sigma != 0.5)
    assert "measured, Bayes learner (width n): a = 0.210 [0.150, 0.270]" in m.text()
    for bad, match in (({"0.5": {"bayes": [0.3, 0.4, 0.5]}}, "lo <= a <= hi"), ({"1.5": {}}, r"\[0, 1\)"),
                       ({"0.5": {"adam": [1, 0, 2]}}, "unknown field")):
        with pytest.raises(UserInputError, match=match):
            check_measured(bad)


@pytest.mark.parametrize("text, match", [("0,1", r"\[0, 1\)"), ("0.5,,0.6", "entry 2 is empty"),
                                         ("0.5;0.6", "not a number"), ("0.5,0.5", "repeats"),
                                         (",".join(str(i / 100) for i in range(21)), "at most 20")])
def test_malformed_sigma_lists_are_one_line(text, match):
    with pytest.raises(UserInputError, match=match) as exc:
        parse_sigmas(text)
    assert "\n" not in str(exc.value)


def test_figure_and_latex_page(pitman_yor_map, tmp_path):
    png = tmp_path / "a.png"
    pitman_yor_map.with_measured({0.25: {"bayes": [0.1, 0.05, 0.2]}}).figure(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    doc = pitman_yor_map.latex()
    assert doc.startswith("\\documentclass") and "\\begin{tabular}" in doc and "\\frac{\\sigma}{\\sigma + 2}" in doc


@pytest.mark.slow
def test_cli_json_and_plot(tmp_path, capsys):
    png = tmp_path / "map.png"
    assert main(["exponents", "--teacher", "pitman-yor", "--sigma", "0,0.25,0.5,0.75", "--json", "--plot",
                 str(png)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len({r["sigma"] for r in payload["rows"]}) == 4 and len({r["route"] for r in payload["rows"]}) == 2
    assert all(r["agrees"] and r["measured"] is None for r in payload["rows"]) and png.exists()
    measured = tmp_path / "m.json"
    measured.write_text(json.dumps({"0.5": {"bayes": [0.2, 0.1, 0.3]}}))
    assert main(["exponents", "--sigma", "0.5", "--route", "truncation", "--measured", str(measured)]) == 0
    out = capsys.readouterr().out
    assert "measured, Bayes learner (width n): a = 0.200 [0.100, 0.300]" in out and "maurey" not in out.split("finding")[0]


@pytest.mark.parametrize("argv, match", [
    (["exponents", "--sigma", "0,1"], "[0, 1)"), (["exponents", "--sigma", "0.2,x"], "malformed list"),
    (["exponents", "--route", "direct"], "no route 'direct' (routes: maurey, truncation)"),
    (["exponents", "--teacher", "finite", "--sigma", "0.5"], "has none"),
    (["exponents", "--param", "sigma=0.5"], "not a --param"),
    (["latex", "chinchilla", "--sigma", "0.5"], "goes with NAME exponents")])
def test_cli_bad_input_is_one_line(argv, match, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and match in captured.err


@pytest.mark.slow
def test_measured_exponents_come_from_a_compute_study_and_attach_to_their_discount():
    from scaling_theory.numeric.analysis.compute_study import route_predictions
    from scaling_theory.numeric.analysis.exponent_map import measure_exponents, measured_from_studies

    [study] = measure_exponents("dp", setting="quick", sgd=False)
    assert study["teacher"] == "dp" and study["sgd_study"] is None
    hook = measured_from_studies([study])
    assert list(hook) == [0.0]
    entry = hook[0.0]
    a, lo, hi = entry["bayes"]
    assert lo <= a <= hi and entry["sgd"] is None and entry["budgets"] == [200.0, 800.0]
    # each route's local exponent is the route's own n*(C) over the same budgets, at the study's d and K
    pred = route_predictions("dp", entry["d"], entry["K"], entry["budgets"])
    assert entry["routes"] == {r: v["exponent"] for r, v in pred.items()}
    m = exponent_map("pitman-yor", [0.0, 0.5], measured=[study])
    assert all((r.measured is not None) == (r.sigma == 0.0) for r in m.rows)
    assert f"a = {a:.3f} [{lo:.3f}, {hi:.3f}]" in m.text() and "at d=1, K=1, C = 2e2..8e2" in m.text()
    # a reproduce --json payload is read the same way
    assert measured_from_studies({"compute_study": {"teachers": [study]}}) == hook


@pytest.mark.parametrize("bad, match", [
    ([{"teacher": "dp"}], "needs teacher, d, K, budgets and exponents"),
    ({"0.5": {"bayes": [0.2, 0.1, 0.3], "routes": {"maurey": "x"}}}, "route 'maurey' has no number"),
    ({"0.5": {"bayes": [0.2, 0.1, 0.3], "budgets": [-1]}}, "positive finite"),
    ({"0.5": {"bayes": [0.2, 0.1, 0.3], "d": "nan"}}, "d must be positive and finite"),
    ("text", "expected a compute study")])
def test_measured_input_is_checked_in_one_line(bad, match):
    from scaling_theory.numeric.analysis.exponent_map import measured_from_studies

    with pytest.raises(UserInputError, match=re.escape(match)):
        measured_from_studies(bad)


def test_save_measured_needs_measure(tmp_path, capsys):
    assert main(["exponents", "--sigma", "0.5", "--save-measured", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--save-measured needs --measure" in err
