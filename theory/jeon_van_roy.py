"""The information-theoretic bound of Jeon & Van Roy as registered laws."""

from __future__ import annotations

LAWS: list = []
