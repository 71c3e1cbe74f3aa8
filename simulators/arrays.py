"""Per-unit state held as a dataclass of numpy arrays, one entry per unit."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

import numpy as np

S = TypeVar("S")


def appended(state: S, more: S) -> S:
    """``state`` followed by the units of ``more``: every array field concatenated."""
    return type(state)(  # type: ignore[call-arg]
        *(np.concatenate((getattr(state, f.name), getattr(more, f.name))) for f in fields(state))  # type: ignore[arg-type]
    )
