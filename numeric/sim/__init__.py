"""Teacher-student simulation: the data, the students, the trainers, the error they reach.

- :mod:`~scaling_theory.numeric.sim.teacher`: teachers and their seeded data streams.
- :mod:`~scaling_theory.numeric.sim.students`: student configuration and result types (a leaf).
- :mod:`~scaling_theory.numeric.sim.reference`: the algorithm in NumPy, the specification.
- :mod:`~scaling_theory.numeric.sim.train_cpu`, :mod:`~scaling_theory.numeric.sim.train_cuda`: Numba
  CPU and numba-cuda trainers; :mod:`~scaling_theory.numeric.sim.training` dispatches between them.
- :mod:`~scaling_theory.numeric.sim.error`: the reducible error (Monte-Carlo KL).
- :mod:`~scaling_theory.numeric.sim.bench`: trainers timed side by side.
"""
