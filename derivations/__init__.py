"""Executable, checked, step-by-step derivations: one module per result.

Reading order (see :func:`scaling_theory.derivations.registry.derivation_names`): ``framework`` (Bayes identity,
proxy bound, rate-distortion form), ``kl-lemma``, ``maurey``, ``second-moment`` (E[V^2]),
``entropy-count``, ``jeon-van-roy-bound`` (the assembled bound = the registered law),
``jeon-van-roy-allocation`` (Lambert W optimum, exponents, asymptotics), ``d-K-sensitivity``,
``dp-atoms``, ``dp-sensitivity`` (the infinite-width law's d/K trends on both scales) and ``chinchilla``.  :func:`scaling_theory.derivations.check.run_checks` verifies every step with
:mod:`scaling_theory.numeric.precision.verify`; :func:`scaling_theory.derivations.render.render_document` writes LaTeX or Markdown.
"""
