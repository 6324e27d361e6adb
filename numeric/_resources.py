"""The machine's physical memory and a size written for people: shared by every cost estimate that refuses work
above the machine (imports nothing heavy, so the laws' commands can use it without loading Numba)."""

from __future__ import annotations

import math
import os


def physical_memory() -> float:
    """Physical memory of this machine in bytes (``inf`` where it cannot be read).

    Examples
    --------
    >>> physical_memory() > 2**26
    True
    """
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return math.inf


def memory_text(nbytes: float) -> str:
    """``120 MiB`` below a GiB, ``1.5 GiB`` above.

    Examples
    --------
    >>> memory_text(3 * 2**20), memory_text(1.5 * 2**30)
    ('3 MiB', '1.5 GiB')
    """
    return f"{nbytes / 2**20:.0f} MiB" if nbytes < 2**30 else f"{nbytes / 2**30:.1f} GiB"
