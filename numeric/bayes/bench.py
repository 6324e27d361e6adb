"""Throughput of the SMC particle kernels: particle-updates per second, Numba against the NumPy reference,
and the fraction of the machine's measured floating-point peak they reach (docs/bayes.md, "Throughput").

A particle update is one particle's log-likelihood at one observation; the Metropolis-Hastings sweep does
``t`` of them per particle (it rescores the proposal on all data so far), the reweighting step one.

The peak is measured, not looked up: :func:`machine_peak` times a compiled loop of independent
multiply-adds on registers (8 chains per element of a 64-double block, which LLVM vectorises to the
widest FMA the CPU has) on one thread and on all of Numba's threads, and counts 2 flops per
multiply-add.  The kernel's flop rate counts the arithmetic an update needs (:func:`flops_per_update`).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, prange

from scaling_theory.numeric.bayes import kernels

__all__ = ["bench_kernels", "machine_peak", "flops_per_update"]

_FMA_BLOCK = 64        # doubles per register block: 8 zmm (or 16 ymm) registers
_FMA_CHAINS = 8        # dependent multiply-adds per element and pass (hides the FMA latency)


@njit(cache=True, fastmath={"reassoc", "contract"})
def _fma_block(x, reps):  # pragma: no cover - compiled
    acc = x.copy()
    for _ in range(reps):
        for i in range(acc.shape[0]):
            a = acc[i]
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            a = a * 0.999999999 + 1e-9
            acc[i] = a
    return acc.sum()


@njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
def _fma_parallel(x, reps, blocks):  # pragma: no cover - compiled
    out = np.zeros(blocks)
    for c in prange(blocks):
        out[c] = _fma_block(x, reps)
    return out.sum()


def machine_peak(seconds: float = 0.3) -> dict:
    """Measured double-precision peak: GFLOP/s of a register-resident FMA loop, one thread and all threads.

    Returns
    -------
    dict with ``peak_gflops_1thread`` (per second of that thread's CPU time, so other processes on the
    machine do not lower it), ``peak_gflops`` (wall clock, all Numba threads) and ``threads``.

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.bench import machine_peak
    >>> p = machine_peak(0.01)
    >>> bool(p["peak_gflops_1thread"] > 0.1 and p["peak_gflops"] > 0.1)
    True
    """
    import numba

    x = np.ones(_FMA_BLOCK)
    _fma_block(x, 1)
    threads = numba.get_num_threads()
    _fma_parallel(x, 1, threads)
    flops_per_rep = 2 * _FMA_CHAINS * _FMA_BLOCK
    reps = 1000
    while True:                                        # size the loop to the time asked for
        c0 = time.thread_time()
        _fma_block(x, reps)
        dt = time.thread_time() - c0
        if dt > seconds / 3 or reps > 1 << 30:
            break
        reps *= 4
    best = float("inf")
    for _ in range(3):
        c0 = time.thread_time()
        _fma_block(x, reps)
        best = min(best, time.thread_time() - c0)
    one = flops_per_rep * reps / best
    blocks = 4 * threads
    reps_p = max(1, reps // 4)
    best_p = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        _fma_parallel(x, reps_p, blocks)
        best_p = min(best_p, time.perf_counter() - t0)
    return {"peak_gflops_1thread": one / 1e9, "peak_gflops": flops_per_rep * reps_p * blocks / best_p / 1e9,
            "threads": threads}


def flops_per_update(d: int, m: int) -> int:
    """Floating-point operations of one particle update (one network at one observation) in the kernels.

    ``m (2d + 3)`` for the network (a multiply-add per weight, the ReLU, the output multiply-add) and 39
    for ``-softplus``: the sign, positive part and its sum (3), the range reduction of ``exp`` (``-|g|``,
    the clamp, ``floor(u log2 e + 1/2)``, two multiply-adds: 9), its degree-12 polynomial (12
    multiply-adds, 24), the scale by ``2^k`` (1), and ``1 + e`` and the running product (2).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.bench import flops_per_update
    >>> flops_per_update(4, 4)
    83
    """
    return m * (2 * d + 3) + 39


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best_cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def bench_kernels(d: int = 4, K: int = 4, teachers: int = 8, particles: int = 1000, t: int = 1000,
                  repeat: int = 3, peak: bool = True) -> dict:
    """Time :func:`~scaling_theory.numeric.bayes.kernels.mh_sweep` and its NumPy reference on one workload.

    Returns
    -------
    dict with the workload, ``numba_updates_per_s`` (wall clock, all threads), ``numba_updates_per_cpu_s``
    (per second of CPU time summed over threads: what the kernel does with the cores it gets on a
    shared machine), ``numpy_updates_per_s``, ``speedup``, and with ``peak``: ``gflops``, the machine's
    measured peak (:func:`machine_peak`) and ``fraction_of_peak`` (wall: of all threads' peak;
    ``fraction_of_peak_cpu``: CPU-time rate against one thread's peak).

    Examples
    --------
    >>> from scaling_theory.numeric.bayes.bench import bench_kernels
    >>> r = bench_kernels(d=1, K=1, teachers=1, particles=100, t=10, repeat=1, peak=False)
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
    sweep = lambda: kernels.mh_sweep(Z, ll, X, y, t, active, kernels.FINITE, K, d, 1.0, step, log_u)  # noqa: E731
    fast = _best(sweep, repeat)
    fast_cpu = _best_cpu(sweep, repeat)
    small = max(1, teachers // 8)                        # the reference on fewer teachers (memory, time)
    slow = _best(lambda: kernels.mh_sweep_reference(Z[:small], ll[:small], X[:small], y[:small], t,
                                                    active[:small], kernels.FINITE, K, d, 1.0, step[:small],
                                                    log_u[:small]), 1)
    updates = teachers * particles * t
    numba_rate = updates / fast
    numpy_rate = small * particles * t / slow
    out = {"workload": f"MH sweep, finite teacher d={d} K={K}, {teachers} teachers x {particles} particles "
                       f"x {t} observations",
           "numba_updates_per_s": numba_rate, "numba_updates_per_cpu_s": updates / fast_cpu,
           "numpy_updates_per_s": numpy_rate, "speedup": numba_rate / numpy_rate}
    if peak:
        flops = flops_per_update(d, K)
        p = machine_peak()
        out.update({"flops_per_update": flops, "gflops": numba_rate * flops / 1e9,
                    "gflops_per_cpu_s": updates / fast_cpu * flops / 1e9, **p,
                    "fraction_of_peak": numba_rate * flops / 1e9 / p["peak_gflops"],
                    "fraction_of_peak_cpu": updates / fast_cpu * flops / 1e9 / p["peak_gflops_1thread"]})
    return out
