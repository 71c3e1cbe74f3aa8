"""grid_profiles plus one controller given by name (tests of the controller plug-in)."""

from dataclasses import dataclass

from cosim.run.scenario import Builder
from scenarios import grid_profiles


@dataclass(frozen=True)
class Config(grid_profiles.Config):
    controller: str = "take_off"
    limit_mw: float = 0.02


def build(b: Builder, cfg: Config) -> None:
    grid_profiles.build(b, cfg)
    options = {"feeder": "Grid-0.ext_grid_0", "load": "Grid-0.load_0", "limit_mw": cfg.limit_mw}
    ctrl = b.control(cfg.controller, options)
    b.record([ctrl], "decisions")
