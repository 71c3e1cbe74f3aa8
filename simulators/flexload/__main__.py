"""Run the flexload simulator as its own process: ``python -m simulators.flexload HOST:PORT``."""

import mosaik_api_v3

from cosim.core import lifeline
from simulators.flexload.sim import FlexLoadSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    mosaik_api_v3.start_simulation(FlexLoadSim(), "cosim flexible load simulator")
