"""Side-by-side benchmark of the student trainers: Numba CPU vs the NumPy reference vs PyTorch CPU.

Workloads (float64, the same data chunks and the same initial weights for every
implementation, JIT compilation and warm-up kept out of the timings):

* **online** -- d = 32, n = 32, T = 2^14, B = 1, one student (the paper's setting: every sample
  updates every parameter).  PyTorch as a user writes it: ``nn.Linear`` layers, autograd,
  ``BCEWithLogitsLoss`` and ``torch.optim.SGD``, one step per sample.
* **batched** -- d = 32, n in {8, 32, 128}, T = 2^16, B = 32, eight students per width (different
  seeds and learning rates) trained at once.  PyTorch at its best: the eight students as one
  batched tensor program (``torch.matmul`` on stacked weights = ``bmm``), hand-written gradients
  (no autograd overhead), ``torch.set_num_threads(2)``.
* **peak** -- the machine's measured NumPy float64 matmul rate (2048 x 2048, all cores).

Throughput is reported as samples x parameters per second and as GFLOP/s with the nominal count
``(4 + 2/B) p`` flops per sample (forward ``2p``, weight gradient ``2p``, update ``2p`` per step of B
samples), the same count for every implementation.  The data stream itself (teacher labels) is
generated once, outside the timings, and its own rate is reported separately.

What limits the figures (measured on a shared 2-core AMD EPYC, AVX-512): the Numba minibatch
kernel reaches about 20-25 GFLOP/s per busy core (4 x 4 register blocking, d = 32 gives only four
512-bit vectors per row, so loop and reduction overheads stay visible); PyTorch's batched matmuls
reach about 9-11 GFLOP/s per core at n = 128, so that ratio is bounded by the core's FMA peak,
while at n = 8 PyTorch is dominated by per-call overhead.  Online training is per-sample work of
~4p flops where PyTorch pays tens of microseconds of dispatch per step.  Wall-clock figures also
carry the load of other processes on the cores; the CPU-time ratios are steadier.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from scaling_theory.numeric.sim.teacher import data_chunks, sample_teacher
from scaling_theory.numeric.sim.students import StudentConfig, init_params, param_count

__all__ = ["BenchResult", "run_bench", "flops_per_sample"]

_AGREE_RTOL = 1e-7  # weights of different implementations after the same run (float64)


def flops_per_sample(d: int, n: int, B: int) -> float:
    """Nominal flops per sample, ``(4 + 2/B) p`` (see the module docstring).

    Examples
    --------
    >>> flops_per_sample(32, 32, 1)
    6336.0
    """
    return (4.0 + 2.0 / B) * param_count(d, n)


@dataclass
class BenchResult:
    """Timings, rates and ratios of one benchmark run; ``to_json()`` has the issue's keys."""

    quick: bool
    machine: dict
    rows: list = field(default_factory=list)       # one dict per (workload, implementation)
    ratios: dict = field(default_factory=dict)
    cpu_ratios: dict = field(default_factory=dict)
    peak_gflops: float = float("nan")
    results_agree: bool = False
    agreement: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    data_stream_samples_per_s: float = float("nan")

    def to_json(self) -> dict:
        out = dict(self.ratios)
        out["results_agree"] = bool(self.results_agree)
        out.update(self.cpu_ratios)
        out["peak_gflops"] = self.peak_gflops
        out["data_stream_samples_per_s"] = self.data_stream_samples_per_s
        out["quick"] = self.quick
        out["machine"] = self.machine
        out["rows"] = self.rows
        out["agreement"] = self.agreement
        out["notes"] = self.notes
        return out

    def to_text(self) -> str:
        lines = [f"machine: {self.machine['cpu']} ({self.machine['cores']} cores), "
                 f"{'quick' if self.quick else 'full'} run",
                 f"{'workload':<21}{'implementation':<30}{'wall s':>8}{'cpu s':>8}"
                 f"{'samples*params/s':>17}{'GFLOP/s':>9}"]
        for r in self.rows:
            lines.append(f"{r['workload']:<21}{r['implementation']:<30}{r['seconds']:>8.3f}"
                         f"{r['cpu_seconds']:>8.3f}{r['sample_params_per_s']:>17.3e}"
                         f"{r['gflops']:>9.2f}")
        lines.append(f"peak (NumPy float64 matmul, all cores): {self.peak_gflops:.1f} GFLOP/s; "
                     f"data stream: {self.data_stream_samples_per_s:.3g} labelled samples/s")
        for k, v in self.ratios.items():
            cpu = self.cpu_ratios.get(k + "_cpu")
            lines.append(f"{k}: {v:.3g}" + (f"   (on CPU time: {cpu:.3g})" if cpu else ""))
        lines.append(f"results_agree: {self.results_agree}  "
                     + ", ".join(f"{k}={v:.1e}" for k, v in self.agreement.items()))
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:  # pragma: no cover - non-Linux
        pass
    import numba
    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.get_num_threads(),
            "numpy": np.__version__, "numba": numba.__version__}


def _row(workload, impl, seconds, cpu, samples, d, widths, B):
    sp = sum(samples * param_count(d, n) for n in widths)
    fl = sum(samples * flops_per_sample(d, n, B) for n in widths)
    return {"workload": workload, "implementation": impl, "seconds": seconds, "cpu_seconds": cpu,
            "sample_params_per_s": sp / seconds, "gflops": fl / seconds / 1e9}


def _torch_threads(torch, fn):
    """PyTorch at its best: time a short probe with 1 and 2 intra-op threads, keep the faster."""
    best, best_threads = float("inf"), 2
    for threads in (1, 2):
        torch.set_num_threads(threads)
        fn()  # warm-up
        t = time.perf_counter()
        fn()
        t = time.perf_counter() - t
        if t < best:
            best, best_threads = t, threads
    torch.set_num_threads(best_threads)
    return best_threads


def _best(fn, repeat):
    """Best of ``repeat`` runs of ``fn()`` (noise only adds time): (wall s, process CPU s, result)."""
    best, best_cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        if wall < best:
            best, best_cpu = wall, cpu
    return best, best_cpu, out


def measure_peak(size: int = 2048, repeat: int = 3) -> float:
    """Measured NumPy float64 matmul GFLOP/s (all cores, BLAS)."""
    rng = np.random.default_rng(0)
    A, Bm = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    A @ Bm
    seconds, _, _ = _best(lambda: A @ Bm, repeat)
    return 2.0 * size ** 3 / seconds / 1e9


# ----------------------------------------------------------------------------- PyTorch baselines
def _torch_online(torch, X, y, W0, v0, lr):
    """PyTorch as a user writes online SGD: modules, autograd, optimiser, one step per sample."""
    n, d = W0.shape
    model = torch.nn.Sequential(torch.nn.Linear(d, n, bias=False), torch.nn.ReLU(),
                                torch.nn.Linear(n, 1, bias=False)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(W0))
        model[2].weight.copy_(torch.from_numpy(v0[None, :]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for t in range(Xt.shape[0]):
        opt.zero_grad()
        loss = loss_fn(model(Xt[t:t + 1]).squeeze(1), yt[t:t + 1])
        loss.backward()
        opt.step()
    return model[0].weight.detach().numpy().copy(), model[2].weight.detach().numpy()[0].copy()


def _torch_batched(torch, X, y, W0s, v0s, lrs, B):
    """All students of one width as one batched program: stacked weights, bmm, manual gradients."""
    W = torch.from_numpy(np.stack(W0s))                  # (S, n, d)
    v = torch.from_numpy(np.stack(v0s))[:, :, None]      # (S, n, 1)
    lr = torch.tensor(lrs, dtype=torch.float64)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    with torch.no_grad():
        for start in range(0, Xt.shape[0], B):
            Xb, yb = Xt[start:start + B], yt[start:start + B]
            m = Xb.shape[0]
            H = torch.matmul(Xb, W.transpose(1, 2))      # (S, m, n)
            A = torch.relu(H)
            f = torch.bmm(A, v)                          # (S, m, 1)
            g = (torch.sigmoid(f) - yb[None, :, None]) * (lr[:, None, None] / m)
            Gv = torch.bmm(A.transpose(1, 2), g)         # (S, n, 1)
            D = (g * v.transpose(1, 2)) * (H > 0)        # (S, m, n)
            GW = torch.matmul(D.transpose(1, 2), Xb)     # (S, n, d)
            W -= GW
            v -= Gv
    return W.numpy(), v[:, :, 0].numpy()


# ----------------------------------------------------------------------------------- the bench
def run_bench(*, quick: bool = False, repeat: int | None = None, progress: bool = False,
              sizes: dict | None = None) -> BenchResult:
    """Run the online, batched and peak workloads and compare the implementations.

    Parameters
    ----------
    quick : bool
        Smaller T (online 2^11, batched 2^13) for a fast smoke run.
    repeat : int, optional
        Timing repetitions for the fast implementations (best is kept); default 3 (1 quick).
    progress : bool
        Print a line per stage to stderr.
    sizes : dict, optional
        Override ``{"T_online", "T_batched", "widths", "d", "peak_size"}`` (tests use tiny sizes).

    Returns
    -------
    BenchResult
        ``to_json()`` has ``vs_torch``, ``vs_torch_batched``, ``vs_numpy``, ``fraction_of_peak``,
        ``results_agree``, the same ratios on CPU time, and every row.
    """
    repeat = repeat or (1 if quick else 3)
    res = BenchResult(quick=quick, machine=_machine())
    torch = _import_torch(res)
    work = _Workload.build(quick, dict(sizes or {}), res)
    say = _say(progress)
    dev = _bench_online(work, res, torch, repeat, say)
    flops, numba_seconds = _bench_batched(work, res, torch, repeat, say, dev)
    dev["batched numpy"] = _batched_agreement(work)
    say("peak matmul")
    res.peak_gflops = measure_peak(int(work.sizes.get("peak_size", 1024 if quick else 2048)), repeat=3)
    res.ratios["fraction_of_peak"] = (flops / numba_seconds / 1e9) / res.peak_gflops
    res.agreement = dev
    res.results_agree = all(v < _AGREE_RTOL for v in dev.values())
    res.notes.append("GFLOP/s use the nominal (4 + 2/B) p flops per sample for every "
                     "implementation; ratios are wall-clock")
    res.notes.append(f"timings: best of {repeat} for numba, 1 run for the slow baselines; torch "
                     "runs with whichever of 1 or 2 intra-op threads was faster on a probe; "
                     "cpu s > wall s means several busy threads, cpu s << wall s means waiting "
                     "for cores taken by other processes")
    return res


_BATCH = 32           # minibatch of the batched workload
_STUDENTS = 8         # students per width in the batched workload


def _say(progress: bool):
    def say(msg):
        if progress:
            print(f"bench: {msg}", file=sys.stderr, flush=True)
    return say


def _import_torch(res: BenchResult):
    """PyTorch if installed (the optional ``bench`` extra), else ``None`` with a note in ``res``."""
    try:
        import torch
    except ImportError:
        res.notes.append("PyTorch is not installed (pip install 'scaling-theory[bench]'): "
                         "torch columns and vs_torch ratios skipped")
        return None
    return torch


@dataclass
class _Workload:
    """The teacher, its data stream (drawn once, timed) and the sizes every stage shares."""

    d: int
    teacher: object
    T_online: int
    T_batched: int
    widths: tuple
    sizes: dict
    chunks: list
    X_all: np.ndarray
    y_all: np.ndarray

    @classmethod
    def build(cls, quick: bool, sizes: dict, res: BenchResult) -> "_Workload":
        d = int(sizes.get("d", 32))
        teacher = sample_teacher(d, 8, seed=0)
        T_on = int(sizes.get("T_online", 1 << (11 if quick else 14)))
        T_ba = int(sizes.get("T_batched", 1 << (13 if quick else 16)))
        gen_t = time.perf_counter()
        chunks = list(data_chunks(teacher, max(T_on, T_ba), seed=0))
        res.data_stream_samples_per_s = max(T_on, T_ba) / (time.perf_counter() - gen_t)
        work = cls(d, teacher, T_on, T_ba, tuple(sizes.get("widths", (8, 32, 128))), sizes, chunks,
                   np.concatenate([X for X, _ in chunks]), np.concatenate([y for _, y in chunks]))
        work._warm_up()
        return work

    def prefix(self, T: int) -> list:
        """The first ``T`` rows of the stream, as contiguous chunks."""
        out, left = [], T
        for X, yy in self.chunks:
            if left <= 0:
                break
            out.append((X[:left], yy[:left]) if X.shape[0] > left else (X, yy))
            left -= X.shape[0]
        return [(np.ascontiguousarray(X), np.ascontiguousarray(yy)) for X, yy in out]

    def _warm_up(self) -> None:
        # JIT (cached on disk after the first run) and both driver paths, outside the timings
        from scaling_theory.numeric.sim import train_cpu
        warm = self.prefix(64)
        train_cpu.train_chunks(self.d, [StudentConfig(2)], [64], warm)
        train_cpu.train_chunks(self.d, [StudentConfig(2), StudentConfig(2, batch_size=4)], [64, 64], warm)


def _bench_online(work: _Workload, res: BenchResult, torch, repeat: int, say) -> dict:
    """One student, one sample per step: Numba vs the NumPy reference vs PyTorch autograd."""
    from scaling_theory.numeric.sim import reference, train_cpu
    from scaling_theory.numeric.sim.error import reducible_error

    d, T_on = work.d, work.T_online
    n_on = 32 if "widths" not in work.sizes else work.widths[0]
    say(f"online d={d} n={n_on} T={T_on}")
    cfg = StudentConfig(n_on, lr=0.01, init_seed=1)
    W0, v0 = init_params(cfg, d)
    on_chunks = work.prefix(T_on)
    t_nb, c_nb, [r_numba] = _best(lambda: train_cpu.train_chunks(d, [cfg], [T_on], on_chunks), repeat)
    res.rows.append(_row("online", "numba-cpu", t_nb, c_nb, T_on, d, [n_on], 1))
    t_np, c_np, [r_np] = _best(lambda: reference.train_chunks_reference(d, [cfg], [T_on], on_chunks), 1)
    res.rows.append(_row("online", "numpy-reference", t_np, c_np, T_on, d, [n_on], 1))
    dev = {"online numpy": _rel(r_numba.W, r_np.W)}
    res.ratios["vs_numpy"] = t_np / t_nb
    res.cpu_ratios["vs_numpy_cpu"] = c_np / c_nb
    if torch is not None:
        X, y = work.X_all, work.y_all
        probe = min(T_on, 512)
        threads = _torch_threads(torch, lambda: _torch_online(torch, X[:probe], y[:probe], W0, v0, cfg.lr))
        t_to, c_to, (Wt, _) = _best(lambda: _torch_online(torch, X[:T_on], y[:T_on], W0, v0, cfg.lr), 1)
        res.rows.append(_row("online", f"torch autograd+SGD ({threads}t)", t_to, c_to, T_on, d, [n_on], 1))
        res.ratios["vs_torch"] = t_to / t_nb
        res.cpu_ratios["vs_torch_cpu"] = c_to / c_nb
        dev["online torch"] = _rel(r_numba.W, Wt)
    e_nb = reducible_error(work.teacher, r_numba.W, r_numba.v, n_samples=1 << 14)[0]
    e_np = reducible_error(work.teacher, r_np.W, r_np.v, n_samples=1 << 14)[0]
    dev["online error"] = abs(e_nb - e_np) / max(abs(e_np), 1e-300)
    return dev


def _bench_batched(work: _Workload, res: BenchResult, torch, repeat: int, say, dev: dict):
    """Eight students per width, minibatches of 32: Numba vs PyTorch bmm. Returns (flops, numba s)."""
    from scaling_theory.numeric.sim import train_cpu

    d, T_ba, B, S = work.d, work.T_batched, _BATCH, _STUDENTS
    ba_chunks = work.prefix(T_ba)
    totals = {"numba": [0.0, 0.0], "torch": [0.0, 0.0]}
    for n in work.widths:
        say(f"batched d={d} n={n} T={T_ba} B={B} x{S} students")
        cfgs = [StudentConfig(n, lr=0.02 * (1 + s / 4), batch_size=B, init_seed=100 + s) for s in range(S)]
        t_nb, c_nb, rs = _best(lambda: train_cpu.train_chunks(d, cfgs, [T_ba] * S, ba_chunks), repeat)
        res.rows.append(_row(f"batched n={n}", f"numba-cpu ({S} students)", t_nb, c_nb, T_ba, d, [n] * S, B))
        totals["numba"][0] += t_nb
        totals["numba"][1] += c_nb
        if torch is None:
            continue
        inits = [init_params(c, d) for c in cfgs]
        args = ([w for w, _ in inits], [v for _, v in inits], [c.lr for c in cfgs], B)
        X, y = work.X_all, work.y_all
        probe = min(T_ba, 64 * B)
        threads = _torch_threads(torch, lambda: _torch_batched(torch, X[:probe], y[:probe], *args))
        t_to, c_to, (Wt, _) = _best(lambda: _torch_batched(torch, X[:T_ba], y[:T_ba], *args), 1)
        res.rows.append(_row(f"batched n={n}", f"torch bmm ({S} students, {threads}t)", t_to, c_to, T_ba,
                             d, [n] * S, B))
        totals["torch"][0] += t_to
        totals["torch"][1] += c_to
        dev[f"batched n={n} torch"] = max(_rel(r.W, Wt[i]) for i, r in enumerate(rs))
    flops = sum(S * T_ba * flops_per_sample(d, n, B) for n in work.widths)
    sp = sum(S * T_ba * param_count(d, n) for n in work.widths)
    for impl in ("numba", "torch") if torch is not None else ("numba",):
        wall, cpu = totals[impl]
        res.rows.append({"workload": "batched (all widths)", "implementation": impl,
                         "seconds": wall, "cpu_seconds": cpu, "sample_params_per_s": sp / wall,
                         "gflops": flops / wall / 1e9})
    if torch is not None:
        res.ratios["vs_torch_batched"] = totals["torch"][0] / totals["numba"][0]
        res.cpu_ratios["vs_torch_batched_cpu"] = totals["torch"][1] / totals["numba"][1]
    return flops, totals["numba"][0]


def _batched_agreement(work: _Workload) -> float:
    """Batched Numba against the NumPy reference on one width and a prefix (the reference is slow)."""
    from scaling_theory.numeric.sim import reference, train_cpu

    n_chk, T_chk = work.widths[0], min(work.T_batched, 1 << 12)
    cfgs = [StudentConfig(n_chk, lr=0.02, batch_size=_BATCH, init_seed=7)]
    a = train_cpu.train_chunks(work.d, cfgs, [T_chk], work.prefix(T_chk))[0]
    b = reference.train_chunks_reference(work.d, cfgs, [T_chk], work.prefix(T_chk))[0]
    return _rel(a.W, b.W)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """Max abs difference relative to the largest weight."""
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(np.max(np.abs(b)), 1e-300))
