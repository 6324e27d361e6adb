"""Executable, checked, step-by-step derivations: one module per result.

Reading order (see :func:`derivations.registry.derivation_names`): ``framework`` (Bayes identity,
proxy bound, rate-distortion form), ``kl-lemma``, ``maurey``, ``second-moment`` (E[V^2]),
``entropy-count``, ``jeon-van-roy-bound`` (the assembled bound = the registered law),
``jeon-van-roy-allocation`` (Lambert W optimum, exponents, asymptotics), ``d-K-sensitivity``,
``dp-atoms`` and ``chinchilla``.  :func:`derivations.check.run_checks` verifies every step with
:mod:`numeric.verify`; :func:`derivations.render.render_document` writes LaTeX or Markdown.
"""
