"""The safe output writer: each kind of target is handled without destroying what is there."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from scaling_theory._files import write_output
from scaling_theory.errors import UserInputError


def test_regular_file_is_replaced_and_keeps_its_mode(tmp_path):
    target = tmp_path / "out.tex"
    target.write_text("old")
    os.chmod(target, 0o604)
    inode = target.stat().st_ino
    write_output(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.stat().st_ino != inode  # replaced by rename, not truncated in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tex"]


def test_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_output(tmp_path / "a.txt", "x")
        os.umask(0o077)
        write_output(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o600


def test_symlink_is_written_through_and_kept(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "doc.tex"
    target.write_text("old")
    link = tmp_path / "link.tex"
    link.symlink_to(target)
    write_output(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.tex", "real"]


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.tex"
    link.symlink_to(tmp_path / "later.tex")
    write_output(link, "made")
    assert link.is_symlink() and (tmp_path / "later.tex").read_text() == "made"


def test_fifo_is_written_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    write_output(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod of a device needs root")
def test_character_device_is_written_not_replaced(tmp_path):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
    write_output(node, "discarded")
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_directory_is_refused_with_one_line(tmp_path):
    with pytest.raises(UserInputError, match="it is a directory") as err:
        write_output(tmp_path, "x")
    assert "\n" not in str(err.value)


def test_missing_folder_and_read_only_folder(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        write_output(tmp_path / "nope" / "a.txt", "x")
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        with pytest.raises(UserInputError, match="cannot write"):
            write_output(ro / "a.txt", "x")
    finally:
        os.chmod(ro, 0o700)


@pytest.mark.subprocess
def test_latex_to_dev_stdout_prints():
    out = subprocess.run(
        [sys.executable, "-m", "scaling_theory.cli", "latex", "chinchilla", "-o", "/dev/stdout"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "\\frac" in out.stdout or "=" in out.stdout
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
