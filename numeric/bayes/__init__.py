"""The Bayes-optimal error ``L_T = I(F; D_T)/T``, measured by sequential Monte Carlo (docs/bayes.md).

- :mod:`~scaling_theory.numeric.bayes.kernels`: Numba particle kernels (teacher logits, Metropolis-Hastings
  sweep) and their NumPy references.
- :mod:`~scaling_theory.numeric.bayes.smc`: the sampler and the per-teacher estimate.
- :mod:`~scaling_theory.numeric.bayes.exact`: an exactly computable case (d = 1, K = 1) for validation.
- :mod:`~scaling_theory.numeric.bayes.compare`: the estimate next to the bound and SGD students.
"""
