"""A test controller that observes and sets nothing: enough to start the controller host."""

from typing import Any

from controllers.base import Controller, Measurements, Point, SetPoints


class Idle(Controller):
    def observes(self) -> list[Point]:
        return []

    def sets(self) -> dict[Point, Any]:
        return {}

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        return {}
