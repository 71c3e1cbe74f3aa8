"""The plain mosaik scenario of ``bench/year.py``: mosaik-pandapower-2 fed by a profile source.

Community parts only, besides cosim's SimBench net and profile table: the mosaik-pandapower-2 grid
simulator on the net, a minimal source sim with one entity per profiled element, and a sink that
keeps every value in memory. mosaik-pandapower-2's loads and sgens take no inputs, so each
element's value goes to its bus (``P_load[MW]``, ``Q_load[MVar]``, ``P_gen[MW]``,
``Q_gen[MVar]``), where the simulator sums them into one load and one sgen per bus; the net's own
elements keep only what no profile drives.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np
import pandas as pd
from _common import STEP_S

MPP2 = "mosaik-pandapower-2"
MPP2_MODULE = "mosaik_components.pandapower"

BUS_INPUTS: dict[tuple[str, str], str] = {
    ("load", "p_mw"): "P_load[MW]",
    ("load", "q_mvar"): "Q_load[MVar]",
    ("storage", "p_mw"): "P_load[MW]",  # storage p > 0 consumes, as a load
    ("storage", "q_mvar"): "Q_load[MVar]",
    ("sgen", "p_mw"): "P_gen[MW]",
    ("sgen", "q_mvar"): "Q_gen[MVar]",
}
"""(element, attr) of a profile -> the input of mosaik-pandapower-2's Bus entity that takes it."""
SOURCE_META: dict[str, Any] = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Series": {
            "public": True,
            "params": ["element", "index"],
            "attrs": sorted(set(BUS_INPUTS.values())),
        }
    },
}
SINK_META: dict[str, Any] = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {"Sink": {"public": True, "params": [], "attrs": [], "any_inputs": True}},
}


class ProfileSource(mosaik_api_v3.Simulator):
    """Rows of a cosim ProfileTable, one entity per grid element, named as bus inputs."""

    def __init__(self) -> None:
        super().__init__(SOURCE_META)
        self.table: Any = None
        self.row = np.empty(0)
        self.positions: dict[str, dict[str, int]] = {}

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Any:
        self.table = sim_params["table"]
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[Any]:
        element, index = model_params["element"], int(model_params["index"])
        eid = f"{element}_{index}"
        self.positions[eid] = {
            BUS_INPUTS[element, attr]: pos
            for pos, (e, i, attr) in enumerate(self.table.columns)
            if (e, i) == (element, index)
        }
        return [{"eid": eid, "type": model, "extra_info": list(self.positions[eid])}]

    def step(self, time: int, inputs: Any, max_advance: int) -> int:
        self.row = self.table.row_at(time)
        return time + STEP_S

    def get_data(self, outputs: Any) -> Any:
        return {
            eid: {a: float(self.row[self.positions[eid][a]]) for a in attrs}
            for eid, attrs in outputs.items()
        }


class MemorySink(mosaik_api_v3.Simulator):
    """Keeps every value it receives in one numpy array (steps x inputs)."""

    instance: MemorySink | None = None
    """The last one made in this process (in-process: the scenario reads it after the run)."""

    def __init__(self) -> None:
        super().__init__(SINK_META)
        MemorySink.instance = self
        self.steps = 0
        self.keys: list[tuple[str, str]] = []
        self.values = np.empty((0, 0))

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Any:
        self.steps = int(sim_params["steps"])
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[Any]:
        return [{"eid": "sink", "type": model}]

    def step(self, time: int, inputs: Any, max_advance: int) -> int:
        received = inputs.get("sink", {})
        if not self.keys:
            self.keys = sorted((src, a) for a, srcs in received.items() for src in srcs)
            self.values = np.full((self.steps, len(self.keys)), np.nan)
        row = self.values[time // STEP_S]
        for pos, (src, attr) in enumerate(self.keys):
            row[pos] = received[attr][src]
        return time + STEP_S

    def get_data(self, outputs: Any) -> Any:
        return {}


def mpp2_world(grid: str, steps: int) -> tuple[Any, MemorySink]:
    """The plain mosaik scenario on SimBench ``grid``: profile source -> grid -> sink."""
    import mosaik

    from simulators.profiles.model import simbench_profiles
    from simulators.simbench_nets import simbench_net

    net = simbench_net(grid)
    table = simbench_profiles(net)
    table.check_covers(steps, STEP_S)
    for (element, attr), (indices, _) in table.groups().items():
        if (element, attr) not in BUS_INPUTS:
            raise SystemExit(f"{MPP2}: no bus input for profiles of {element}.{attr}")
        net[element].loc[indices, attr] = 0.0  # the source feeds these values to the bus
    world = mosaik.World(
        {
            "Grid": {"python": f"{MPP2_MODULE}:Simulator"},
            "Profiles": {"python": "_mpp2:ProfileSource"},
            "Sink": {"python": "_mpp2:MemorySink"},
        },
        skip_greetings=True,
        configure_logging=False,
    )
    grid_entity = world.start("Grid", step_size=STEP_S).Grid(net=net)
    profiles = world.start("Profiles", table=table)
    sink_sim = world.start("Sink", steps=steps)
    sink = sink_sim.Sink()
    by_eid = {e.eid: e for e in grid_entity.children}
    elements = sorted({(e, i) for e, i, _ in table.columns})
    for element, index in elements:
        series = profiles.Series(element=element, index=index)
        bus = by_eid[f"Bus-{int(net[element].at[index, 'bus'])}"]
        world.connect(series, bus, *series.extra_info)
    for entity in grid_entity.children:
        attrs = {"Bus": ("Vm[pu]",), "Line": ("loading[%]",), "ExternalGrid": ("P[MW]", "Q[MVar]")}
        if entity.type in attrs:
            world.connect(entity, sink, *attrs[entity.type])
    assert MemorySink.instance is not None
    return world, MemorySink.instance


def mpp2_day(sink: MemorySink, steps: int) -> pd.DataFrame:
    names = {"Vm[pu]": ("bus_", "vm_pu"), "loading[%]": ("line_", "loading_percent")}
    columns, keep = [], []
    for pos, (src, attr) in enumerate(sink.keys):
        if attr in names:
            prefix, name = names[attr]
            columns.append(f"{prefix}{src.rsplit('-', 1)[1]}.{name}")
            keep.append(pos)
    return pd.DataFrame(sink.values[:steps, keep], columns=columns)
