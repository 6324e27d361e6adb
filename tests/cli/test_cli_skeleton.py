"""The CLI shell: version, help, one-line argparse errors."""

import subprocess
import sys

import pytest

from scaling_theory.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "scaling-theory" in capsys.readouterr().out


def test_unknown_subcommand_is_one_line_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


@pytest.mark.subprocess
def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "scaling_theory", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "derive" in out.stdout


@pytest.mark.subprocess
def test_closed_pipe_is_quiet():
    # `scaling-theory bounds | head -1` must not print a BrokenPipeError traceback
    proc = subprocess.Popen([sys.executable, "-m", "scaling_theory", "bounds"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait()
    assert "Traceback" not in err
