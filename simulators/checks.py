"""Checks of model parameters: each failure is a ConfigError naming the field, the value and
what is allowed. Used by the ``Params`` dataclasses of the simulator models."""

from __future__ import annotations

import math

import numpy as np

from cosim.core.errors import ConfigError


def number(name: str, value: object) -> float:
    """``value`` as a finite float, or a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}={value!r} must be a number")
    result = float(value)
    if not math.isfinite(result):
        raise ConfigError(f"{name}={value!r} must be finite")
    return result


def check(ok: bool, name: str, value: object, allowed: str) -> None:
    """A ConfigError ``name=value must be <allowed>`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{name}={value!r} must be {allowed}")


def boolean(name: str, value: object) -> bool:
    """``value`` as a bool if it is one (numpy's too), else a ConfigError naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name}={value!r} must be True or False")
    return bool(value)
