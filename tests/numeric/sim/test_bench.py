"""Benchmark plumbing (numeric/bench.py, `scaling-theory bench`); speed itself is never asserted."""

import json
import sys

import pytest

from scaling_theory.numeric.sim import bench
from scaling_theory.cli import main

TINY = {"T_online": 96, "T_batched": 256, "widths": (2, 3), "d": 4, "peak_size": 64}


def test_flops_per_sample_table():
    for (d, n, B), flops in {(32, 32, 1): 6336.0, (32, 8, 32): 4.0625 * 264, (4, 2, 2): 50.0}.items():
        assert bench.flops_per_sample(d, n, B) == flops


def test_tiny_bench_has_the_issue_keys_and_agrees():
    res = bench.run_bench(quick=True, sizes=TINY).to_json()
    for key in ("vs_numpy", "fraction_of_peak", "results_agree", "peak_gflops", "rows"):
        assert key in res
    assert res["results_agree"] is True
    assert res["vs_numpy"] > 0 and res["fraction_of_peak"] > 0
    impls = {r["implementation"].split(" ")[0] for r in res["rows"]}
    assert {"numba-cpu", "numpy-reference"} <= impls
    if "torch" in sys.modules:
        assert "vs_torch" in res and "vs_torch_batched" in res
    json.dumps(res)  # plain JSON


def test_bench_without_torch_skips_its_columns(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    res = bench.run_bench(quick=True, sizes=TINY)
    out = res.to_json()
    assert "vs_torch" not in out and "vs_torch_batched" not in out
    assert any("PyTorch is not installed" in n for n in out["notes"])
    assert "vs_numpy" in res.to_text()


def test_cli_bench_json(monkeypatch, capsys):
    real = bench.run_bench
    monkeypatch.setattr(bench, "run_bench", lambda **kw: real(**kw, sizes=TINY))
    assert main(["bench", "--quick", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quick"] is True and "fraction_of_peak" in out


def test_cli_bench_rejects_bad_repeat(capsys):
    with pytest.raises(SystemExit) as err:
        main(["bench", "--repeat", "0"])
    assert err.value.code == 2
