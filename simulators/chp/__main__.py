"""Run the CHP simulator as its own process: ``python -m simulators.chp HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.chp.sim import ChpSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(ChpSim(), "cosim CHP simulator")
