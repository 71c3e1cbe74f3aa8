"""Resilience KPIs: energy not served, outages, islands and their limits (``microgrid_outage``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cosim.analysis.results import energised


def kpis(r: Any) -> list[Any]:
    """The ``resilience`` KPI group of a run ``r`` (``cosim.analysis.kpis._Run``): energy not
    served, outages per load, islands (hours, voltage, frequency, collapse), units beyond their
    limits, switching operations and the grid-forming batteries' lowest SoC."""
    k = []
    unserved = r.data[[c for c in r.data.columns if c[1] == "p_unserved_mw"]]
    if not unserved.empty:
        k.append(r.kpi("energy_not_served_mwh", r.mwh(unserved)))
        cut_h = (unserved.fillna(0.0) > 0).sum() * r.step_h
        if (cut_h > 0).any():
            k.append(r.kpi("outage_h_max", *at_entity(cut_h, "max")))
            k.append(r.kpi("outage_h_mean", float(cut_h[cut_h > 0].mean())))
        k.append(r.kpi("loads_cut", float((cut_h > 0).sum())))
    islanded = r.cols("Grid", "islanded")
    if not islanded.empty:
        steps = islanded.fillna(0).astype(bool).any(axis=1).to_numpy()
        k.append(r.kpi("islanded_h", float(steps.sum() * r.step_h)))
        vm = r.cols("Grid", "vm_pu", "bus_")
        held = r.cols("Grid", "islanded", "bus_")  # buses in an island a unit holds
        if held.shape == vm.shape:
            vm = vm.where(held.fillna(0).astype(bool).to_numpy())
        vm = energised(vm).where(np.broadcast_to(steps[:, None], vm.shape))
        if vm.notna().any().any():
            k.append(r.kpi("island_vm_min_pu", *r.extreme(vm, "min")))
            k.append(r.kpi("island_vm_max_pu", *r.extreme(vm, "max")))
        f_hz = r.cols("Grid", "f_hz", "bus_")
        if held.shape == f_hz.shape and not f_hz.empty:
            f_hz = f_hz.where(held.fillna(0).astype(bool).to_numpy() & (f_hz.to_numpy() > 0))
            if f_hz.notna().any().any():
                k.append(r.kpi("island_f_min_hz", *r.extreme(f_hz, "min")))
                k.append(r.kpi("island_f_max_hz", *r.extreme(f_hz, "max")))
    tripped = r.cols("Grid", "tripped")
    if not tripped.empty:
        dark = tripped.fillna(0).astype(bool).any(axis=1)
        k.append(r.kpi("island_collapsed_h", float(dark.sum() * r.step_h)))
    violated = r.data[[c for c in r.data.columns if c[1] == "limit_violated"]]
    if not violated.empty:
        steps_over = violated.fillna(0).astype(bool).any(axis=1)
        k.append(r.kpi("limit_violated_steps", float(steps_over.sum())))
    states = [r.data[[c for c in r.data.columns if c[1] == a]] for a in ("closed", "in_service")]
    changes = sum(int((f.astype(float).diff().fillna(0) != 0).sum().sum()) for f in states)
    if any(not f.empty for f in states):
        k.append(r.kpi("switching_operations", float(changes)))
    soc = r.cols("Battery", "soc_frac")
    flagged = r.cols("Battery", "grid_forming").fillna(0).astype(bool).any()
    forming = set(r.settings.grid_forming) | set(flagged[flagged].index)
    soc = soc[[c for c in soc.columns if c in forming]]
    if soc.notna().any().any():
        k.append(r.kpi("grid_forming_soc_min_frac", *r.extreme(soc, "min")))
    return k


def at_entity(per_entity: pd.Series, which: str) -> tuple[float, str]:
    """Largest or smallest value of a per-entity series, and which entity."""
    pos = int(np.argmax(per_entity.to_numpy()) if which == "max" else np.argmin(per_entity))
    entity = per_entity.index[pos]
    return float(per_entity.iloc[pos]), str(entity[0] if isinstance(entity, tuple) else entity)
