"""Run the PV simulator as its own process: ``python -m simulators.pv HOST:PORT``."""

import mosaik_api_v3

from cosim.core import lifeline
from simulators.pv.sim import PVSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    mosaik_api_v3.start_simulation(PVSim(), "cosim PV simulator")
