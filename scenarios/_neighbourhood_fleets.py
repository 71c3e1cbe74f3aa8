"""The neighbourhood wired as fleets: one entity per unit type, arrays between simulators.

The same units, sizes and wiring as the single-entity path of ``scenarios.neighbourhood``
(its docstring draws it), with each arrow one connection between fleets: a route says which
unit of the source feeds which unit of the destination (``Builder.route``). Results are named
per unit exactly as on the single-entity path, so both give the same results folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cosim.core.fleet import positions
from cosim.run.scenario import Builder, units_of
from scenarios._unit_specs import UnitSpec, as_fleet


def eids(fleet: Any) -> list[str]:
    """The entity ids of a fleet's units (``load_3``), in array order."""
    return list(fleet.extra_info["units"])


def build(
    b: Builder, cfg: Any, grid_sim: Any, grid: Any, where: Any, specs: dict[str, UnitSpec]
) -> dict[str, Any]:
    """Wire the neighbourhood of ``where`` and ``specs`` onto the fleets of ``grid`` (created
    with ``fleets=True``); returns the fleets (``pv``, ``battery``, ``ev``, ``chp``, ``flex``:
    a list of one fleet, or none) and the grid's table fleets (``tables``)."""
    tables = {e.eid: e for e in grid.children}
    loads = tables["load"].extra_info
    order = np.argsort(np.asarray(loads["index"]), kind="stable")  # houses by pandapower index
    house_eids = [loads["units"][k] for k in order]
    buses = [int(loads["bus"][k]) for k in order]
    bus_units = eids(tables["bus"])
    profiles = b.start("Profiles").Profiles(source=f"simbench:{cfg.grid}", fleets=True)
    series = {eids(f)[0].rsplit("_", 1)[0]: f for f in profiles.children if eids(f)}

    flex = b.fleet(
        b.start("FlexLoad"),
        n_units=len(house_eids),
        flex_share_frac=cfg.flex_share_frac,
        mode=cfg.flex_mode,
    )
    demand = series["load"]
    attrs = demand.extra_info["attrs"]
    renamed = [(a, a.replace("p_mw", "p_base_mw").replace("q_mvar", "q_base_mvar")) for a in attrs]
    b.connect(demand, flex, *renamed, route=positions(eids(demand), house_eids))
    b.connect(
        flex, tables["load"], "p_mw", "q_mvar", route=positions(house_eids, eids(tables["load"]))
    )
    for element, fleet in series.items():  # the grid's own generators keep their profiles
        if element != "load" and element in tables:
            target = tables[element]
            b.connect(
                fleet,
                target,
                *fleet.extra_info["attrs"],
                route=positions(eids(fleet), eids(target)),
            )

    pv = as_fleet(b, specs["pv"])
    pv_buses = [buses[h] for h in where.pv]
    pv_grid = _attach(b, grid_sim, pv, "sgen", pv_buses)
    if pv:
        bus_of_pv = positions(bus_units, [f"bus_{bus}" for bus in pv_buses])
        b.feed_back(tables["bus"], pv[0], "vm_pu", initial={"vm_pu": 1.0}, route=bus_of_pv)

    ev = as_fleet(b, specs["ev"])
    ev_grid = _attach(b, grid_sim, ev, "storage", [buses[h] for h in where.ev], ("p_mw",))

    battery = as_fleet(b, specs["battery"])
    at = [buses[h] for h in where.battery]
    battery_grid = _attach(b, grid_sim, battery, "storage", at, ("p_mw",))
    if battery:
        houses = where.battery.tolist()
        b.connect(flex, battery[0], ("p_mw", "p_load_mw"), route=houses)
        b.connect(
            pv[0], battery[0], ("p_mw", "p_gen_mw"), route=positions(where.pv.tolist(), houses)
        )
        if ev:
            b.connect(
                ev[0], battery[0], ("p_mw", "p_load_mw"), route=positions(where.ev.tolist(), houses)
            )

    chp = as_fleet(b, specs["chp"])
    chp_grid = _attach(b, grid_sim, chp, "sgen", [buses[h] for h in where.chp])
    return {
        "pv": pv,
        "battery": battery,
        "ev": ev,
        "chp": chp,
        "flex": [flex],
        "tables": tables,
        "added": [*pv_grid, *ev_grid, *battery_grid, *chp_grid],
        "series": series,
        "house_ids": [f"{tables['load'].sid}.{h}" for h in house_eids],
        "buses": buses,
    }


def _attach(
    b: Builder,
    grid_sim: Any,
    units: list,
    element: str,
    buses: list[int],
    attrs: tuple[str, ...] = ("p_mw", "q_mvar"),
) -> list:
    return b.attach(grid_sim, units[0], element, buses, attrs=attrs) if units else []


def unit_ids(fleets: Sequence[Any]) -> list[str]:
    """The full ids of the units of ``fleets``, in order."""
    return [u for f in fleets for u in units_of(f) or [f.full_id]]
