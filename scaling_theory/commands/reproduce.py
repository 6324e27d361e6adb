"""`scaling-theory reproduce` (not implemented yet)."""

from __future__ import annotations

from theory.errors import UserInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("reproduce", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args) -> int:
    raise UserInputError("'reproduce' is not implemented yet")
