"""numba.cuda kernels: teacher data, batched single-pass SGD and the reducible error.

The CUDA counterpart of :mod:`scaling_theory.numeric.sim.train_cpu` with the same algorithm, specified once in plain
NumPy by :mod:`scaling_theory.numeric.sim.reference` (docs/paper-setting.md, "Empirical check"):

* :func:`data_chunks` draws ``X ~ N(0, I_d)`` and ``y ~ Bernoulli(sigma(F(X)))`` on the device, one
  thread per sample, chunk by chunk (a ``T x d`` array is never built).  Each row ``t`` of stream
  ``(seed, stream)`` has its own xoroshiro128+ state (``numba.cuda.random``), seeded by SplitMix64
  from ``(seed, stream, t)``, so the rows do not depend on the chunk size or the launch shape.
* :func:`train` trains many students in one call: one thread block per student; within a block the
  threads run over (sample, hidden unit) pairs of a minibatch segment for the forward pass, over
  its samples for the logits and losses, and over the parameters for the gradient sums and the
  step, every sum in a fixed order (so the launch shape changes no bit).  Initialisation,
  learning-rate schedule, minibatch semantics, Adam and the divergence rule are those of
  :mod:`scaling_theory.numeric.sim.reference`.  By default the students train on the
  host stream :func:`scaling_theory.numeric.sim.teacher.data_chunks` (the same samples as every other trainer);
  ``data="device"`` uses :func:`data_chunks` instead, and ``chunks=`` feeds given ``(X, y)`` chunks.
* :func:`reducible_error` estimates ``E_X[KL(Bern(sigma(F(X))) || Bern(sigma(f(X))))]`` exactly in
  ``Y`` and by Monte Carlo over fresh inputs, with the stable softplus form, one thread per input,
  per-block partial sums in a fixed order; it returns the mean and its standard error.  By default
  the inputs are those of :func:`scaling_theory.numeric.sim.error.reducible_error` (host evaluation stream), so the
  two agree to rounding; ``data="device"`` draws them on the GPU.

Backends: a real GPU is used only when one is present (:func:`backend` is ``"gpu"``); with
``NUMBA_ENABLE_CUDASIM=1`` (set before Numba is imported) the same kernels run in numba-cuda's
simulator, which is how they are tested (tiny sizes: it runs one Python thread per CUDA thread).
Without either, the entry points raise :class:`scaling_theory.errors.UserInputError`.

All arithmetic is float64.  The kernels use no atomics and sum in a fixed order, so a run is
reproducible bit for bit for a fixed launch shape (tested under the simulator; on a GPU it can
differ from the simulator or the CPU in the last bits: fused multiply-add, libdevice ``exp``).

Running on a GPU: install the CUDA libraries numba-cuda needs (``pip install "numba-cuda[cu13]"``,
or ``[cu12]`` for an older driver), make sure ``NUMBA_ENABLE_CUDASIM`` is unset or ``0``, and check
``python -c "from numeric import train_cuda; print(train_cuda.backend())"`` prints ``gpu``; then
``scaling_theory.numeric.sim.training.train(..., device="cuda")`` runs here.  The first call compiles the kernels
(seconds; cached on disk afterwards).  Blocks are per student, so a call should train many students
(at least as many as the GPU has multiprocessors) to fill the device.

References
----------
docs/paper-setting.md, "Ours" (teacher and student) and "Empirical check" (single-pass SGD, reducible error);
Vigna, "Further scramblings of Marsaglia's xorshift generators" (xoroshiro128+);
Steele, Lea & Flood, "Fast splittable pseudorandom number generators" (SplitMix64).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numba
import numpy as np
from numba import cuda

with warnings.catch_warnings():
    # under the simulator numba.cuda.random declares its functions with a deprecated jit keyword
    warnings.simplefilter("ignore", numba.NumbaDeprecationWarning)
    from numba.cuda.random import xoroshiro128p_dtype, xoroshiro128p_uniform_float64

from scaling_theory.errors import UserInputError
from scaling_theory.numeric.validate import nonnegative_int, positive_int
from scaling_theory.numeric.sim.teacher import DEFAULT_CHUNK as _DEFAULT_CHUNK, EVAL_STREAM, TRAIN_STREAM, chunk_triple
from scaling_theory.numeric.sim.students import ADAM_BETA1 as _B1, ADAM_BETA2 as _B2, ADAM_EPS as _EPS
from scaling_theory.numeric.sim.students import (OPTIMIZERS, SCHEDULES, StudentConfig, TrainResult, divergence_reason,
                                                 init_params, layer_lr_factors, online_kl_summary,
                                                 sample_counts)

__all__ = ["backend", "gpu_available", "require_backend", "data_chunks", "train", "reducible_error",
           "reducible_errors", "SIMULATOR"]

#: True when numba-cuda's simulator replaces the GPU (``NUMBA_ENABLE_CUDASIM=1`` at import time)
SIMULATOR = bool(numba.config.ENABLE_CUDASIM)

_TWO_PI = 2.0 * math.pi
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_CUDA_TAG = 0xC0DA  # mixed into device-stream seeds so they never coincide with other seeded draws
_EVAL_CHUNK = _DEFAULT_CHUNK  # scaling_theory.numeric.sim.error's default, so the host inputs coincide
_ERROR_THREADS = 128


# --------------------------------------------------------------------------------------------------
# backend selection


def gpu_available() -> bool:
    """Whether a real CUDA GPU runs the kernels (never true under the simulator).

    Examples
    --------
    >>> gpu_available() in (True, False)
    True
    """
    if SIMULATOR:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install counts as no GPU
        return False


def backend() -> str:
    """``"gpu"``, ``"simulator"`` (``NUMBA_ENABLE_CUDASIM=1``) or ``"none"``.

    Examples
    --------
    >>> backend() in ("gpu", "simulator", "none")
    True
    """
    if gpu_available():
        return "gpu"
    return "simulator" if SIMULATOR else "none"


def require_backend() -> None:
    """Raise a one-line :class:`UserInputError` when neither a GPU nor the simulator is available."""
    if backend() == "none":
        raise UserInputError("device 'cuda' needs an NVIDIA GPU with a working CUDA driver and none was "
                             "found; set NUMBA_ENABLE_CUDASIM=1 before starting Python to run the "
                             "kernels in numba-cuda's (slow) simulator")


def _new_shared_array(shape, dtype) -> np.ndarray:
    """A simulated block's new shared array (a hook, so a test can widen the allocation's window)."""
    return np.empty(shape, dtype)


def _simulated_shared_array(self, shape, dtype, alignment=None):
    """numba-cuda's simulated ``cuda.shared.array``, with its first allocation made atomic.

    The simulator looks the array up by the calling line and, when it is missing, allocates and
    stores it in two steps; a thread switch between them gives threads of one block different
    arrays, and a block reduction then loses every thread but one (a rare, load-dependent wrong
    sum, reproduced by widening that window in ``tests/numeric/sim/test_train_cuda.py``).  Here
    ``dict.setdefault`` stores the first array and hands every thread that one.  Same keys as the
    simulator's (calling file and line); dynamic shared memory and alignment go to the original.
    """
    if shape == 0 or alignment is not None:
        return _SIMULATED_SHARED_ARRAY(self, shape, dtype, alignment)
    from numba.core import types
    from numba.np import numpy_support

    if isinstance(dtype, types.Type):
        dtype = numpy_support.as_dtype(dtype)
    frame = sys._getframe(1)
    caller = (frame.f_code.co_filename, frame.f_lineno)
    res = self._allocations.get(caller)
    if res is None:
        res = self._allocations.setdefault(caller, _new_shared_array(shape, dtype))
    return res


_SIMULATED_SHARED_ARRAY = None  # the simulator's own method, while ours replaces it


@contextlib.contextmanager
def _launch_pace():
    """Under the simulator, switch Python threads often (its block manager busy-polls its threads)
    and allocate shared arrays atomically (:func:`_simulated_shared_array`)."""
    global _SIMULATED_SHARED_ARRAY
    if not SIMULATOR:
        yield
        return
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    own = _SIMULATED_SHARED_ARRAY is None
    if own:
        _SIMULATED_SHARED_ARRAY = FakeCUDAShared.array
        FakeCUDAShared.array = _simulated_shared_array
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)  # measured ~14x faster syncthreads than the default 5 ms
    try:
        with warnings.catch_warnings():
            # simulated kernels compute on NumPy scalars, which warn where a GPU silently wraps
            # (xoroshiro's uint64 arithmetic) or yields inf/nan (a diverging student, caught by the rule)
            warnings.filterwarnings("ignore", "(overflow|invalid value|divide by zero) encountered",
                                    RuntimeWarning)
            yield
    finally:
        sys.setswitchinterval(old)
        if own:
            FakeCUDAShared.array = _SIMULATED_SHARED_ARRAY
            _SIMULATED_SHARED_ARRAY = None


# --------------------------------------------------------------------------------------------------
# random states: one xoroshiro128+ state per row of a stream


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (a bijection of uint64), vectorised with wrap-around."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _row_states(seed: int, stream: int, start: int, count: int) -> np.ndarray:
    """xoroshiro128+ states of rows ``start .. start+count-1`` of stream ``(seed, stream)``.

    Both state words are SplitMix64 outputs of the row index offset by a key from
    ``SeedSequence([seed, stream, tag])``; distinct rows get distinct states, and random 128-bit
    states make overlapping subsequences astronomically unlikely (each row draws ``d + 2`` numbers).
    """
    k0, k1 = np.random.SeedSequence([int(seed), int(stream), _CUDA_TAG]).generate_state(2, np.uint64)
    rows = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        states = np.empty(count, dtype=xoroshiro128p_dtype)
        states["s0"] = _splitmix64(k0 + rows * _GOLDEN)
        states["s1"] = _splitmix64(k1 ^ _splitmix64(rows))
    zero = (states["s0"] == 0) & (states["s1"] == 0)
    states["s1"][zero] = 1  # the all-zero state is xoroshiro's only fixed point
    return states


# --------------------------------------------------------------------------------------------------
# device functions


@cuda.jit(device=True)
def _sigmoid(z):
    """Logistic function without overflow."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@cuda.jit(device=True)
def _softplus(z):
    """``log(1 + e^z)`` without overflow or loss for large ``|z|``."""
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@cuda.jit(device=True)
def _bernoulli_kl(F, G):
    """``KL(Bern(sigma(F)) || Bern(sigma(G)))`` from the logits, exact in Y, clipped at 0 against
    rounding (a NaN stays NaN): the device twin of the CPU kernels' helper."""
    kl = _softplus(G) - _softplus(F) - _sigmoid(F) * (G - F)
    if kl < 0.0:
        kl = 0.0
    return kl


@cuda.jit(device=True)
def _teacher_logit(a, Wt, X, i):
    """``F(X[i]) = sum_k a_k ReLU(W_k . X[i])`` (docs/paper-setting.md, "Ours")."""
    d = X.shape[1]
    f = 0.0
    for k in range(a.shape[0]):
        s = 0.0
        for j in range(d):
            s += Wt[k, j] * X[i, j]
        if s > 0.0:
            f += a[k] * s
    return f


@cuda.jit(device=True)
def _normal_row(states, i, X, row):
    """Fill ``X[row, :]`` with standard normals from state ``i`` (Box-Muller, both outputs used)."""
    d = X.shape[1]
    j = 0
    while j < d:
        u1 = 1.0 - xoroshiro128p_uniform_float64(states, i)  # in (0, 1]: log never sees 0
        u2 = xoroshiro128p_uniform_float64(states, i)
        r = math.sqrt(-2.0 * math.log(u1))
        X[row, j] = r * math.cos(_TWO_PI * u2)
        if j + 1 < d:
            X[row, j + 1] = r * math.sin(_TWO_PI * u2)
        j += 2


# --------------------------------------------------------------------------------------------------
# teacher data on the device


@cuda.jit(cache=True)
def _data_kernel(states, a, Wt, X, y, logits):
    """One thread per row: normals, then the teacher's logit, then the Bernoulli label."""
    i = cuda.grid(1)
    if i < X.shape[0]:
        _normal_row(states, i, X, i)
        f = _teacher_logit(a, Wt, X, i)
        logits[i] = f
        u = xoroshiro128p_uniform_float64(states, i)
        y[i] = 1.0 if u < _sigmoid(f) else 0.0


def _teacher_arrays(teacher):
    a = np.ascontiguousarray(teacher.a, dtype=np.float64)
    W = np.ascontiguousarray(teacher.W, dtype=np.float64)
    if W.ndim != 2 or W.shape != (a.shape[0], int(teacher.d)):
        raise UserInputError(f"teacher weights have shapes {W.shape} and {a.shape}, expected (m, d) "
                             f"and (m,) with d = {teacher.d}")
    return a, W


def _device_chunks(teacher, T: int, *, seed: int, chunk_size: int, stream: int,
                   teacher_dev=None) -> Iterator[tuple[object, object, object, int]]:
    """Yield device arrays ``(X, y, logits, rows)`` of the device stream, ``rows <= chunk_size``."""
    d = int(teacher.d)
    a_dev, W_dev = teacher_dev if teacher_dev is not None else (
        [cuda.to_device(x) for x in _teacher_arrays(teacher)])
    X = cuda.device_array((chunk_size, d), dtype=np.float64)
    y = cuda.device_array(chunk_size, dtype=np.float64)
    logits = cuda.device_array(chunk_size, dtype=np.float64)
    threads = 32 if SIMULATOR else 128
    start = 0
    while start < T:
        rows = min(chunk_size, T - start)
        states = cuda.to_device(_row_states(seed, stream, start, rows))
        Xc, yc, lc = X[:rows], y[:rows], logits[:rows]
        with _launch_pace():
            _data_kernel[(rows + threads - 1) // threads, threads](states, a_dev, W_dev, Xc, yc, lc)
        yield Xc, yc, lc, rows
        start += rows


def data_chunks(teacher, T: int, *, seed: int, chunk_size: int = _DEFAULT_CHUNK,
                stream: int = TRAIN_STREAM, with_logits: bool = False) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield the first ``T`` samples of the teacher's device stream as host ``(X, y)`` chunks.

    Row ``t`` is drawn from its own xoroshiro128+ state (see :func:`_row_states`): ``d`` standard
    normals by Box-Muller, then ``u ~ U[0, 1)`` and ``y = float(u < sigma(F(x)))``.  The rows do not
    depend on ``chunk_size``, so any chunking gives the same stream, and a shorter stream is a prefix
    of a longer one.  This is a different (GPU-friendly) generator from
    :func:`scaling_theory.numeric.sim.teacher.data_chunks`; both have the law of docs/paper-setting.md, "Ours".

    Parameters
    ----------
    teacher : :class:`scaling_theory.numeric.sim.teacher.Teacher`.
    T : number of samples (>= 0).
    seed : stream seed.
    chunk_size : rows per chunk.
    stream : stream tag (0 training, 1 evaluation, as in :mod:`scaling_theory.numeric.sim.teacher`).
    with_logits : also yield the teacher's logits ``F(X)`` computed on the device.

    Yields
    ------
    ``(X, y)`` or ``(X, y, F)``: float64 arrays ``(m, d)``, ``(m,)``, ``(m,)`` with ``m <= chunk_size``.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> [X.shape for X, y in data_chunks(t, 5, seed=1, chunk_size=4)]
    [(4, 3), (1, 3)]
    >>> a = np.concatenate([y for _, y in data_chunks(t, 5, seed=1, chunk_size=2)])
    >>> b = np.concatenate([y for _, y in data_chunks(t, 5, seed=1, chunk_size=5)])
    >>> bool(np.array_equal(a, b)) and set(a.tolist()) <= {0.0, 1.0}
    True
    """
    require_backend()
    T = nonnegative_int(T, "number of samples T")
    chunk_size = positive_int(chunk_size, "chunk_size")
    for X, y, logits, rows in _device_chunks(teacher, T, seed=seed, chunk_size=chunk_size,
                                             stream=stream):
        out = (X.copy_to_host(), y.copy_to_host())
        yield out + (logits.copy_to_host(),) if with_logits else out


# --------------------------------------------------------------------------------------------------
# reducible error


@cuda.jit(cache=True)
def _kl_kernel(X, a, Wt, SW, Sv, widths, part_sum, part_sq):
    """KL per input and student, summed per block in a fixed order: ``part_*[s, block]``.

    ``KL(Bern(sigma(F)) || Bern(sigma(g))) = softplus(g) - softplus(F) - sigma(F) (g - F)``, exact in
    Y.  One thread per input; students loop inside so every thread draws its input's teacher logit
    once.  ``SW`` is ``(S, d, n_max)`` (unit-contiguous), ``Sv`` is ``(S, n_max)``.
    """
    buf = cuda.shared.array((2, _ERROR_THREADS), dtype=numba.float64)
    tid = cuda.threadIdx.x
    i = cuda.blockIdx.x * cuda.blockDim.x + tid
    n_rows = X.shape[0]
    d = X.shape[1]
    f = 0.0
    if i < n_rows:
        f = _teacher_logit(a, Wt, X, i)
    for s in range(SW.shape[0]):
        kl = 0.0
        if i < n_rows:
            g = 0.0
            for u in range(widths[s]):
                h = 0.0
                for j in range(d):
                    h += SW[s, j, u] * X[i, j]
                if h > 0.0:
                    g += Sv[s, u] * h
            kl = _bernoulli_kl(f, g)
        buf[0, tid] = kl
        buf[1, tid] = kl * kl
        cuda.syncthreads()
        step = cuda.blockDim.x // 2
        while step > 0:
            if tid < step:
                buf[0, tid] += buf[0, tid + step]
                buf[1, tid] += buf[1, tid + step]
            cuda.syncthreads()
            step //= 2
        if tid == 0:
            part_sum[s, cuda.blockIdx.x] = buf[0, 0]
            part_sq[s, cuda.blockIdx.x] = buf[1, 0]
        cuda.syncthreads()


def _pack_students(params: Sequence[tuple[np.ndarray, np.ndarray]], d: int):
    """Pad student weights into ``(S, d, n_max)`` and ``(S, n_max)`` arrays (unit index fastest)."""
    widths = np.array([np.asarray(v).shape[0] for _, v in params], dtype=np.int64)
    n_max = max(1, int(widths.max(initial=1)))
    SW = np.zeros((len(params), d, n_max))
    Sv = np.zeros((len(params), n_max))
    for s, (W, v) in enumerate(params):
        W = np.asarray(W, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        if W.ndim != 2 or W.shape[1] != d or v.shape != (W.shape[0],):
            raise UserInputError(f"student weights must be W (n, {d}) and v (n,), got {W.shape} and "
                                 f"{v.shape}")
        SW[s, :, : W.shape[0]] = W.T
        Sv[s, : v.shape[0]] = v
    return SW, Sv, widths


def reducible_errors(teacher, params: Sequence[tuple[np.ndarray, np.ndarray]], *,
                     n_samples: int = 1 << 16, seed: int = 0, data: str = "host",
                     inputs: Iterable[np.ndarray] | None = None, chunk_size: int = _EVAL_CHUNK,
                     threads: int | None = None) -> list[tuple[float, float]]:
    """Reducible error of several students on the same fresh inputs: ``[(mean, stderr), ...]``.

    See :func:`reducible_error`; ``params`` is a list of ``(W, v)`` pairs.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> [(m0, s0), (m1, s1)] = reducible_errors(t, [(t.W, t.a), (t.W, 0 * t.a)], n_samples=64)
    >>> m0 == 0.0 and m1 > 0 and s1 > 0
    True
    """
    require_backend()
    d = int(teacher.d)
    a, Wt = _teacher_arrays(teacher)
    SW, Sv, widths = _pack_students(params, d)
    S = SW.shape[0]
    if S == 0:
        return []
    if data not in ("host", "device"):
        raise UserInputError(f"data must be 'host' or 'device', got {data!r}")
    nt = int(threads) if threads else (32 if SIMULATOR else _ERROR_THREADS)
    if nt < 1 or nt > _ERROR_THREADS or nt & (nt - 1):
        raise UserInputError(f"threads must be a power of two <= {_ERROR_THREADS}, got {threads!r}")
    a_dev, W_dev = cuda.to_device(a), cuda.to_device(Wt)
    SW_dev, Sv_dev, w_dev = cuda.to_device(SW), cuda.to_device(Sv), cuda.to_device(widths)
    total = np.zeros(S)
    total_sq = np.zeros(S)
    count = 0

    def add_blocks(X_dev, rows):
        nonlocal count
        nb = (rows + nt - 1) // nt
        ps = cuda.device_array((S, nb), dtype=np.float64)
        pq = cuda.device_array((S, nb), dtype=np.float64)
        with _launch_pace():
            _kl_kernel[nb, nt](X_dev, a_dev, W_dev, SW_dev, Sv_dev, w_dev, ps, pq)
        total[:] += ps.copy_to_host().sum(axis=1)
        total_sq[:] += pq.copy_to_host().sum(axis=1)
        count += rows

    if inputs is None and data == "device":
        n_samples = positive_int(n_samples, "n_samples")
        chunk_size = positive_int(chunk_size, "chunk_size")
        for X_dev, _, _, rows in _device_chunks(teacher, n_samples, seed=seed, chunk_size=chunk_size,
                                                stream=EVAL_STREAM, teacher_dev=(a_dev, W_dev)):
            add_blocks(X_dev, rows)
    else:
        if inputs is None:
            from scaling_theory.numeric.sim.teacher import input_chunks
            n_samples = positive_int(n_samples, "n_samples")
            inputs = input_chunks(d, n_samples, seed=seed, chunk_size=positive_int(
                chunk_size, "chunk_size"), stream=EVAL_STREAM)
        for X in inputs:
            X = np.ascontiguousarray(X, dtype=np.float64)
            if X.ndim != 2 or X.shape[1] != d:
                raise UserInputError(f"input chunks must have shape (m, {d}), got {X.shape}")
            if X.shape[0]:
                add_blocks(cuda.to_device(X), X.shape[0])
    if count < 2:
        raise UserInputError(f"the reducible error needs at least 2 inputs, got {count}")
    mean = total / count
    var = np.maximum(total_sq / count - mean * mean, 0.0) * count / (count - 1)
    se = np.sqrt(var / count)
    return [(float(m), float(e)) for m, e in zip(mean, se)]


def reducible_error(teacher, W: np.ndarray, v: np.ndarray, *, n_samples: int = 1 << 16, seed: int = 0,
                    data: str = "host", inputs: Iterable[np.ndarray] | None = None,
                    chunk_size: int = _EVAL_CHUNK) -> tuple[float, float]:
    """Reducible error ``E_X[KL(Bern(sigma(F(X))) || Bern(sigma(f(X))))]`` and its standard error.

    Exact in ``Y`` (the Bernoulli KL ``softplus(f) - softplus(F) - sigma(F) (f - F)``, clipped at 0
    against rounding) and Monte Carlo over ``n_samples`` fresh inputs (docs/paper-setting.md, "Empirical check");
    the estimator of :func:`scaling_theory.numeric.sim.error.reducible_error`, evaluated on the GPU.

    Parameters
    ----------
    teacher : the teacher ``F``.
    W, v : the student, ``(n, d)`` and ``(n,)``; its logit is ``f(x) = v . ReLU(W x)``.
    n_samples : number of Monte Carlo inputs (>= 2).
    seed : seed of the evaluation stream.
    data : ``"host"`` (default): the inputs of :func:`scaling_theory.numeric.sim.teacher.input_chunks` (evaluation
        stream), so the estimate equals :func:`scaling_theory.numeric.sim.error.reducible_error` up to rounding;
        ``"device"``: inputs drawn on the GPU (this module's stream 1).
    inputs : optional iterable of host ``(m, d)`` input chunks; overrides ``data`` and ``n_samples``.
    chunk_size : inputs per kernel launch (for ``"host"``, part of the stream's definition as in
        :mod:`scaling_theory.numeric.sim.error`; pass the same value to compare).

    Returns
    -------
    (mean, stderr) in nats; stderr is the sample standard deviation over ``sqrt(n)``.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> t = sample_teacher(3, 2, seed=0)
    >>> reducible_error(t, t.W, t.a, n_samples=32)
    (0.0, 0.0)
    """
    return reducible_errors(teacher, [(W, v)], n_samples=n_samples, seed=seed, data=data,
                            inputs=inputs, chunk_size=chunk_size)[0]


# --------------------------------------------------------------------------------------------------
# batched single-pass SGD: one block per student

_MAX_THREADS = 256  # ptxas (sm_90): 121 registers per thread, so 256 threads fit any SM
_SEGMENT = 64  # samples per kernel segment (phases 1-3); bounds the H, G, L scratch
_OPT_CODES = {name: i for i, name in enumerate(OPTIMIZERS)}  # the codes train_cpu's kernels use
_SCHED_CODES = {name: i for i, name in enumerate(SCHEDULES)}


@cuda.jit(device=True)
def _learning_rate(sched, lr0, t0, t):
    """``lr0 s(t)``, as :func:`scaling_theory.numeric.sim.students.learning_rate`."""
    if sched == 0:
        return lr0
    if sched == 1:
        return lr0 / (1.0 + t / t0)
    return lr0 / math.sqrt(1.0 + t / t0)


@cuda.jit(device=True)
def _step_param(p, gsum, m, lr, adam, M, V, bc1, bc2):
    """One parameter's step from its summed minibatch gradient (reference operation order)."""
    gm = gsum / m
    if adam:
        M = _B1 * M + (1.0 - _B1) * gm
        V = _B2 * V + (1.0 - _B2) * gm * gm
        p = p - lr * (M / bc1) / (math.sqrt(V / bc2) + _EPS)
    else:
        p = p - lr * gm
    return p, M, V


@cuda.jit(cache=True)
def _sgd_kernel(X, y, F, n_rows, SW, Sv, GW, Gv, MW, Mv, VW, Vv, H, G, L, KL, Vn, widths, batch, budget,
                opt, sched, lr0, t0, lrf, active, filled, seen, steps, chunk_loss, chunk_rows, chunk_kl, finite):
    """Train student ``blockIdx.x`` on rows ``[0, n_rows)`` of one chunk (scaling_theory.numeric.sim.reference order).

    The chunk is cut into segments: runs of at most ``H.shape[1]`` consecutive samples that lie in
    one minibatch.  Per segment, three phases separated by barriers, each spread over the block:

    1. threads over (sample, unit) pairs: pre-activations ``H[s, i, u] = W_u . x_i``;
    2. threads over samples: logit ``f_i`` (units summed in order), ``G[s, i] = sigma(f_i) - y_i``
       and the loss ``L[s, i]``; the online KL ``KL[s, i]`` against the teacher's logit ``F[i]``
       (at the weights before the step, as every sample of the segment);
    3. threads over parameters ``(j, u)`` (``j = d`` is ``v_u``): the segment's gradient terms are
       added to the accumulator in stream order and, if the segment ends the minibatch (or the
       budget), the step is applied (the new ``v`` is parked in ``Vn``: others still read ``v``);
    4. after a barrier, threads over units copy ``Vn`` into ``v``.

    Layer ``W`` steps with ``lrf[s, 0]`` times the scheduled rate, ``v`` with ``lrf[s, 1]`` times it
    (:func:`scaling_theory.numeric.sim.students.layer_lr_factors`).

    All samples of a minibatch are thus evaluated at the parameters before its step, and every sum
    runs in a fixed order, so the result does not depend on the launch shape.  The ``(S, d, n)``
    arrays keep the unit index fastest, so consecutive threads touch consecutive addresses.
    """
    s = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    if active[s] == 0:
        return  # the whole block leaves together
    n = widths[s]
    d = X.shape[1]
    B = batch[s]
    adam = opt[s] == 1
    rows = min(n_rows, budget[s] - seen[s])
    cap = H.shape[1]
    fl = filled[s]
    sn = seen[s]
    k = steps[s]
    closs = 0.0
    ckl = 0.0
    ckl2 = 0.0
    pos = 0
    while pos < rows:
        seg = min(rows - pos, B - fl, cap)
        for idx in range(tid, seg * n, nt):  # phase 1
            i = idx // n
            u = idx - i * n
            h = 0.0
            for j in range(d):
                h += SW[s, j, u] * X[pos + i, j]
            H[s, i, u] = h
        cuda.syncthreads()
        for i in range(tid, seg, nt):  # phase 2
            f = 0.0
            for u in range(n):
                h = H[s, i, u]
                if h > 0.0:
                    f += Sv[s, u] * h
            yi = y[pos + i]
            G[s, i] = _sigmoid(f) - yi
            L[s, i] = _softplus(f) - yi * f
            KL[s, i] = _bernoulli_kl(F[pos + i], f)
        cuda.syncthreads()
        first = fl == 0  # accumulators hold zeros: do not read them
        fl += seg
        sn += seg
        do_step = fl == B or sn == budget[s]
        lr = 0.0
        bc1 = 1.0
        bc2 = 1.0
        if do_step:
            k += 1
            lr = _learning_rate(sched[s], lr0[s], t0[s], sn - fl)
            if adam:
                bc1 = 1.0 - _B1 ** k
                bc2 = 1.0 - _B2 ** k
        for idx in range(tid, (d + 1) * n, nt):  # phase 3
            j = idx // n
            u = idx - j * n
            vu = Sv[s, u]  # v before this step: the W gradient uses it, as in the reference
            M = 0.0
            V = 0.0
            if j < d:
                gs = 0.0 if first else GW[s, j, u]
                for i in range(seg):
                    if H[s, i, u] > 0.0:
                        gs += G[s, i] * vu * X[pos + i, j]
                if do_step:
                    if adam:  # the moment arrays are 1-element dummies when no student uses Adam
                        M = MW[s, j, u]
                        V = VW[s, j, u]
                    p, M, V = _step_param(SW[s, j, u], gs, fl, lr * lrf[s, 0], adam, M, V, bc1, bc2)
                    SW[s, j, u] = p
                    if adam:
                        MW[s, j, u] = M
                        VW[s, j, u] = V
                    GW[s, j, u] = 0.0
                else:
                    GW[s, j, u] = gs
            else:
                gs = 0.0 if first else Gv[s, u]
                for i in range(seg):
                    h = H[s, i, u]
                    if h > 0.0:
                        gs += G[s, i] * h
                if do_step:
                    if adam:
                        M = Mv[s, u]
                        V = Vv[s, u]
                    p, M, V = _step_param(vu, gs, fl, lr * lrf[s, 1], adam, M, V, bc1, bc2)
                    Vn[s, u] = p  # written to v after the barrier: other threads still read v_u
                    if adam:
                        Mv[s, u] = M
                        Vv[s, u] = V
                    Gv[s, u] = 0.0
                else:
                    Gv[s, u] = gs
        if tid == 0:
            for i in range(seg):  # progressive loss, summed in stream order
                closs += L[s, i]
                kl = KL[s, i]
                ckl += kl
                ckl2 += kl * kl
        cuda.syncthreads()  # phase 3 is over: v can change, H, G and L can be reused
        if do_step:  # phase 4 (no barrier needed after it: v is next read in phase 2)
            for u in range(tid, n, nt):
                Sv[s, u] = Vn[s, u]
            fl = 0
        pos += seg
    ok = 1
    for idx in range(tid, d * n, nt):  # W was written before the last barrier
        j = idx // n
        if not math.isfinite(SW[s, j, idx - j * n]):
            ok = 0
    for u in range(tid, n, nt):  # v by the threads that wrote it in phase 4
        if not math.isfinite(Sv[s, u]):
            ok = 0
    ok = cuda.syncthreads_and(ok)
    if tid == 0:
        filled[s] = fl
        seen[s] = sn
        steps[s] = k
        chunk_loss[s] = closs
        chunk_kl[s, 0] = ckl
        chunk_kl[s, 1] = ckl2
        chunk_rows[s] = rows
        finite[s] = ok


def _threads_for(work: int, threads: int | None) -> int:
    """Threads per block: given, or enough for ``work`` parameters (a warp to 256) on a GPU."""
    if threads is not None:
        nt = positive_int(threads, "threads")
        if nt > _MAX_THREADS:
            raise UserInputError(f"threads must be at most {_MAX_THREADS}, got {threads!r}")
        return nt
    if SIMULATOR:
        return 4  # the simulator runs one Python thread per CUDA thread: few keep it fast
    nt = 32
    while nt < work and nt < _MAX_THREADS:
        nt *= 2
    return nt


def _reason(finite: bool, chunk_loss: float, rows: int, seen: int, max_loss: float) -> str | None:
    """The reference's divergence rule, fed the device's finiteness flag."""
    marker = np.zeros((1, 1)) if finite else np.full((1, 1), np.nan)  # stands for "W, v all finite"
    return divergence_reason(marker, np.zeros(1), chunk_loss, rows, seen, max_loss)


def train(teacher, students: Sequence[StudentConfig], T, *, data_seed: int,
          chunk_size: int = _DEFAULT_CHUNK, progress: bool = False, data: str = "host",
          chunks: Iterable | None = None, threads: int | None = None) -> list[TrainResult]:
    """Train students by single-pass SGD on the GPU (or simulator): :func:`scaling_theory.numeric.sim.training.train`.

    The algorithm is :mod:`scaling_theory.numeric.sim.reference`'s (initialisation :func:`scaling_theory.numeric.sim.students.init_params`,
    learning-rate schedule, minibatch mean gradients at the step's starting parameters, Adam,
    divergence checked after every chunk).  One thread block trains one student; all students of a
    call read each data chunk from device memory.

    Parameters
    ----------
    teacher : :class:`scaling_theory.numeric.sim.teacher.Teacher`.
    students : :class:`scaling_theory.numeric.sim.students.StudentConfig` objects.
    T : samples per student (one integer, or one per student).
    data_seed : seed of the training stream.
    chunk_size : rows per chunk (the host stream's definition; the divergence check's granularity).
    progress : tqdm bar on stderr.
    data : ``"host"`` (default): :func:`scaling_theory.numeric.sim.teacher.data_chunks`, the samples every trainer
        sees; ``"device"``: this module's :func:`data_chunks`, drawn on the GPU (another stream).
    chunks : optional iterable of host ``(X, y, F)`` chunks (``F``: the teacher's logits, for the
        online KL) or ``(X, y)`` chunks (online KL NaN) to train on instead (at least ``max(T)`` rows
        in total); overrides ``data``.
    threads : threads per block (<= 256); default: a warp up to 256 by the parameter count on a GPU,
        4 under the simulator.  The result does not depend on it.

    Returns
    -------
    list[scaling_theory.numeric.sim.students.TrainResult] with ``device="cuda"``.

    Examples
    --------
    >>> from scaling_theory.numeric.sim.teacher import sample_teacher
    >>> from scaling_theory.numeric.sim.students import StudentConfig
    >>> t = sample_teacher(3, 2, seed=0)
    >>> [r] = train(t, [StudentConfig(2, lr=0.1)], 6, data_seed=0)
    >>> r.status, r.samples_seen, r.W.shape, r.device
    ('done', 6, (2, 3), 'cuda')
    """
    require_backend()
    start = time.perf_counter()
    students, Ts = _checked_students(students, T)
    if not students:
        return []
    if data not in ("host", "device"):
        raise UserInputError(f"data must be 'host' or 'device', got {data!r}")
    chunk_size = positive_int(chunk_size, "chunk_size")
    d = int(teacher.d)
    SW, Sv, widths = _pack_students([init_params(cfg, d) for cfg in students], d)
    dev = _device_state(students, Ts, SW, Sv, widths)
    nt = _threads_for((d + 1) * SW.shape[2], threads)
    source = _chunk_source(teacher, max(Ts), data_seed=data_seed, chunk_size=chunk_size, data=data,
                           chunks=chunks)
    if progress:
        from tqdm import tqdm
        source = tqdm(source, total=-(-max(Ts) // chunk_size) if chunks is None else None,
                      desc="train (cuda)", unit="chunk", file=sys.stderr)
    run = _train_on_chunks(source, students, Ts, dev, nt)
    return _collect_results(students, widths, dev, run, time.perf_counter() - start)


def _checked_students(students, T) -> tuple[list[StudentConfig], list[int]]:
    """The students as a list of :class:`StudentConfig` and their sample counts, or a clear error."""
    students = list(students)
    for cfg in students:
        if not isinstance(cfg, StudentConfig):
            raise UserInputError(f"students must be StudentConfig objects, got {type(cfg).__name__}")
    return students, sample_counts(T, len(students))


def _device_state(students: list[StudentConfig], Ts: list[int], SW, Sv, widths) -> dict:
    """Every array the SGD kernel reads or writes, on the device: weights, gradients, Adam moments,
    per-student hyperparameters and counters (one row per student)."""
    S = len(students)
    seg = min(_SEGMENT, max(cfg.batch_size for cfg in students))
    # Adam moments only when some student uses Adam (a 1-element placeholder otherwise)
    moment_shape = SW.shape if any(cfg.optimizer == "adam" for cfg in students) else (1, 1, 1)
    n_max = SW.shape[2]
    return {name: cuda.to_device(arr) for name, arr in {
        "SW": SW, "Sv": Sv, "GW": np.zeros_like(SW), "Gv": np.zeros_like(Sv),
        "MW": np.zeros(moment_shape), "VW": np.zeros(moment_shape),
        "Mv": np.zeros(moment_shape[:1] + moment_shape[2:]),
        "Vv": np.zeros(moment_shape[:1] + moment_shape[2:]),
        "H": np.zeros((S, seg, n_max)), "G": np.zeros((S, seg)), "L": np.zeros((S, seg)),
        "KL": np.zeros((S, seg)), "chunk_kl": np.zeros((S, 2)),
        "Vn": np.zeros_like(Sv), "widths": widths,
        "batch": np.array([cfg.batch_size for cfg in students], dtype=np.int64),
        "budget": np.array(Ts, dtype=np.int64),
        "opt": np.array([_OPT_CODES[cfg.optimizer] for cfg in students], dtype=np.int64),
        "sched": np.array([_SCHED_CODES[cfg.schedule] for cfg in students], dtype=np.int64),
        "lr0": np.array([cfg.lr for cfg in students], dtype=np.float64),
        "t0": np.array([cfg.t0 for cfg in students], dtype=np.float64),
        "lrf": np.array([layer_lr_factors(cfg) for cfg in students], dtype=np.float64).reshape(S, 2),
        "filled": np.zeros(S, dtype=np.int64), "seen": np.zeros(S, dtype=np.int64),
        "steps": np.zeros(S, dtype=np.int64), "chunk_loss": np.zeros(S),
        "chunk_rows": np.zeros(S, dtype=np.int64), "finite": np.ones(S, dtype=np.int64),
    }.items()}


@dataclass
class _Run:
    """Host-side bookkeeping of one training call: samples seen, summed loss and online KL (and its
    squares), status per student."""

    seen: np.ndarray
    total_loss: np.ndarray
    total_kl: np.ndarray
    status: list
    reasons: list


def _train_on_chunks(source, students: list[StudentConfig], Ts: list[int], dev: dict, nt: int) -> _Run:
    """Launch the SGD kernel once per chunk until every student is done or has diverged."""
    S = len(students)
    active = np.array([1 if t > 0 else 0 for t in Ts], dtype=np.int64)
    run = _Run(np.zeros(S, dtype=np.int64), np.zeros(S), np.zeros((S, 2)), ["done"] * S, [None] * S)
    chunk_iter = iter(source)
    item = next(chunk_iter, None)
    while item is not None and active.any():
        X_dev, y_dev, F_dev, rows = item
        active_dev = cuda.to_device(active)
        with _launch_pace():
            _sgd_kernel[S, nt](X_dev, y_dev, F_dev, rows, dev["SW"], dev["Sv"], dev["GW"], dev["Gv"],
                               dev["MW"], dev["Mv"], dev["VW"], dev["Vv"], dev["H"], dev["G"],
                               dev["L"], dev["KL"], dev["Vn"], dev["widths"],
                               dev["batch"], dev["budget"], dev["opt"], dev["sched"], dev["lr0"],
                               dev["t0"], dev["lrf"], active_dev, dev["filled"], dev["seen"], dev["steps"],
                               dev["chunk_loss"], dev["chunk_rows"], dev["chunk_kl"], dev["finite"])
        # launches are asynchronous: the host draws the next chunk while this one trains (a device
        # stream reuses its buffers, but in stream order, after this kernel)
        item = next(chunk_iter, None)
        closs = dev["chunk_loss"].copy_to_host()
        crows = dev["chunk_rows"].copy_to_host()
        fin = dev["finite"].copy_to_host()
        ckl = dev["chunk_kl"].copy_to_host()
        run.seen = dev["seen"].copy_to_host()
        for s in np.flatnonzero(active):
            run.total_loss[s] += closs[s]
            run.total_kl[s] += ckl[s]
            reason = _reason(bool(fin[s]), float(closs[s]), int(crows[s]), int(run.seen[s]),
                             float(students[s].max_loss))
            if reason is not None:
                run.status[s], run.reasons[s] = "diverged", reason
                active[s] = 0
            elif run.seen[s] >= Ts[s]:
                active[s] = 0
    if active.any():
        s = int(np.flatnonzero(active)[0])
        raise UserInputError(f"the data chunks ended after {int(run.seen[s])} samples, fewer than the "
                             f"{Ts[s]} requested")
    return run


def _collect_results(students: list[StudentConfig], widths, dev: dict, run: _Run,
                     seconds: float) -> list[TrainResult]:
    """Copy the trained weights back and unpack them into one :class:`TrainResult` per student."""
    SW = dev["SW"].copy_to_host()
    Sv = dev["Sv"].copy_to_host()
    results = []
    for s, cfg in enumerate(students):
        n = int(widths[s])
        W = np.ascontiguousarray(SW[s, :, :n].T)
        v = np.ascontiguousarray(Sv[s, :n])
        seen = int(run.seen[s])
        mean_loss = run.total_loss[s] / seen if seen else float("nan")
        results.append(TrainResult(cfg, W, v, run.status[s], run.reasons[s], seen, seconds,
                                   float(mean_loss), "cuda",
                                   *online_kl_summary(run.total_kl[s, 0], run.total_kl[s, 1], seen,
                                                      run.status[s])))
    return results


def _chunk_source(teacher, T_max: int, *, data_seed: int, chunk_size: int, data: str,
                  chunks: Iterable | None) -> Iterator[tuple[object, object, object, int]]:
    """Device ``(X, y, F, rows)`` chunks from given host chunks, the host stream or the device
    stream (``F``: the teacher's logits; NaN for given ``(X, y)`` pairs)."""
    d = int(teacher.d)
    if chunks is None and data == "device":
        yield from _device_chunks(teacher, T_max, seed=data_seed, chunk_size=chunk_size,
                                  stream=TRAIN_STREAM)
        return
    if chunks is None:
        from scaling_theory.numeric.sim.teacher import data_chunks as host_chunks
        chunks = host_chunks(teacher, T_max, seed=data_seed, chunk_size=chunk_size, with_logits=True)
    for item in chunks:
        try:
            X, y, F = chunk_triple(item)
        except (TypeError, ValueError):
            raise UserInputError("chunks must yield (X, y) pairs or (X, y, F) triples") from None
        X = np.ascontiguousarray(X, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != d or y.shape != (X.shape[0],) or F.shape != y.shape:
            raise UserInputError(f"a data chunk must be X (m, {d}), y (m,) and F (m,), got {X.shape}, "
                                 f"{y.shape} and {F.shape}")
        if X.shape[0]:
            yield cuda.to_device(X), cuda.to_device(y), cuda.to_device(F), X.shape[0]
