"""Sweep throughput, this tree against an earlier commit, side by side in one run.

Usage::

    python benchmarks/sweep_speed.py [--baseline REV] [--budgets 1e6 1e7] [--rounds 2]

The workload is a slice of the default study (:meth:`SweepConfig.protocol`): for each teacher
kind (Dirichlet-process and finite, d = 8, K = 32) and each budget, one IsoFLOP row of 9 widths x
4 learning rates, seed 0, trained and evaluated by the sweep's runner (``train_runs``) exactly as a
sweep worker does it (one process, ``NUMBA_NUM_THREADS=1``).  The same runs are timed with the code
of ``REV`` (unpacked with ``git archive`` into a temporary folder) and with this tree, alternately,
each in a fresh subprocess after a compile warm-up; the figure is sum p*T per second of wall time
(and per second of the child's CPU time, all its threads: the data stream is drawn in a second
thread).  Other processes on the machine slow both sides alike, so read the ratio, not the
absolute rates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time
from dataclasses import fields
from scaling_theory.numeric.sweep.config import RunSpec
from scaling_theory.numeric.sweep.runner import train_runs
specs = json.load(open(sys.argv[1]))
names = {f.name for f in fields(RunSpec)}
rows = [[RunSpec(**{k: v for k, v in r.items() if k in names}) for r in row] for row in specs]
train_runs([rows[0][0]])                     # compile outside the timing
train_runs(rows[0][:2])
start, cpu = time.perf_counter(), time.process_time()
for row in rows:
    out = train_runs(row)
    assert all(o["status"] in ("done", "diverged") for o in out)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu,
                  "pT": sum(r.params * r.samples for row in rows for r in row)}))
"""


def _baseline_tree(rev: str, into: Path) -> Path:
    """The package of ``rev`` laid out as an importable ``scaling_theory`` under ``into``."""
    archive = into / "src.tar"
    with open(archive, "wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=fh, check=True)
    src = into / "src"
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    pkg = into / "pkg"
    (pkg).mkdir()
    # the installed layout: theory/, numeric/, derivations/ live inside scaling_theory
    target = pkg / "scaling_theory"
    target.mkdir()
    for item in (src / "scaling_theory").iterdir():
        os.symlink(item, target / item.name)
    for sub in ("theory", "numeric", "derivations"):
        if (src / sub).exists():
            os.symlink(src / sub, target / sub)
    return pkg


def _current_tree(into: Path) -> Path:
    pkg = into / "cur"
    target = pkg / "scaling_theory"
    target.mkdir(parents=True)
    for item in (ROOT / "scaling_theory").iterdir():
        os.symlink(item, target / item.name)
    for sub in ("theory", "numeric", "derivations"):
        os.symlink(ROOT / sub, target / sub)
    return pkg


def _workload(budgets) -> list[list[dict]]:
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import _group

    base = SweepConfig.protocol().to_dict()["grid"][0]
    base.update(budgets=list(budgets), seeds=[0])
    base.pop("name")
    runs, _ = SweepConfig.from_dict({**base, "eval_samples": SweepConfig.protocol().eval_samples}).expand()
    out = []
    for row in _group(runs):
        out.append([{k: getattr(r, k) for k in r.__dataclass_fields__} for r in row])
    return out


def _time(pkg: Path, spec: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(pkg), "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(spec)], env=env, capture_output=True,
                          text=True, cwd=str(pkg))
    if proc.returncode:
        raise SystemExit(f"benchmark child failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="7b3caf7",
                        help="git revision to compare with (default: the tree before the batched sweep)")
    parser.add_argument("--budgets", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = tmp / "runs.json"
        rows = _workload(args.budgets)
        spec.write_text(json.dumps(rows))
        old, new = _baseline_tree(args.baseline, tmp), _current_tree(tmp)
        rates = {"baseline": [], "current": []}
        cpu_rates = {"baseline": [], "current": []}
        for _ in range(args.rounds):
            for name, pkg in (("baseline", old), ("current", new)):
                r = _time(pkg, spec)
                rates[name].append(r["pT"] / r["seconds"])
                cpu_rates[name].append(r["pT"] / r["cpu_seconds"])
                print(f"{name:9s} {r['pT']:.3g} p*T in {r['seconds']:.2f} s ({r['cpu_seconds']:.2f} s CPU): "
                      f"{rates[name][-1]:.3g} p*T/s", flush=True)
    b, c = statistics.median(rates["baseline"]), statistics.median(rates["current"])
    bc, cc = statistics.median(cpu_rates["baseline"]), statistics.median(cpu_rates["current"])
    print(json.dumps({"baseline": args.baseline, "runs": sum(len(r) for r in rows),
                      "baseline_pT_per_s": b, "current_pT_per_s": c, "ratio": c / b,
                      "baseline_pT_per_cpu_s": bc, "current_pT_per_cpu_s": cc, "cpu_ratio": cc / bc}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
