"""Energy balance of a run, from its results folder only.

Grid side (pandapower signs, recorded on the grid simulator's entities):

    import - export + generation = consumption + storage charging + grid losses  (+ residual)

where generation is every sgen's p_mw, consumption every load's, storage charging every storage
element's (batteries and EV chargers) and grid losses every line's and trafo's ``pl_mw``. The
residual is what the power flow leaves open: 0 to its tolerance when every element is recorded.
Generation and storage are split by the simulator that drives them (``PV-0.pv_3`` is PV) using
the unit-side outputs, and by the kind a scenario declared for grid elements no unit drives
(``Builder.declare``: a SimBench grid's own rooftop PV, kept in the manifest as ``kinds``);
what is neither is "other".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from cosim.analysis.results import load, read_manifest, select
from cosim.core.units import SECONDS_PER_HOUR

# simulator name (the part of a sim id before "-") -> balance line it feeds, unit side
UNIT_KINDS = {"PV": "pv", "CHP": "chp", "Battery": "battery", "EV": "ev"}


@dataclass(frozen=True)
class EnergyBalance:
    """Energies over the run [MWh]."""

    import_mwh: float
    export_mwh: float
    generation_mwh: float
    pv_mwh: float
    chp_mwh: float
    other_generation_mwh: float
    consumption_mwh: float
    storage_charging_mwh: float  # net, all storage elements (batteries and EVs)
    battery_mwh: float  # net into batteries (charged - discharged)
    ev_mwh: float  # net into EVs
    grid_losses_mwh: float
    unit_losses_mwh: float  # conversion and self-discharge losses of batteries and EVs
    residual_mwh: float

    def rows(self) -> list[tuple[str, float]]:
        return [
            (f.name.removesuffix("_mwh").replace("_", " "), getattr(self, f.name))
            for f in fields(self)
        ]


def grid_sum(data: pd.DataFrame, prefix: str, attr: str) -> pd.Series:
    frame = select(data, attr, "Grid", prefix)
    return frame.sum(axis=1) if frame.shape[1] else pd.Series(0.0, index=data.index)


def unit_sum(data: pd.DataFrame, kind: str, attr: str = "p_mw") -> pd.Series:
    frame = select(data, attr, kind)
    return frame.sum(axis=1) if frame.shape[1] else pd.Series(0.0, index=data.index)


BALANCE_ATTRS = ("p_mw", "pl_mw", "p_loss_mw")


def energy_balance(folder: str | Path) -> EnergyBalance:
    """The grid-side energy balance of a run folder, split by unit type."""
    manifest = read_manifest(folder)
    return balance_of(load(folder, attrs=BALANCE_ATTRS), manifest["step_s"], manifest.get("kinds"))


def declared_sum(data: pd.DataFrame, kinds: Mapping[str, str] | None, kind: str) -> pd.Series:
    """Sum of ``p_mw`` of the entities (full ids) declared as ``kind`` (``pv``, ``chp``)."""
    cols = [(e, "p_mw") for e, k in (kinds or {}).items() if k == kind]
    cols = [c for c in cols if c in data.columns]
    return data[cols].sum(axis=1) if cols else pd.Series(0.0, index=data.index)


def balance_of(
    data: pd.DataFrame, step_s: int, kinds: Mapping[str, str] | None = None
) -> EnergyBalance:
    """The energy balance of results (columns (entity, attr)) with steps of ``step_s`` [s];
    ``kinds``: grid elements declared ``pv`` or ``chp`` (the manifest's ``kinds``)."""
    data = data.fillna(0.0)
    step_h = step_s / SECONDS_PER_HOUR

    def mwh(series: pd.Series) -> float:
        return float(series.sum() * step_h)

    slack = grid_sum(data, "ext_grid_", "p_mw")
    sgen = grid_sum(data, "sgen_", "p_mw")
    pv = unit_sum(data, "PV") + declared_sum(data, kinds, "pv")
    chp = unit_sum(data, "CHP") + declared_sum(data, kinds, "chp")
    storage = grid_sum(data, "storage_", "p_mw")
    losses = grid_sum(data, "line_", "pl_mw") + grid_sum(data, "trafo_", "pl_mw")
    consumption = grid_sum(data, "load_", "p_mw")
    residual = slack + sgen - consumption - storage - losses
    return EnergyBalance(
        import_mwh=mwh(slack.clip(lower=0)),
        export_mwh=mwh((-slack).clip(lower=0)),
        generation_mwh=mwh(sgen),
        pv_mwh=mwh(pv),
        chp_mwh=mwh(chp),
        other_generation_mwh=mwh(sgen - pv - chp),
        consumption_mwh=mwh(consumption),
        storage_charging_mwh=mwh(storage),
        battery_mwh=mwh(unit_sum(data, "Battery")),
        ev_mwh=mwh(unit_sum(data, "EV")),
        grid_losses_mwh=mwh(losses),
        unit_losses_mwh=mwh(
            unit_sum(data, "Battery", "p_loss_mw") + unit_sum(data, "EV", "p_loss_mw")
        ),
        residual_mwh=mwh(residual),
    )
