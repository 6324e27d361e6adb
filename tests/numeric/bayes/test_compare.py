"""The comparison: input limits, the bound's minimisation over model size, the result's JSON."""

import json

import mpmath
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes.compare import LAW_FOR_TEACHER, bayes_optimal_error, bound_value, check_inputs


@pytest.mark.parametrize("args,needle", [(("finite", 65, 2, 1000, 8, 500), "d must be an integer in [1, 64]"),
                                         (("finite", 2, 0, 1000, 8, 500), "K must be an integer in [1, 64]"),
                                         (("finite", 2, 2, 0, 8, 500), "T must be an integer in [1, 1000000]"),
                                         (("finite", 2, 2, 1000, 1, 500), "teachers must be"),
                                         (("finite", 2, 2, 1000, 8, 99), "particles must be an integer in [100"),
                                         (("finite", 2, 2, 1000, 8, 500, 0), "width must be an integer in [1, 4096]"),
                                         (("finite", 2, 2, 1000, 8, 500, None, -2), "seed must be an integer in [0"),
                                         (("finite", 2, 2, 1000, 8, 500, 2.0), "width must be an integer"),
                                         (("wide", 2, 2, 1000, 8, 500), "unknown teacher 'wide'")])
def test_bad_input_names_the_limit(args, needle):
    with pytest.raises(UserInputError, match=needle.replace("[", r"\[")):
        check_inputs(*args)


def test_bound_is_the_minimum_over_model_size():
    from scaling_theory.numeric.bayes.compare import bound_routes
    from scaling_theory.theory.registry import get_law

    for teacher in ("finite", "dp"):
        law = get_law(LAW_FOR_TEACHER[teacher])
        values = law.parameters(None, {"d": 2, "K": 2}, defaults=False)
        routes = bound_routes(teacher, 2, 2, 1000)
        for name, (b, p_star) in routes.items():
            expr = law.route(name).expr
            f = lambda p: float(expr.subs(values).subs({law.data: 1000, law.model: p}))  # noqa: E731
            p_lo = float(law.route(name).min_model.subs(values))
            assert f(p_star) == pytest.approx(b, rel=1e-12) and p_star >= p_lo * (1 - 1e-12)
            assert f(p_star * 1.01) >= b * (1 - 1e-12) and (f(p_star / 1.01) > b or p_star <= p_lo * 1.0101)
        # the law's value is the best route's
        assert bound_value(teacher, 2, 2, 1000)[0] == min(b for b, _ in routes.values())
    # the finite law's Maurey route A/p + (B + beta ln T + K ln p)/T: minimiser p = A T / K in closed form
    law = get_law(LAW_FOR_TEACHER["finite"])
    A = law.abbreviations[[s for s in law.abbreviations if s.name == "A"][0]]
    A = float(A.subs(law.parameters(None, {"d": 2, "K": 2}, defaults=False)))
    assert bound_routes("finite", 2, 2, 1000)["maurey"][1] == pytest.approx(A * 1000 / 2, rel=1e-10)


def test_result_json_and_reproducibility():
    a = bayes_optimal_error("finite", 1, 1, 100, teachers=2, particles=100, seed=3, sgd=True)
    b = bayes_optimal_error("finite", 1, 1, 100, teachers=2, particles=100, seed=3, sgd=True)
    ja = json.loads(json.dumps(a.to_json()))
    assert {"error", "error_se", "bound", "holds", "sgd_error", "ess_min"} <= set(ja)
    assert ja["error"] == b.error and ja["sgd_error"] == b.sgd_error
    assert 0 < ja["ess_min"] <= 1 and ja["holds"] is True and ja["bound"] > ja["error"]
    assert len(ja["sgd_runs"]) == 4 and ja["sgd_error"] == min(r["error"] for r in ja["sgd_runs"])
    assert mpmath.isfinite(ja["bound"])


def test_a_job_above_the_limits_is_refused_before_it_starts():
    with pytest.raises(UserInputError, match="above the limit of 10 min"):
        bayes_optimal_error("finite", 2, 2, 20000, teachers=256, particles=20000)
    with pytest.raises(UserInputError, match="more memory than this machine"):
        bayes_optimal_error("finite", 64, 64, 1_000_000, teachers=100_000, particles=1_000_000, allow_long=True)


def test_bound_at_a_width_and_its_validity():
    from scaling_theory.numeric.bayes.compare import bound_at, bound_validity

    b, _ = bound_value("finite", 2, 2, 1000)
    cells = [bound_at("finite", 2, 2, 1000, n) for n in (1, 10, 100, 1000)]
    assert min(cells) >= b * (1 - 1e-12)                    # the minimum over p is below every width
    # width 1 < K = 2: only the Maurey route, from T >= 8 pi^2; width 2 = K: the direct route from T >= 1
    assert bound_validity("finite", 2, 2, 79, width=1) is None and bound_validity("finite", 2, 2, 78, width=1)
    assert bound_validity("finite", 2, 2, 5, width=2) is None
    # the dp law's truncation route covers every width n >= 1 and T >= 1
    assert bound_validity("dp", 2, 3, 1000, width=2) is None and bound_validity("dp", 2, 3, 1, width=1) is None
    r = bayes_optimal_error("finite", 1, 2, 20, teachers=2, particles=100, sgd=False, width=1)
    assert r.bound is None and r.holds is None and "below every route's window" in r.bound_note
    r = bayes_optimal_error("dp", 1, 2, 200, teachers=2, particles=100, sgd=False, width=3)
    assert r.bound == pytest.approx(bound_at("dp", 1, 2, 200, 3)) and r.bound_p == 6 and r.holds is True
    assert r.bound_route == "truncation" and r.bound_routes["maurey"]["bound"] > r.bound
