"""A test scenario for sizing: CIGRE LV, one PV system and one home battery at bus 3.

Wiring::

    PV-0.pv_0           --p_mw, q_mvar--> Grid-0.sgen_<new>     (bus 3)
    Battery-0.battery_0 --p_mw-->         Grid-0.storage_<new>  (bus 3; no set point: idle)
    Grid-0: ext_grid p_mw, loads p_mw, bus vm_pu, branch loading  --> Recorder

The grid's own loads draw far more than the PV gives, so every PV kWh replaces an import and
the battery never has a surplus to store: the cheapest design is the most PV and no battery.
"""

from dataclasses import dataclass

from cosim.run.config import RunConfig
from cosim.run.scenario import Builder


@dataclass(frozen=True)
class Config(RunConfig):
    steps: int = 24
    step_s: int = 3600
    start: str = "2016-06-21 00:00:00"
    pv_kw: float = 20.0
    battery_kwh: float = 0.0


def build(b: Builder, cfg: Config) -> None:
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid="create_cigre_network_lv")
    added = []
    if cfg.pv_kw > 0:
        pv = list(b.start("PV").PV.create(1, p_dc_peak_mw=cfg.pv_kw / 1000))
        added += b.attach(grid_sim, pv, "sgen", [3])
    if cfg.battery_kwh > 0:
        battery = list(
            b.start("Battery").Battery.create(
                1, e_max_mwh=cfg.battery_kwh / 1000, p_charge_max_mw=0.005,
                p_discharge_max_mw=0.005,
            )
        )  # fmt: skip
        added += b.attach(grid_sim, battery, "storage", [3], attrs=("p_mw",))
        b.record(battery, "p_mw", "soc_frac", "e_mwh")
    b.install(pv_mw=cfg.pv_kw / 1000, battery_mwh=cfg.battery_kwh / 1000)
    kinds: dict[str, list] = {}
    for e in [*grid.children, *added]:
        kinds.setdefault(e.type, []).append(e)
    b.record(kinds["Bus"], "vm_pu")
    b.record(kinds["Line"] + kinds.get("Trafo", []), "loading_percent", "pl_mw")
    b.record(kinds["ExtGrid"], "p_mw")
    b.record(kinds["Load"] + kinds.get("Sgen", []) + kinds.get("Storage", []), "p_mw")
