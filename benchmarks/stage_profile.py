"""Where the CPU time of ``reproduce``'s ``simulate`` stage goes: stream, students, evaluation, per round.

Usage::

    python benchmarks/stage_profile.py STORE [--json]

``STORE`` is the ``results.sqlite`` of a finished ``scaling-theory reproduce`` (default study).  Its
runs are split into the coarse pass (the runs of :meth:`SweepConfig.protocol`) and the refinement
(every other run, the widths the rounds added), grouped into tasks as the sweep groups them (one per
teacher and data stream), and each task is redone in this process, one part at a time: the data
stream drawn alone (``data_chunks``), the task's students trained on it (``train_chunks``), then the
evaluation and validation errors (``reducible_errors``).  It prints CPU seconds (``process_time``)
per part and round, and the total against the p*T each round counts.  Run it with
``NUMBA_NUM_THREADS=1`` (one thread, as a sweep worker) and a warm Numba cache.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", help="results.sqlite of a finished reproduce")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from scaling_theory.numeric.bayes.smc import teacher_arguments
    from scaling_theory.numeric.sim.error import reducible_errors
    from scaling_theory.numeric.sim.students import StudentConfig
    from scaling_theory.numeric.sim.teacher import data_chunks, sample_teacher
    from scaling_theory.numeric.sim.train_cpu import train_chunks
    from scaling_theory.numeric.sweep.config import SweepConfig
    from scaling_theory.numeric.sweep.runner import _group, _student_config
    from scaling_theory.numeric.sweep.store import Store

    config = SweepConfig.protocol()
    coarse = {r.config_hash for r in config.expand()[0]}
    with Store(args.store) as store:
        rows = store.rows()
    added: dict = {}
    for r in rows:
        if r["config_hash"] not in coarse:
            key = (int(r["d"]), int(r["K"]), str(r["teacher"]))
            added.setdefault(key, {}).setdefault(float(r["compute"]), set()).add(int(r["width"]))
    refined = config.with_widths({k: {C: sorted(w) for C, w in v.items()} for k, v in added.items()})
    stored = {r["config_hash"] for r in rows}
    runs = [r for r in refined.expand()[0] if r.config_hash in stored]
    if not runs:
        sys.stderr.write(f"stage_profile: {args.store} holds no run of the default study\n")
        return 2
    out = {}
    for name, part in (("coarse", [r for r in runs if r.config_hash in coarse]),
                       ("refinement", [r for r in runs if r.config_hash not in coarse])):
        cpu: Counter = Counter()
        for task in _group(part):
            first = task[0]
            teacher = sample_teacher(first.d, first.K, kind=first.kind, seed=first.teacher_seed,
                                     **teacher_arguments(first.kind, first.K, first.sigma))
            start = time.process_time()
            chunks = list(data_chunks(teacher, max(r.samples for r in task), seed=first.data_seed,
                                      with_logits=True))
            drawn = time.process_time()
            results = train_chunks(first.d, [_student_config(StudentConfig, r) for r in task],
                                   [r.samples for r in task], iter(chunks))
            trained = time.process_time()
            pairs = [(x.W, x.v) for x in results if x.status == "done"]
            for seed in (first.eval_seed, first.val_seed):
                if pairs and seed is not None:
                    reducible_errors(teacher, pairs, n_samples=first.eval_samples, seed=seed)
            cpu[f"stream {first.teacher}"] += drawn - start
            cpu["students"] += trained - drawn
            cpu["evaluation"] += time.process_time() - trained
        out[name] = {"runs": len(part), "pT": float(sum(r.params * r.samples for r in part)),
                     **{k: round(v, 2) for k, v in sorted(cpu.items())}, "total": round(sum(cpu.values()), 2)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, r in out.items():
            parts = ", ".join(f"{k} {v:.1f} s" for k, v in r.items() if k not in ("runs", "pT", "total"))
            print(f"{name}: {r['runs']} runs, {r['pT']:.3g} p*T: {parts}; total {r['total']:.1f} CPU-s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
