"""Throughput of the SMC particle kernels: particle-updates per second, Numba against the NumPy reference.

A particle update is one particle's log-likelihood at one observation; the Metropolis-Hastings sweep does
``t`` of them per particle (it rescores the proposal on all data so far), the reweighting step one.
"""

from __future__ import annotations

import time

import numpy as np

from scaling_theory.numeric.bayes import kernels

__all__ = ["bench_kernels"]


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_kernels(d: int = 4, K: int = 4, teachers: int = 8, particles: int = 1000, t: int = 1000,
                  repeat: int = 3) -> dict:
    """Time :func:`~scaling_theory.numeric.bayes.kernels.mh_sweep` and its NumPy reference on one workload.

    Returns
    -------
    dict with the workload, ``numba_updates_per_s``, ``numpy_updates_per_s`` and ``speedup``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.bench import bench_kernels
    >>> r = bench_kernels(d=1, K=1, teachers=1, particles=100, t=10, repeat=1)
    >>> bool(r["numba_updates_per_s"] > 0 and r["speedup"] > 0)
    True
    """
    rng = np.random.default_rng(0)
    D = kernels.latent_dim(kernels.FINITE, d, K)
    Z = rng.standard_normal((teachers, particles, D))
    X = rng.standard_normal((teachers, t, d))
    y = (rng.random((teachers, t)) < 0.5).astype(np.float64)
    step = 0.1 * rng.standard_normal(Z.shape)
    log_u = np.full((teachers, particles), np.inf)      # reject all: the state stays put between repeats
    active = np.ones(teachers, dtype=bool)
    ll = np.zeros((teachers, particles))
    kernels.mh_sweep(Z, ll, X[:, :2], y[:, :2], 2, active, kernels.FINITE, K, d, 1.0, step, log_u)   # compile
    fast = _best(lambda: kernels.mh_sweep(Z, ll, X, y, t, active, kernels.FINITE, K, d, 1.0, step, log_u),
                 repeat)
    small = max(1, teachers // 8)                        # the reference on fewer teachers (memory, time)
    slow = _best(lambda: kernels.mh_sweep_reference(Z[:small], ll[:small], X[:small], y[:small], t,
                                                    active[:small], kernels.FINITE, K, d, 1.0, step[:small],
                                                    log_u[:small]), 1)
    numba_rate = teachers * particles * t / fast
    numpy_rate = small * particles * t / slow
    return {"workload": f"MH sweep, finite teacher d={d} K={K}, {teachers} teachers x {particles} particles "
                        f"x {t} observations",
            "numba_updates_per_s": numba_rate, "numpy_updates_per_s": numpy_rate,
            "speedup": numba_rate / numpy_rate}
