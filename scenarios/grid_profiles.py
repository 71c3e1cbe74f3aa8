"""A grid driven by time series: a SimBench grid with its own profiles, or any net with a file.

With ``fleets`` (by default on grids of :data:`FLEETS_FROM_BUSES` buses or more) each arrow
below is one connection between fleets (one entity per element table, arrays in table order;
``cosim.core.fleet``); the results name every element as the single-entity path
(``fleets=false``) does, with the same values. Wiring::

    Profiles-0.<element>_<i> --p_mw, q_mvar--> Grid-0.<element>_<i>   (same step)
    Grid-0.bus_*      vm_pu (va_degree)     --> Recorder
    Grid-0.line_*     loading_percent       --> Recorder
    Grid-0.trafo_*    loading_percent       --> Recorder
    Grid-0.ext_grid_* p_mw, q_mvar          --> Recorder
    Grid-0.grid       converged             --> Recorder
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cosim.core.errors import ConfigError
from cosim.core.fleet import FLEET, UNITS, positions
from cosim.run.config import RunConfig
from cosim.run.scenario import Builder
from simulators.grid.nets import check_source


@dataclass(frozen=True)
class Config(RunConfig):
    """grid_profiles parameters.

    Attributes
    ----------
    grid : str
        SimBench code, pandapower.networks name or pandapower JSON file.
    profiles : str
        CSV/Parquet file with one column per element; empty: the grid's SimBench profiles.
    profile_step_s : int
        Seconds between rows of a profile file without a ``t_s`` column [s]; 0: ``step_s``.
    on_diverge : str
        ``stop`` ends the run at a power flow that does not converge; ``continue`` records it.
    record_angles : bool
        Also record bus ``va_degree``.
    fleets : bool or None
        One entity per element table with array attributes (True), or one per element
        (False); same results either way. None (default): fleets on grids of
        :data:`FLEETS_FROM_BUSES` buses or more (``cosim grids``; a file: always).
    engine : str
        Power-flow engine of the Grid: ``pandapower`` (the reference) or ``power-grid-model``.
    """

    grid: str = "1-LV-rural1--0-sw"
    profiles: str = ""
    profile_step_s: int = 0
    on_diverge: Literal["stop", "continue"] = "stop"
    record_angles: bool = False
    fleets: bool | None = None
    engine: Literal["pandapower", "power-grid-model"] = "pandapower"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.profiles and not Path(self.profiles).is_file():
            raise ConfigError(f"profiles={self.profiles!r}: no such file")
        if self.profile_step_s < 0:
            raise ConfigError(f"profile_step_s={self.profile_step_s!r} must be >= 0")
        check_source(self.grid)  # checked before anything is built


FLEETS_FROM_BUSES = 200
"""Buses from which ``fleets=None`` takes fleets: on an LV feeder single entities cost no
more (``bench/grid_step.py``), on an MV/LV grid they cost more than the power flow."""


def use_fleets(cfg: Config) -> bool:
    """``cfg.fleets``, or for None whether the grid has :data:`FLEETS_FROM_BUSES` buses or
    more by the shipped table of grid sizes (a grid it does not list: fleets)."""
    if cfg.fleets is not None:
        return cfg.fleets
    from simulators.data import grid_sizes

    _, buses = grid_sizes.read().get(cfg.grid, ("", FLEETS_FROM_BUSES))
    return buses >= FLEETS_FROM_BUSES


def build(b: Builder, cfg: Config) -> None:
    fleets = {"fleets": True} if use_fleets(cfg) else {}
    grid = b.start("Grid", on_diverge=cfg.on_diverge).Grid(
        grid=cfg.grid, engine=cfg.engine, **fleets
    )
    if cfg.profiles:
        source = cfg.profiles
    elif _is_simbench(cfg.grid):
        source = f"simbench:{cfg.grid}"
    else:
        raise ConfigError(
            f"profiles='' takes the grid's SimBench profiles, but grid={cfg.grid!r} is not a "
            "SimBench code; give profiles=PATH to a CSV or Parquet file"
        )
    profiles = b.start("Profiles").Profiles(
        source=source, profile_step_s=cfg.profile_step_s or None, **fleets
    )
    elements = {e.eid: e for e in grid.children}
    if fleets:
        _connect_fleets(b, cfg.grid, profiles.children, list(elements.values()))
    for series in [] if fleets else profiles.children:
        target = elements.get(series.eid)
        if target is None:
            raise ConfigError(
                f"profile column {series.eid!r} names no element of grid={cfg.grid!r}"
            )
        b.connect(series, target, *series.extra_info["attrs"])
    by_type: dict[str, list] = {}
    for e in grid.children:
        by_type.setdefault(e.type.removesuffix(FLEET), []).append(e)
    b.record(by_type.get("Bus", []), "vm_pu", *(["va_degree"] if cfg.record_angles else []))
    b.record(by_type.get("Line", []) + by_type.get("Trafo", []), "loading_percent")
    b.record(by_type.get("ExtGrid", []), "p_mw", "q_mvar")
    b.record([grid], "converged")


def _connect_fleets(b: Builder, grid: str, series: list, tables: list) -> None:
    """Each profile fleet to the grid table fleet of its elements, routed by element."""
    owner = {unit: table for table in tables for unit in table.extra_info.get(UNITS, ())}
    for fleet in series:
        names = fleet.extra_info[UNITS]
        if missing := [n for n in names if n not in owner]:
            raise ConfigError(f"profile column {missing[0]!r} names no element of grid={grid!r}")
        target = owner[names[0]]
        route = positions(names, target.extra_info[UNITS])
        b.connect(fleet, target, *fleet.extra_info["attrs"], route=route)


def _is_simbench(code: str) -> bool:
    import simbench

    return code in simbench.collect_all_simbench_codes()


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
