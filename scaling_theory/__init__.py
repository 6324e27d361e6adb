"""scaling-theory: derive, check, simulate and export compute-optimal neural scaling laws.

The public names below are the real functions of the layers that do the work, re-exported; each is
imported on first use (PEP 562), so ``import scaling_theory`` stays light while ``help(st.allocate)``
shows the real signature and docstring.

========================  =======================================================================
``derive(law)``           :func:`scaling_theory.theory.allocation.compute_optimal_allocation`
``allocate(law, C)``      :func:`scaling_theory.numeric.precision.allocate.allocate`
``law_from_formula``      :func:`scaling_theory.theory.user_law.law_from_formula`
``get_law(name)``         :func:`scaling_theory.theory.registry.get_law`
``resolve(law, params)``  :func:`scaling_theory.theory.registry.resolve`
``check(name or names)``  :func:`scaling_theory.derivations.check.run_checks`
``simulate(config, db)``  :func:`scaling_theory.numeric.sweep.runner.run_sweep`
``fit(data)``             :func:`scaling_theory.numeric.analysis.fit.fit`
``exponent_map()``        :func:`scaling_theory.numeric.analysis.exponent_map.exponent_map` (the model
                          exponent by teacher, Pitman-Yor discount and proof route)
``reproduce(quick=...)``  :func:`scaling_theory.reproduce.reproduce` (into ``reproduce-out``, or
                          ``reproduce-quick-out`` for the quick study)
========================  =======================================================================

Examples
--------
>>> import scaling_theory as st
>>> alloc = st.derive("chinchilla")
>>> alloc.model_exponent
beta/(alpha + beta)
>>> result = st.allocate("chinchilla", "5.76e23", digits=30)
>>> result.verified, f"{float(result.model):.3e}"
(True, '3.219e+10')
>>> st.derive is st.theory.allocation.compute_optimal_allocation
True

A law typed as text (the toolkit's own parser, never ``eval``), and a registered one:

>>> law = st.law_from_formula("A/N + B*log(D)/D", "N", "D", "6*N*D")
>>> st.derive(law).model_exponent, st.derive(law).method
(1/2, 'Lambert W')
>>> st.get_law("chinchilla").cost
6*D*N

Every derivation step checked, at 30 digits here:

>>> report = st.check("chinchilla", digits=30)      # one name, or a list of names
>>> report.ok, report.failed, report.steps_verified >= 5
(True, 0, True)

A sweep into SQLite resumes where it stopped (a stand-in runner keeps the example instant):

>>> import os, tempfile
>>> from scaling_theory.numeric.sweep.config import SweepConfig
>>> from scaling_theory.numeric.sweep.runner import synthetic_runner
>>> tmp = tempfile.TemporaryDirectory()
>>> db = os.path.join(tmp.name, "runs.sqlite")
>>> first = st.simulate(SweepConfig.quick(), db, progress=False, runner=synthetic_runner)
>>> again = st.simulate(SweepConfig.quick(), db, progress=False, runner=synthetic_runner)
>>> first.done, again.done
(14, 0)
>>> tmp.cleanup()

Data from Chinchilla's law itself give back its exponent a = beta/(alpha + beta) = 0.4516:

>>> from scaling_theory.numeric.analysis.data import synthetic
>>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e19, 1e20, 1e21, 1e22], noise=0.0)
>>> round(st.fit(data, approach=3, bootstrap=0).approaches[3].a, 3)
0.452
"""

from __future__ import annotations

import importlib

from scaling_theory._version import __version__

# public name -> (module, attribute); resolved on first access
_EXPORTS = {
    "derive": ("scaling_theory.theory.allocation", "compute_optimal_allocation"),
    "allocate": ("scaling_theory.numeric.precision.allocate", "allocate"),
    "law_from_formula": ("scaling_theory.theory.user_law", "law_from_formula"),
    "get_law": ("scaling_theory.theory.registry", "get_law"),
    "resolve": ("scaling_theory.theory.registry", "resolve"),
    "check": ("scaling_theory.derivations.check", "run_checks"),
    "simulate": ("scaling_theory.numeric.sweep.runner", "run_sweep"),
    "fit": ("scaling_theory.numeric.analysis.fit", "fit"),
    "exponent_map": ("scaling_theory.numeric.analysis.exponent_map", "exponent_map"),
    "reproduce": ("scaling_theory.reproduce", "reproduce"),
    "UserInputError": ("scaling_theory.errors", "UserInputError"),
}
_SUBPACKAGES = ("theory", "numeric", "derivations")

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later lookups skip this hook
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"scaling_theory.{name}")
    raise AttributeError(f"module 'scaling_theory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBPACKAGES})
