"""``python -m scaling_theory``: the same entry point as the ``scaling-theory`` command."""

import sys

from scaling_theory.cli import main

if __name__ == "__main__":   # importing the module (as the doctest walk does) must not run the CLI
    sys.exit(main())
