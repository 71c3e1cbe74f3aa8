"""Run the CHP simulator as its own process: ``python -m simulators.chp HOST:PORT``."""

import mosaik_api_v3

from cosim.core import fleet, lifeline
from simulators.chp.sim import ChpSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.crossing()  # fleet values go as lists
    mosaik_api_v3.start_simulation(ChpSim(), "cosim CHP simulator")
