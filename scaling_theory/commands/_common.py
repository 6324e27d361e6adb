"""Helpers shared by the subcommands: ``--json`` output, argument types, and the law arguments."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from scaling_theory.errors import UserInputError


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def emit(payload: dict[str, Any], text: str, as_json: bool) -> None:
    """Print ``payload`` as JSON or ``text`` for people."""
    if as_json:
        json.dump(payload, sys.stdout, indent=2, sort_keys=False, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0, "a non-negative integer")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def key_value(text: str) -> tuple[str, str]:
    """argparse type: ``name=value``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_law_arguments(parser: argparse.ArgumentParser) -> None:
    """NAME, or a user formula with --expr/--model/--data/--cost (shared by derive/allocate/latex)."""
    parser.add_argument("name", nargs="?", metavar="NAME", help="a registered law (see `bounds`)")
    parser.add_argument("--expr", help="a loss formula, e.g. 'E + A/N**alpha + B/D**beta'")
    parser.add_argument("--model", help="the model-size symbol of --expr, e.g. N")
    parser.add_argument("--data", help="the data-size symbol of --expr, e.g. D")
    parser.add_argument("--cost", help="the compute cost of --expr, e.g. '6*N*D'")


def law_from_args(args):
    """The law named by ``args.name`` or built from ``--expr/--model/--data/--cost``."""
    from scaling_theory.theory.registry import resolve

    if args.expr is None:
        for flag in ("model", "data", "cost"):
            if getattr(args, flag) is not None:
                raise UserInputError(f"--{flag} only goes with --expr")
        if args.name is None:
            raise UserInputError("give a law NAME or --expr EXPR --model SYM --data SYM --cost EXPR")
        return resolve(args.name).law
    if args.name is not None:
        raise UserInputError(f"give either a law NAME ({args.name!r}) or --expr, not both")
    missing = [f"--{f}" for f in ("model", "data", "cost") if getattr(args, f) is None]
    if missing:
        raise UserInputError(f"--expr needs {', '.join(missing)}")
    from scaling_theory.theory.user_law import law_from_formula

    return law_from_formula(args.expr, args.model, args.data, args.cost)
