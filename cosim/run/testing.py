"""Testing helpers for simulator authors: drive one simulator in a small mosaik world.

``run_simulator`` starts the simulator under test in-process or as its own OS process, feeds
each of its entities a series of inputs (one value per step) and returns every output it
produced, so that a test can assert both modes give identical results::

    kwargs = dict(init={"step_s": 900}, model="Battery", create={"e_max_mwh": 1.0}, num=2,
                  inputs={"p_set_mw": [0.5, -0.5]}, outputs=["soc_frac"], steps=2)
    assert run_simulator("simulators.battery", processes=True, **kwargs) == run_simulator(
        "simulators.battery", processes=False, **kwargs)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import mosaik
import mosaik_api_v3
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from cosim.core.simapi import model_meta, parse_params, sim_meta


class SeriesSim(mosaik_api_v3.Simulator):
    """One entity per created series; outputs ``values[k]`` of each attr at step k."""

    def __init__(self) -> None:
        super().__init__(sim_meta({"Series": model_meta([], params=["values"], any_inputs=False)}))
        self.series: dict[str, dict[str, list[Any]]] = {}
        self.step_s = 1
        self._k = 0

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        params = parse_params(sim_params, {"step_s": 1, "attrs": ()}, "series")
        self.step_s = params["step_s"]
        self.meta["models"]["Series"]["attrs"] = list(params["attrs"])
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        values = parse_params(model_params, {"values": {}}, "Series")["values"]
        out: list[CreateResult] = []
        for _ in range(num):
            eid = f"series_{len(self.series)}"
            self.series[eid] = values
            out.append({"eid": eid, "type": "Series", "rel": []})
        return out

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        self._k = time // self.step_s
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        return {
            eid: {a: self.series[eid][a][self._k] for a in attrs} for eid, attrs in outputs.items()
        }


class CollectorSim(mosaik_api_v3.Simulator):
    """Keeps every value it receives: ``{t_s: {src_full_id: {attr: value}}}``."""

    collected: dict[int, dict[str, dict[str, Any]]]
    instances: ClassVar[
        dict[str, CollectorSim]
    ] = {}  # by sim id: always in-process, read back after

    def __init__(self) -> None:
        super().__init__(
            sim_meta({"Collector": model_meta([], any_inputs=True)}, kind="event-based")
        )
        self.collected = {}

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        CollectorSim.instances[sid] = self
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        return [{"eid": "collector", "type": "Collector", "rel": []}]

    def step(self, time: int, inputs: InputData, max_advance: int) -> None:
        for attr, sources in inputs.get("collector", {}).items():
            for src, value in sources.items():
                self.collected.setdefault(time, {}).setdefault(src, {})[attr] = value
        return None

    def get_data(self, outputs: OutputRequest) -> OutputData:
        return {}


def run_simulator(
    package: str,
    *,
    processes: bool,
    model: str,
    outputs: Sequence[str],
    steps: int,
    init: Mapping[str, Any] | None = None,
    create: Mapping[str, Any] | None = None,
    num: int = 1,
    inputs: Mapping[str, Sequence[Any]] | None = None,
    sim_class: str | None = None,
) -> dict[int, dict[str, dict[str, Any]]]:
    """Run ``package``'s simulator for ``steps`` steps and return what its entities output.

    ``package`` is e.g. ``"simulators.battery"``: in-process its ``sim`` module's class
    ``sim_class`` (default: the one class ending in ``Sim``) is used, as a process
    ``python -m package``. ``inputs`` maps an input attr to one value per step, fed to every
    created entity. The result maps t_s to ``{entity id: {attr: value}}``.
    """
    init = dict(init or {})
    step_s = int(init.get("step_s", 900))
    if processes:
        starter: dict[str, str] = {"cmd": f"%(python)s -m {package} --log-level warning %(addr)s"}
    else:
        starter = {"python": f"{package}.sim:{sim_class or _sim_class(package)}"}
    world = mosaik.World(
        {
            "Under": starter,  # type: ignore[dict-item]
            "Series": {"python": "cosim.run.testing:SeriesSim"},
            "Collector": {"python": "cosim.run.testing:CollectorSim"},
        },
        skip_greetings=True,
        configure_logging=False,  # type: ignore[arg-type]
    )
    try:
        entities = getattr(world.start("Under", **init), model).create(num, **(create or {}))
        collector_sim = world.start("Collector", sim_id=f"Collector-{id(world)}")
        collector = collector_sim.Collector()
        if inputs:
            series = world.start("Series", step_s=step_s, attrs=list(inputs)).Series.create(
                len(entities), values={k: list(v) for k, v in inputs.items()}
            )
            for src, dest in zip(series, entities, strict=True):
                world.connect(src, dest, *inputs)
        for entity in entities:
            world.connect(entity, collector, *outputs)
        world.run(until=steps * step_s, print_progress=False)
        collected = CollectorSim.instances.pop(f"Collector-{id(world)}").collected
    finally:
        world.shutdown()
    return {
        t: {src.split(".", 1)[1]: v for src, v in by_src.items()} for t, by_src in collected.items()
    }


def _sim_class(package: str) -> str:
    import importlib

    module = importlib.import_module(f"{package}.sim")
    names = [
        n
        for n, v in vars(module).items()
        if isinstance(v, type)
        and n.endswith("Sim")
        and issubclass(v, mosaik_api_v3.Simulator)
        and v.__module__ == module.__name__
    ]
    if len(names) != 1:
        raise ValueError(f"{package}.sim defines simulator classes {names}; pass sim_class")
    return names[0]
