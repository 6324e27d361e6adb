"""Every ``console`` block of README.md and docs/*.md is what the code prints.

A block is a sequence of ``$ command`` lines, each followed by its expected output (stdout and stderr
together).  The commands of one block run in one fresh folder, in order, so a block can build on its own
files (``simulate --store q.sqlite`` then ``fit --store q.sqlite``).  Matching:

- a line that is only ``...`` stands for any number of lines left out (none included);
- ``...`` inside a line stands for any text on that line (a timing, a throughput);
- trailing spaces are ignored.

Only ``scaling-theory`` commands are run (through ``python -m scaling_theory``); a ``# comment`` after a
command is the reader's, not the shell's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```console[^\n]*\n(.*?)^```", re.S | re.M)


def console_blocks() -> list[tuple[str, int, str]]:
    """``(file name, line number, block text)`` of every console block."""
    out = []
    for path in SOURCES:
        text = path.read_text()
        for m in _FENCE.finditer(text):
            out.append((path.name, text[: m.start()].count("\n") + 1, m.group(1)))
    return out


def parse(block: str) -> list[tuple[str, list[str]]]:
    """``[(command, expected output lines)]`` of a block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line.rstrip())
    for _, lines in steps:   # blank lines that only separate commands are not output
        while lines and lines[-1] == "":
            lines.pop()
    return steps


def _line_matches(pattern: str, line: str) -> bool:
    if "..." not in pattern:
        return pattern == line
    parts = [re.escape(p) for p in pattern.split("...")]
    return re.fullmatch(".*".join(parts), line, re.S) is not None


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` fits ``expected`` under the module's rules.

    Examples
    --------
    >>> matches(["a", "...", "d"], ["a", "b", "c", "d"]), matches(["a ... s"], ["a 4.2 s"]), matches(["a"], ["b"])
    (True, True, False)
    """
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and matches(rest, actual[1:])


def run_command(command: str, cwd: Path) -> list[str]:
    argv = shlex.split(command, comments=True)
    assert argv and argv[0] == "scaling-theory", f"only scaling-theory commands run in console blocks: {command}"
    # progress bars off (TQDM_DISABLE): they are the terminal's, not the command's output
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "MPLBACKEND": "Agg", "PYTHONIOENCODING": "utf-8",
           "TQDM_DISABLE": "1"}
    out = subprocess.run([sys.executable, "-m", "scaling_theory", *argv[1:]], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=900)
    return [line.rstrip() for line in (out.stdout + out.stderr).rstrip("\n").splitlines()]


BLOCKS = console_blocks()


def test_there_are_console_blocks():
    assert len(BLOCKS) >= 8 and all(parse(text) for _, _, text in BLOCKS)


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("source, line, block", BLOCKS, ids=[f"{s}:{n}" for s, n, _ in BLOCKS])
def test_console_block_is_what_the_code_prints(source, line, block, tmp_path):
    for command, expected in parse(block):
        actual = run_command(command, tmp_path)
        assert matches(expected, actual), (f"{source}:{line}: `{command}` printed\n" + "\n".join(actual)
                                           + "\n--- expected ---\n" + "\n".join(expected))


_TOML = re.compile(r"^```toml[^\n]*\n(.*?)^```", re.S | re.M)


def toml_blocks() -> list[tuple[str, int, str]]:
    """``(file name, line number, block text)`` of every toml block (each is a sweep configuration)."""
    out = []
    for path in SOURCES:
        text = path.read_text()
        for m in _TOML.finditer(text):
            out.append((path.name, text[: m.start()].count("\n") + 1, m.group(1)))
    return out


@pytest.mark.parametrize("name, line, block", toml_blocks(), ids=[f"{n}:{i}" for n, i, _ in toml_blocks()])
def test_toml_block_is_a_valid_sweep(name, line, block):
    import tomllib

    from scaling_theory.numeric.sweep.config import SweepConfig

    runs = SweepConfig.from_dict(tomllib.loads(block)).expand()[0]
    assert runs, f"{name}:{line} expands to no run"
