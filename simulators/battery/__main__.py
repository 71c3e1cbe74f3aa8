"""Run the battery simulator as its own process: ``python -m simulators.battery HOST:PORT``."""

import mosaik_api_v3

from cosim.core import fleet, lifeline
from simulators.battery.sim import BatterySim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.crossing()  # fleet values go as lists
    mosaik_api_v3.start_simulation(BatterySim(), "cosim battery simulator")
