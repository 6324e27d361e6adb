"""scaling-theory: the public face of the toolkit (re-exports and the ``scaling-theory`` CLI).

Every CLI result is reachable from Python through these names; each one forwards to the module that
does the work (imported on first use, so ``import scaling_theory`` stays light).

========================  =======================================================================
``derive(law)``           :func:`theory.allocation.compute_optimal_allocation` (symbolic p*, T*)
``allocate(law, C)``      :func:`numeric.precision.allocate` (numbers at mpmath precision, checked)
``law_from_formula``      :func:`theory.user_law.law_from_formula` (a law typed as text, safely parsed)
``get_law(name)``         :func:`theory.laws.get_law` (the registry: chinchilla, kaplan, jeon-van-roy…)
``check(names)``          :func:`derivations.check.run_checks` (every derivation step verified)
``simulate(config, db)``  :func:`numeric.sweep.run_sweep` (teacher–student IsoFLOP sweep into SQLite)
``fit(data)``             :func:`numeric.fit.fit` (Chinchilla approaches 1–3 with bootstrap CIs)
``reproduce(out_dir)``    :func:`scaling_theory.reproduce.reproduce` (the whole study and report)
========================  =======================================================================

Nothing in :mod:`theory`, :mod:`numeric` or :mod:`derivations` imports this package.

Examples
--------
>>> import scaling_theory as st
>>> alloc = st.derive("chinchilla")
>>> alloc.model_exponent
beta/(alpha + beta)
>>> result = st.allocate("chinchilla", "5.76e23", digits=30)
>>> result.verified, f"{float(result.model):.3e}"
(True, '3.219e+10')
"""

from __future__ import annotations

from theory import __version__

__all__ = ["__version__", "derive", "allocate", "law_from_formula", "get_law", "check", "simulate", "fit",
           "reproduce"]


def derive(law, params=None):
    """Symbolic compute-optimal allocation of a law (a :class:`theory.laws.Law` or a registered name)."""
    from theory.allocation import compute_optimal_allocation
    from theory.laws import Law, get_law as _get

    return compute_optimal_allocation(law if isinstance(law, Law) else _get(law), params)


def allocate(law, compute, **kwargs):
    """Numbers for one budget at high precision; see :func:`numeric.precision.allocate`."""
    from numeric.precision import allocate as _allocate

    return _allocate(law, compute, **kwargs)


def law_from_formula(expr: str, model: str, data: str, cost: str, name: str = "user"):
    """A :class:`theory.laws.Law` from user text; see :func:`theory.user_law.law_from_formula`.

    Examples
    --------
    >>> law = law_from_formula("A/N + B*log(D)/D", "N", "D", "6*N*D")
    >>> alloc = derive(law)
    >>> alloc.model_exponent, alloc.method
    (1/2, 'Lambert W')
    """
    from theory.user_law import law_from_formula as _from

    return _from(expr, model, data, cost, name)


def get_law(name: str):
    """A registered law by name; see :func:`theory.laws.get_law`.

    Examples
    --------
    >>> get_law("chinchilla").cost
    6*D*N
    """
    from theory.laws import get_law as _get

    return _get(name)


def check(names=None, digits: int = 50, **kwargs):
    """Verify the derivations; see :func:`derivations.check.run_checks`.

    Examples
    --------
    >>> report = check(["chinchilla"], digits=30)
    >>> report.ok, report.failed, report.steps_verified >= 5
    (True, 0, True)
    """
    from derivations.check import run_checks

    return run_checks(names, digits, **kwargs)


def simulate(config=None, store_path="results.sqlite", **kwargs):
    """Run a teacher–student sweep (default config if none); see :func:`numeric.sweep.run_sweep`.

    Examples
    --------
    A stand-in runner (a known law instead of training) keeps the example instant:

    >>> import os, tempfile
    >>> from numeric.sweep import SweepConfig, synthetic_runner
    >>> tmp = tempfile.TemporaryDirectory()
    >>> db = os.path.join(tmp.name, "runs.sqlite")
    >>> first = simulate(SweepConfig.quick(), db, progress=False, runner=synthetic_runner)
    >>> again = simulate(SweepConfig.quick(), db, progress=False, runner=synthetic_runner)
    >>> first.done, again.done   # the rerun resumes: nothing left to run
    (14, 0)
    >>> tmp.cleanup()
    """
    from numeric.sweep import SweepConfig, run_sweep

    return run_sweep(config if config is not None else SweepConfig.default(), store_path, **kwargs)


def fit(data, approach="all", **kwargs):
    """Fit scaling laws to (N, D, loss) data or a CSV/store path; see :func:`numeric.fit.fit`.

    Examples
    --------
    Data from Chinchilla's law itself give back its exponent a = beta/(alpha + beta) = 0.4516:

    >>> from numeric.fit import synthetic
    >>> data = synthetic(1.69, 406.4, 410.7, 0.34, 0.28, budgets=[1e19, 1e20, 1e21, 1e22], noise=0.0)
    >>> round(fit(data, approach=3, bootstrap=0).approaches[3].a, 3)
    0.452
    """
    import os

    from numeric import fit as _fit

    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        data = _fit.load_csv(path) if path.lower().endswith(".csv") else _fit.from_store(path)
    return _fit.fit(data, approach, **kwargs)


def reproduce(out_dir="reproduce-out", **kwargs):
    """Run the whole study and write the report; see :func:`scaling_theory.reproduce.reproduce`."""
    from scaling_theory.reproduce import reproduce as _reproduce

    return _reproduce(out_dir, **kwargs)
