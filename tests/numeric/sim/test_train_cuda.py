"""Tests of scaling_theory.numeric.sim.train_cuda: the numba.cuda kernels, run in numba-cuda's simulator (tiny sizes).

The repository's conftest sets NUMBA_ENABLE_CUDASIM=1, so these run without a GPU; on a machine with
a GPU and NUMBA_ENABLE_CUDASIM=0 the same tests exercise the real device (the float64 tolerances
below allow for fused multiply-add and libdevice rounding there).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from scaling_theory.numeric.sim import train_cuda
from scaling_theory.numeric.sim.error import reducible_error_reference
from scaling_theory.numeric.sim.teacher import (EVAL_STREAM, data_chunks, input_chunks, sample_teacher, sigmoid,
                                                teacher_logits)
from scaling_theory.numeric.sim.students import StudentConfig
from scaling_theory.numeric.sim.training import train
from scaling_theory.errors import UserInputError

# the CUDA simulator interprets every thread in Python: correct but slow
pytestmark = [pytest.mark.slow]

if train_cuda.backend() == "none":  # pragma: no cover - conftest normally selects the simulator
    pytest.skip("no CUDA GPU and NUMBA_ENABLE_CUDASIM is not set: the CUDA kernels cannot run here",
                allow_module_level=True)

# float64 agreement with the NumPy reference: only summation order differs (atol on O(1) weights)
ATOL = 1e-12


def _teacher(d=3, K=2, seed=0, kind="finite"):
    return sample_teacher(d, K, kind=kind, seed=seed)


def _stream(teacher, T, **kw):
    chunks = list(train_cuda.data_chunks(teacher, T, with_logits=True, **kw))
    return tuple(np.concatenate([c[i] for c in chunks]) for i in range(3))


# ---------------------------------------------------------------------------------------------- data


def test_device_stream_moments_and_labels_match_the_teacher_law():
    t = _teacher(d=3, K=2, seed=4)
    N = 1200  # the simulator runs one Python thread per row; 5-sigma bounds keep the test meaningful
    X, y, F = _stream(t, N, seed=11, chunk_size=600)
    assert X.shape == (N, 3) and y.shape == (N,) and F.shape == (N,)
    # X ~ N(0, I): each moment within 5 standard errors
    assert np.all(np.abs(X.mean(axis=0)) < 5 / math.sqrt(N))
    assert np.all(np.abs(X.var(axis=0) - 1) < 5 * math.sqrt(2 / N))
    C = np.cov(X.T)
    assert np.all(np.abs(C[np.triu_indices(3, 1)]) < 5 / math.sqrt(N))
    assert abs(np.mean(X ** 4) - 3) < 5 * math.sqrt(96 / N / 3)
    # the whole law, not just moments: Kolmogorov-Smirnov against N(0, 1) on all coordinates
    assert stats.kstest(X.ravel(), "norm").pvalue > 1e-4
    # the device logits are the teacher's, and labels follow Bernoulli(sigma(F)) exactly in law
    np.testing.assert_allclose(F, teacher_logits(t, X), rtol=1e-12, atol=1e-12)
    assert set(np.unique(y).tolist()) <= {0.0, 1.0}
    p = sigmoid(teacher_logits(t, X))
    z = (y - p).sum() / math.sqrt((p * (1 - p)).sum())
    assert abs(z) < 5
    # calibration: within each probability tercile the label rate matches the mean probability
    for idx in np.array_split(np.argsort(p), 3):
        zb = (y[idx] - p[idx]).sum() / math.sqrt((p[idx] * (1 - p[idx])).sum())
        assert abs(zb) < 5


def test_device_stream_dirichlet_teacher_logits():
    t = _teacher(d=2, K=1.5, seed=2, kind="dp")
    X, y, F = _stream(t, 200, seed=0, chunk_size=200)
    np.testing.assert_allclose(F, teacher_logits(t, X), rtol=1e-12, atol=1e-12)


def test_device_stream_is_seeded_and_independent_of_chunking():
    t = _teacher()
    a = _stream(t, 40, seed=5, chunk_size=16)
    cases = {
        "same seed, same chunks": (_stream(t, 40, seed=5, chunk_size=16), True),
        "same seed, other chunks": (_stream(t, 40, seed=5, chunk_size=7), True),
        "longer stream, prefix": (tuple(x[:40] for x in _stream(t, 50, seed=5, chunk_size=50)), True),
        "other seed": (_stream(t, 40, seed=6, chunk_size=16), False),
        "evaluation stream": (_stream(t, 40, seed=5, chunk_size=16, stream=EVAL_STREAM), False),
    }
    for name, (b, equal) in cases.items():
        assert np.array_equal(a[0], b[0]) == equal, name
        if equal:
            assert np.array_equal(a[1], b[1]), name


# ------------------------------------------------------------------------------------------ training

_CONFIGS = {
    # name: (config, T) -- mixed widths, batch sizes, optimisers and schedules in one call
    "online sgd": (StudentConfig(3, lr=0.1, init_seed=1), 20),
    "minibatch straddling chunks, short last step": (
        StudentConfig(5, lr=0.05, batch_size=3, schedule="inverse", t0=5, init_seed=2), 17),
    "adam": (StudentConfig(2, lr=0.01, batch_size=2, optimizer="adam", schedule="inverse_sqrt", t0=3,
                           init_seed=4), 11),
    "zero budget": (StudentConfig(2, init_seed=5), 0),
    "muP online sgd": (StudentConfig(6, lr=0.05, parametrisation="mup", base_width=2, init_seed=6), 19),
    "muP adam minibatch": (StudentConfig(4, lr=0.01, batch_size=3, optimizer="adam",
                                         parametrisation="mup", init_seed=7), 13),
}


def _compare(a, b, atol=ATOL):
    assert (a.status, a.reason, a.samples_seen) == (b.status, b.reason, b.samples_seen)
    np.testing.assert_allclose(a.W, b.W, rtol=0, atol=atol)
    np.testing.assert_allclose(a.v, b.v, rtol=0, atol=atol)
    if b.samples_seen:
        assert abs(a.mean_loss - b.mean_loss) <= atol
        # the online KL: the same per-sample terms, summed in another order
        assert abs(a.online_kl - b.online_kl) <= atol and np.isfinite(a.online_kl)
        assert abs(a.online_kl_se - b.online_kl_se) <= atol
    else:
        assert math.isnan(a.mean_loss) and math.isnan(b.mean_loss)
        assert math.isnan(a.online_kl) and math.isnan(b.online_kl)


def test_cuda_numba_cpu_and_numpy_agree_on_the_same_data():
    t = _teacher(d=3, K=2, seed=1)
    cfgs = [c for c, _ in _CONFIGS.values()]
    Ts = [T for _, T in _CONFIGS.values()]
    kw = dict(data_seed=3, chunk_size=8)
    ref = train(t, cfgs, Ts, device="numpy", **kw)
    gpu = train(t, cfgs, Ts, device="cuda", **kw)
    cpu = train(t, cfgs, Ts, device="cpu", **kw)
    for name, r, g, c in zip(_CONFIGS, ref, gpu, cpu):
        assert g.device == "cuda" and g.status == "done", name
        _compare(g, r)
        _compare(g, c, atol=1e-10)  # the CPU kernel uses reassociating fast-math


def test_launch_shape_does_not_change_the_result(monkeypatch):
    t = _teacher(d=3, K=2, seed=1)
    cfgs = [StudentConfig(5, lr=0.1, batch_size=5, init_seed=7),
            StudentConfig(2, lr=0.05, batch_size=3, optimizer="adam", init_seed=1)]
    base = train_cuda.train(t, cfgs, 12, data_seed=0, chunk_size=8, threads=4)
    # every sum runs in a fixed order, so threads per block and segment length change no bit:
    # fewer threads than parameters (loops), more (idle threads), not a power of two, and
    # minibatches cut into several kernel segments
    for nt, segment in ((1, 64), (3, 64), (64, 64), (4, 2), (2, 1)):
        monkeypatch.setattr(train_cuda, "_SEGMENT", segment)
        other = train_cuda.train(t, cfgs, 12, data_seed=0, chunk_size=8, threads=nt)
        for a, b in zip(other, base):
            assert np.array_equal(a.W, b.W) and np.array_equal(a.v, b.v), (nt, segment)
            assert a.mean_loss == b.mean_loss and a.online_kl == b.online_kl


def test_host_chunks_feed_the_same_samples():
    t = _teacher(d=2, K=2, seed=3)
    cfg = [StudentConfig(3, lr=0.2, batch_size=2, init_seed=1)]
    chunks = list(data_chunks(t, 12, seed=9, chunk_size=6, with_logits=True))
    given = train_cuda.train(t, cfg, 12, data_seed=12345, chunks=chunks)[0]
    ref = train(t, cfg, 12, data_seed=9, chunk_size=6, device="numpy")[0]
    _compare(given, ref)
    # (X, y) pairs carry no teacher logits: same training, online KL not available
    pairs = train_cuda.train(t, cfg, 12, data_seed=0, chunks=[c[:2] for c in chunks])[0]
    assert np.array_equal(pairs.W, given.W) and math.isnan(pairs.online_kl)
    with pytest.raises(UserInputError, match="ended after 12 samples"):
        train_cuda.train(t, cfg, 20, data_seed=0, chunks=chunks)


def test_seeded_runs_are_bit_for_bit_reproducible():
    t = _teacher()
    cfgs = [StudentConfig(3, lr=0.1, init_seed=2), StudentConfig(2, lr=0.05, optimizer="adam")]
    for data in ("host", "device"):
        a = train_cuda.train(t, cfgs, 10, data_seed=4, chunk_size=4, data=data)
        b = train_cuda.train(t, cfgs, 10, data_seed=4, chunk_size=4, data=data)
        for ra, rb in zip(a, b):
            assert np.array_equal(ra.W, rb.W) and np.array_equal(ra.v, rb.v), data
            assert ra.mean_loss == rb.mean_loss and ra.online_kl == rb.online_kl
            assert np.isfinite(ra.online_kl), data  # the device stream's logits feed it too
    host = train_cuda.train(t, cfgs[:1], 10, data_seed=4, chunk_size=4, data="host")[0]
    dev = train_cuda.train(t, cfgs[:1], 10, data_seed=4, chunk_size=4, data="device")[0]
    assert not np.array_equal(host.W, dev.W)  # two different generators, as documented


def test_divergence_stops_one_student_and_records_the_reason():
    t = _teacher(d=3, K=2, seed=0)
    cfgs = [StudentConfig(2, lr=0.05, init_seed=1),
            StudentConfig(2, lr=1e200, init_seed=1),                  # weights overflow to inf/nan
            StudentConfig(2, lr=0.05, init_seed=1, max_loss=1e-3)]    # loss threshold
    kw = dict(data_seed=2, chunk_size=4)
    gpu = train_cuda.train(t, cfgs, 16, **kw)
    ref = train(t, cfgs, 16, device="numpy", **kw)
    assert [r.status for r in gpu] == ["done", "diverged", "diverged"]
    assert gpu[1].reason.startswith("non-finite weights or loss after")
    assert gpu[2].reason.startswith("mean log-loss") and gpu[2].samples_seen == 4
    assert math.isnan(gpu[1].online_kl) and math.isnan(gpu[2].online_kl)
    for g, r in zip(gpu, ref):
        assert (g.status, g.reason, g.samples_seen) == (r.status, r.reason, r.samples_seen)
    _compare(gpu[0], ref[0])  # the healthy student is untouched by the others


def test_student_started_at_the_teacher_stays_near_zero_error():
    t = _teacher(d=3, K=2, seed=5)
    cfg = StudentConfig(2, lr=1e-3, init_W=t.W, init_v=t.a)
    [r] = train_cuda.train(t, [cfg], 16, data_seed=1)
    mean, se = train_cuda.reducible_error(t, r.W, r.v, n_samples=256)
    assert r.status == "done" and 0 <= mean < 1e-4


# --------------------------------------------------------------------------------------- error


def test_reducible_error_matches_the_numpy_estimator_on_the_same_inputs():
    t = _teacher(d=3, K=2, seed=1)
    rng = np.random.default_rng(0)
    students = {"random": (rng.standard_normal((4, 3)), rng.standard_normal(4)),
                "teacher": (t.W, t.a),
                "far": (5 * rng.standard_normal((1, 3)), 40 * rng.standard_normal(1))}
    got = train_cuda.reducible_errors(t, list(students.values()), n_samples=300, seed=2, chunk_size=128)
    for name, (W, v) in students.items():
        want = reducible_error_reference(t, W, v, n_samples=300, seed=2, chunk_size=128)
        g = got[list(students).index(name)]
        assert g[0] == pytest.approx(want[0], rel=1e-12, abs=1e-15), name
        assert g[1] == pytest.approx(want[1], rel=1e-9, abs=1e-15), name
    assert got[1] == (0.0, 0.0)
    # identical inputs given explicitly give the identical estimate
    X = list(input_chunks(3, 300, seed=2, chunk_size=128, stream=EVAL_STREAM))
    assert train_cuda.reducible_error(t, *students["random"], inputs=X) == got[0]


@pytest.mark.skipif(not train_cuda.SIMULATOR, reason="a fix for numba-cuda's simulator only")
def test_block_sums_survive_a_thread_switch_while_the_shared_array_is_allocated(monkeypatch):
    # The simulator finds a block's shared array by the calling line and stores a new one in a
    # second step; a thread switch between the two once gave one block's threads different arrays
    # (a block reduction lost all but one thread: one block of 32 inputs off, under load).  Sleeping
    # in the allocation forces that switch for every thread of the first block.
    import time

    made = []

    def slow(shape, dtype):
        made.append(shape)
        time.sleep(0.05)  # long enough for every thread of the block to start meanwhile
        return np.empty(shape, dtype)

    monkeypatch.setattr(train_cuda, "_new_shared_array", slow)
    t = _teacher(d=3, K=2, seed=1)
    W, v = np.random.default_rng(0).standard_normal((4, 3)), np.random.default_rng(1).standard_normal(4)
    [got] = train_cuda.reducible_errors(t, [(W, v)], n_samples=96, seed=2, chunk_size=96, threads=32)
    want = reducible_error_reference(t, W, v, n_samples=96, seed=2, chunk_size=96)
    assert len(made) > 1  # the window was really hit: several threads allocated before any stored
    assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-15)
    assert got[1] == pytest.approx(want[1], rel=1e-9, abs=1e-15)
    # the simulator's own method is back after the launch
    from numba.cuda.simulator.kernelapi import FakeCUDAShared
    assert FakeCUDAShared.array is not train_cuda._simulated_shared_array


def test_reducible_error_device_inputs_agree_statistically():
    t = _teacher(d=3, K=2, seed=1)
    W, v = np.zeros((1, 3)), np.zeros(1)
    host = train_cuda.reducible_error(t, W, v, n_samples=500, seed=0)
    dev = train_cuda.reducible_error(t, W, v, n_samples=500, seed=0, data="device")
    assert abs(host[0] - dev[0]) < 5 * math.hypot(host[1], dev[1])
    assert dev == train_cuda.reducible_error(t, W, v, n_samples=500, seed=0, data="device")


# --------------------------------------------------------------------------------------- errors


def test_user_mistakes_raise_one_line_errors(monkeypatch):
    t = _teacher()
    cfg = [StudentConfig(2)]
    cases = {
        "threads must be at most 256": lambda: train_cuda.train(t, cfg, 4, data_seed=0, threads=1000),
        "data must be 'host' or 'device'": lambda: train_cuda.train(t, cfg, 4, data_seed=0, data="gpu"),
        "one integer per student": lambda: train_cuda.train(t, cfg, "x", data_seed=0),
        "2 sample budgets for 1 students": lambda: train_cuda.train(t, cfg, [1, 2], data_seed=0),
        "a data chunk must be X": lambda: train_cuda.train(t, cfg, 4, data_seed=0,
                                                           chunks=[(np.zeros((4, 2)), np.zeros(4))]),
        "student weights must be W": lambda: train_cuda.reducible_error(t, np.zeros((2, 5)), np.zeros(2)),
        "at least 2 inputs": lambda: train_cuda.reducible_error(t, t.W, t.a, inputs=[np.zeros((1, 3))]),
    }
    for message, call in cases.items():
        with pytest.raises(UserInputError, match=message):
            call()
    # without a GPU and without the simulator, device="cuda" is a user error, not a crash
    monkeypatch.setattr(train_cuda, "SIMULATOR", False)
    monkeypatch.setattr(train_cuda.cuda, "is_available", lambda: False)
    assert train_cuda.backend() == "none"
    with pytest.raises(UserInputError, match="needs an NVIDIA GPU"):
        train(t, cfg, 4, data_seed=0, device="cuda")


# ------------------------------------------------------------------------------ real-target compile

# The simulator runs the kernels as Python, so it never type-checks them for the GPU.  This script
# compiles every kernel to PTX for sm_90 with the real NVVM, no GPU or driver needed: it stands in
# for the device lookups that need a driver (compute capability, NVRTC's arch list, libdevice path).
_PTX_SCRIPT = r"""
import sys, types
try:
    from numba import cuda, types as nt
    import numba.cuda.dispatcher as disp, numba.cuda.cudadrv.nvrtc as nvrtc
    import numba.cuda.cudadrv.libs as libs, numba.cuda.cudadrv.nvvm as nvvm
    from numba.cuda import cuda_paths
    from numba.cuda.random import xoroshiro128p_type
    libdevice = cuda_paths._get_libdevice_path().info
    assert libdevice, "libdevice not found"
    nvvm.NVVM()
    disp.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))
    nvrtc.get_arch_option = lambda major, minor: f"compute_{major}{minor}"
    libs.get_libdevice = nvvm.get_libdevice = lambda: libdevice
except Exception as err:
    print("SKIP:", type(err).__name__, str(err).splitlines()[0] if str(err) else "")
    sys.exit(0)
from scaling_theory.numeric.sim import train_cuda as tc
f1, f2, f3, i1 = nt.float64[::1], nt.float64[:, ::1], nt.float64[:, :, ::1], nt.int64[::1]
sigs = {"_data_kernel": (xoroshiro128p_type[::1], f1, f2, f2, f1, f1),
        "_kl_kernel": (f2, f1, f2, f3, f2, i1, f2, f2),
        "_sgd_kernel": (f2, f1, f1, nt.int64, f3, f2, f3, f2, f3, f2, f3, f2, f3, f2, f2, f2, f2, i1, i1,
                        i1, i1, i1, f1, f1, f2, i1, i1, i1, i1, f1, i1, f2, i1)}
for name, sig in sigs.items():
    ptx, _ = cuda.compile_ptx(getattr(tc, name).py_func, sig, cc=(9, 0))
    assert ".entry" in ptx
    print("OK", name, len(ptx))
"""


def test_kernels_compile_to_ptx_for_a_real_gpu():
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    run = subprocess.run([sys.executable, "-c", _PTX_SCRIPT], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    if run.stdout.startswith("SKIP:"):
        pytest.skip("cannot compile CUDA kernels offline here (NVVM/libdevice from a CUDA toolkit "
                    f"needed): {run.stdout.strip()}")
    assert [line.split()[1] for line in run.stdout.splitlines()] == [
        "_data_kernel", "_kl_kernel", "_sgd_kernel"]
