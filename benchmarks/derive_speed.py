"""Time ``derive`` (compute_optimal_allocation) of every built-in law, cold caches.

Usage: ``python benchmarks/derive_speed.py [--repeat 3] [--cli]``

Wall and CPU (process) time are both shown: on a loaded machine CPU time is the steadier figure.
Each run clears the engine's per-law cache and SymPy's global cache first, so the figure is what a
fresh ``scaling-theory derive NAME`` pays after importing SymPy. ``--cli`` also times the whole
command (``python -m scaling_theory derive NAME``, process start and imports included).
The target is < 1 s per law; this script reports, it does not assert.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time the full CLI command")
    args = parser.parse_args(argv)

    from sympy.core.cache import clear_cache

    import scaling_theory.theory.allocation as allocation
    from scaling_theory.theory.registry import get_law, law_names

    print(f"{'law':<18} {'wall min s':>10} {'wall med s':>10} {'cpu min s':>9} {'method':<40}"
          + ("  cli wall s" if args.cli else ""))
    for name in law_names():
        law = get_law(name)
        times, cpu = [], []
        for _ in range(args.repeat):
            allocation._CACHE.clear()
            allocation._leading_at_infinity.cache_clear()
            clear_cache()
            t0, c0 = time.perf_counter(), time.process_time()
            res = allocation.compute_optimal_allocation(law)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        line = (f"{name:<18} {min(times):10.3f} {statistics.median(times):10.3f} {min(cpu):9.3f} "
                f"{res.method[:40]:<40}")
        if args.cli:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "scaling_theory", "derive", name], check=True,
                           capture_output=True)
            line += f"  {time.perf_counter() - t0:11.2f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
