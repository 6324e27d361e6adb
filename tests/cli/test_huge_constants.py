"""Issue 27: the laws' constants at huge and odd values end in a checked answer or one clear line.

Each row runs ``python -m scaling_theory ...`` in a child process under a 4 GB address-space limit
(``resource.setrlimit``) and a timeout, two at a time: before the fix ``allocate jeon-van-roy --param d=1e9``
asked numpy for 611 GiB and ``--param d=1e4`` ran 95 s, ``allocate jeon-van-roy-finite --param K=1e9`` for
7.5 GiB.  A finished row's answer is checked here, apart from the code that produced it: ``p* T* = C``, the
route's bound re-evaluated by SymPy's own ``evalf`` with ``d`` and ``K`` as 50-digit floats (no mpmath closure
of the toolkit) equals ``L*``, an interior optimum is lower than its neighbours, and the trivial error sits
where the teacher's scale puts it.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import sympy as sp

from scaling_theory.theory.registry import get_law

MEMORY_LIMIT = 4 * 2**30
TIMEOUT_S = 120   # generous: CI machines are shared; each row takes a few seconds alone


@dataclass(frozen=True)
class Row:
    id: str
    argv: tuple[str, ...]
    expect: str | None = None          # None: exit 0 and a checked answer; else the phrase of the one stderr line
    trivial: tuple[float, float] | None = None   # the trivial error's range, for exit-0 rows


def R(id, argv: str, expect=None, trivial=None) -> Row:
    return Row(id, tuple(argv.split()), expect, trivial)


LN2 = math.log(2)
ROWS = [
    # |F| is huge at these constants on the Barron scale: a constant predictor's KL is ln 2
    R("dp-d-1e9", "allocate jeon-van-roy --compute 1e12 --param d=1e9", trivial=(0.69, LN2 + 1e-3)),
    R("dp-d-1e4", "allocate jeon-van-roy --compute 1e12 --param d=1e4", trivial=(0.6, LN2 + 1e-3)),
    R("dp-K-1e9", "allocate jeon-van-roy --compute 1e12 --param K=1e9", trivial=(0.69, LN2 + 1e-3)),
    # the finite teacher is exactly 0 when no unit is active: P(N = 0) = 2^-4 of the ln 2
    R("finite-K-1e9", "allocate jeon-van-roy-finite --compute 1e12 --param K=1e9", trivial=(0.69, LN2 + 1e-3)),
    R("finite-d-1e9", "allocate jeon-van-roy-finite --compute 1e12 --param d=1e9",
      trivial=(LN2 * 15 / 16 - 0.005, LN2 * 15 / 16 + 0.005)),
    # the normalised scale keeps E[F^2] = 1/2 at any d and K
    R("dp-normalised-d-1e9", "allocate jeon-van-roy-normalised --compute 1e12 --param d=1e9", trivial=(0.04, 0.07)),
    R("py-K-1e9", "allocate jeon-van-roy-pitman-yor --compute 1e12 --param sigma=0.5 --param K=1e9",
      trivial=(0.69, LN2 + 1e-3)),
    R("py-d-1e9", "allocate jeon-van-roy-pitman-yor --compute 1e12 --param sigma=0.5 --param d=1e9",
      trivial=(0.69, LN2 + 1e-3)),
    # K -> 0 on the Barron scale: the teacher's output weights are K pi_k a_k, F = 0 to the last bit
    R("dp-K-1e-300", "allocate jeon-van-roy --compute 1e12 --param K=1e-300", trivial=(0.0, 1e-12)),
    R("py-K-1e-300", "allocate jeon-van-roy-pitman-yor --compute 1e12 --param sigma=0.5 --param K=1e-300",
      trivial=(0.0, 1e-12)),
    R("dp-d-half", "allocate jeon-van-roy --compute 1e12 --param d=0.5", "outside the domain"),
    R("dp-d-negative", "allocate jeon-van-roy --compute 1e12 --param d=-1", "outside the domain"),
    R("py-sigma-one", "allocate jeon-van-roy-pitman-yor --compute 1e12 --param sigma=1", "outside the domain"),
    R("py-sigma-tiny", "allocate jeon-van-roy-pitman-yor --compute 1e12 --param sigma=1e-9", "below 1e-6"),
    R("dp-K-nan", "allocate jeon-van-roy --compute 1e12 --param K=nan", "finite number"),
    R("dp-d-inf", "allocate jeon-van-roy --compute 1e12 --param d=inf", "finite number"),
    R("exponents-d-1e9", "exponents --teacher dp --param d=1e9", "the exponent map takes d <= 1000"),
    R("exponents-K-1e9", "exponents --teacher finite --param K=1e9", "the exponent map takes K <= 10000"),
    R("exponents-py-K-1e9", "exponents --sigma 0.5 --param K=1e9", "the exponent map takes K <= 10000"),
    R("exponents-py-d-1e9", "exponents --sigma 0.5 --param d=1e9", "the exponent map takes d <= 1000"),
    R("exponents-sigma-tiny", "exponents --sigma 0.002", "steps of 0.01"),
    R("exponents-K-1e-300", "exponents --sigma 0.5 --param K=1e-300", "does not cover the budgets"),
    R("latex-exponents-d-1e9", "latex exponents --teacher dp --param d=1e9", "the exponent map takes d <= 1000"),
]


def _limits():   # runs in the child before exec: the 4 GB cap the reproduction used
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(row: Row, cwd) -> subprocess.CompletedProcess | None:
    argv = [sys.executable, "-m", "scaling_theory", *row.argv]
    if row.expect is None and row.argv[0] == "allocate":
        argv += ["--digits", "20", "--json"]
    env = {**os.environ, "PYTHONHASHSEED": "0", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    try:
        return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=TIMEOUT_S, preexec_fn=_limits)
    except subprocess.TimeoutExpired:
        return None


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict:
    cwd = tmp_path_factory.mktemp("huge-constants")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {r.id: pool.submit(_run, r, cwd) for r in ROWS}
        return {k: f.result() for k, f in futures.items()}


def _route_value(law, route: str, params: dict, p, T) -> sp.Float:
    """The route's bound at ``(p, T)`` by SymPy's evalf, the constants as 50-digit floats (an independent path)."""
    expr = law.route(route).expr
    subs = {law.symbols[k]: sp.Float(v, 50) for k, v in params.items()}
    subs.update({law.model: sp.Float(p, 50), law.data: sp.Float(T, 50)})
    return expr.xreplace(subs).evalf(30)


def _check_answer(row: Row, j: dict) -> None:
    law = get_law(row.argv[1])
    p, T, L, C = (sp.Float(j[k], 40) for k in ("p_star", "T_star", "L_star", "compute"))
    assert j["verified"] is True and L > 0
    assert abs(p * T / C - 1) < 1e-15
    params = {k: v for k, v in j["params"].items()}
    again = _route_value(law, j["route"], params, p, T)
    assert abs(again / L - 1) < 1e-12, (again, L)
    headline = next(o for o in j["routes"] if o["name"] == j["route"])
    if headline["boundary"] is None:   # an interior optimum: both neighbours along the budget are higher
        for f in (sp.Rational(999, 1000), sp.Rational(1001, 1000)):
            assert _route_value(law, j["route"], params, p * f, T / f) > L
    lo, hi = row.trivial
    assert lo <= float(j["trivial_error"]) <= hi, j["trivial_error"]
    assert j["informative"] == (float(j["L_star"]) < float(j["trivial_error"]) - 3 * float(j["trivial_error_stderr"]))


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_huge_or_odd_constants_end_in_an_answer_or_one_line(row: Row, outcomes):
    out = outcomes[row.id]
    assert out is not None, f"{row.id}: no end within {TIMEOUT_S} s"
    where = f"{' '.join(row.argv)}\nrc={out.returncode}\nstdout={out.stdout[-2000:]!r}\nstderr={out.stderr[-2000:]!r}"
    assert "Traceback" not in out.stderr and "MemoryError" not in out.stderr, where
    if row.expect is None:
        assert out.returncode == 0 and out.stderr == "", where
        _check_answer(row, json.loads(out.stdout))
        return
    lines = out.stderr.splitlines()
    assert out.returncode == 2 and out.stdout == "" and len(lines) == 1, where
    assert row.expect in lines[0], where


def test_allocate_header_names_the_budget_apart_from_a_constant_called_C(capsys):
    from scaling_theory.cli import main

    law = ["--expr", "C/N + B/D", "--model", "N", "--data", "D", "--cost", "N*D", "--param", "C=2", "--param", "B=3"]
    assert main(["allocate", *law, "--compute", "1e6", "--digits", "15"]) == 0
    head = capsys.readouterr().out.splitlines()[0]
    assert head == "law user, compute C_budget (C is a constant of the law) = 1000000.0, 15 digits"
    assert main(["allocate", "chinchilla", "--compute", "1e20", "--digits", "15"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "law chinchilla (hoffmann2022), compute C = 1.0e+20, 15 digits"
