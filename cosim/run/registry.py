"""cosim's own simulators by mosaik name: where the framework finds them (by name, never by
importing them); the scenario Builder, ``python -m cosim.run.coupling serve`` and the catalogue
read it."""

from __future__ import annotations

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
"""mosaik name -> ``"module:Class"``; ``python -m <package>`` runs each as its own process."""
