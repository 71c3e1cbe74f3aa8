"""Run the battery simulator as its own process: ``python -m simulators.battery HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.battery.sim import BatterySim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(BatterySim(), "cosim battery simulator")
