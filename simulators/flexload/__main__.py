"""Run the flexload simulator as its own process: ``python -m simulators.flexload HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.flexload.sim import FlexLoadSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(FlexLoadSim(), "cosim flexible load simulator")
