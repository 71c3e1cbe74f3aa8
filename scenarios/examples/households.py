"""Household loads from a third-party mosaik simulator (mosaik-householdsim) in a cosim grid.

mosaik-householdsim (PyPI, OFFIS) serves household load profiles in W, load sign, one ``House``
entity per grid node listed in its profile file. Its houses replace the static power of the
CIGRE LV grid's residential loads: the file's ``node_id`` of each house is the full id of the
grid load it feeds, so the wiring goes by name. ``data/households.data`` holds two synthetic
profiles (a day at 15 min) for the five residential loads ``load_1`` .. ``load_5``.

Wiring::

    Households-0.House_<i> --P_out (W -> MW)--> Grid-0.<node_id of house i>.p_mw   (same step)
    Households-0.House_*     P_out                                  --> Recorder
    Grid-0.load_1..5         p_mw                                   --> Recorder
    Grid-0.bus_*             vm_pu                                  --> Recorder
    Grid-0.ext_grid_0        p_mw, q_mvar                           --> Recorder

Needs ``pip install 'cosim[coupling]'``; run ``cosim run scenarios/examples/households.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cosim.core.errors import ConfigError
from cosim.run.config import RunConfig
from cosim.run.coupling import W_TO_MW, entity
from cosim.run.scenario import Builder

PROFILES = Path(__file__).parent / "data" / "households.data"


@dataclass(frozen=True)
class Config(RunConfig):
    """households parameters.

    Attributes
    ----------
    grid : str
        pandapower.networks name, SimBench code or JSON file of the grid.
    profiles : str
        mosaik-householdsim profile file; empty: the example's ``data/households.data``.
    grid_name : str
        The profile file's id list to use (node ids = grid load entity ids).
    """

    grid: str = "create_cigre_network_lv"
    profiles: str = ""
    grid_name: str = "cigre_lv"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.profiles and not Path(self.profiles).is_file():
            raise ConfigError(f"profiles={self.profiles!r}: no such file")


def build(b: Builder, cfg: Config) -> None:
    grid = b.start("Grid").Grid(grid=cfg.grid)
    households = b.couple("Households", {"python": "mosaik_components.household.mosaik:Simulator"})
    houses = households.ResidentialLoads(
        sim_start=cfg.start, profile_file=cfg.profiles or str(PROFILES), grid_name=cfg.grid_name
    ).children
    node_ids = b.world.get_data(houses, "node_id")  # static attrs: readable before the run
    loads = [f"{grid.sid}.{node_ids[house]['node_id']}" for house in houses]
    b.wire(houses, loads, {"P_out": ("p_mw", W_TO_MW)})
    b.record(houses, "P_out")
    b.record([entity(b.world, full_id) for full_id in loads], "p_mw")
    by_type: dict[str, list] = {}
    for e in grid.children:
        by_type.setdefault(e.type, []).append(e)
    b.record(by_type["Bus"], "vm_pu")
    b.record(by_type["ExtGrid"], "p_mw", "q_mvar")


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
