"""`scaling-theory simulate` (not implemented yet)."""

from __future__ import annotations

from theory.errors import UserInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("simulate", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args) -> int:
    raise UserInputError("'simulate' is not implemented yet")
