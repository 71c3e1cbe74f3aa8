"""mosaik adapter of FMI 2.0 co-simulation FMUs: entities, inputs and outputs; no model.

Sim param ``fmu`` is the FMU file; its modelDescription gives the meta: model ``FMU`` whose
params are the FMU's parameters and inputs (start values, set before initialisation) and whose
attrs are its inputs and outputs, named as in the FMU. Each entity ``fmu_0``, ``fmu_1``, ... is
one instance of the FMU. Every step sets the inputs received at ``t_s`` (several sources of a
Real or Integer input are summed, of a Boolean all must be true; an input without a value keeps
its last one) and calls ``doStep(t_s, step_s)``; get_data reads the outputs after it.
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest, SimId

from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.simapi import DEFAULT_STEP_S, check_init, check_num, combine, sim_meta
from simulators.fmu import model as fmu

MODEL = "FMU"
SIM_PARAMS = ("step_s", "start", "fmu")


class FMUSim(mosaik_api_v3.Simulator):
    """FMU instances stepped at the scenario's step size.

    Sim params: ``fmu`` (path of the .fmu file), ``step_s`` [s] (default 900), ``start`` (ISO
    date and time of t_s = 0; FMU time starts at 0 there).
    """

    def __init__(self) -> None:
        super().__init__(sim_meta({}))
        self.sid = ""
        self.step_s = DEFAULT_STEP_S
        self.desc: fmu.Description | None = None
        self._unzipped: fmu.Unzipped | None = None
        self._units: dict[str, fmu.Instance] = {}
        self._how: dict[str, str] = {}

    def init(self, sid: SimId, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Read the FMU's description; its variables make the meta."""
        self.step_s, _ = check_init(time_resolution, sim_params, SIM_PARAMS)
        if "fmu" not in sim_params:
            raise ConfigError("fmu is missing: give the sim param fmu=PATH of a .fmu file")
        self.sid = sid
        self.desc = desc = fmu.read(sim_params["fmu"])
        self._how = {
            name: "all" if var.type == "Boolean" else "sum" for name, var in desc.inputs.items()
        }
        self.meta["models"][MODEL] = {
            "public": True,
            "params": [*desc.parameters, *desc.inputs],
            "attrs": [*desc.inputs, *desc.outputs],
            "any_inputs": False,
        }
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        """``num`` instances, each with the given parameter and input start values."""
        if model != MODEL:
            raise unknown("model", model, [MODEL])
        check_num(num)
        desc = self.desc
        if desc is None:
            raise SimulationError("create() before init()")
        if desc.once_per_process and len(self._units) + num > 1:
            raise ConfigError(
                f"{desc.path.name} can be instantiated only once per process: start one FMU "
                "simulator per instance, each in its own process (--processes)"
            )
        if self._unzipped is None:
            self._unzipped = fmu.Unzipped(desc)
        created: list[CreateResult] = []
        for _ in range(num):
            eid = f"fmu_{len(self._units)}"
            self._units[eid] = fmu.Instance(self._unzipped, f"{self.sid}.{eid}", model_params)
            created.append({"eid": eid, "type": MODEL, "rel": []})
        return created

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        """Set each instance's inputs at ``time`` and advance it by ``step_s``."""
        for eid, unit in self._units.items():
            given = {}
            for attr, sources in inputs.get(eid, {}).items():
                value = combine(sources, self._how.get(attr, "sum"), eid, attr)
                if value is not None:
                    given[attr] = value
            unit.step(time, self.step_s, given)
        return time + self.step_s

    def get_data(self, outputs: OutputRequest) -> OutputData:
        """The requested outputs after this step's doStep, as plain Python values."""
        data: dict[str, Any] = {}
        for eid, attrs in outputs.items():
            unit = self._units.get(eid)
            if unit is None:
                raise SimulationError(f"get_data for unknown entity {eid!r}")
            data[eid] = unit.outputs(list(attrs))
        return data

    def finalize(self) -> None:
        """Free every instance and delete the extracted FMU."""
        for unit in self._units.values():
            unit.free()
        self._units = {}
        if self._unzipped is not None:
            self._unzipped.remove()
            self._unzipped = None
