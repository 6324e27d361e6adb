"""Every docstring example in the installed package runs, once, as SymPy runs its doctests.

The modules are found by walking ``scaling_theory`` (and its mapped sub-packages ``theory``,
``numeric``, ``derivations``) with :mod:`pkgutil`; each module's examples run through
:class:`doctest.DocTestRunner` in one test, so a failure names the module and shows the diff.
"""

from __future__ import annotations

import doctest
import importlib

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def test_every_folder_is_walked(all_modules):
    # the walk must reach each stage's sub-package and the CLI's commands
    for name in ("scaling_theory.theory.parser", "scaling_theory.numeric.precision.allocate",
                 "scaling_theory.numeric.sim.train_cpu", "scaling_theory.numeric.sweep.store",
                 "scaling_theory.numeric.analysis.fit", "scaling_theory.derivations.check",
                 "scaling_theory.commands.derive", "scaling_theory.cli"):
        assert name in all_modules, name


def test_docstring_examples(module_name):
    name = module_name
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS, verbose=False)
    tests = [t for t in finder.find(module, name) if t.examples]
    output: list[str] = []
    for test in sorted(tests, key=lambda t: t.name):
        runner.run(test, out=output.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(output)
