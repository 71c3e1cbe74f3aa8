"""Heaters simulated in JavaScript (Node.js) coupled to a cosim grid, both ways.

``nodejs/heater_sim.js`` speaks the mosaik wire protocol itself (no mosaik library): each
heater draws ``p_rated_kw`` (load sign), or half of it while the voltage it last received is
below ``vm_min_pu``. mosaik starts it as a process with the ``cmd`` sim config.

Wiring::

    Heaters-0.heater_<i> --p_kw (kW -> MW)--> Grid-0.load_<new i>.p_mw        (same step)
    Grid-0.bus_<bus i>   --vm_pu----------> Heaters-0.heater_<i>.vm_pu        (one step late)
    Heaters-0.heater_*  p_kw, vm_pu; Grid-0.load_<new>  p_mw; Grid-0.bus_<bus> vm_pu --> Recorder

Needs Node.js (``node`` on PATH); run ``cosim run scenarios/examples/node_heaters.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cosim.core.errors import ConfigError
from cosim.run.config import RunConfig
from cosim.run.coupling import KW_TO_MW
from cosim.run.scenario import Builder

HEATER_SIM = Path(__file__).parent / "nodejs" / "heater_sim.js"


@dataclass(frozen=True)
class Config(RunConfig):
    """node_heaters parameters.

    Attributes
    ----------
    grid : str
        pandapower.networks name, SimBench code or JSON file of the grid.
    buses : tuple[int, ...]
        One heater at each of these buses (pandapower bus index).
    p_rated_kw : float
        Power of each heater [kW].
    vm_min_pu : float
        Below this voltage a heater halves its power [p.u.].
    """

    grid: str = "create_cigre_network_lv"
    buses: tuple[int, ...] = (19, 43)
    p_rated_kw: float = 9.0
    vm_min_pu: float = 0.92

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.buses:
            raise ConfigError("buses=() must name at least one bus")


def build(b: Builder, cfg: Config) -> None:
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid=cfg.grid)
    heater_sim = b.couple("Heaters", {"cmd": f"node {HEATER_SIM} %(addr)s"}, step_s=cfg.step_s)
    heaters = heater_sim.Heater.create(
        len(cfg.buses), p_rated_kw=cfg.p_rated_kw, vm_min_pu=cfg.vm_min_pu
    )
    loads = [
        grid_sim.Load(bus=bus, name=h.full_id) for bus, h in zip(cfg.buses, heaters, strict=True)
    ]
    buses = [f"{grid.sid}.bus_{bus}" for bus in cfg.buses]
    b.wire(heaters, loads, {"p_kw": ("p_mw", KW_TO_MW)})
    b.wire(buses, heaters, "vm_pu", time_shifted=True, initial={"vm_pu": 1.0})
    b.record(heaters, "p_kw", "vm_pu")
    b.record(loads, "p_mw")
    by_eid = {e.eid: e for e in grid.children}
    b.record([by_eid[f"bus_{bus}"] for bus in cfg.buses], "vm_pu")


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
