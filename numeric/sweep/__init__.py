"""Sweeps: configuration, the resumable runner, executors and the SQLite result store.

- :mod:`~scaling_theory.numeric.sweep.config`: grids, runs, seeds, config hashes, TOML validation.
- :mod:`~scaling_theory.numeric.sweep.runner`: runners and the driver (:func:`run_sweep`).
- :mod:`~scaling_theory.numeric.sweep.executors`: local process pool, serial, Dask distributed.
- :mod:`~scaling_theory.numeric.sweep.store`: the transactional SQLite store.
"""
