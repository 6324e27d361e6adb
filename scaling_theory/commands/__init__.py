"""One module per ``scaling-theory`` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
callable ``run(args) -> int``. Heavy imports happen inside ``run`` so ``--help`` stays fast.
"""

# order shown in ``scaling-theory --help``
COMMANDS = ("bounds", "derive", "allocate", "exponents", "latex", "check", "simulate", "fit", "plan", "design",
            "reproduce", "bench", "bayes")
