"""Analysis: fitting scaling laws to measurements, comparing them with theory, drawing them.

- :mod:`~scaling_theory.numeric.analysis.data`: input (CSV, result store, synthetic law).
- :mod:`~scaling_theory.numeric.analysis.isoflop`: approaches 1 and 2;
  :mod:`~scaling_theory.numeric.analysis.approach3`: approach 3;
  :mod:`~scaling_theory.numeric.analysis.fit`: all of them on one data set.
- :mod:`~scaling_theory.numeric.analysis.compare`: the derived bound's optimum against the fits.
- :mod:`~scaling_theory.numeric.analysis.plots`: figures.
"""
