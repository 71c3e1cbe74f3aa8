"""Run the EV simulator as its own process: ``python -m simulators.ev HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.ev.sim import EVSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(EVSim(), "cosim EV charging simulator")
