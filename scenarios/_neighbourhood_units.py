"""The neighbourhood wired as single entities: one mosaik entity per unit and grid element.

The path of ``scenarios.neighbourhood`` for small grids and for scenarios that wire single
units themselves (its docstring draws the wiring); ``scenarios._neighbourhood_fleets`` is the
same neighbourhood as fleets, with the same results.
"""

from __future__ import annotations

from typing import Any

from cosim.run.scenario import Builder
from scenarios._unit_specs import UnitSpec, singles


def build(
    b: Builder,
    cfg: Any,
    grid_sim: Any,
    grid: Any,
    houses: list,
    where: Any,
    specs: dict[str, UnitSpec],
) -> tuple[dict[str, list], list[int], list, list, tuple[list[str], list[str]]]:
    """Wire the neighbourhood of ``where`` and ``specs``, one entity per unit, onto the
    grid's per-element entities; returns the units by type, each house's bus, the added grid
    elements, the houses and the profiles' full ids (all, and each house's)."""
    elements = {e.eid: e for e in grid.children}
    profiles = b.start("Profiles").Profiles(source=f"simbench:{cfg.grid}")

    # households: SimBench demand through the flexible-load simulator into the grid's loads
    flex = b.start("FlexLoad").FlexLoad.create(
        len(houses), flex_share_frac=cfg.flex_share_frac, mode=cfg.flex_mode
    )
    series = {s.eid: s for s in profiles.children}
    for house, unit in zip(houses, flex, strict=True):
        attrs = series[house.eid].extra_info["attrs"]
        b.connect(
            series[house.eid],
            unit,
            *((a, a.replace("p_mw", "p_base_mw").replace("q_mvar", "q_base_mvar")) for a in attrs),
        )
        b.connect(unit, house, "p_mw", "q_mvar")
    for s in profiles.children:  # the grid's own generators keep their SimBench profiles
        if not s.eid.startswith("load_"):
            b.connect(s, elements[s.eid], *s.extra_info["attrs"])
    buses = [h.extra_info["bus"] for h in houses]

    pv = singles(b, specs["pv"])
    pv_grid = b.attach(grid_sim, pv, "sgen", [buses[h] for h in where.pv])
    for unit, h in zip(pv, where.pv, strict=True):
        b.feed_back(elements[f"bus_{buses[h]}"], unit, "vm_pu", initial={"vm_pu": 1.0})

    ev = singles(b, specs["ev"])
    ev_grid = b.attach(grid_sim, ev, "storage", [buses[h] for h in where.ev], attrs=("p_mw",))

    battery = singles(b, specs["battery"])
    battery_grid = b.attach(
        grid_sim, battery, "storage", [buses[h] for h in where.battery], attrs=("p_mw",)
    )
    pv_of = dict(zip(where.pv.tolist(), pv, strict=True))
    ev_of = dict(zip(where.ev.tolist(), ev, strict=True))
    for unit, h in zip(battery, where.battery.tolist(), strict=True):
        b.connect(flex[h], unit, ("p_mw", "p_load_mw"))
        b.connect(pv_of[h], unit, ("p_mw", "p_gen_mw"))
        if h in ev_of:
            b.connect(ev_of[h], unit, ("p_mw", "p_load_mw"))

    chp = singles(b, specs["chp"])
    chp_grid = b.attach(grid_sim, chp, "sgen", [buses[h] for h in where.chp])
    units = {"pv": pv, "battery": battery, "ev": ev, "chp": chp, "flex": list(flex)}
    added = [*pv_grid, *ev_grid, *battery_grid, *chp_grid]
    profile_ids = ([s.full_id for s in profiles.children], [series[h.eid].full_id for h in houses])
    return units, buses, added, houses, profile_ids
