"""run_checks and the `check` command: verification passes, a mutated step fails, bad input is one line."""

import dataclasses
import json

import pytest
import sympy as sp

from scaling_theory.derivations.check import check_derivation, run_checks, validate_digits
from scaling_theory.derivations.core import Derivation
from scaling_theory.derivations.registry import get_derivation
from scaling_theory.cli import main
from scaling_theory.errors import UserInputError


def test_run_checks_small_derivations_verify():
    report = run_checks(["kl-lemma", "entropy-count"], digits=30)
    assert report.ok and report.failed == 0
    assert report.steps_verified == len(report.steps) >= 12
    payload = report.to_json()
    assert {"steps_verified", "failed", "steps"} <= set(payload)
    assert all({"step", "method", "digits", "max_rel_error", "status"} <= set(s) for s in payload["steps"])


def _mutated(derivation: Derivation, step_name: str, **changes) -> Derivation:
    steps = tuple(dataclasses.replace(s, **changes) if s.name == step_name else s for s in derivation.steps)
    return dataclasses.replace(derivation, steps=steps)


MUTATIONS = {
    # (derivation, step): mutation of one constant
    ("jeon-van-roy-bound", "dp-assemble"): lambda s: {"rhs": s.rhs.subs(sp.Rational(1, 16), sp.Rational(1, 15))},
    ("jeon-van-roy-bound", "direct-assemble"): lambda s: {"rhs": s.rhs.subs(sp.pi, sp.Rational(22, 7))},
    ("jeon-van-roy-bound", "assemble"): lambda s: {"rhs": s.rhs.subs(sp.Rational(1, 64), sp.Rational(1, 63))},
    ("entropy-count", "delta-balance"): lambda s: {"rhs": s.rhs.subs(2, 3)},
}


@pytest.mark.slow
@pytest.mark.parametrize("key", list(MUTATIONS))
def test_mutated_constant_is_caught(key):
    name, step_name = key
    der = get_derivation(name)
    step = der.step(step_name)
    bad = _mutated(der, step_name, **MUTATIONS[key](step))
    assert bad.step(step_name).rhs != step.rhs
    rows = {r["step"]: r for r in check_derivation(bad, digits=20)}
    assert rows[step_name]["status"] == "FAILED"
    assert sum(r["status"] == "FAILED" for r in rows.values()) == 1


def test_mutated_expectation_value_is_caught():
    der = get_derivation("second-moment")
    step = der.step("first-moment-mc")
    wrong = dataclasses.replace(step, options={**step.options, "value": lambda: 1.03 * step.options["value"]()})
    assert not wrong.verify(20).ok
    assert step.verify(20).ok


@pytest.mark.slow
def test_restating_step_is_consistency_not_verified():
    report = run_checks(["jeon-van-roy-bound"], digits=15)
    rows = {r["step"]: r for r in report.steps}
    assert rows["registered-law"]["evidence"] == "consistency" and rows["registered-law"]["status"] == "consistent"
    assert report.ok and report.consistency == 1 and report.steps_verified == len(report.steps) - 1
    assert rows["dp-construction-kl"]["evidence"] == "monte-carlo"
    assert rows["dp-assemble"]["evidence"] == "symbolic"


@pytest.mark.slow
def test_mutation_run_kills_and_reports():
    from scaling_theory.derivations.mutate import run_mutations

    report = run_mutations(["dp-exact-16-to-15", "atoms-upper-drop-1", "sampler-dp-scale-sqrtK"], digits=15)
    payload = report.to_json()
    assert payload["total"] == 3 and payload["killed"] == 3 and payload["survivors"] == []
    rows = {r["name"]: r for r in payload["mutations"]}
    assert rows["dp-exact-16-to-15"]["killed_by"] == "jeon-van-roy-bound/dp-assemble"
    # 16 -> 15 in a denominator raises the bound: a looser statement, still true; dropping the 1 is false
    assert rows["dp-exact-16-to-15"]["effect"] == "looser" and rows["atoms-upper-drop-1"]["effect"] == "invalid"
    # the simulator's scale drifting from the laws' is caught by Monte Carlo on the simulator itself
    assert rows["sampler-dp-scale-sqrtK"]["killed_by"].startswith("teacher-moments/")
    assert payload["invalid_total"] == payload["invalid_killed"] == 2
    with pytest.raises(UserInputError, match="unknown mutation"):
        run_mutations(["no-such-mutation"])


@pytest.mark.slow
def test_validity_threshold_mutation_is_killed_at_the_boundary():
    from scaling_theory.derivations.mutate import run_mutations

    # 8 pi^2 -> 4 pi^2 keeps the summed relaxation true (the other log terms have slack); only the step
    # deriving the threshold from the smallest first moment (x = 1 at the boundary) can see it
    row = run_mutations(["validity-8pi2-to-4pi2"], digits=15).rows[0]
    assert row["killed"] and row["killed_by"] == "jeon-van-roy-bound/validity-threshold"


def test_tiny_error_slips_through_50_digits_but_not_100():
    # a claim true to 1e-40 passes the 50-digit tolerance alone but fails the escalation to 100 digits
    der = get_derivation("chinchilla")
    step = der.step("data-exponent")
    wrong = dataclasses.replace(step, rhs=step.rhs * (1 + sp.Rational(1, 10**40)),
                                options={**step.options, "symbolic": False})
    result = wrong.verify(50)
    assert not result.ok
    assert "at 50 digits" in result.detail and result.max_rel_error > 1e-45


@pytest.mark.parametrize("digits", [14, 0, -3, 5001, 10**6])
def test_digits_out_of_range(digits):
    with pytest.raises(UserInputError, match="digits"):
        validate_digits(digits)


def test_unknown_derivation_suggests():
    with pytest.raises(UserInputError, match="did you mean"):
        run_checks(["chinchila"])


def test_cli_check_json(capsys):
    assert main(["check", "kl-lemma", "--json", "--digits", "20"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["failed"] == 0 and payload["steps_verified"] == len(payload["steps"]) == 4


def test_cli_check_table(capsys):
    assert main(["check", "dp-atoms", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "max rel err" in out and "dp-atoms/atoms-upper-bound" in out and "5 steps verified, 0 consistency only" in out and "0 failed" in out


@pytest.mark.parametrize("argv", [["check", "nope"], ["check", "--digits", "10"], ["check", "--digits", "6000"],
                                  ["check", "kl-lemma", "--all"]])
def test_cli_check_bad_input_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_cli_check_non_integer_digits(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["check", "--digits", "many"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
