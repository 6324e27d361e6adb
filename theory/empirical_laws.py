"""Empirical scaling laws (Chinchilla, Kaplan) as :class:`theory.laws.Law` objects."""

from __future__ import annotations

LAWS: list = []
