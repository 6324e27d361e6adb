"""Argument checks shared by the numeric layer (a leaf: imports only the error type).

Integers are integers: ``4.0`` and ``True`` are refused, NumPy integers are accepted, so the
teacher, the trainers and the CUDA kernels agree on what a valid count is.
"""

from __future__ import annotations

import numpy as np

from scaling_theory.errors import UserInputError

__all__ = ["positive_int", "nonnegative_int"]


def positive_int(value, what: str) -> int:
    """``value`` as an ``int`` >= 1, or a one-line :class:`UserInputError` naming ``what``.

    Examples
    --------
    >>> positive_int(np.int64(3), "d")
    3
    >>> positive_int(4.0, "d")
    Traceback (most recent call last):
    ...
    scaling_theory.errors.UserInputError: d must be a positive integer, got 4.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UserInputError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def nonnegative_int(value, what: str) -> int:
    """``value`` as an ``int`` >= 0, or a one-line :class:`UserInputError` naming ``what``.

    Examples
    --------
    >>> nonnegative_int(0, "samples")
    0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise UserInputError(f"{what} must be an integer >= 0, got {value!r}")
    return int(value)
