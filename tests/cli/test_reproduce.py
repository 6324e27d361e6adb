"""`scaling-theory reproduce --quick`: the whole pipeline writes every file; reruns resume."""

import pytest
import json
import re


from scaling_theory.cli import main
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
    assert {"isoflop.png", "frontier.png", "bayes_error.png"} <= set(figures)
    assert sorted(p.rsplit("/", 1)[-1] for p in result["figures"]) == figures
    md = (out / "report.md").read_text()
    tex = (out / "report.tex").read_text()
    for section in ("## 1. Theory", "## 2. Simulation", "## 3. Fits", "## 4. Theory against experiment",
                    "## 5. The Bayes-optimal error"):
        assert section in md
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    for text in (md, tex):  # never a silent NaN
        assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind
    done = result["sweep"]["store_counts"]["done"]
    assert done > 0 and result["sweep"]["done"] == done
    finished = done + result["sweep"]["store_counts"]["diverged"]  # the largest learning rate may diverge
    assert {"total", "simulate"} <= set(result["seconds"]) and result["throughput"] > 0
    bayes = result["bayes"]                          # L_T by SMC beside the bound and SGD, both teachers
    assert {r["teacher"] for r in bayes} == {"infinite", "finite"} and len({r["T"] for r in bayes}) >= 2
    for r in bayes:
        assert 0 < r["error"] < r["bound"] and r["holds"] is True and r["sgd_error"] > 0
    rows = result["comparisons"]
    assert {r["estimator"] for r in rows} == {"best-sampled", "parabola-all", "parabola-local", "approach-3"}
    assert any("infinite" in r["teacher"] for r in rows) and any("finite teacher" in r["teacher"] for r in rows)
    assert "infinite" in rows[0]["teacher"]          # the paper's setting first
    for r in rows:
        assert r["verdict"] in ("agrees", "disagrees", "inconclusive") and r["error_kind"]
        assert r["bound_exponent"] is not None
        if r["verdict"] != "inconclusive":
            assert r["ci"][1] - r["ci"][0] <= 0.15

    # a rerun resumes from the store: nothing run again, nothing duplicated (checks skipped for time)
    again = reproduce(out, quick=True, progress=False, bootstrap=10, checks=False).to_json()
    assert again["sweep"]["done"] == 0 and again["sweep"]["already"] == finished
    assert again["sweep"]["store_counts"]["done"] == done
    assert again["throughput"] is None                # nothing simulated: no rate
    assert "checks skipped" in (out / "report.md").read_text()


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
