"""`scaling-theory bench` (not implemented yet)."""

from __future__ import annotations

from theory.errors import UserInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser("bench", help="(not implemented yet)")
    parser.set_defaults(func=run)


def run(args) -> int:
    raise UserInputError("'bench' is not implemented yet")
