"""`scaling-theory fit` (not implemented yet)."""

from __future__ import annotations

from theory.errors import UserInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("fit", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args) -> int:
    raise UserInputError("'fit' is not implemented yet")
