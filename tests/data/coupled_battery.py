"""A test scenario: cosim's battery coupled as an outside simulator, one of four ways.

``how``: ``python`` (its class, in this process), ``cmd`` (its own process), ``connect`` (a
server already listening at ``address``); set points in kW come from a coupled series.

Wiring::

    Setpoints-0.series_0 --p_set_kw (kW -> MW)--> Bat-0.battery_0.<set_attr>    (same step)
    Bat-0.battery_0      --p_mw-----------------> Grid-0.storage_<new>.p_mw      (same step)
    Bat-0.battery_0 soc_frac, p_mw; Grid-0.storage_<new> p_mw; Grid-0.ext_grid_0 p_mw
        --> Recorder
"""

from dataclasses import dataclass

from cosim.run.config import RunConfig
from cosim.run.coupling import KW_TO_MW
from cosim.run.scenario import Builder


@dataclass(frozen=True)
class Config(RunConfig):
    how: str = "python"
    address: str = ""
    set_points_kw: tuple[float, ...] = (5.0, 5.0, -5.0, 0.0)
    set_attr: str = "p_set_mw"  # another name is a build error that lists the battery's attrs
    bus: int = 19


CONFIGS = {
    "python": {"python": "simulators.battery.sim:BatterySim"},
    "cmd": {"cmd": "%(python)s -m simulators.battery %(addr)s"},
}


def build(b: Builder, cfg: Config) -> None:
    config = CONFIGS.get(cfg.how) or {"connect": cfg.address}
    battery = b.couple("Bat", config, step_s=cfg.step_s, start=cfg.start).Battery(
        e_max_mwh=0.02, self_discharge_per_day_frac=0.0
    )
    series = b.couple(
        "Setpoints",
        {"python": "cosim.run.testing:SeriesSim"},
        step_s=cfg.step_s,
        attrs=["p_set_kw"],
    ).Series(values={"p_set_kw": list(cfg.set_points_kw)})
    b.wire(series, battery, {"p_set_kw": (cfg.set_attr, KW_TO_MW)})
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid="create_cigre_network_lv")
    storage = grid_sim.Storage(bus=cfg.bus, name=battery.full_id)
    b.wire(battery, storage, "p_mw")
    b.record([battery], "soc_frac", "p_mw")
    b.record([storage], "p_mw")
    b.record([e for e in grid.children if e.type == "ExtGrid"], "p_mw")
