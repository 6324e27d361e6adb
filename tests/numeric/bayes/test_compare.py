"""The comparison: input limits, the bound's minimisation over model size, the result's JSON."""

import json

import mpmath
import pytest

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.bayes.compare import LAW_FOR_TEACHER, bayes_optimal_error, bound_value, check_inputs


@pytest.mark.parametrize("args,needle", [(("finite", 5, 2, 1000, 8, 500), "d must be an integer in [1, 4]"),
                                         (("finite", 2, 0, 1000, 8, 500), "K must be an integer in [1, 4]"),
                                         (("finite", 2, 2, 50, 8, 500), "T must be an integer in [100, 20000]"),
                                         (("finite", 2, 2, 1000, 1, 500), "teachers must be"),
                                         (("finite", 2, 2, 1000, 8, 99), "particles must be an integer in [100"),
                                         (("wide", 2, 2, 1000, 8, 500), "unknown teacher 'wide'")])
def test_bad_input_names_the_limit(args, needle):
    with pytest.raises(UserInputError, match=needle.replace("[", r"\[")):
        check_inputs(*args)


def test_bound_is_the_minimum_over_model_size():
    from scaling_theory.theory.registry import get_law

    for teacher in ("finite", "dp"):
        b, p_star = bound_value(teacher, 2, 2, 1000)
        law = get_law(LAW_FOR_TEACHER[teacher])
        f = lambda p: float(law.expr.subs(law.parameters(None, {"d": 2, "K": 2}, defaults=False))  # noqa: E731
                            .subs({law.data: 1000, law.model: p}))
        assert f(p_star) == pytest.approx(b, rel=1e-12)
        assert f(p_star * 1.01) > b and (f(p_star / 1.01) > b or p_star <= 3 * 2)
    # finite law A/p + (B + beta ln T + K ln p)/T: minimiser p = A T / K in closed form
    law = get_law(LAW_FOR_TEACHER["finite"])
    A = law.abbreviations[[s for s in law.abbreviations if s.name == "A"][0]]
    A = float(A.subs(law.parameters(None, {"d": 2, "K": 2}, defaults=False)))
    assert bound_value("finite", 2, 2, 1000)[1] == pytest.approx(A * 1000 / 2, rel=1e-10)


def test_result_json_and_reproducibility():
    a = bayes_optimal_error("finite", 1, 1, 100, teachers=2, particles=100, seed=3, sgd=True)
    b = bayes_optimal_error("finite", 1, 1, 100, teachers=2, particles=100, seed=3, sgd=True)
    ja = json.loads(json.dumps(a.to_json()))
    assert {"error", "error_se", "bound", "holds", "sgd_error", "ess_min"} <= set(ja)
    assert ja["error"] == b.error and ja["sgd_error"] == b.sgd_error
    assert 0 < ja["ess_min"] <= 1 and ja["holds"] is True and ja["bound"] > ja["error"]
    assert len(ja["sgd_runs"]) == 4 and ja["sgd_error"] == min(r["error"] for r in ja["sgd_runs"])
    assert mpmath.isfinite(ja["bound"])
