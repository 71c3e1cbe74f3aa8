"""A step function of time from scenario data: pure, no mosaik.

An event schedule is an initial value and a list of ``(t_s, value)`` changes; the value at
``t_s`` is that of the last change at or before ``t_s``. Used for what happens to a scenario
from outside (an upstream outage from t1 to t2, a switch opened for maintenance), so that
events come from data, never from wall-clock time.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cosim.core.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """``initial`` until the first change, then each change's value from its ``t_s`` on [s]."""

    initial: Any
    changes: tuple[tuple[int, Any], ...] = ()

    def __post_init__(self) -> None:
        times = [t for t, _ in self.changes]
        for t in times:
            if not isinstance(t, int) or isinstance(t, bool) or t < 0:
                raise ConfigError(f"changes: t_s={t!r} must be an int >= 0 [s]")
        if times != sorted(times) or len(set(times)) != len(times):
            raise ConfigError(f"changes: times {times} must be strictly increasing")
        for _, value in self.changes:
            _check_value(value)
        _check_value(self.initial)

    def value_at(self, t_s: int) -> Any:
        """The scheduled value at ``t_s`` [s]."""
        k = bisect.bisect_right([t for t, _ in self.changes], t_s)
        return self.initial if k == 0 else self.changes[k - 1][1]


def schedule(initial: Any, changes: Sequence[Sequence[Any]]) -> Schedule:
    """A Schedule from JSON-like data: ``changes`` as ``[[t_s, value], ...]``."""
    pairs = []
    for change in changes:
        if len(change) != 2:
            raise ConfigError(f"changes: {change!r} must be a [t_s, value] pair")
        pairs.append((change[0], change[1]))
    return Schedule(initial, tuple(pairs))


def _check_value(value: Any) -> None:
    if not isinstance(value, bool | int | float | str) and value is not None:
        raise ConfigError(f"event value {value!r} must be a bool, number, string or None")
