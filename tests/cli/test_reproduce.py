"""`scaling-theory reproduce --quick`: the whole pipeline writes every file; reruns resume."""

import json
import re
import shutil
import subprocess

import pytest


from scaling_theory.cli import main
from scaling_theory.numeric.sweep.store import Store
from scaling_theory.reproduce import reproduce


@pytest.mark.slow
def test_reproduce_quick_writes_every_file_and_resumes(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet", "--bootstrap", "20",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for name in ("report.md", "report.tex", "results.sqlite"):
        assert (out / name).stat().st_size > 0, name
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {"isoflop.png", "frontier.png", "compute_width.png", "compute_n_star.png", "lr_sensitivity.png"} <= set(figures)
    assert sorted(p.rsplit("/", 1)[-1] for p in result["figures"]) == figures
    md = (out / "report.md").read_text()
    tex = (out / "report.tex").read_text()
    # the report opens with its findings, then numbers its own sections in order
    assert md.splitlines()[2] == "## Summary"
    summary = md.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "headline estimator" in summary and "Is the bound informative" in summary and "Caveats:" in summary
    assert 5 <= summary.count("\n- ") <= 10
    numbered = re.findall(r"^## (\d+)\. ", md, re.MULTILINE)
    assert numbered == [str(i + 1) for i in range(len(numbered))] and len(numbered) >= 8
    for section in ("Theory", "Simulation", "Theory against experiment", "Chinchilla's approaches on the same cells",
                    "Learning rates, widths and divergence", "The compute study: the learner the bound is about",
                    "Figures", "Caveats"):
        assert re.search(rf"^## \d+\. {re.escape(section)}$", md, re.MULTILINE), section
    for section in ("### Estimators side by side", "### Best learning rate per model size",
                    "### Diverged runs by learning rate"):
        assert section in md
    # one error definition: the headline rows, the summary line and the fits all read the online KL
    assert {r["error_kind"] for r in result["comparisons"]} == {"time-averaged online KL"}
    assert all("online KL" in r["lr_choice"] for r in result["comparisons"])
    head = {r["teacher"]: r for r in result["headline"]}
    for fit in result["fits"]:
        a3 = fit["approaches"]["3"]
        mine = [r for r in head.values() if r["kind"] == fit["kind"]]
        if a3["ok"] and mine[0]["exponent"] is not None:   # approach 3 of the fits is the headline estimator
            assert a3["a"] == pytest.approx(mine[0]["exponent"], rel=1e-6, abs=1e-9)
    # the stage times add up to the total
    seconds = result["seconds"]
    assert sum(v for k, v in seconds.items() if k != "total") == pytest.approx(seconds["total"], rel=1e-6)
    assert {"theory", "simulate", "protocol", "fit", "compare", "figures", "bayes", "exponent_map", "figures_lr", "report",
            "other"} <= set(seconds)
    # a trend figure with one value on its axis is not drawn, and the report says so
    assert not (out / "figures" / "share_vs_d.png").exists()
    assert "the figure `share_vs_d.png` is not drawn" in md and "the figure `share_vs_K.png` is not drawn" in md
    # the diverged runs are counted, per teacher and rate
    assert any(n for by_lr in result["diverged"].values() for n, _ in by_lr.values())
    # the LaTeX report compiles and fits the page (skipped without pdflatex)
    if shutil.which("pdflatex"):
        log = _compile(out / "report.tex")
        boxes = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
        assert max(boxes, default=0) < 5, boxes
    assert "p* ~ C^" not in tex and r"$p^* \propto C^" in tex  # formulas set as math
    # the training protocol is stated, from the sweep's own grids
    assert ("Training: single-pass SGD, batch size 1, muP parametrisation (base width 1), float32 weights, "
            "rate lr0/(1 + t/t0) "
            "with t0 in {1000} and lr0 in {0.03, 0.1, 0.3, 1}") in md
    assert result["sweep"]["training"].startswith("single-pass SGD")
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    for text in (md, tex):  # never a silent NaN
        assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind
    done = result["sweep"]["store_counts"]["done"]
    assert done > 0 and result["sweep"]["done"] == done
    finished = done + result["sweep"]["store_counts"]["diverged"]  # the largest learning rate may diverge
    assert {"total", "simulate"} <= set(result["seconds"]) and result["throughput"] > 0
    # the rate per sweep call: the coarse pass then each refinement round, adding up to the stage's
    rounds = result["throughput_rounds"]
    assert [r["round"] for r in rounds] == ["coarse"] + [f"refinement {i + 1}"
                                                        for i in range(result["refinement"]["rounds"])]
    with Store(out / "results.sqlite") as store:
        stored = sum(r["params"] * r["samples"] for r in store.rows(("done", "diverged")))
    assert sum(r["pT"] for r in rounds) == pytest.approx(stored, rel=1e-12)
    assert result["throughput"] == pytest.approx(stored / result["seconds"]["simulate"], rel=1e-12)
    assert sum(r["runs"] for r in rounds) == finished
    assert all(r["throughput"] == pytest.approx(r["pT"] / r["seconds"]) for r in rounds if r["runs"])
    assert sum(r["seconds"] for r in rounds) <= result["seconds"]["simulate"]
    assert "Speed: " in md and "coarse " in md
    study = result["compute_study"]                  # the restricted Bayes learner, SGD and every route
    assert [t["teacher"] for t in study["teachers"]] == ["dp", "finite", "pitman-yor"]
    py = study["teachers"][2]                        # its discount, and where its data teachers' sticks were cut
    assert py["sigma"] == 0.5 and py["teacher_atoms"] > 0 and py["teacher_dropped_share"] == 1e-6
    emap = result["exponent_map"]                    # the measured exponents attached to their discounts
    measured = {r["sigma"]: r["measured"] for r in emap["pitman_yor"]["rows"]}
    assert measured[0.0]["bayes"] == study["teachers"][0]["exponents"]["bayes"]
    assert measured[0.5]["bayes"] == py["exponents"]["bayes"] and measured[0.25] is None
    assert all(r["measured"]["bayes"] == study["teachers"][1]["exponents"]["bayes"] for r in emap["finite"]["rows"])
    assert "exponent_map.png" in figures and "The exponent map: which teachers" in md
    for t in study["teachers"]:
        assert len(t["budgets"]) >= 2 and set(t["verdicts"]) == {r for r in t["exponents"] if r not in ("bayes", "sgd")}
        assert len(t["exponents"]["bayes"]) == 3 and len(t["exponents"]["sgd"]) == 3
        for b in t["budgets"]:
            assert b["bound_holds"] is True and b["bound_cells_checked"] > 0 and b["n_star"] in b["widths"]
            assert set(b["routes"]) == set(t["verdicts"]) and all(e > 0 for e in b["bayes_error"])
            assert len(b["sgd_error"]) == len(b["widths"]) and b["sgd_n_star"] in b["widths"]
    assert {v for t in study["teachers"] for v in t["verdicts"].values()} <= {"agrees", "disagrees", "inconclusive"}
    assert "The compute study: the learner the bound is about" in md
    rows = result["comparisons"]
    assert {r["estimator"] for r in rows} == {"best-sampled", "parabola-all", "parabola-local", "approach-3"}
    assert any("infinite" in r["teacher"] for r in rows) and any("finite teacher" in r["teacher"] for r in rows)
    assert "infinite" in rows[0]["teacher"]          # the paper's setting first
    assert "| teacher | estimator | a [95% CI] | a, final-weights KL | a, lr on validation |" in md
    assert result["lr_optima"] and result["refinement"]["rounds"] >= 0
    for r in rows:
        assert r["verdict"] in ("agrees", "disagrees", "inconclusive") and r["error_kind"]
        assert r["error_kind"] in ("time-averaged online KL", "final-weights KL")
        assert r["bound_exponent"] is not None
        if r["verdict"] != "inconclusive":
            assert r["ci"][1] - r["ci"][0] <= 0.15

    # a rerun resumes from the store: nothing run again, nothing duplicated (checks skipped for time)
    again = reproduce(out, quick=True, progress=False, bootstrap=10, checks=False).to_json()
    assert again["sweep"]["done"] == 0 and again["sweep"]["already"] == finished
    assert again["sweep"]["store_counts"]["done"] == done
    assert again["throughput"] is None                # nothing simulated: no rate
    assert all(r["throughput"] is None and r["runs"] == 0 for r in again["throughput_rounds"])
    assert "checks skipped" in (out / "report.md").read_text()


def _compile(tex_path) -> str:
    """pdflatex's log of ``tex_path``, compiled in its folder (fails on a LaTeX error)."""
    out = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path.name],
                         cwd=tex_path.parent, capture_output=True, text=True, timeout=300)
    log = tex_path.with_suffix(".log").read_text(errors="replace")
    assert out.returncode == 0, "\n".join(line for line in log.splitlines() if line.startswith("!"))
    return log


def test_reproduce_out_is_a_file_is_one_line_error(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["reproduce", "--quick", "--out", str(target), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err and err.count("\n") == 1
    assert target.read_text() == "x"


def test_reproduce_report_path_is_a_directory_is_refused_up_front(tmp_path, capsys):
    (tmp_path / "report.md").mkdir()
    assert main(["reproduce", "--quick", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "report.md" in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # refused before any work


# -- width refinement, comparisons and the report's protocol tables (synthetic runs, no training) --------

import importlib  # noqa: E402

from scaling_theory.numeric.sweep.config import SweepConfig  # noqa: E402
from scaling_theory.numeric.sweep.runner import synthetic_runner  # noqa: E402

_rep = importlib.import_module("scaling_theory.reproduce")


def _online_runner(runs):
    """The synthetic law plus the time-averaged online KL a real trainer stores beside ``error``."""
    out = synthetic_runner(runs)
    for o in out:
        if o["status"] == "done":
            o["metrics"].update(online_kl=1.5 * o["error"], online_kl_se=0.015 * o["error"], val_error=o["error"])
    return out


def _small_protocol():
    return SweepConfig.from_dict({"d": [4], "K": [8], "kind": ["dp", "finite"], "budgets": [1e4, 1e5, 1e6],
                                  "widths_per_budget": 5, "p_over_sqrt_c": [0.05, 0.5], "seeds": [0, 1],
                                  "lr": [0.1], "eval_samples": 200})


def test_refinement_brackets_every_minimum_and_a_rerun_adds_nothing(tmp_path):
    store = tmp_path / "r.sqlite"
    config, sweep, record = _rep._simulate_refined(_small_protocol(), store, progress=False, workers=1,
                                                   runner=_online_runner)
    assert record["rounds"] >= 1 and record["added"]
    assert sweep["done"] == sweep["store_counts"]["done"] == len(config.expand()[0]) and sweep["already"] == 0
    for key, part in _rep._rows_by_teacher(config, store).items():
        from scaling_theory.numeric.analysis.protocol import brackets, cell_table

        br = brackets(cell_table(part))
        stuck = record["unbracketable"].get(_rep._teacher_label(key), {})
        assert all(b["bracketed"] or f"{C:g}" in stuck for C, b in br.items())
    again_config, again, again_record = _rep._simulate_refined(_small_protocol(), store, progress=False,
                                                               workers=1, runner=_online_runner)
    speed, again_speed = record.pop("speed"), again_record.pop("speed")
    assert again["done"] == 0 and again_record == record and again_config.size() == config.size()
    # the same rounds again, each training nothing, so without a rate
    assert [r["round"] for r in again_speed] == [r["round"] for r in speed]
    assert all(r["runs"] == 0 and r["pT"] == 0 and r["throughput"] is None for r in again_speed)
    assert sum(r["runs"] for r in speed) == sweep["done"] + sweep.get("diverged", 0)
    assert again["already"] == again["store_counts"]["done"] + again["store_counts"].get("diverged", 0)


def test_comparisons_use_online_kl_and_say_inconclusive_where_a_minimum_is_not_bracketed(tmp_path):
    store = tmp_path / "r.sqlite"
    config, _, record = _rep._simulate_refined(_small_protocol(), store, progress=False, workers=1,
                                               runner=_online_runner)
    analyses, chosen = _rep._protocol(config, store, 20)
    assert chosen
    theory = {key: {"a_local": 0.5, "law": "x"} for key in analyses}
    rows = _rep._comparisons(analyses, theory, record["unbracketable"])
    assert {r["error_kind"] for r in rows} == {"time-averaged online KL"}
    key = next(iter(analyses))
    analyses[key]["unbracketed"] = [1e4]
    rows = _rep._comparisons(analyses, theory, {_rep._teacher_label(key): {"10000": "no narrower width"}})
    mine = [r for r in rows if r["teacher"] == _rep._teacher_label(key)]
    assert all(r["verdict"] == "inconclusive" for r in mine)
    assert all("C = 10000 (no narrower width)" in r["note"] for r in mine)


def test_report_carries_the_comparison_table_and_learning_rate_optima():
    from scaling_theory.report import _protocol_blocks, to_latex, to_markdown

    class R:
        comparisons = [{"teacher": "infinite-width (Dirichlet-process) teacher d=8 K=32", "estimator": "parabola-all",
                        "exponent": 0.31, "ci": [0.25, 0.37], "bound_exponent": 0.48,
                        "error_kind": "time-averaged online KL", "verdict": "disagrees", "note": ""},
                       {"teacher": "finite teacher d=8 K=32", "estimator": "best-sampled", "exponent": None,
                        "ci": None, "bound_exponent": 0.41, "error_kind": "time-averaged online KL",
                        "verdict": "inconclusive", "note": "minimum not bracketed at C = 1e+08"}]
        refinement = {"rounds": 1, "added": {"finite teacher d=8 K=32": {"1e+06": [11, 22]}}, "unbracketable": {}}
        lr_optima = [{"teacher": "finite teacher d=8 K=32", "C": 1e6, "best": {"18": 0.3, "144": 0.1},
                      "stable": True, "spread_steps": 1}]

        diverged = {"finite teacher d=8 K=32": {"0.3": [0, 40], "1": [38, 40]}}

    md = to_markdown(_protocol_blocks(R()))
    assert ("| teacher | estimator | a [95% CI] | a, final-weights KL | a, lr on validation | bound a (route) | "
            "verdict |") in md
    assert "| infinite-width d=8 K=32 | parabola-all | 0.31 [0.25, 0.37] | - | - | 0.48 (law) | disagrees |" in md
    assert "not enough data to fit" in md and "minimum not bracketed at C = 1e+08" in md
    assert "C = 1e+06: widths n = 11, 22" in md and "18: 0.3, 144: 0.1" in md
    assert "| finite d=8 K=32 | 1 | 38 / 40 |" in md
    assert "disagrees" in to_latex(_protocol_blocks(R()))


_SIGNATURES = r"""
import json, sys
from numba.core.registry import CPUDispatcher
from scaling_theory.numeric.bayes import kernels as bayes_kernels, smc
from scaling_theory.numeric.analysis.compute_study import compute_study
from scaling_theory.numeric.bayes.study import SETTINGS
from scaling_theory.numeric.sim import error, kernels, teacher, train_cpu
from scaling_theory.numeric.sweep.config import SweepConfig
from scaling_theory.numeric.sweep.runner import _group, train_runs
from scaling_theory.reproduce import _warm_kernels

def signatures():
    return {f"{m.__name__}.{k}": sorted(map(str, v.signatures))
            for m in (error, kernels, teacher, train_cpu, bayes_kernels, smc)
            for k, v in vars(m).items() if isinstance(v, CPUDispatcher)}

_warm_kernels("simulate", True)
_warm_kernels("bayes", True)
warm = signatures()
task = _group([r for r in SweepConfig.protocol(quick=True).expand()[0] if r.compute == 1e5])[0]
train_runs(task)                     # a real task of the study, as a sweep worker runs it
for kind in ("dp", "finite", "pitman-yor"):  # and the default compute study at its smallest budget
    s = SETTINGS["default"][kind]
    compute_study(kind, s["d"], s["K"], s["budgets"][:1], s["widths"][:3], teachers=2, particles=100, bootstrap=2,
                  sigma=s.get("sigma"))
print(json.dumps({"warm": warm, "task": signatures(), "runs": len(task)}))
"""


@pytest.mark.subprocess
def test_the_warmups_compile_every_kernel_signature_the_stages_use():
    # reproduce compiles the simulator in a child process during the derivation checks; that only
    # helps if the workers then find every kernel they call in Numba's cache
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _SIGNATURES], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["runs"] > 2 and out["warm"]["scaling_theory.numeric.sim.train_cpu._train_chunk"]
    assert any(k.startswith("scaling_theory.numeric.bayes") and v for k, v in out["warm"].items())
    assert out["task"] == out["warm"]  # the real task and the Bayes section compiled nothing new


def test_no_warmup_for_a_custom_runner():
    from scaling_theory.reproduce import _start_warmup

    assert _start_warmup("simulate", True, runner=lambda runs: []) is None


# -- the quick and the default study keep apart; the summary line quotes the headline estimator ------------

from scaling_theory.errors import UserInputError  # noqa: E402
from scaling_theory.numeric.sweep.runner import run_sweep  # noqa: E402


def test_quick_and_default_studies_have_their_own_folders():
    assert _rep.default_out(True) != _rep.default_out(False) == _rep.DEFAULT_OUT == "reproduce-out"


def test_a_store_of_the_other_study_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "reproduce-out"
    out.mkdir()
    (out / "report.md").write_text("the default study's report")
    quick = SweepConfig.protocol(quick=True)
    quick = SweepConfig.from_dict({**quick.to_dict(), "budgets": [1e4]})
    run_sweep(quick, out / "results.sqlite", executor="serial", progress=False, runner=_online_runner)
    with Store(out / "results.sqlite") as store:
        before = len(store)
    with pytest.raises(UserInputError, match=r"runs of the quick study \(reproduce --quick\).*reproduce-out\)$"):
        reproduce(out, progress=False, checks=False)          # the default study into the quick one's store
    with Store(out / "results.sqlite") as store:
        assert len(store) == before                           # nothing added
    assert (out / "report.md").read_text() == "the default study's report" and not (out / "figures").exists()
    # another sweep's store is refused too, in one line naming it
    other = tmp_path / "other"
    other.mkdir()
    run_sweep(SweepConfig.quick(), other / "results.sqlite", executor="serial", progress=False,
              runner=synthetic_runner)
    with pytest.raises(UserInputError, match="runs of another sweep"):
        reproduce(other, quick=True, progress=False, checks=False)


def test_the_cli_refuses_a_mixed_store_in_one_line(tmp_path, capsys):
    out = tmp_path / "mixed"
    out.mkdir()
    run_sweep(SweepConfig.quick(), out / "results.sqlite", executor="serial", progress=False,
              runner=synthetic_runner)
    assert main(["reproduce", "--quick", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "runs of another sweep" in err and err.count("\n") == 1


def test_summary_line_leads_with_the_headline_estimator(monkeypatch, capsys):
    from scaling_theory.commands import reproduce as command

    rows = [{"teacher": "t", "estimator": e, "exponent": 0.3, "ci": [0.2, 0.4], "bound_exponent": 0.4,
             "bound_route": ["maurey"], "verdict": "inconclusive"} for e in ("best-sampled", "approach-3")]

    class Fake:
        report_md, report_tex, store, figures, seconds = "r.md", "r.tex", "s.sqlite", [], 1.0
        checks = {"message": "ok"}
        comparisons, throughput, refinement = rows, None, {}

        def to_json(self):
            return {}

    monkeypatch.setattr("scaling_theory.reproduce.reproduce", lambda *a, **k: Fake())
    assert main(["reproduce", "--quick", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    verdicts = [line for line in lines if " a = " in line]
    assert verdicts[0].startswith("headline: t, approach-3: a = 0.300 [0.200, 0.400] vs bound 0.400 (maurey)")
    assert not any(line.startswith("approach 2") for line in lines)
