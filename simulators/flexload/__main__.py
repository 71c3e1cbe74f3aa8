"""Run the flexload simulator as its own process: ``python -m simulators.flexload HOST:PORT``."""

import mosaik_api_v3

from cosim.core import fleet, lifeline
from simulators.flexload.sim import FlexLoadSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.crossing()  # fleet values go as lists
    mosaik_api_v3.start_simulation(FlexLoadSim(), "cosim flexible load simulator")
