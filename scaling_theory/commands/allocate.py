"""`scaling-theory allocate` (not implemented yet)."""

from __future__ import annotations

from theory.errors import UserInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("allocate", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args) -> int:
    raise UserInputError("'allocate' is not implemented yet")
