"""Which lever moved the SMC kernels' speed: the Metropolis-Hastings rescoring, one lever at a time (docs/bayes.md).

Usage: python benchmarks/bayes_levers.py [--particles 1000] [--t 1000] [--d 4] [--K 4] [--repeat 5]

Rescores ``particles`` proposals of a finite width-``K`` network on ``t`` observations (the work of one
move of ``bayes --bench``'s workload, one teacher), single-threaded, in CPU time of the thread (best of
``--repeat``), with each variant adding one lever to the one before:

0. ``pre-issue``: the kernel before issue 25: particles outer, each observation's logit a row-major dot
   product per unit, then ``log1p(exp(.))`` per observation (scalar libm calls);
1. ``observations innermost``: inputs transposed ``(d, t)``, a unit's pre-activations over a chunk of
   256 observations as one vectorised loop; still ``log1p(exp(.))`` per observation;
2. ``one log per chunk``: the product of ``1 + e^{-|g|}`` over the chunk (each factor in (1, 2]) and one
   ``log``; ``exp`` still a libm call;
3. ``vectorisable exp``: the kernels' polynomial exp (:func:`~scaling_theory.numeric.bayes.kernels.exp_nonpositive`),
   so the whole chunk loop vectorises: the shipped kernel.

Then the same workload on all of Numba's threads (``prange`` over teachers x particles, 8 teachers),
wall clock.  Every variant's log-likelihoods are checked against the NumPy reference before it is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
from numba import njit

from scaling_theory.numeric.bayes import kernels
from scaling_theory.numeric.bayes.kernels import CHUNK, FASTMATH


@njit(cache=True)
def _v0_pre_issue(A, W, X, y, out):  # pragma: no cover - compiled
    P, m, d = W.shape
    t = X.shape[0]
    for i in range(P):
        lp = 0.0
        for s in range(t):
            f = 0.0
            for j in range(m):
                h = 0.0
                for k in range(d):
                    h += W[i, j, k] * X[s, k]
                if h > 0.0:
                    f += A[i, j] * h
            g = -f if y[s] > 0.5 else f
            if g > 0.0:
                lp -= g + math.log1p(math.exp(-g))
            else:
                lp -= math.log1p(math.exp(g))
        out[i] = lp


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _v1_obs_inner(A, W, XT, sg, out):  # pragma: no cover - compiled
    P, m, d = W.shape
    t = XT.shape[1]
    fb = np.empty(CHUNK)
    hb = np.empty(2 * CHUNK)
    for i in range(P):
        lp = 0.0
        for s0 in range(0, t, CHUNK):
            n = min(CHUNK, t - s0)
            kernels._chunk_logits(A[i], W[i], XT, s0, n, m, d, fb, hb)
            sgc = sg[s0:s0 + n]
            for s in range(n):
                g = sgc[s] * fb[s]
                lp -= max(g, 0.0) + math.log1p(math.exp(-abs(g)))
        out[i] = lp


@njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def _v2_one_log(A, W, XT, sg, out):  # pragma: no cover - compiled
    P, m, d = W.shape
    t = XT.shape[1]
    fb = np.empty(CHUNK)
    hb = np.empty(2 * CHUNK)
    for i in range(P):
        pos = 0.0
        logprod = 0.0
        for s0 in range(0, t, CHUNK):
            n = min(CHUNK, t - s0)
            kernels._chunk_logits(A[i], W[i], XT, s0, n, m, d, fb, hb)
            sgc = sg[s0:s0 + n]
            prod = 1.0
            for s in range(n):
                g = sgc[s] * fb[s]
                pos += max(g, 0.0)
                prod *= 1.0 + math.exp(-abs(g))
            logprod += math.log(prod)
        out[i] = -(pos + logprod)


@njit(cache=True)
def _v3_shipped(A, W, XT, sg, out):  # pragma: no cover - compiled
    P, m, d = W.shape
    fb = np.empty(CHUNK)
    hb = np.empty(2 * CHUNK)
    for i in range(P):
        out[i] = kernels._network_log_lik(A[i], W[i], XT, sg, XT.shape[1], m, d, fb, hb)


def _cpu_best(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        c0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - c0)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--t", type=int, default=1000)
    parser.add_argument("--d", type=int, default=4)
    parser.add_argument("--K", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    P, t, d, m = args.particles, args.t, args.d, args.K
    rng = np.random.default_rng(0)
    A, W = rng.standard_normal((P, m)), rng.standard_normal((P, m, d))
    X = rng.standard_normal((t, d))
    y = (rng.random(t) < 0.5) * 1.0
    XT, sg = np.ascontiguousarray(X.T), np.where(y > 0.5, -1.0, 1.0)
    ref = np.array([kernels.network_log_lik_reference(A[i], W[i], X, y) for i in range(P)])
    variants = [("pre-issue (particles outer, libm log1p(exp) per observation)", lambda o: _v0_pre_issue(A, W, X, y, o)),
                ("+ observations innermost (transposed inputs, vectorised unit loops)",
                 lambda o: _v1_obs_inner(A, W, XT, sg, o)),
                ("+ one log per 256-observation chunk", lambda o: _v2_one_log(A, W, XT, sg, o)),
                ("+ vectorisable polynomial exp (shipped kernel)", lambda o: _v3_shipped(A, W, XT, sg, o))]
    rows = []
    first = None
    for name, fn in variants:
        out = np.empty(P)
        fn(out)                                            # compile, then check against the reference
        if not np.allclose(out, ref, rtol=1e-12, atol=1e-12 * t):
            raise SystemExit(f"variant {name!r} disagrees with the NumPy reference")
        sec = _cpu_best(lambda: fn(out), args.repeat)
        rate = P * t / sec
        first = first or rate
        prev = rows[-1]["updates_per_cpu_s"] if rows else rate
        rows.append({"variant": name, "updates_per_cpu_s": rate, "vs_previous": rate / prev, "vs_pre_issue": rate / first})
        print(f"{name:70s} {rate:9.3g} updates per CPU-s  x{rate / prev:5.2f} step  x{rate / first:6.2f} total",
              flush=True)
    # the shipped kernel on all threads: bayes --bench's call (8 teachers), wall clock
    import numba

    n = 8
    Z = rng.standard_normal((n, P, kernels.latent_dim(kernels.FINITE, d, m)))
    Xn, yn = rng.standard_normal((n, t, d)), (rng.random((n, t)) < 0.5) * 1.0
    step, log_u, ll, act = 0.1 * rng.standard_normal(Z.shape), np.full((n, P), np.inf), np.zeros((n, P)), np.ones(n, bool)
    sweep = lambda: kernels.mh_sweep(Z, ll, Xn, yn, t, act, kernels.FINITE, m, d, 1.0, step, log_u)  # noqa: E731
    sweep()
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        sweep()
        best = min(best, time.perf_counter() - t0)
    par = n * P * t / best
    print(f"{'+ all ' + str(numba.get_num_threads()) + ' threads (wall clock, 8 teachers)':70s} {par:9.3g} updates/s")
    print(json.dumps({"workload": f"d={d} K={m}, {P} particles x {t} observations", "levers": rows,
                      "threads": numba.get_num_threads(), "parallel_updates_per_s": par}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
