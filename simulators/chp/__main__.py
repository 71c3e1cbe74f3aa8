"""Run the CHP simulator as its own process: ``python -m simulators.chp HOST:PORT``."""

import mosaik_api_v3

from simulators.chp.sim import ChpSim

if __name__ == "__main__":
    mosaik_api_v3.start_simulation(ChpSim(), "cosim CHP simulator")
