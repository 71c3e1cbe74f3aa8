"""What every mosaik adapter in cosim shares: attribute declarations, meta, inputs, outputs.

A leaf module (it imports only ``cosim.errors``), so ``simulators/`` and
``controllers/`` may use it without reaching up into the framework.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.errors import unknown

API_VERSION = "3.0"


@dataclass(frozen=True)
class Attr:
    """One exchanged attribute: its name ends with its unit."""

    name: str
    unit: str
    doc: str


def model_meta(
    attrs: Iterable[Attr],
    *,
    params: Iterable[str] = (),
    public: bool = True,
    any_inputs: bool = False,
) -> dict[str, Any]:
    """The mosaik meta of one model, built from its attribute declarations."""
    return {
        "public": public,
        "params": list(params),
        "attrs": [a.name for a in attrs],
        "any_inputs": any_inputs,
    }


def sim_meta(models: Mapping[str, dict[str, Any]], *, kind: str = "time-based") -> dict[str, Any]:
    """The mosaik meta of a simulator with the given models."""
    return {"api_version": API_VERSION, "type": kind, "models": dict(models)}


def parse_params(
    given: Mapping[str, Any], defaults: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """``defaults`` updated with ``given``; a key not in ``defaults`` is a ConfigError listing them.

    Lets adapters keep mosaik's ``init(sid, time_resolution, **sim_params)`` and
    ``create(num, model, **model_params)`` signatures and still refuse a misspelled parameter.
    """
    for key in given:
        if key not in defaults:
            raise unknown(f"{what} parameter", key, list(defaults))
    return {**defaults, **given}


def summed(values: Mapping[str, Any]) -> float:
    """Sum the values that several sources sent to one input (mosaik gives ``{src: value}``)."""
    return float(sum(values.values()))


def last(values: Mapping[str, Any]) -> Any:
    """The one value of an input that must have a single source."""
    if len(values) != 1:
        raise ValueError(f"input has {len(values)} sources {sorted(values)}; one is allowed")
    return next(iter(values.values()))


def json_value(value: Any) -> Any:
    """``value`` as a plain JSON type: numpy scalars do not cross a process boundary."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value
