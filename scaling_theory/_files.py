"""Atomic text output shared by ``reproduce`` and the ``latex`` command: never a half-written file."""

from __future__ import annotations

import os
import tempfile

from scaling_theory.errors import UserInputError


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file beside it and ``os.replace``.

    A missing folder, a directory in the way or an ``OSError`` while writing (read-only target,
    full disk) raises :class:`scaling_theory.errors.UserInputError`; the temporary file is always removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> target = pathlib.Path(tmp.name) / "out.txt"
    >>> write_atomic(target, "hello\\n")
    >>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
    ('hello\\n', ['out.txt'])
    >>> write_atomic(tmp.name, "x")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: cannot write '...': it is a directory (give a file name)
    >>> tmp.cleanup()
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserInputError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise UserInputError(f"cannot write {path!r}: it is a directory (give a file name)")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    except OSError as err:
        raise UserInputError(f"cannot write {path!r}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):  # e.g. a read-only target or a full disk: the user's to fix
            raise UserInputError(f"cannot write {path!r}: {err.strerror or err}") from None
        raise
