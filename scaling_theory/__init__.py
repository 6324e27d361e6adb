"""scaling-theory: the public face of the toolkit (re-exports and the ``scaling-theory`` CLI).

Nothing in :mod:`theory`, :mod:`numeric` or :mod:`derivations` imports this package.
"""

from theory import __version__

__all__ = ["__version__"]
