"""The installed package's modules, found once for the package-level tests."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

ROOTS = ("scaling_theory", "scaling_theory.theory", "scaling_theory.numeric", "scaling_theory.derivations")


def package_modules() -> list[str]:
    """Every module of the package by its installed name, found by walking it with :mod:`pkgutil`
    (the folders mapped to ``theory``, ``numeric``, ``derivations`` are walked from their own roots)."""
    names: set[str] = set()
    for root in ROOTS:
        package = importlib.import_module(root)
        names.add(root)
        for info in pkgutil.walk_packages(package.__path__, prefix=root + "."):
            names.add(info.name)
    return sorted(names)


MODULES = package_modules()


def pytest_generate_tests(metafunc):
    if "module_name" in metafunc.fixturenames:
        metafunc.parametrize("module_name", MODULES)


@pytest.fixture(scope="session")
def all_modules() -> list[str]:
    return MODULES
