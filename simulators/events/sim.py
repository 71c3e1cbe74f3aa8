"""mosaik adapter of event schedules: one entity per schedule, output ``value``; no logic."""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from cosim.core.errors import ConfigError
from cosim.core.simapi import (
    DEFAULT_STEP_S,
    Attr,
    Param,
    check_init,
    check_num,
    model_meta,
    parse_params,
    sim_meta,
)
from simulators.events.model import Schedule, schedule

VALUE = Attr("value", "-", "the scheduled value now (its unit is that of the attribute it feeds)")
MODEL = "Events"
PARAMS = (
    Param("initial", "float | bool | None", "-", None, "the value before the first change"),
    Param("changes", "list[[t_s, value]]", "s, -", (), "the times [s] and new values, in order"),
)
META: Meta = sim_meta(  # type: ignore[assignment]
    {MODEL: model_meta([VALUE], params=PARAMS)}
)


class EventsSim(mosaik_api_v3.Simulator):
    """Scheduled values (outages, signals): entities ``events_<k>``, output ``value``."""

    def __init__(self) -> None:
        super().__init__(META)
        self.step_s = DEFAULT_STEP_S
        self._schedules: dict[str, Schedule] = {}
        self._time = 0

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        self.step_s, _ = check_init(time_resolution, sim_params)
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        if model != MODEL:
            raise ConfigError(f"model={model!r} is unknown; known: [{MODEL!r}]")
        params = parse_params(model_params, {p.name: p.default for p in PARAMS}, MODEL)
        created: list[CreateResult] = []
        for _ in range(check_num(num)):
            eid = f"events_{len(self._schedules)}"
            self._schedules[eid] = schedule(params["initial"], params["changes"])
            created.append({"eid": eid, "type": MODEL, "rel": []})
        return created

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        self._time = time
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        return {
            eid: {attr: self._schedules[eid].value_at(self._time) for attr in attrs}
            for eid, attrs in outputs.items()
        }
