"""What the studies that run the default protocol in arms share (``optimizer_study.py``,
``precision_study.py``): their command-line options and one arm's run and analysis.

Imported by those scripts from their own folder (``python benchmarks/<study>.py`` puts it on the path).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def parser(doc: str) -> argparse.ArgumentParser:
    """The options every arm study takes: budgets, store, workers, bootstrap draws, JSON output."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--budgets", type=float, nargs="+", default=[1e5, 1e6, 1e7, 1e8])
    p.add_argument("--store", default=None, help="SQLite store (default: a temporary one)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--bootstrap", type=int, default=200)
    p.add_argument("--json", action="store_true")
    return p


def run_arm(overrides: Mapping[str, Any], store: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One arm: the protocol's grid at ``args.budgets`` with ``overrides``, coarse pass and refinement
    into ``store`` (resumable), analysed as ``reproduce`` does (``reproduce._arm_comparisons``).

    Returns ``config`` (refined), ``runs``, ``diverged``, ``seconds``, ``pT_per_s`` (sum p*T counted as
    configured per second of wall time; ``None`` for a resumed arm, which did not train its runs),
    ``analyses`` and ``comparisons``.
    """
    from scaling_theory.numeric.sweep.config import SweepConfig

    from scaling_theory.reproduce import _arm_comparisons, _simulate_refined

    base = SweepConfig.protocol().to_dict()
    grid = {k: v for k, v in base["grid"][0].items() if k != "name"}
    cfg = SweepConfig.from_dict({**grid, "budgets": list(args.budgets), "eval_samples": base["eval_samples"],
                                 **overrides})
    start = time.perf_counter()
    cfg, sweep, _ = _simulate_refined(cfg, store, progress=False, workers=args.workers, runner=None)
    seconds = time.perf_counter() - start
    analyses, comparisons = _arm_comparisons(cfg, store, args.bootstrap)
    return {"config": cfg, "runs": sweep.get("done", 0) + sweep.get("diverged", 0),
            "diverged": sweep.get("diverged", 0), "seconds": seconds,
            "pT_per_s": (sum(r.params * r.samples for r in cfg.expand()[0]) / seconds
                         if not sweep.get("already") else None),
            "analyses": analyses, "comparisons": comparisons}
