"""The ``scaling-theory`` command line.

User mistakes raise :class:`scaling_theory.errors.UserInputError` (or are argparse errors) and end as one
line on stderr with exit status 2; anything else is a bug and keeps its traceback (always shown with
``--debug``). Ctrl-C exits with status 130 and a one-line message.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from scaling_theory._version import __version__
from scaling_theory.errors import UserInputError
from scaling_theory.commands import COMMANDS

PROG = "scaling-theory"


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (no usage block), exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse hook
        sys.stderr.write(f"{self.prog}: error: {' '.join(message.split())}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    sub.required = True
    for name in COMMANDS:
        module = importlib.import_module(f"scaling_theory.commands.{name}")
        module.register(sub)
    return parser


def _printable_streams() -> None:
    """Let stdout and stderr print any text in any locale encoding (``PYTHONIOENCODING=ascii``, a C
    locale, a file name with undecodable bytes): what the encoding cannot show is escaped
    (``\\xfc``, ``\\udcff``) instead of raising UnicodeEncodeError after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) != "backslashreplace":
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a closed or exotic stream
                pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _printable_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserInputError as err:
        if args.debug:
            raise
        sys.stderr.write(f"{PROG} {args.command}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        sys.stderr.write(f"{PROG} {args.command}: interrupted\n")
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
