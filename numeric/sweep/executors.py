"""Where sweep tasks run: in this process, a local process pool, or a Dask cluster.

Every executor only *computes*; results come back to the coordinating process, which alone writes
the store. All three share one small interface: ``submit(fn, *args)`` returns
a future, ``wait(futures)`` returns ``(done, not_done)`` as soon as one is done, ``result(future)``
and ``close(abort)``; ``abort=True`` (Ctrl-C, SIGTERM, a store error) drops queued tasks and stops
workers now.

Worker processes never outlive the coordinator, however it ends (:func:`exit_with_parent`): on
Linux the kernel kills a worker when its parent process dies (``PR_SET_PDEATHSIG``), and on every
platform a watchdog thread in the worker ends it once the coordinator is gone (it waits on the
coordinator's process sentinel, no polling).  Workers never import the calling script either: the
pool starts them with ``__main__`` out of sight (:func:`_main_module_hidden`), so a script that
calls a sweep needs no ``if __name__ == "__main__":`` guard (unless it passes a ``runner`` defined
in the script itself, which the workers must import it to find).

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
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import warnings
from typing import Any, Callable, Iterable

from scaling_theory.errors import UserInputError

__all__ = ["open_executor", "exit_with_parent", "EXECUTORS", "DASK_CONNECT_TIMEOUT_S"]

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


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
#: seconds between two looks at the parent's pid, where no process sentinel is at hand
_WATCH_INTERVAL_S = 0.5


def _set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        return False


def exit_with_parent(parent_pid: int | None = None) -> None:
    """End this process as soon as the process that started it ends, however it ends.

    Two mechanisms, so that a coordinator killed with SIGKILL leaves no worker behind:

    - on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills this process when its parent
      dies (for a pool started with ``forkserver`` the parent is the fork server, which exits
      when the coordinator does), even while this process runs a compiled kernel that holds the GIL;
    - everywhere, a daemon watchdog thread: in a :mod:`multiprocessing` child it waits on the
      coordinator's process sentinel (:func:`multiprocessing.parent_process`, which becomes ready
      when the coordinator exits, and cannot be fooled by a reused pid); in any other child it
      checks every 0.5 s that ``os.getppid()`` is still ``parent_pid``.

    If the parent is already gone when this is called, the process exits at once.

    Parameters
    ==========
    parent_pid : int, optional
        The pid the caller expects as parent (for a child started by :mod:`subprocess`); ``None``
        in a :mod:`multiprocessing` worker, where the coordinator's sentinel is used.

    Examples
    ========
    A child started with :mod:`subprocess` that must not outlive this process:

    >>> import subprocess, sys, os
    >>> code = f"from scaling_theory.numeric.sweep.executors import exit_with_parent; exit_with_parent({os.getpid()}); print('ok')"
    >>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    'ok\\n'
    """
    _set_parent_death_signal(signal.SIGKILL)
    parent = multiprocessing.parent_process() if parent_pid is None else None
    if parent is not None and parent.sentinel is not None:
        if multiprocessing.connection.wait([parent.sentinel], timeout=0):
            os._exit(1)  # the coordinator died before we got here
        watch = functools.partial(_wait_and_exit, parent.sentinel)
    else:
        expected = os.getppid() if parent_pid is None else int(parent_pid)
        if os.getppid() != expected:
            os._exit(1)
        watch = functools.partial(_poll_and_exit, expected)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _wait_and_exit(sentinel) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)  # nothing to save: only the coordinator writes the store


def _poll_and_exit(expected_ppid: int) -> None:
    while os.getppid() == expected_ppid:
        threading.Event().wait(_WATCH_INTERVAL_S)
    os._exit(1)


def _release_fork_server() -> None:
    """Close this worker's copy of the fork server's 'alive' pipe (the server exits when every copy
    is closed: then the coordinator is gone, and the parent-death signal takes the workers)."""
    try:
        from multiprocessing import forkserver
    except ImportError:  # pragma: no cover - platforms without it
        return
    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None and multiprocessing.parent_process() is not None:  # a worker, never the coordinator
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def _worker_init() -> None:
    # Ctrl-C goes to the coordinator, which stops the pool; one Numba thread per worker process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    # a forkserver child holds the fork server's 'alive' pipe, so the server (our parent) would wait
    # for us after the coordinator died; we start no processes, so let it go and take us with it
    _release_fork_server()
    # never outlive the coordinator, however it dies (SIGTERM, SIGINT, SIGKILL, out of memory)
    exit_with_parent()
    # locks made here (Numba makes a multiprocessing RLock) then need no resource tracker, so a
    # worker stopped by Ctrl-C leaves no 'leaked semaphore' warning; workers start no processes
    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)


@contextlib.contextmanager
def _main_module_hidden(hide: bool = True):
    """While worker processes start, make ``__main__`` look like an interactive session's.

    ``spawn`` and ``forkserver`` children re-run the parent's main script (or module) to rebuild
    its globals, so a script without an ``if __name__ == "__main__":`` guard would run again in
    every worker and fail there once it reaches the pool.  The sweep's tasks and runners live in
    this package, so the workers need nothing from ``__main__``: with its ``__file__`` and
    ``__spec__`` out of sight, :func:`multiprocessing.spawn.get_preparation_data` tells the child
    (and the fork server) to import nothing.  Restored on exit.
    """
    main = sys.modules.get("__main__")
    if not hide or main is None:
        yield
        return
    missing = object()
    saved = {name: main.__dict__.get(name, missing) for name in ("__file__", "__spec__")}
    try:
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                main.__dict__.pop(name, None)
            else:
                main.__dict__[name] = value


def _check_main_importable() -> None:
    """A task defined in ``__main__`` reaches a worker only by importing the calling script there:
    refuse at once (not after the script re-ran in every worker) when that cannot work."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        raise UserInputError("the sweep's runner is defined in an interactive session or `python -c` code, "
                             "which worker processes cannot import; define it in a module, or use workers=1")
    import ast

    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return  # cannot tell: let multiprocessing try
    guarded = any(isinstance(node, ast.If) and any(isinstance(n, ast.Name) and n.id == "__name__"
                                                   for n in ast.walk(node.test))
                  for node in tree.body)
    if not guarded:
        raise UserInputError(f"the sweep's runner is defined in {path}, which every worker process imports "
                             f"and so runs again; put the script's work under 'if __name__ == \"__main__\":' "
                             f"(or define the runner in a module)")


def _refers_to_main(obj: Any, depth: int = 0) -> bool:
    """Whether pickling ``obj`` (a runner, ``functools.partial`` of one, its arguments) names ``__main__``."""
    if depth > 4:
        return False
    if isinstance(obj, functools.partial):
        parts = [obj.func, *obj.args, *obj.keywords.values()]
        return any(_refers_to_main(p, depth + 1) for p in parts)
    if isinstance(obj, (list, tuple)):
        return any(_refers_to_main(p, depth + 1) for p in obj[:8])
    module = getattr(obj, "__module__", None) if callable(obj) else type(obj).__module__
    return module == "__main__"


class _PoolExecutor(_Base):
    def __init__(self, workers: int):
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self.workers = workers
        self.description = f"{workers} local worker process{'es' if workers > 1 else ''}"
        self._pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                            initializer=_worker_init)

    def submit(self, fn: Callable, *args) -> cf.Future:
        # worker processes start inside submit: keep the calling script out of them, unless the
        # task itself is defined there (then the workers must import it, and it needs its guard)
        from_main = _refers_to_main((fn, *args))
        if from_main:
            _check_main_importable()
        with _main_module_hidden(not from_main):
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
                    with _main_module_hidden():  # its worker processes need nothing from the script
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
