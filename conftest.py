"""Test-session set-up shared by the whole repository (tests and doctests)."""

import os

# The CUDA kernels run in numba-cuda's simulator unless a caller asks otherwise (CI has no GPU).
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
