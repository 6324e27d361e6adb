"""Fits of published-style data whose budgets are not on a grid: summarised, binned for approaches 1-2."""

from __future__ import annotations

import dataclasses

import numpy as np

from scaling_theory.numeric.analysis.data import synthetic
from scaling_theory.numeric.analysis.fit import fit


def off_grid(seed=0):
    """Chinchilla's law sampled at scattered budgets: every point its own budget (C jittered x0.5-2)."""
    rng = np.random.default_rng(seed)
    data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=np.logspace(18, 22, 9), per_budget=12, noise=0.0)
    jitter = rng.uniform(0.5, 2.0, len(data))
    C = data.C * jitter
    return dataclasses.replace(data, C=C, D=data.D * jitter, budget=C)


def test_off_grid_budgets_are_binned_and_summarised():
    data = off_grid()
    assert np.unique(data.budget).size == len(data)  # no two points share a budget
    res = fit(data, bootstrap=0)
    summary = res.summary()
    assert max(len(line) for line in summary.splitlines()) < 300
    for k in (1, 2):
        r = res.approaches[k]
        assert r.bins >= 2 and f"{len(data)} off-grid budgets grouped into {r.bins} log-spaced bins" in r.message
        assert r.ok, r.message
        # true a = beta/(alpha+beta) = 0.4516; coarse bins of jittered data give it roughly
        assert 0.3 < r.a < 0.6
    js = res.to_json()["approaches"]["1"]
    assert js["bins"] == res.approaches[1].bins
    assert all(set(s) == {"C", "reason"} for s in js.get("skipped", []))


def test_skip_reasons_are_counted_not_listed():
    data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=np.logspace(18, 21, 4), per_budget=9, noise=0.0)
    few = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=np.logspace(22, 23, 3), per_budget=2, noise=0.0)
    both = dataclasses.replace(data, **{f: np.concatenate([getattr(data, f), getattr(few, f)])
                                        for f in ("N", "D", "loss", "C", "budget")})
    r = fit(both, approach=1, bootstrap=0).approaches[1]
    assert r.bins == 0 and "3 budgets skipped (3 fewer than 3 model sizes)" in r.message
    assert "C=" not in r.message and len(r.skipped) == 3
