"""A test scenario: CIGRE LV with one sgen created at ``bus`` and driven by nothing.

Wiring: Grid-0.sgen_<new> --p_mw--> Recorder
"""

from dataclasses import dataclass

from cosim.run.config import RunConfig
from cosim.run.scenario import Builder


@dataclass(frozen=True)
class Config(RunConfig):
    bus: int = 3
    p_mw: float = 0.01


def build(b: Builder, cfg: Config) -> None:
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid="create_cigre_network_lv")
    pv = grid_sim.Sgen(bus=cfg.bus, p_mw=cfg.p_mw)
    b.record([pv], "p_mw")
    b.record([e for e in grid.children if e.type == "Bus"], "vm_pu")
