import sys

from scaling_theory.cli import main

sys.exit(main())
