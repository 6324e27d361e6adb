"""The package's shape, guarded: imports point one way and nothing imports in a circle.

Layers (``docs/architecture.md``): ``theory`` (SymPy only) < ``numeric`` < ``derivations`` < the
public API, CLI and report.  Inside ``numeric`` the stages run ``precision`` < ``sim`` < ``sweep`` <
``analysis``.  Every import counts, those inside functions ("lazy") included.  Only the leaf modules
``scaling_theory.errors``, ``scaling_theory._version`` and ``scaling_theory._files`` (safe output)
may be imported from below.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib

import pytest


LEAVES = {"scaling_theory.errors", "scaling_theory._version", "scaling_theory._files"}


def _source(name: str) -> pathlib.Path:
    return pathlib.Path(importlib.util.find_spec(name).origin)


def imports_of(name: str, modules: set[str]) -> set[str]:
    """Project modules imported anywhere in module ``name`` (function bodies included)."""
    path = _source(name)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in modules else mod for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t.startswith("scaling_theory") and t != name:
                found.add(t)
    return found


@pytest.fixture(scope="session")
def graph(all_modules) -> dict[str, set[str]]:
    modules = set(all_modules)
    return {name: imports_of(name, modules) for name in all_modules}


def _layer(name: str) -> tuple[int, int]:
    """(layer, stage) of a module; lower may not import higher."""
    if name in LEAVES:
        return (0, 0)
    parts = name.split(".")
    if parts[1:2] == ["theory"]:
        return (1, 0)
    if parts[1:2] == ["numeric"]:
        stages = {"validate": 0, "precision": 1, "sim": 2, "bayes": 2, "sweep": 3, "analysis": 4}
        return (2, stages.get(parts[2], 0) if len(parts) > 2 else 0)
    if parts[1:2] == ["derivations"]:
        return (3, 0)
    return (4, 0)  # public API, CLI, commands, reproduce, report


def test_the_graph_was_read(graph):
    assert "scaling_theory.theory.laws" in graph["scaling_theory.theory.registry"]
    assert "scaling_theory.numeric.sim.students" in graph["scaling_theory.numeric.sim.train_cpu"]
    # lazy imports count: the dispatcher imports its trainers inside a function
    assert "scaling_theory.numeric.sim.train_cpu" in graph["scaling_theory.numeric.sim.training"]


def test_imports_point_down(module_name, graph):
    name = module_name
    mine = _layer(name)
    for target in graph[name]:
        theirs = _layer(target)
        if target == "scaling_theory" or target.count(".") == 1 and target.endswith((".theory", ".numeric",
                                                                                     ".derivations")):
            # a package's own __init__ (docstring only) is not a layer violation; the top one is
            assert target != "scaling_theory", f"{name} imports the public API package"
            continue
        same_layer = theirs[0] == mine[0]
        allowed = theirs[0] < mine[0] or (same_layer and theirs[1] <= mine[1])
        assert allowed, f"{name} (layer {mine}) imports {target} (layer {theirs})"


def test_no_import_cycles(graph):
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.subprocess
def test_only_one_top_level_name_is_importable(tmp_path):
    # run from an empty folder: the bare folder names must not be importable packages
    import subprocess
    import sys

    code = ("import importlib.util as u; "
            "print([n for n in ('theory', 'numeric', 'derivations') if u.find_spec(n) is not None])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
