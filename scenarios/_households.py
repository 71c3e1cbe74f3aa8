"""Household PV and home batteries sized from each household's annual demand (neighbourhood).

SimBench gives each load a relative profile and a ``p_mw``; a household's annual demand is the
profile's mean over SimBench's year times ``p_mw`` times 8760 h, read one column at a time from
the memory-mapped profile store (``simulators.simbench_nets``). Installers size a household's
PV and battery from that demand (:func:`household_sizes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cosim.core.errors import ConfigError

HOURS_PER_YEAR = 8760.0
C_RATE_PER_H = 0.5
"""Power of a home battery sized per demand over its usable capacity [1/h] (10 kWh / 5 kW)."""


def load_profiles(grid: str) -> tuple[list[str], np.ndarray]:
    """SimBench profile type and annual demand [MWh] of every load of ``grid``, in the load
    table's order. Demand: the mean of the load's relative ``<type>_pload`` profile over
    SimBench's year (read column by column from the memory-mapped store), times its ``p_mw``,
    times 8760 h (a load without a profile draws ``p_mw`` all year)."""
    from simulators.simbench_nets import net_and_profiles

    net, store = net_and_profiles(grid)
    types = [str(p) for p in net.load["profile"]]
    demand_mwh = np.empty(len(types))
    for k, (kind, p_mw) in enumerate(zip(net.load["profile"], net.load["p_mw"], strict=True)):
        column = store.column_of("load", f"{kind}_pload") if kind == kind else None
        if kind == kind and column is None:
            raise ConfigError(f"SimBench {grid}: load {k}'s profile {kind!r} is not stored")
        mean = 1.0 if column is None else float(store.read([column], 0, store.n_rows).mean())
        demand_mwh[k] = mean * float(p_mw) * HOURS_PER_YEAR
    return types, demand_mwh


class Where(Protocol):
    """Which loads get PV and batteries (the neighbourhood's ``Layout``)."""

    @property
    def pv(self) -> np.ndarray: ...

    @property
    def battery(self) -> np.ndarray: ...


class SizeFields(Protocol):
    """The size fields of a scenario Config (``neighbourhood.Config``); None: per demand."""

    @property
    def pv_p_peak_mw(self) -> float | None: ...

    @property
    def pv_kwp_per_mwh(self) -> float: ...

    @property
    def battery_e_mwh(self) -> float | None: ...

    @property
    def battery_kwh_per_mwh(self) -> float: ...

    @property
    def battery_p_mw(self) -> float | None: ...


@dataclass(frozen=True)
class Sizes:
    """Size of each household unit, in the order of its Layout array."""

    pv_mw: np.ndarray  # DC peak, one per ``Layout.pv``
    battery_mwh: np.ndarray  # usable, one per ``Layout.battery``
    battery_p_mw: np.ndarray  # charge and discharge limit, one per ``Layout.battery``

    def describe(self) -> str:
        """The sizes in kW and kWh, for the summary."""

        def kilo(values: np.ndarray) -> str:
            if len(values) > 4:  # a big grid: the range
                return f"{1000.0 * values.min():.1f}-{1000.0 * values.max():.1f}"
            return ", ".join(f"{1000.0 * v:.1f}" for v in values) or "none"

        return (
            f"PV {kilo(self.pv_mw)} kWp; batteries {kilo(self.battery_mwh)} kWh "
            f"/ {kilo(self.battery_p_mw)} kW"
        )


def household_sizes(demand_mwh: np.ndarray, where: Where, cfg: SizeFields) -> Sizes:
    """PV and home battery of each household: the fixed sizes where given, else sized from the
    household's annual demand ``demand_mwh`` (of every load) by the installers' rule of thumb.

    The rule: 1 kWp of PV and 1 kWh of usable storage per MWh (1000 kWh) of annual demand, the
    "1-zu-1-Regel" that HTW Berlin's "Stromspeicher-Inspektion 2022" (J. Weniger et al.,
    SONNENENERGIE 2/2022, "Dimensionierungshilfen") names as the one installers most often
    apply: 4000 kWh a year -> a 4 kWh battery and a 4 kW PV system. HTW adds that it tends to
    give a battery too large and PV too small for the best economics; it is what is built,
    which is what a grid study needs. The same 1 kWh per 1000 kWh is the storage rule of
    installers' guides (e.g. corrently.energy, "Speichergröße": 4-6 kWh for 4500 kWh), and 1
    kWh of storage per kWp of PV is what Bavaria's "10.000-Häuser-Programm" subsidised at most.
    No minimum size is applied: SimBench's households use 1.5-3.1 MWh a year on the default
    grid (1.5-7.3 MWh on 1-LV-semiurb4--0-sw), so the smallest batteries (1.5 kWh) are smaller
    than most home storage products.
    The battery's power is :data:`C_RATE_PER_H` of its capacity per hour unless
    ``battery_p_mw`` is given.
    """
    pv_demand = demand_mwh[where.pv]
    bat_demand = demand_mwh[where.battery]
    if (cfg.pv_p_peak_mw is None and len(pv_demand) and not pv_demand.min() > 0) or (
        cfg.battery_e_mwh is None and len(bat_demand) and not bat_demand.min() > 0
    ):
        raise ConfigError(
            "a household drawn for PV or a battery has no annual demand to size them from; "
            "give pv_p_peak_mw and battery_e_mwh (fixed sizes) instead of none"
        )
    pv_mw = (
        np.full(len(where.pv), cfg.pv_p_peak_mw)
        if cfg.pv_p_peak_mw is not None
        else pv_demand * cfg.pv_kwp_per_mwh / 1000.0
    )
    battery_mwh = (
        np.full(len(where.battery), cfg.battery_e_mwh)
        if cfg.battery_e_mwh is not None
        else bat_demand * cfg.battery_kwh_per_mwh / 1000.0
    )
    battery_p_mw = (
        np.full(len(where.battery), cfg.battery_p_mw)
        if cfg.battery_p_mw is not None
        else battery_mwh * C_RATE_PER_H
    )
    return Sizes(pv_mw=pv_mw, battery_mwh=battery_mwh, battery_p_mw=battery_p_mw)
