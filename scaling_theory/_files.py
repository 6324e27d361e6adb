"""Safe output for every file the toolkit writes (``latex -o``, reports, figures, exports).

:func:`write_output` never destroys what it does not own:

- a regular file is replaced atomically (temporary file beside it, then ``os.replace``) and keeps
  its mode;
- a symlink is resolved and its target written the same way; the link stays a link;
- a character device, FIFO, socket or anything else that is not a regular file (and every path
  under ``/dev`` or ``/proc``, such as ``/dev/stdout``) is opened and written directly, never
  replaced;
- a directory is refused with one line;
- a new file gets the mode the umask gives (``0644`` under umask ``022``), not ``mkstemp``'s 0600.

Every failure (missing folder, read-only target, full disk) is a one-line
:class:`scaling_theory.errors.UserInputError`; a temporary file is always removed.
"""

from __future__ import annotations

import os
import stat
import tempfile

from scaling_theory.errors import UserInputError

__all__ = ["write_output", "write_atomic"]

_DIRECT_PREFIXES = ("/dev/", "/proc/")


def _umask_mode() -> int:
    """The mode a new file gets under the process umask (``0o666 & ~umask``)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _fail(path: str, err: OSError) -> UserInputError:
    return UserInputError(f"cannot write {path!r}: {err.strerror or err}")


def _write_direct(path: str, data: bytes) -> None:
    """Write into an existing non-regular file (device, FIFO) without replacing it."""
    try:
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
    except OSError as err:
        raise _fail(path, err) from None


def _replace(path: str, shown: str, data: bytes, mode: int) -> None:
    """Atomically replace (or create) the regular file ``path`` with ``data`` and ``mode``."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserInputError(f"cannot write {shown!r}: folder {folder!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    except OSError as err:
        raise _fail(shown, err) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):  # e.g. a read-only folder or a full disk: the user's to fix
            raise _fail(shown, err) from None
        raise


def write_output(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` without destroying what is there.

    Parameters
    ----------
    path : str or os.PathLike
        The target. A regular file is replaced atomically keeping its mode; a symlink is followed
        and its target replaced (the link kept); a device, FIFO or a path under ``/dev`` or
        ``/proc`` is written directly; a directory is refused.
    data : str or bytes
        The content; ``str`` is encoded as UTF-8.

    Raises
    ------
    scaling_theory.errors.UserInputError
        The target is a directory, its folder is missing, or the system refused the write.

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> from scaling_theory._files import write_output
    >>> tmp = tempfile.TemporaryDirectory()
    >>> target = pathlib.Path(tmp.name) / "out.txt"
    >>> write_output(target, "hello\\n")
    >>> os.chmod(target, 0o640)
    >>> link = pathlib.Path(tmp.name) / "link.txt"
    >>> link.symlink_to(target)
    >>> write_output(link, "again\\n")
    >>> link.is_symlink(), target.read_text(), oct(target.stat().st_mode & 0o777)
    (True, 'again\\n', '0o640')
    >>> sorted(p.name for p in target.parent.iterdir())
    ['link.txt', 'out.txt']
    >>> write_output(tmp.name, "x")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: cannot write '...': it is a directory (give a file name)
    >>> tmp.cleanup()
    """
    shown = os.fspath(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    try:
        st = os.stat(shown)  # follows symlinks
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise _fail(shown, err) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UserInputError(f"cannot write {shown!r}: it is a directory (give a file name)")
    if st is not None and not stat.S_ISREG(st.st_mode):
        _write_direct(shown, payload)  # character device, FIFO, socket: never replaced
        return
    if os.path.abspath(shown).startswith(_DIRECT_PREFIXES):
        _write_direct(shown, payload)  # /dev/stdout redirected to a file: the shell owns that file
        return
    real = os.path.realpath(shown)  # a symlink (even a dangling one) is written through
    mode = stat.S_IMODE(st.st_mode) if st is not None else _umask_mode()
    _replace(real, shown, payload, mode)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` safely; the former name of :func:`write_output`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from scaling_theory._files import write_atomic
    >>> tmp = tempfile.TemporaryDirectory()
    >>> target = pathlib.Path(tmp.name) / "out.txt"
    >>> write_atomic(target, "hello\\n")
    >>> target.read_text()
    'hello\\n'
    >>> tmp.cleanup()
    """
    write_output(path, text)
