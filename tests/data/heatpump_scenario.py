"""A test scenario: CIGRE LV with heat pumps of the ``heatpump`` package (found by its entry
point ``cosim.simulators``) attached as loads.

Wiring: HeatPump-0.hp_<k> --p_mw, q_mvar--> Grid-0.load_<new>; the new loads' p_mw, the heat
pumps' p_mw and q_heat_kw and the external grid's p_mw --> Recorder
"""

from dataclasses import dataclass

from cosim.run.config import RunConfig
from cosim.run.scenario import Builder


@dataclass(frozen=True)
class Config(RunConfig):
    buses: tuple[int, ...] = (20, 24)
    q_heat_kw: float = 8.0


def build(b: Builder, cfg: Config) -> None:
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid="create_cigre_network_lv")
    pumps = b.start("HeatPump").HeatPump.create(len(cfg.buses), q_heat_kw=cfg.q_heat_kw)
    loads = b.attach(grid_sim, pumps, "load", list(cfg.buses))
    b.record(pumps, "p_mw", "q_heat_kw")
    b.record(loads, "p_mw")
    b.record([e for e in grid.children if e.type == "ExtGrid"], "p_mw")
