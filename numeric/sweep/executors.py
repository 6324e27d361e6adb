"""Where sweep tasks run: in this process, a local process pool, or a Dask cluster.

Every executor only *computes*; results come back to the coordinating process, which alone writes
the store. All three share one small interface: ``submit(fn, *args)`` returns
a future, ``wait(futures)`` returns ``(done, not_done)`` as soon as one is done, ``result(future)``
and ``close(abort)``; ``abort=True`` (Ctrl-C, a store error) drops queued tasks and stops workers now.

Examples
--------
>>> from scaling_theory.numeric.sweep.executors import open_executor
>>> with open_executor("serial") as ex:
...     fut = ex.submit(pow, 2, 10)
...     done, _ = ex.wait([fut])
...     ex.result(fut)
1024
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import logging
import multiprocessing
import os
import signal
import warnings
from typing import Any, Callable, Iterable

from scaling_theory.errors import UserInputError

__all__ = ["open_executor", "EXECUTORS", "DASK_CONNECT_TIMEOUT_S"]

EXECUTORS = ("local", "dask", "serial")
#: how long to try reaching a ``--scheduler`` before a one-line error
DASK_CONNECT_TIMEOUT_S = 5.0


def open_executor(kind: str, *, workers: int | None = None, scheduler: str | None = None):
    """An executor for ``kind`` in ``EXECUTORS`` (use it as a context manager).

    Parameters
    ==========
    kind : {"local", "dask", "serial"}
        ``local``: a process pool of ``workers`` (default ``os.cpu_count()``) started with
        ``forkserver`` (``spawn`` where unavailable), safe with Numba's threads. ``dask``: a
        ``distributed`` client on ``scheduler`` (an address such as ``tcp://host:8786``), or on a new
        ``LocalCluster`` of ``workers`` single-threaded processes. ``serial``: this process.
    workers : int, optional
        Number of worker processes (local pool or LocalCluster).
    scheduler : str, optional
        Dask scheduler address; only with ``kind="dask"``.

    Raises
    ======
    UserInputError
        An unknown kind, ``scheduler`` without Dask, or an unreachable scheduler.
    """
    if kind not in EXECUTORS:
        raise UserInputError(f"unknown executor {kind!r}; choose one of: {', '.join(EXECUTORS)}")
    if scheduler is not None and kind != "dask":
        raise UserInputError("--scheduler needs --executor dask")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserInputError(f"workers must be a positive integer, got {workers!r}")
    if kind == "serial":
        return _SerialExecutor()
    if kind == "local":
        return _PoolExecutor(workers or os.cpu_count() or 1)
    return _DaskExecutor(workers, scheduler)


class _Base:
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(abort=exc_type is not None)
        return False

    description = "executor"  # for people, e.g. "2 local worker processes"
    workers: int | None = 1


class _SerialExecutor(_Base):
    """Runs each task when submitted, in this process (one worker, no start-up cost)."""

    workers = 1
    description = "this process"

    def submit(self, fn: Callable, *args) -> cf.Future:
        fut: cf.Future = cf.Future()
        fut.set_result(fn(*args))
        return fut

    def wait(self, futures: Iterable) -> tuple[set, set]:
        return set(futures), set()

    def result(self, future) -> Any:
        return future.result()

    def close(self, abort: bool = False) -> None:
        pass


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def _worker_init() -> None:
    # Ctrl-C goes to the coordinator, which stops the pool; one Numba thread per worker process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    # locks made here (Numba makes a multiprocessing RLock) then need no resource tracker, so a
    # worker stopped by Ctrl-C leaves no 'leaked semaphore' warning; workers start no processes
    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)


class _PoolExecutor(_Base):
    def __init__(self, workers: int):
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.workers = workers
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                            initializer=_worker_init)

    def submit(self, fn: Callable, *args) -> cf.Future:
        return self._pool.submit(fn, *args)

    def wait(self, futures: Iterable) -> tuple[set, set]:
        done, not_done = cf.wait(set(futures), return_when=cf.FIRST_COMPLETED)
        return done, not_done

    def result(self, future) -> Any:
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            raise UserInputError(
                "a sweep worker process died (killed, out of memory, or a calling script without an "
                "'if __name__ == \"__main__\":' guard); finished runs are kept, rerun to resume") from None

    def close(self, abort: bool = False) -> None:
        if abort:
            # workers ignore SIGINT; stop runs in flight now (they were not recorded, so rerun later)
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in processes:
                proc.join(timeout=5)
            # the pool sees its workers gone, fails what was queued and releases its queues
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            gc.collect()  # finalise the pool's semaphores now, not in a noisy resource-tracker warning
        else:
            self._pool.shutdown(wait=True)


class _DaskExecutor(_Base):
    def __init__(self, workers: int | None, scheduler: str | None):
        try:
            import distributed
        except ImportError:  # pragma: no cover - a declared dependency
            raise UserInputError("--executor dask needs the 'distributed' package (pip install distributed)") from None
        self._cluster = None
        self._distributed = distributed
        self._completed = None
        if scheduler is not None:
            address = scheduler.strip()
            if not address:
                raise UserInputError("--scheduler needs an address such as tcp://127.0.0.1:8786")
            try:
                self._client = distributed.Client(address, timeout=DASK_CONNECT_TIMEOUT_S,
                                                  set_as_default=False)
            except (OSError, TimeoutError, ValueError) as err:
                detail = " ".join(str(err).split())[:160] or type(err).__name__
                raise UserInputError(f"cannot reach the Dask scheduler at {address} within "
                                     f"{DASK_CONNECT_TIMEOUT_S:g} s ({detail})") from None
            self.workers = len(self._client.scheduler_info().get("workers", {})) or None
            self.description = f"Dask scheduler {address} ({self.workers or '?'} workers)"
        else:
            n = workers or os.cpu_count() or 1
            # one Numba thread per worker process, as in the local pool (no oversubscription)
            env = {"NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS", "1")}
            # worker processes start with SIGINT ignored (inherited through exec), so Ctrl-C reaches
            # only this coordinator, which stops them; without it each worker prints a traceback
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
            try:
                with warnings.catch_warnings():
                    # its HTTP (health) server falls back to a free port when 8787 is taken
                    warnings.filterwarnings("ignore", message=".*already in use")
                    self._cluster = distributed.LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                        silence_logs=logging.ERROR, env=env)
            finally:
                if previous is not None:
                    signal.signal(signal.SIGINT, previous)
            self._client = distributed.Client(self._cluster, set_as_default=False)
            self.workers = n
            self.description = f"Dask LocalCluster ({n} worker processes)"

    def submit(self, fn: Callable, *args):
        future = self._client.submit(fn, *args, pure=False)
        if self._completed is None:
            # our client's loop: we never register a global default client
            self._completed = self._distributed.as_completed([future], loop=self._client.loop)
        else:
            self._completed.add(future)
        return future

    def wait(self, futures: Iterable) -> tuple[set, set]:
        # every submitted future is in self._completed; hand back all that are done now
        done = {next(self._completed), *self._completed.next_batch(block=False)}
        return done, set(futures) - done

    def result(self, future) -> Any:
        return future.result()

    def close(self, abort: bool = False) -> None:
        # closing the client releases its futures, so the scheduler drops their queued tasks
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
