"""Synchronisation limits for closing a live island onto the grid, shared by grid and controllers.

IEEE 1547-2018, Table 39 ("Synchronization parameter limits for synchronous interconnection to
an EPS, or an energized local EPS to an energized area EPS"; the same numbers as IEEE
1547-2003, Table 5), by the aggregate rating of the DER:

=================  ===========  ============  ==================
aggregate rating   |delta f|    |delta V|     |delta angle|
=================  ===========  ============  ==================
0-500 kVA          0.3 Hz       10 %          20 degree
> 500-1500 kVA     0.2 Hz       5 %           15 degree
> 1500 kVA         0.1 Hz       3 %           10 degree
=================  ===========  ============  ==================
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np

from cosim.core.errors import ConfigError

F_NOMINAL_HZ = 50.0
"""Nominal frequency of the (European) grid; the upstream grid runs at it [Hz]."""


class SyncLimits(NamedTuple):
    """Largest differences across an open switch at which it may close."""

    df_hz: float
    dvm_pu: float
    dva_degree: float


IEEE_1547_TABLE_39: tuple[tuple[float, SyncLimits], ...] = (
    (0.5, SyncLimits(0.3, 0.10, 20.0)),
    (1.5, SyncLimits(0.2, 0.05, 15.0)),
    (float("inf"), SyncLimits(0.1, 0.03, 10.0)),
)
"""(largest aggregate rating [MVA], limits) rows, smallest rating first."""


def limits_for(s_rated_mva: float) -> SyncLimits:
    """The IEEE 1547-2018 Table 39 row for DER of aggregate rating ``s_rated_mva`` [MVA]."""
    if not s_rated_mva >= 0:
        raise ConfigError(f"s_rated_mva={s_rated_mva!r} must be >= 0 [MVA]")
    return next(limits for top, limits in IEEE_1547_TABLE_39 if s_rated_mva <= top)


def in_sync(
    df_hz: float, dvm_pu: float, dva_degree: float, limits: SyncLimits, dt_s: float = 0.0
) -> bool:
    """Whether a synchroniser may close within the next ``dt_s`` [s]: frequency and voltage
    differences within ``limits`` now, and the angle difference, slipping at ``df_hz``
    (``dva + 360 df tau`` for ``0 <= tau <= dt_s``), within the angle limit at some instant.

    With ``dt_s = 0`` the angle must be within its limit now. With a long step and some slip
    the phase sweeps through coincidence within the step (the synchroniser closes then); an
    island running almost exactly at the grid's frequency but out of phase must wait."""
    if abs(df_hz) > limits.df_hz or abs(dvm_pu) > limits.dvm_pu:
        return False
    sweep = 360.0 * df_hz * dt_s
    if abs(sweep) >= 360.0:
        return True
    start = wrap_degree(dva_degree)
    low, high = sorted((start, start + sweep))
    # the nearest multiple of 360 degrees to the swept interval [low, high]
    return any(low - limits.dva_degree <= k * 360.0 <= high + limits.dva_degree for k in (-1, 0, 1))


Angle = TypeVar("Angle", float, np.ndarray)


def wrap_degree(angle: Angle) -> Angle:
    """An angle in [-180, 180) [degree]."""
    return (angle + 180.0) % 360.0 - 180.0
