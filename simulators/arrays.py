"""Per-unit state held as a dataclass of numpy arrays, one entry per unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any, TypeVar

import numpy as np

S = TypeVar("S")


def appended(state: S, more: S) -> S:
    """``state`` followed by the units of ``more``: every array field concatenated."""
    return type(state)(  # type: ignore[call-arg]
        *(np.concatenate((getattr(state, f.name), getattr(more, f.name))) for f in fields(state))  # type: ignore[arg-type]
    )


def column(units: Sequence[Any], name: str, dtype: type = np.float64) -> np.ndarray:
    """The parameter ``name`` of every unit, as one array in unit order."""
    return np.array([getattr(u, name) for u in units], dtype=dtype)
