"""How numbers and counts read in printed text: a leaf module for the CLI, summary and plots."""

from __future__ import annotations

import math

NOISE = 1e-9
"""Magnitudes below this print as 0: floating-point residue of sums, not a value [any unit]."""


def number(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, without float noise or exponents of large
    values: ``-1.388e-17`` -> ``0``, ``12510.3`` -> ``12510``, ``0.01234`` -> ``0.01234``."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) < NOISE:
        return "0"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 battery``, ``3 batteries``: ``n`` and the word in the right number."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
