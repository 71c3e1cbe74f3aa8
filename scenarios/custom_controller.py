"""Your own controller in neighbourhood, in a few lines: a battery that shaves the feeder peak.

The controller below is the whole plug-in: it says what it observes and what it sets, and maps
measurements to set points. ``b.control`` starts it as a simulator (in this process, or as its
own with ``--processes``) and wires it: the feeder import in, one set point per battery out,
applied one step later. Run it with ``cosim run custom_controller --set limit_mw=0.03``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controllers.base import Controller, Measurements, Point, SetPoints
from cosim.run.scenario import Builder
from scenarios import neighbourhood


@dataclass
class ShavePeak(Controller):
    """Discharge every battery evenly by as much as the feeder imports above ``limit_mw``."""

    feeder: str
    batteries: list[str]
    limit_mw: float

    def observes(self) -> list[Point]:
        return [(self.feeder, "p_mw")]

    def sets(self) -> dict[Point, Any]:
        return {(b, "p_set_mw"): None for b in self.batteries}  # None: self-consumption rules

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        excess_mw = seen[self.feeder]["p_mw"] - self.limit_mw
        share_mw = -excess_mw / len(self.batteries) if excess_mw > 0 else None
        return {b: {"p_set_mw": share_mw} for b in self.batteries}


@dataclass(frozen=True)
class Config(neighbourhood.Config):
    """neighbourhood, plus the feeder import limit of the controller [MW]."""

    limit_mw: float = 0.04


def build(b: Builder, cfg: Config) -> None:
    neighbourhood.build(b, neighbourhood.single_entities(cfg, "custom_controller"))
    batteries = [e.full_id for e in b.entities("Battery-0")]
    b.control(
        ShavePeak,
        {"feeder": "Grid-0.ext_grid_0", "batteries": batteries, "limit_mw": cfg.limit_mw},
    )


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
