"""The Pitman-Yor teacher in the Bayes comparison: the law it is held against, its discount, the CLI."""

import json

import pytest
import sympy as sp

from scaling_theory.cli import main
from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes import compare
from scaling_theory.numeric.bayes.compare import (bayes_optimal_error, bound_at, bound_routes, bound_validity,
                                                  bound_value, bounds_at, check_inputs, law_for)
from scaling_theory.numeric.bayes.smc import run_teachers
from scaling_theory.theory.registry import get_law


def test_the_law_is_the_pitman_yor_law_at_its_discount():
    assert law_for("pitman-yor", 0.5) == "jeon-van-roy-pitman-yor" and law_for("pitman-yor", 0) == "jeon-van-roy"
    law = get_law("jeon-van-roy-pitman-yor")
    values = law.parameters(None, {"d": 2, "K": 2, "sigma": sp.Rational(1, 2)}, defaults=False)
    routes = bound_routes("pitman-yor", 2, 2, 1000, sigma=0.5)
    assert sorted(routes) == sorted(r.name for r in law.routes)
    for name, (b, p_star) in routes.items():
        # each route's minimum over p, evaluated from the law's own expression at sigma = 1/2
        f = lambda p: float(law.route(name).expr.subs(values).subs({law.data: 1000, law.model: p}))  # noqa: E731
        assert f(p_star) == pytest.approx(b, rel=1e-12)
        assert f(p_star * 1.01) >= b * (1 - 1e-12) and f(p_star / 1.01) >= b * (1 - 1e-12)
    assert bound_value("pitman-yor", 2, 2, 1000, sigma=0.5)[0] == min(b for b, _ in routes.values())
    # the discount matters: another sigma, another bound; sigma = 0 is the DP teacher's law
    assert bound_value("pitman-yor", 2, 2, 1000, sigma=0.25)[0] != bound_value("pitman-yor", 2, 2, 1000, sigma=0.5)[0]
    assert bound_value("pitman-yor", 2, 2, 1000, sigma=0.0) == bound_value("dp", 2, 2, 1000)


def test_the_bound_at_a_width_uses_the_discount():
    law = get_law("jeon-van-roy-pitman-yor")
    values = law.parameters(None, {"d": 2, "K": 2, "sigma": sp.Rational(3, 4)}, defaults=False)
    at = bounds_at("pitman-yor", 2, 2, 1000, 3, sigma=0.75)
    for name, b in at.items():
        assert b == pytest.approx(float(law.route(name).expr.subs(values).subs({law.data: 1000, law.model: 9})),
                                  rel=1e-12)
    assert bound_at("pitman-yor", 2, 2, 1000, 3, sigma=0.75) == min(at.values())
    assert bound_validity("pitman-yor", 2, 2, 1000, width=3, sigma=0.75) is None


@pytest.mark.parametrize("kwargs, needle", [
    ({"teacher": "pitman-yor"}, "the pitman-yor teacher needs its discount sigma in [0, 1)"),
    ({"teacher": "pitman-yor", "sigma": 1.0}, "must lie in [0, 1), got 1.0"),
    ({"teacher": "pitman-yor", "sigma": float("nan")}, "must lie in [0, 1), got nan"),
    ({"teacher": "pitman-yor", "sigma": -0.5}, "must lie in [0, 1), got -0.5"),
    ({"teacher": "dp", "sigma": 0.5}, "the dp teacher takes none"),
    ({"teacher": "finite", "sigma": 0.0}, "the finite teacher takes none"),
])
def test_the_discount_is_checked_in_one_line(kwargs, needle):
    for call in (lambda: check_inputs(d=2, K=2, T=100, teachers=2, particles=100, **kwargs),
                 lambda: bayes_optimal_error(d=1, K=1, T=20, teachers=2, particles=100, sgd=False, **kwargs),
                 lambda: bound_value(kwargs["teacher"], 2, 2, 1000, sigma=kwargs.get("sigma"))):
        with pytest.raises(UserInputError) as err:
            call()
        assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_discount_reaches_the_sampler_and_the_result_names_the_law(monkeypatch):
    # a recording stand-in for the sampler (the DP sampler's run): what the comparison passes it and what it
    # makes of the run, apart from the sampler's own numbers
    seen = []

    def sampler(kind, d, K, T, sigma=None, **kw):
        seen.append((kind, sigma, kw["width"]))
        return run_teachers("dp", d, K, T, **kw)

    monkeypatch.setattr(compare, "run_teachers", sampler)
    r = bayes_optimal_error("pitman-yor", 1, 2, 100, teachers=2, particles=100, sgd=False, sigma=0.1)
    w = bayes_optimal_error("pitman-yor", 1, 2, 100, teachers=2, particles=100, sgd=False, sigma=0.5, width=2)
    assert seen == [("pitman-yor", 0.1, None), ("pitman-yor", 0.5, 2)]
    assert r.bound_law == w.bound_law == "jeon-van-roy-pitman-yor" and (r.sigma, w.sigma) == (0.1, 0.5)
    assert (r.bound, r.bound_p) == bound_value("pitman-yor", 1, 2, 100, sigma=0.1)
    assert w.bound == bound_at("pitman-yor", 1, 2, 100, 2, sigma=0.5) and w.bound_p == 2 * (1 + 1)
    assert json.loads(json.dumps(w.to_json()))["sigma"] == 0.5
    assert "(pitman-yor(sigma=0.5) teacher, d=1, K=2, T=100;" in w.summary()
    assert "bound (jeon-van-roy-pitman-yor, route " in w.summary()
    # the other teachers' results are as before: no discount
    assert bayes_optimal_error("dp", 1, 1, 50, teachers=2, particles=100, sgd=False).sigma is None


@pytest.mark.parametrize("args, needle", [
    (["--teacher", "pitman-yor"], "the pitman-yor teacher needs its discount sigma in [0, 1) (--sigma)"),
    (["--teacher", "pitman-yor", "--sigma", "1"], "must lie in [0, 1), got '1'"),
    (["--teacher", "pitman-yor", "--sigma", "nan"], "must lie in [0, 1), got 'nan'"),
    (["--teacher", "pitman-yor", "--sigma", "-0.1"], "must lie in [0, 1), got '-0.1'"),
    (["--teacher", "pitman-yor", "--sigma", "half"], "must be a number in [0, 1), got 'half'"),
    (["--teacher", "dp", "--sigma", "0.5"], "the dp teacher takes none (use --teacher pitman-yor)"),
    (["--sigma", "0.5"], "the finite teacher takes none"),
])
def test_cli_refuses_a_bad_discount_in_one_line(args, needle, capsys):
    assert main(["bayes", *args, "--T", "50"]) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err and out == ""


# -- end to end, with the sampler's Pitman-Yor prior ---------------------------------------------------------


def test_cli_pitman_yor_restricted_learner_names_the_law_and_reproduces(capsys):
    argv = ["bayes", "--teacher", "pitman-yor", "--sigma", "0.5", "--d", "1", "--K", "2", "--T", "100",
            "--teachers", "2", "--particles", "100", "--width", "2"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["teacher"] == "pitman-yor" and out["sigma"] == 0.5 and out["bound_law"] == "jeon-van-roy-pitman-yor"
    assert out["width"] == 2 and out["bound_p"] == 4.0 and out["error"] > 0 and out["sgd_error"] > 0
    assert out["bound"] == bound_at("pitman-yor", 1, 2, 100, 2, sigma=0.5) and out["holds"] is not False
    assert main([*argv, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["error"] == out["error"] and again["curve"] == out["curve"]     # seeded
    assert main([*argv, "--no-sgd"]) == 0
    text = capsys.readouterr().out
    assert "width-2 learner (pitman-yor(sigma=0.5) teacher" in text and "bound (jeon-van-roy-pitman-yor" in text


def test_cli_pitman_yor_bayes_optimal_learner(capsys):
    # the teacher's own prior, its stick truncated by the sampler (docs/bayes.md): a light tail fits
    argv = ["bayes", "--teacher", "pitman-yor", "--sigma", "0.1", "--d", "1", "--K", "1", "--T", "100",
            "--teachers", "2", "--particles", "100", "--no-sgd", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["width"] is None and out["sigma"] == 0.1 and out["bound_law"] == "jeon-van-roy-pitman-yor"
    assert (out["bound"], out["bound_p"]) == bound_value("pitman-yor", 1, 1, 100, sigma=0.1)
    assert out["error"] > 0 and out["holds"] is True
    # a heavy tail needs more atoms than the sampler carries: one line asking for a width, nothing run
    assert main([*argv[:4], "0.5", *argv[5:]]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "give the learner a width (--width)" in captured.err


def test_sigma_zero_is_the_dp_teacher_bit_for_bit():
    kw = dict(teachers=2, particles=100, sgd=False)
    py0, dp = bayes_optimal_error("pitman-yor", 1, 1, 80, sigma=0.0, **kw), bayes_optimal_error("dp", 1, 1, 80, **kw)
    assert py0.error == dp.error and py0.curve == dp.curve and py0.bound_law == dp.bound_law == "jeon-van-roy"
    assert (py0.sigma, dp.sigma) == (0.0, None)
