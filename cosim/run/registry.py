"""cosim's simulators by mosaik name: where the framework finds them (by name, never by
importing them); the scenario Builder, ``python -m cosim.run.coupling``, ``cosim sims`` and the
catalogue read it.

The built-ins are :data:`SIMULATORS`; an installed package adds its own through the entry point
group ``cosim.simulators`` (name = mosaik name, value = ``"module:Class"``), so a new unit type
needs no edit under ``cosim/``. A built-in name wins over an entry point of the same name.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from cosim.core.errors import ConfigError, unknown

ENTRY_POINT_GROUP = "cosim.simulators"

SIMULATORS: dict[str, str] = {
    "Grid": "simulators.grid.sim:GridSim",
    "Profiles": "simulators.profiles.sim:ProfilesSim",
    "PV": "simulators.pv.sim:PVSim",
    "Battery": "simulators.battery.sim:BatterySim",
    "EV": "simulators.ev.sim:EVSim",
    "CHP": "simulators.chp.sim:ChpSim",
    "FlexLoad": "simulators.flexload.sim:FlexLoadSim",
    "FMU": "simulators.fmu.sim:FMUSim",
    "Events": "simulators.events.sim:EventsSim",
    "Controller": "controllers.adapter:ControllerSim",
}
"""The built-ins: mosaik name -> ``"module:Class"``; ``python -m <package>`` runs each as its
own process."""


def installed() -> dict[str, str]:
    """Simulators of installed packages (entry point group ``cosim.simulators``), by name."""
    return {
        ep.name: ep.value
        for ep in entry_points(group=ENTRY_POINT_GROUP)
        if ep.name not in SIMULATORS
    }


def simulators() -> dict[str, str]:
    """Every known simulator: the built-ins, then the installed ones by name."""
    return {**SIMULATORS, **dict(sorted(installed().items()))}


def target(name: str) -> str:
    """``"module:Class"`` of simulator ``name``; an unknown name is a ConfigError listing the
    known ones."""
    known = simulators()
    if name not in known:
        raise unknown("simulator", name, list(known))
    return known[name]


def load(name: str) -> Any:
    """The simulator class of ``name``, imported; one that cannot be imported is a ConfigError."""
    spec = target(name)
    module_name, _, cls_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(
            f"simulator {name!r} ({spec}): cannot import {module_name!r}: {err}"
        ) from None
    if not hasattr(module, cls_name):
        raise ConfigError(f"simulator {name!r} ({spec}): {module_name!r} has no {cls_name!r}")
    return getattr(module, cls_name)
