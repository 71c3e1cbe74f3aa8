"""Run the CHP simulator as its own process: ``python -m simulators.chp HOST:PORT``."""

import mosaik_api_v3

from cosim.core import lifeline
from simulators.chp.sim import ChpSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    mosaik_api_v3.start_simulation(ChpSim(), "cosim CHP simulator")
