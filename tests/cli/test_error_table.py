"""Every subcommand against bad arguments: one stderr line naming the problem, no traceback.

Issue 7 (hostile input): each row of ``CASES`` is run as ``python -m scaling_theory ...`` in a
scratch folder (nothing is written in the repository). A user mistake must end with a non-zero
exit status, exactly one line on stderr containing the expected key phrase, no ``Traceback``,
nothing on stdout (no half-written output) and no output file left behind. The subprocesses run
in parallel (one fixture runs the whole table) so the file stays fast; ``--debug`` must bring the
traceback back for bug reports.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TIMEOUT_S = 60  # a case that runs this long started real work: itself a failure


@dataclass(frozen=True)
class Case:
    """One bad command line: ``argv`` after ``scaling-theory``, the phrase stderr must contain."""

    id: str
    argv: tuple[str, ...]
    expect: str                      # key substring of the one stderr line (case-insensitive)
    absent: tuple[str, ...] = ()     # files that must not exist afterwards (relative to the cwd)
    ok_or_error: bool = False        # extreme-but-valid input: a finite answer or a one-line error
    xfail: str | None = None         # "bug: ..." recorded, for the lead to fix
    timeout: int | None = None       # seconds (default: 30 in-process, TIMEOUT_S in a subprocess)


def C(id: str, argv: str | list[str], expect: str, **kw) -> Case:
    args = tuple(argv.split()) if isinstance(argv, str) else tuple(argv)
    return Case(id, args, expect, **kw)


# A user law with no interior optimum: loss falls with N but rises with D, so the budget goes
# all to N (a boundary, not a critical point).
NO_OPTIMUM = ["--expr", "A/N + B*D", "--model", "N", "--data", "D", "--cost", "N*D"]
USER_LAW = ["--model", "N", "--data", "D", "--cost", "6*N*D"]
HOSTILE = {
    "import": '__import__("os")',
    "dunder": "N.__class__",
    "lambda": "lambda x: x",
    "tower": "10**10**10",
    "empty": "",
    "unbalanced": "A/N**(alpha + B/D**beta",
    "trailing-op": "A/N +",
    "semicolon": "A/N; B/D",
    "string": "'abc'",
    "call-unknown": "os.system('true')",
    "subscript": "N[0]",
    "comprehension": "[x for x in N]",
    "walrus": "(x := A/N) + B/D",
    "equation": "A/N == B/D",
    "comment": "A/N + B/D # rm -rf ~",
    "backslash": "A/N + \\\nB/D",
    "cyrillic-A": "\u0410/N + B/D",
    "fullwidth-plus": "A/N\uff0bB/D",
    "emoji": "A/N + \U0001F600",
    "too-long": "+".join(["A/N"] * 3000) + "+B/D",
    "too-deep": "(" * 200 + "A/N" + ")" * 200 + "+B/D",
    "huge-literal": "1e999999*A/N + B/D",
    "huge-gamma": "gamma(10**999)*A/N + B/D",
    "log-zero": "log(0) + A/N + B/D",
    "division-by-zero": "1/0 + A/N + B/D",
    "zoo": "zoo + A/N + B/D",
    "nan": "nan*A/N + B/D",
    "numbers-only": "1 + 2",
}
JVR = ["allocate", "jeon-van-roy", "--compute", "1e12"]

CASES: list[Case] = [
    # -- the main parser
    C("main-no-command", [], "required"),
    C("main-unknown-command", "frobnicate", "invalid choice"),
    C("main-unknown-flag", "--frobnicate bounds", "unrecognized"),
    # -- bounds
    C("bounds-extra-arg", "bounds chinchilla", "unrecognized"),
    C("bounds-unknown-flag", "bounds --law chinchilla", "unrecognized"),
    # -- derive
    C("derive-unknown-law", "derive nosuchlaw", "unknown law 'nosuchlaw'"),
    C("derive-no-law", "derive", "give a law NAME"),
    C("derive-expr-no-model", ["derive", "--expr", "A/N + B/D"], "--expr needs --model"),
    C("derive-model-no-expr", "derive --model N", "--model only goes with --expr"),
    C("derive-name-and-expr", ["derive", "chinchilla", "--expr", "A/N + B/D", *USER_LAW], "not both"),
    C("derive-unknown-model-symbol", ["derive", "--expr", "A/N + B/D", "--model", "M", "--data", "D",
                                      "--cost", "N*D"], "'M'"),
    C("derive-unknown-data-symbol", ["derive", "--expr", "A/N + B/D", "--model", "N", "--data", "T",
                                     "--cost", "N*D"], "'T'"),
    C("derive-cost-unknown-symbol", ["derive", "--expr", "A/N + B/D", "--model", "N", "--data", "D",
                                     "--cost", "6*N*X"], "X"),
    C("derive-model-equals-data", ["derive", "--expr", "A/N + B/N", "--model", "N", "--data", "N",
                                   "--cost", "N*N"], "N"),
    C("derive-model-not-a-symbol", ["derive", "--expr", "A/N + B/D", "--model", "N+1", "--data", "D",
                                    "--cost", "N*D"], "N+1"),
    C("derive-no-interior-optimum", ["derive", *NO_OPTIMUM], "no interior"),
    C("derive-cost-free-of-model", ["derive", "--expr", "A/N + B/D", "--model", "N", "--data", "D",
                                    "--cost", "6*D"], "cost"),
    *[C(f"derive-hostile-{k}", ["derive", "--expr", v, *USER_LAW], "") for k, v in HOSTILE.items()],
    # -- allocate
    # the exponent map: sigma outside [0, 1), a malformed list, a route the teacher lacks, a figure into a folder
    C("exponents-sigma-one", "exponents --sigma 0,1", "must lie in [0, 1)"),
    C("exponents-sigma-malformed", "exponents --sigma 0.25,,0.5", "malformed list of sigma"),
    C("exponents-sigma-text", "exponents --sigma 0.25,half", "malformed list of sigma"),
    C("exponents-route-missing", "exponents --route direct", "has no route 'direct'"),
    C("exponents-finite-sigma", "exponents --teacher finite --sigma 0.5", "the finite teacher has none"),
    C("exponents-unknown-teacher", "exponents --teacher gaussian", "unknown teacher kind"),
    C("exponents-plot-dir", "exponents --sigma 0.5 --plot adir", "is a directory"),
    C("allocate-unknown-law", "allocate nosuchlaw --compute 1e20", "unknown law 'nosuchlaw'"),
    C("allocate-missing-compute", "allocate chinchilla", "--compute"),
    C("allocate-compute-no-value", "allocate chinchilla --compute", "--compute"),
    C("allocate-compute-negative-looks-like-flag", "allocate chinchilla --compute -1e20", "--compute"),
    *[C(f"allocate-compute-{k}", ["allocate", "chinchilla", *([v] if v.startswith("--") else ["--compute", v])], e)
      for k, v, e in [("negative", "--compute=-1e20", "compute"), ("zero", "0", "compute"),
                      ("nan", "nan", "compute"), ("inf", "inf", "compute"),
                      ("minus-inf", "--compute=-inf", "compute"),
                      ("text", "lots", "lots"), ("empty", "", "compute"),
                      ("hex", "0x10", "0x10"), ("expr", "2**80", "2**80")]],
    *[C(f"allocate-digits-{k}", ["allocate", "chinchilla", "--compute", "1e20", "--digits", v], "digits")
      for k, v in [("zero", "0"), ("negative", "-5"), ("text", "many"), ("float", "2.5"),
                   ("nan", "nan"), ("1e400", "1e400"), ("huge", "10000000")]],
    # 1e400 is a finite decimal: mpmath has the range, so a verified answer is right
    C("allocate-compute-1e400", "allocate chinchilla --compute 1e400", "", ok_or_error=True),
    C("allocate-unknown-params-set", "allocate chinchilla --compute 1e20 --params nosuchset", "nosuchset"),
    C("allocate-param-unknown-name", "allocate chinchilla --compute 1e20 --param zeta=1", "zeta"),
    C("allocate-param-no-equals", "allocate chinchilla --compute 1e20 --param alpha", "NAME=VALUE"),
    C("allocate-param-empty-value", "allocate chinchilla --compute 1e20 --param alpha=", "NAME=VALUE"),
    C("allocate-param-twice", "allocate chinchilla --compute 1e20 --param A=1 --param A=2", "twice"),
    *[C(f"allocate-param-alpha-{k}", ["allocate", "chinchilla", "--compute", "1e20", "--param", f"alpha={v}"],
        "alpha") for k, v in [("text", "abc"), ("nan", "nan"), ("inf", "inf"), ("zero", "0"),
                              ("negative", "-0.3"), ("hostile", '__import__("os")')]],

    C("allocate-jvr-d-zero", [*JVR, "--param", "d=0"], "d"),
    C("allocate-jvr-d-half", [*JVR, "--param", "d=0.5"], "d"),
    C("allocate-jvr-d-negative", [*JVR, "--param", "d=-3"], "d"),
    C("allocate-jvr-K-negative", [*JVR, "--param", "K=-1"], "K"),
    C("allocate-jvr-K-zero", [*JVR, "--param", "K=0"], "K"),
    C("allocate-jvr-K-text", [*JVR, "--param", "K=four"], "K"),
    C("allocate-jvr-unknown-set", [*JVR, "--params", "d3-K9"], "d3-K9"),
    C("allocate-expr-without-constants", ["allocate", "--expr", "A/N**a + B/D**b", *USER_LAW,
                                          "--compute", "1e20"], "A"),
    C("allocate-no-interior-optimum", ["allocate", *NO_OPTIMUM, "--param", "A=1", "--param", "B=1",
                                       "--compute", "1e20"], "no interior"),
    *[C(f"allocate-hostile-{k}", ["allocate", "--expr", v, *USER_LAW, "--compute", "1e20"], "")
      for k, v in HOSTILE.items()],
    # extreme budgets: a finite verified answer (exit 0) or one clear line, never NaN/inf
    *[C(f"allocate-{law}-budget-{v}", ["allocate", law, "--compute", v], "", ok_or_error=True)
      for law in ("chinchilla", "jeon-van-roy", "kaplan") for v in ("1e300", "1e-300")],
    # -- latex
    C("latex-unknown-name", "latex nosuchlaw", "nosuchlaw"),
    C("latex-unknown-name-output", "latex nosuchlaw -o out.tex", "nosuchlaw", absent=("out.tex",)),
    C("latex-no-name", "latex", "NAME"),
    C("latex-bad-format", "latex chinchilla --document --format pdf", "invalid choice"),
    C("latex-output-missing-folder", "latex chinchilla -o no/such/folder/out.tex", "no/such/folder",
      absent=("no",)),
    C("latex-output-is-directory", "latex chinchilla -o adir", "adir"),
    C("latex-output-no-value", "latex chinchilla -o", "-o"),
    C("latex-no-interior-optimum-output", ["latex", *NO_OPTIMUM, "-o", "out.tex"], "no interior",
      absent=("out.tex",)),
    *[C(f"latex-hostile-{k}-output", ["latex", "--expr", v, *USER_LAW, "-o", "out.tex"], "",
        absent=("out.tex",)) for k, v in HOSTILE.items()],
    # -- check (only bad arguments: a valid check is long work)
    C("check-unknown-derivation", "check nosuchderivation", "nosuchderivation"),
    C("check-name-and-all", "check jeon-van-roy --all", "not both"),
    *[C(f"check-digits-{k}", ["check", "--digits", v], "digits")
      for k, v in [("zero", "0"), ("negative", "-1"), ("small", "5"), ("text", "many"),
                   ("nan", "nan"), ("1e400", "1e400"), ("huge", "100000")]],
    *[C(f"check-workers-{k}", ["check", "nosuchderivation", "--workers", v], "workers")
      for k, v in [("zero", "0"), ("negative", "-2"), ("text", "all"), ("nan", "nan")]],
    # -- simulate (only bad arguments or bad files: a valid sweep is long work)
    C("simulate-config-missing", "simulate --config missing.toml --store s.sqlite", "missing.toml",
      absent=("s.sqlite",)),
    C("simulate-config-directory", "simulate --config adir --store s.sqlite", "adir", absent=("s.sqlite",)),
    C("simulate-config-invalid-toml", "simulate --config bad.toml --store s.sqlite", "TOML",
      absent=("s.sqlite",)),
    C("simulate-config-binary", "simulate --config binary.csv --store s.sqlite", "binary.csv",
      absent=("s.sqlite",)),
    C("simulate-config-negative-d", "simulate --config negd.toml --store s.sqlite", "d",
      absent=("s.sqlite",)),
    C("simulate-config-unknown-key", "simulate --config unknownkey.toml --store s.sqlite", "frobnicate",
      absent=("s.sqlite",)),
    C("simulate-config-nan-budget", "simulate --config nanbudget.toml --store s.sqlite", "budget",
      absent=("s.sqlite",)),
    C("simulate-config-and-quick", "simulate --config ok.toml --quick", "not allowed"),
    C("simulate-store-not-sqlite", "simulate --quick --store notsqlite.sqlite --quiet", "notsqlite.sqlite"),
    C("simulate-store-foreign-schema", "simulate --quick --store foreign.sqlite --quiet", "foreign.sqlite"),
    C("simulate-store-directory", "simulate --quick --store adir --quiet", "adir"),
    *[C(f"simulate-workers-{k}", ["simulate", "--quick", "--workers", v], "workers")
      for k, v in [("zero", "0"), ("negative", "-1"), ("text", "all"), ("nan", "nan"), ("1e400", "1e400")]],
    C("simulate-scheduler-without-dask", "simulate --quick --executor local --scheduler tcp://x:1",
      "--scheduler"),
    C("simulate-unknown-executor", "simulate --quick --executor slurm", "invalid choice"),
    # -- fit
    C("fit-nothing", "fit", "exactly one"),
    C("fit-csv-and-store", "fit ok.csv --store x.sqlite", "exactly one"),
    C("fit-missing-csv", "fit missing.csv", "missing.csv"),
    C("fit-directory", "fit adir", "adir"),
    C("fit-empty-csv", "fit empty.csv", "empty.csv"),
    C("fit-binary-csv", "fit binary.csv", "binary.csv"),
    C("fit-missing-column", "fit nocol.csv", "missing column"),
    C("fit-negative-value", "fit negative.csv", "negative.csv"),
    C("fit-zero-value", "fit zero.csv", "zero.csv"),
    C("fit-nan-value", "fit nan.csv", "nan.csv"),
    C("fit-inf-value", "fit inf.csv", "inf.csv"),
    C("fit-text-value", "fit text.csv", "text.csv"),
    C("fit-short-row", "fit short.csv", "short.csv"),
    C("fit-1e400-value", "fit big.csv", "big.csv"),
    C("fit-compute-overflow", "fit overflow.csv", "overflow.csv"),
    C("fit-one-row", "fit onerow.csv --bootstrap 0", "not enough data"),
    *[C(f"fit-bootstrap-{k}", ["fit", "ok.csv", "--bootstrap", v], "bootstrap")
      for k, v in [("negative", "-1"), ("text", "many"), ("nan", "nan"), ("1e400", "1e400"), ("float", "2.5")]],
    *[C(f"fit-cost-{k}", ["fit", "ok.csv", "--cost", v], "cost")
      for k, v in [("zero", "0"), ("negative", "-6"), ("nan", "nan"), ("inf", "inf"), ("1e400", "1e400"),
                   ("text", "six")]],
    C("fit-bad-approach", "fit ok.csv --approach 4", "invalid choice"),
    C("fit-seed-text", "fit ok.csv --seed abc", "seed"),
    C("fit-store-missing", "fit --store missing.sqlite", "missing.sqlite", absent=("missing.sqlite",)),
    C("fit-store-not-sqlite", "fit --store notsqlite.sqlite", "notsqlite.sqlite"),
    C("fit-bad-loss", "fit ok.csv --loss l2", "invalid choice"),
    C("fit-zero-delta", "fit ok.csv --delta 0", "delta"),
    C("fit-missing-weights-column", "fit ok.csv --weights w", "missing column w"),
    C("fit-plot-into-file", "fit ok.csv --bootstrap 0 --approach 3 --plot ok.csv", "not a folder"),
    C("allocate-from-fit-not-json", "allocate --from-fit ok.csv -C 1e21", "not a fit JSON"),
    C("allocate-from-fit-missing", "allocate --from-fit missing.json -C 1e21", "missing.json"),
    C("plan-missing-budget", "plan missing.json", "--budget"),
    C("plan-not-json", "plan ok.csv --budget 1e21", "not a fit JSON"),
    C("plan-zero-count", "plan ok.csv --budget 1e21 --count 0", "count"),
    C("design-no-budgets", "design", "--budgets"),
    C("bayes-d-too-large", "bayes --d 65", "d must be an integer in [1, 64]"),
    C("bayes-unknown-teacher", "bayes --teacher nope", "invalid choice"),
    C("bayes-too-few-particles", "bayes --particles 10", "fewer than 100 particles"),
    C("bayes-T-too-small", "bayes --T 0", "T must be an integer in [1, 1000000]"),
    C("bayes-width-zero", "bayes --width 0", "width must be an integer in [1, 4096]"),
    C("bayes-negative-seed", "bayes --seed -5", "seed must be an integer in [0,"),
    C("bayes-36-day-job", "bayes --particles 20000 --teachers 256 --T 20000", "pass --allow-long"),
    C("bayes-above-memory", "bayes --d 64 --K 64 --particles 1000000 --teachers 100000 --T 1000000",
      "more memory than this machine"),
    C("design-wrong-law", "design --law kaplan --budgets 1e18 1e19", "design simulates"),
    C("design-one-budget", "design --budgets 1e18 --repeats 1", "at least two budgets"),
    C("fit-store-foreign-schema", "fit --store foreign.sqlite", "foreign.sqlite"),
    C("fit-store-directory", "fit --store adir", "adir"),
    C("fit-store-corrupt", "fit --store corrupt.sqlite", "corrupt.sqlite"),
    C("fit-store-empty", "fit --store empty.sqlite", "empty.sqlite"),
    C("fit-store-only-diverged", "fit --store diverged.sqlite", "no finished runs"),
    C("fit-store-with-cost", "fit --store x.sqlite --cost 6", "--cost"),
    # -- --json: an error is still one stderr line, never a half-written JSON document on stdout
    C("json-derive-unknown-law", "derive nosuchlaw --json", "nosuchlaw"),
    C("json-allocate-bad-compute", "allocate chinchilla --compute nan --json", "compute"),
    C("json-latex-hostile", ["latex", "--expr", "N.__class__", *USER_LAW, "--json"], "attribute"),
    C("json-check-bad-digits", "check --digits 5 --json", "digits"),
    C("json-simulate-bad-config", "simulate --config bad.toml --json", "TOML"),
    C("json-fit-missing-column", "fit nocol.csv --json", "missing column"),
    C("json-bounds-extra", "bounds --json extra", "unrecognized"),
    # -- reproduce (only bad arguments: a valid reproduce is long work)
    C("reproduce-out-is-file", "reproduce --quick --quiet --out ok.csv", "ok.csv"),
    C("reproduce-out-under-file", "reproduce --quick --quiet --out ok.csv/sub", "ok.csv"),
    *[C(f"reproduce-{flag}-{k}", ["reproduce", "--quick", "--out", "newdir", f"--{flag}", v], flag,
        absent=("newdir",))
      for flag in ("bootstrap", "workers")
      for k, v in [("zero", "0"), ("negative", "-1"), ("text", "many"), ("nan", "nan")]],
    C("reproduce-extra-arg", "reproduce --quick somewhere", "unrecognized"),
    # -- bench (only bad arguments: a valid bench is long work)
    *[C(f"bench-repeat-{k}", ["bench", "--quick", "--repeat", v], "repeat")
      for k, v in [("zero", "0"), ("negative", "-1"), ("text", "many"), ("nan", "nan")]],
    C("bench-extra-arg", "bench --quick numba", "unrecognized"),
]


# Inputs that currently hang (SymPy works on 1000-digit exact numbers): run only in a subprocess,
# killed after ``timeout`` seconds (a hang guard, generous because CI machines are shared and noisy),
# so a hang costs no more than that and leaves no state behind.
HANGS: list[Case] = [
    C("allocate-param-alpha-1e400", "allocate chinchilla --compute 1e20 --param alpha=1e400", "alpha",
      ok_or_error=True, timeout=30),
    C("derive-huge-exponent", ["derive", "--expr", "A/N**(10**999) + B/D", *USER_LAW], "", timeout=30),
    C("derive-tiny-exponent", ["derive", "--expr", "A/N**(1/10**999) + B/D", *USER_LAW], "", timeout=30),
    C("derive-huge-rate", ["derive", "--expr", "A*exp(-10**999*N) + B/D", *USER_LAW], "", timeout=30),
]


def _make_files(root: Path) -> None:
    """The scratch folder's bad (and one good) input files."""
    (root / "adir").mkdir()
    files = {
        "ok.csv": "N,D,loss\n" + "".join(f"{n:g},{6e12 / (6 * n):g},{2 + 1e3 / n ** 0.3 + 1e3 / (1e12 / n) ** 0.3}\n"
                                        for n in (1e4, 3e4, 1e5, 3e5, 1e6)),
        "empty.csv": "",
        "nocol.csv": "N,loss\n1e6,3.1\n2e6,3.0\n",
        "negative.csv": "N,D,loss\n1e6,2e7,3.1\n-2e6,1e7,3.0\n",
        "zero.csv": "N,D,loss\n1e6,2e7,3.1\n2e6,0,3.0\n",
        "nan.csv": "N,D,loss\n1e6,2e7,nan\n2e6,1e7,3.0\n",
        "inf.csv": "N,D,loss\n1e6,2e7,3.1\ninf,1e7,3.0\n",
        "text.csv": "N,D,loss\n1e6,2e7,3.1\n2e6,lots,3.0\n",
        "short.csv": "N,D,loss\n1e6,2e7,3.1\n2e6,1e7\n",
        "onerow.csv": "N,D,loss\n1e6,2e7,3.1\n",
        "big.csv": "N,D,loss\n1e6,2e7,3.1\n1e400,1e7,3.0\n",
        "overflow.csv": "N,D,loss\n1e200,1e200,3.1\n2e200,1e200,3.0\n",
        "bad.toml": "d = [4\nK = = 2\n",
        "ok.toml": "d = [4]\nK = [2]\nbudgets = [1e4]\nseeds = [0]\n",
        "negd.toml": "d = [-4]\nK = [2]\nbudgets = [1e4]\nseeds = [0]\n",
        "unknownkey.toml": "d = [4]\nK = [2]\nbudgets = [1e4]\nseeds = [0]\nfrobnicate = 1\n",
        "nanbudget.toml": "d = [4]\nK = [2]\nbudgets = [nan]\nseeds = [0]\n",
        "notsqlite.sqlite": "this is not a database, just text\n" * 20,
    }
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    (root / "binary.csv").write_bytes(b"\xff\xfe\x00\x01N,D\x00\x9c")
    (root / "corrupt.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    from scaling_theory.numeric.sweep.store import Store

    with Store(root / "empty.sqlite", create=True):
        pass
    with Store(root / "diverged.sqlite", create=True) as store:
        for i, n in enumerate((2, 4, 8)):
            store.record({"config_hash": f"h{i}", "status": "diverged", "reason": "loss overflowed at step 3",
                          "config": {"d": 4, "K": 2, "kind": "finite", "compute": 1e5, "width": n,
                                     "params": 5 * n, "samples": int(1e5 / (5 * n)), "seed": 0}})
    con = sqlite3.connect(root / "foreign.sqlite")
    con.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, colour TEXT)")
    con.execute("INSERT INTO runs (colour) VALUES ('blue')")
    con.commit()
    con.close()


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    leftover: list[str] = field(default_factory=list)


class _TookTooLong(Exception):
    pass


def _case_dir(case: Case, root: Path) -> Path:
    """A fresh working folder for one case, the shared input files linked into it."""
    cwd = root / case.id
    shutil.copytree(root / "_files", cwd)  # copies, not links: a link would change what -o replaces
    return cwd


def _leftover(case: Case, cwd: Path) -> list[str]:
    left = [p for p in case.absent if (cwd / p).exists()]
    return left + [p.name for p in cwd.iterdir() if p.name.startswith(".tmp-")]


def run_subprocess(case: Case, root: Path, debug: bool = False) -> Outcome:
    """``python -m scaling_theory [--debug] ARGV`` in the case's own folder."""
    cwd = _case_dir(case, root)
    env = {**os.environ, "PYTHONHASHSEED": "0", "NUMBA_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "scaling_theory", *(["--debug"] if debug else []), *case.argv]
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=case.timeout or TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        return Outcome(-9, str(err.stdout or ""), f"TIMEOUT after {case.timeout or TIMEOUT_S} s (hangs, or started real work)")
    return Outcome(proc.returncode, proc.stdout, proc.stderr, _leftover(case, cwd))


def run_in_process(case: Case, root: Path, capsys) -> Outcome:
    """``scaling_theory.cli.main(ARGV)`` in the case's folder; an escaping exception is a traceback."""
    from scaling_theory.cli import main

    cwd = _case_dir(case, root)
    old_dir, extra = os.getcwd(), ""

    def _alarm(signum, frame):  # bad input must fail fast; a long run means real work started
        raise _TookTooLong

    previous = signal.signal(signal.SIGALRM, _alarm)
    limit = case.timeout or 30
    signal.alarm(limit)
    os.chdir(cwd)
    try:
        rc = main(list(case.argv))
    except SystemExit as stop:
        rc = stop.code if isinstance(stop.code, int) else 1
    except _TookTooLong:
        rc, extra = -9, f"TIMEOUT after {limit} s (started real work?)\n"
    except BaseException:  # noqa: BLE001 - an uncaught exception is exactly what we look for
        rc, extra = -1, traceback.format_exc()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.chdir(old_dir)
    out, err = capsys.readouterr()
    return Outcome(rc, out, err + extra, _leftover(case, cwd))


def check_outcome(case: Case, out: Outcome) -> None:
    """The contract for a user mistake (or, for ``ok_or_error`` rows, a finite verified answer)."""
    where = f"scaling-theory {' '.join(case.argv)}\nrc={out.rc}\nstdout={out.stdout!r}\nstderr={out.stderr!r}"
    assert "Traceback" not in out.stdout + out.stderr, where
    assert not out.leftover, f"left behind {out.leftover}: {where}"
    if case.ok_or_error and out.rc == 0:
        low = out.stdout.lower()
        assert "nan" not in low and "inf" not in low and "verified" in low, where
        assert "NOT verified" not in out.stdout, where
        return
    assert out.rc not in (0, -9, -1), where
    lines = out.stderr.splitlines()
    assert len(lines) == 1, where
    assert lines[0].startswith("scaling-theory"), where
    assert case.expect.lower() in lines[0].lower(), where
    assert out.stdout == "", where


@pytest.fixture(scope="module")
def files_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("error-table")
    (root / "_files").mkdir()
    _make_files(root / "_files")
    return root


def test_case_ids_are_unique():
    ids = [c.id for c in CASES + HANGS]
    assert len(ids) == len(set(ids))


def test_table_covers_every_subcommand():
    from scaling_theory.commands import COMMANDS

    covered = {c.argv[0] for c in CASES if c.argv}
    assert set(COMMANDS) <= covered, set(COMMANDS) - covered


def _param(c: Case):
    marks = [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
    return pytest.param(c, id=c.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input_is_one_clear_line(case: Case, files_root, capsys):
    check_outcome(case, run_in_process(case, files_root, capsys))


# The same contract through a real interpreter (exit status, nothing printed by Python itself),
# for one row per subcommand plus the hostile formulas; run side by side.
SUBPROCESS_IDS = [
    "main-no-command", "bounds-extra-arg", "derive-hostile-import", "derive-hostile-tower",
    "allocate-compute-nan", "allocate-jvr-K-negative", "latex-hostile-dunder-output",
    "check-digits-1e400", "simulate-store-not-sqlite", "fit-missing-column", "reproduce-out-is-file",
    "bench-repeat-zero",
]


@pytest.fixture(scope="module")
def subprocess_outcomes(tmp_path_factory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("error-table-subprocess")
    (root / "_files").mkdir()
    _make_files(root / "_files")
    by_id = {c.id: c for c in CASES + HANGS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        # the slow (hanging) rows first, so they overlap with the quick ones
        futures = {i: pool.submit(run_subprocess, by_id[i], root) for i in [c.id for c in HANGS] + SUBPROCESS_IDS}
        futures["--debug"] = pool.submit(run_subprocess, DEBUG_CASE, root, True)
        return {k: f.result() for k, f in futures.items()}


DEBUG_CASE = Case("debug", ("allocate", "nosuchlaw", "--compute", "1e20"), "")


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c.id in SUBPROCESS_IDS] +
                         [_param(c) for c in HANGS])
@pytest.mark.subprocess
def test_bad_input_in_a_real_process(case, subprocess_outcomes):
    check_outcome(case, subprocess_outcomes[case.id])


def test_debug_shows_the_traceback(subprocess_outcomes):
    out = subprocess_outcomes["--debug"]
    assert out.rc != 0
    assert "Traceback (most recent call last)" in out.stderr
    assert "UserInputError" in out.stderr and "nosuchlaw" in out.stderr
