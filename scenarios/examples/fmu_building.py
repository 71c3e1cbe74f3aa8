"""A heat-pump-heated building as an FMU (FMI 2.0 co-simulation) coupled to a grid both ways.

cosim's FMU adapter (``simulators.fmu``, on fmpy) steps the FMU at the scenario's step size.
The FMU here is ``heated_building_fmu.py`` built with pythonfmu (done on first use and kept
in the cache folder, ``COSIM_CACHE_DIR``, default ``~/.cache/cosim``), or any FMU given as
``fmu=PATH`` with the same variable names. Its heat pump's electrical power is a new load at
``bus``; the bus voltage goes back to the FMU one step late, which blocks the heat pump while
it is below ``vm_min_pu``.

Wiring::

    FMU-0.fmu_0   --p_el_kw (kW -> MW)--> Grid-0.load_<new>.p_mw       (same step)
    Grid-0.bus_<bus> --vm_pu-----------> FMU-0.fmu_0.vm_pu            (one step late)
    FMU-0.fmu_0 t_room_c, p_el_kw; Grid-0.load_<new> p_mw; Grid-0.bus_<bus> vm_pu --> Recorder

Needs ``pip install 'cosim[coupling]'``; run ``cosim run scenarios/examples/fmu_building.py``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cosim.core.errors import ConfigError
from cosim.run.config import RunConfig
from cosim.run.coupling import KW_TO_MW, entity
from cosim.run.scenario import Builder
from simulators.simbench_nets import cache_dir

FMU_SOURCE = Path(__file__).parent / "heated_building_fmu.py"


@dataclass(frozen=True)
class Config(RunConfig):
    """fmu_building parameters.

    Attributes
    ----------
    fmu : str
        FMU file; empty: the example building, built from ``heated_building_fmu.py``.
    grid : str
        pandapower.networks name, SimBench code or JSON file of the grid.
    bus : int
        Bus of the heat pump (pandapower index).
    t_out_c : float
        Outdoor temperature, constant [°C].
    t_set_c : float
        Room temperature set point [°C].
    p_el_rated_kw : float
        Electrical power of the heat pump when on [kW].
    vm_min_pu : float
        Below this bus voltage the heat pump is blocked [p.u.]; 0: never.
    """

    fmu: str = ""
    grid: str = "create_cigre_network_lv"
    bus: int = 19
    t_out_c: float = 0.0
    t_set_c: float = 21.0
    p_el_rated_kw: float = 3.0
    vm_min_pu: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fmu and not Path(self.fmu).is_file():
            raise ConfigError(f"fmu={self.fmu!r}: no such file")


def build(b: Builder, cfg: Config) -> None:
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid=cfg.grid)
    fmu_path = cfg.fmu or str(example_fmu(cache_dir() / "fmu"))
    house = b.start("FMU", fmu=fmu_path).FMU(
        t_out_c=cfg.t_out_c,
        t_set_c=cfg.t_set_c,
        p_el_rated_kw=cfg.p_el_rated_kw,
        vm_min_pu=cfg.vm_min_pu,
    )
    load = grid_sim.Load(bus=cfg.bus, name=house.full_id)
    bus = entity(b.world, f"{grid.sid}.bus_{cfg.bus}")  # by name; unknown: lists the buses
    b.wire(house, load, {"p_el_kw": ("p_mw", KW_TO_MW)})
    b.wire(bus, house, "vm_pu", time_shifted=True, initial={"vm_pu": 1.0})
    b.record([house], "t_room_c", "p_el_kw")
    b.record([load], "p_mw")
    b.record([bus], "vm_pu")


def example_fmu(folder: Path) -> Path:
    """The example FMU in ``folder``, built from its source with pythonfmu unless it is there.

    The file name carries a hash of the source, so an edited source builds a new FMU.
    """
    digest = hashlib.sha256(FMU_SOURCE.read_bytes()).hexdigest()[:12]
    target = folder / f"HeatedBuilding-{digest}.fmu"
    if target.is_file():
        return target
    try:
        from pythonfmu.builder import FmuBuilder
    except ImportError:
        raise ConfigError(
            "building the example FMU needs pythonfmu: pip install 'cosim[coupling]', "
            "or give fmu=PATH"
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        built = FmuBuilder.build_FMU(FMU_SOURCE, dest=tmp)
        shutil.move(str(built), str(target) + f".{os.getpid()}")
        os.replace(str(target) + f".{os.getpid()}", target)  # atomic: parallel runs agree
    return target


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
