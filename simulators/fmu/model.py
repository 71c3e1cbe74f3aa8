"""FMI 2.0 co-simulation FMUs through fmpy: read, instantiate, step. Never imports mosaik.

An FMU's variables map to cosim by causality: ``parameter`` -> a create param (set before
initialisation), ``input`` -> an input attr (its start value can also be given at create),
``output`` -> an output attr. Types Real, Integer and Boolean are exchanged; String only as a
parameter. FMU time is seconds since the scenario's start (``t_s``); each step is one
``doStep(t_s, step_s)``: the inputs at ``t_s`` are set first, the outputs read after it are the
FMU's values at ``t_s + step_s`` (an FMU that outputs the mean of a power over its last step
matches cosim's convention of mean power over the step).

Reference: Modelica Association, *Functional Mock-up Interface for Model Exchange and
Co-Simulation*, version 2.0.4 (2022), sections 2.2 (model description) and 4 (co-simulation).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosim.core.errors import ConfigError, SimulationError, unknown

TYPES = ("Real", "Integer", "Boolean")
"""Variable types exchanged with mosaik."""
INSTALL_HINT = "pip install 'cosim[coupling]' (fmpy)"


def _fmpy() -> Any:
    try:
        import fmpy
    except ImportError:
        raise ConfigError(f"the FMU adapter needs fmpy: {INSTALL_HINT}") from None
    return fmpy


@dataclass(frozen=True)
class Variable:
    """One scalar variable of an FMU."""

    name: str
    value_reference: int
    type: str  # Real, Integer, Boolean or String
    causality: str  # parameter, input or output (others are not exchanged)
    start: Any


@dataclass(frozen=True)
class Description:
    """What cosim needs from an FMU's modelDescription.xml."""

    path: Path
    guid: str
    model_identifier: str
    parameters: dict[str, Variable]
    inputs: dict[str, Variable]
    outputs: dict[str, Variable]
    once_per_process: bool  # canBeInstantiatedOnlyOncePerProcess


def read(path: str | Path) -> Description:
    """The FMU's description; a ConfigError unless it is an FMI 2.0 co-simulation FMU."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"fmu={str(path)!r}: no such file")
    fmpy = _fmpy()
    try:
        md = fmpy.read_model_description(str(path))
    except Exception as err:
        raise ConfigError(f"fmu={str(path)!r} is not a readable FMU: {err}") from None
    if md.fmiVersion != "2.0" or md.coSimulation is None:
        kind = "co-simulation" if md.coSimulation is not None else "model exchange only"
        raise ConfigError(
            f"fmu={str(path)!r} is FMI {md.fmiVersion} ({kind}); the adapter needs FMI 2.0 "
            "co-simulation"
        )
    groups: dict[str, dict[str, Variable]] = {"parameter": {}, "input": {}, "output": {}}
    for v in md.modelVariables:
        if v.causality not in groups:
            continue
        if v.type not in TYPES and not (v.type == "String" and v.causality == "parameter"):
            raise ConfigError(
                f"fmu={str(path)!r}: {v.causality} {v.name!r} has type {v.type}; "
                f"exchanged types: {', '.join(TYPES)}"
            )
        groups[v.causality][v.name] = Variable(
            v.name, int(v.valueReference), v.type, v.causality, _typed(v.type, v.start)
        )
    return Description(
        path=path,
        guid=md.guid,
        model_identifier=md.coSimulation.modelIdentifier,
        parameters=groups["parameter"],
        inputs=groups["input"],
        outputs=groups["output"],
        once_per_process=bool(md.coSimulation.canBeInstantiatedOnlyOncePerProcess),
    )


def _typed(kind: str, value: Any) -> Any:
    """A start value (text in the XML) as Python data of the variable's type."""
    if value is None:
        return None
    if kind == "Real":
        return float(value)
    if kind == "Integer":
        return int(value)
    if kind == "Boolean":
        return value in (True, 1, "true", "1")
    return str(value)


def check_value(var: Variable, value: Any, field: str) -> Any:
    """``value`` as ``var``'s type; a ConfigError naming ``field`` when it does not fit."""
    ok = {
        "Real": isinstance(value, int | float) and not isinstance(value, bool),
        "Integer": isinstance(value, int) and not isinstance(value, bool),
        "Boolean": isinstance(value, bool),
        "String": isinstance(value, str),
    }[var.type]
    if not ok:
        raise ConfigError(f"{field}={value!r} must be of the FMU type {var.type}")
    if var.type == "Real" and not math.isfinite(value):
        raise ConfigError(f"{field}={value!r} must be finite")
    return float(value) if var.type == "Real" else value


class Unzipped:
    """An FMU extracted to a temporary folder, shared by its instances; ``remove`` deletes it."""

    def __init__(self, desc: Description) -> None:
        self.desc = desc
        self.folder = Path(_fmpy().extract(str(desc.path)))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Instance:
    """One instance of an FMU: start values set before initialisation, then one doStep a step."""

    def __init__(self, unzipped: Unzipped, name: str, start: Mapping[str, Any]) -> None:
        from fmpy.fmi2 import FMU2Slave

        desc = unzipped.desc
        settable = {**desc.parameters, **desc.inputs}
        values = {}
        for key, value in start.items():
            if key not in settable:
                raise unknown("FMU parameter or input", key, list(settable))
            values[key] = check_value(settable[key], value, key)
        self.name, self.desc = name, desc
        self._fmu = FMU2Slave(
            guid=desc.guid,
            unzipDirectory=str(unzipped.folder),
            modelIdentifier=desc.model_identifier,
            instanceName=name,
        )
        try:
            self._fmu.instantiate()
            self._fmu.setupExperiment(startTime=0.0)
            self._set({settable[k]: v for k, v in values.items()})
            self._fmu.enterInitializationMode()
            self._fmu.exitInitializationMode()
        except Exception as err:
            raise ConfigError(f"{name}: the FMU did not initialise: {err}") from None
        self._inputs = {k: settable[k] for k in desc.inputs}

    def step(self, t_s: int, step_s: int, inputs: Mapping[str, Any]) -> None:
        """Set the given inputs (the others keep their last value) and advance by ``step_s``."""
        given = {}
        for key, value in inputs.items():
            try:
                given[self._inputs[key]] = check_value(self._inputs[key], value, key)
            except (KeyError, ConfigError) as err:
                raise SimulationError(f"{self.name} at t_s={t_s}: input {err}") from None
        try:
            self._set(given)
            self._fmu.doStep(currentCommunicationPoint=float(t_s), communicationStepSize=step_s)
        except Exception as err:
            raise SimulationError(f"{self.name}: doStep at t_s={t_s} failed: {err}") from None

    def outputs(self, names: list[str]) -> dict[str, Any]:
        """The current values of the named outputs (or inputs), as plain Python values."""
        found = {**self.desc.outputs, **self.desc.inputs}
        by_type: dict[str, list[Variable]] = {}
        for name in names:
            if name not in found:
                raise SimulationError(
                    f"{name!r} is no output of {self.name}; outputs: {', '.join(self.desc.outputs)}"
                )
            by_type.setdefault(found[name].type, []).append(found[name])
        values: dict[str, Any] = {}
        for kind, variables in by_type.items():
            getter = getattr(self._fmu, f"get{kind}")
            for var, value in zip(
                variables, getter([v.value_reference for v in variables]), strict=True
            ):
                values[var.name] = _typed(kind, value)
        return values

    def _set(self, values: Mapping[Variable, Any]) -> None:
        by_type: dict[str, list[tuple[Variable, Any]]] = {}
        for var, value in values.items():
            by_type.setdefault(var.type, []).append((var, value))
        for kind, pairs in by_type.items():
            setter = getattr(self._fmu, f"set{kind}")
            setter([v.value_reference for v, _ in pairs], [value for _, value in pairs])

    def free(self) -> None:
        """Terminate the instance and free its memory."""
        try:
            self._fmu.terminate()
        finally:
            self._fmu.freeInstance()
