"""A controller package as a user would ship one: found through its entry point."""

from dataclasses import dataclass
from typing import Any

from controllers.base import Controller, Measurements, Point, SetPoints


@dataclass
class TakeOff(Controller):
    """Takes ``load`` out of service once ``feeder`` imports more than ``limit_mw``."""

    feeder: str
    load: str
    limit_mw: float

    reports = ("decisions",)

    def __post_init__(self) -> None:
        self._decisions = 0

    def observes(self) -> list[Point]:
        return [(self.feeder, "p_mw")]

    def sets(self) -> dict[Point, Any]:
        return {(self.load, "in_service"): True}

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        self._decisions += 1
        if seen[self.feeder]["p_mw"] > self.limit_mw:
            return {self.load: {"in_service": False}}
        return {}

    def report(self) -> dict[str, Any]:
        return {"decisions": self._decisions}
