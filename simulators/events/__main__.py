"""Run the events simulator as its own process: ``python -m simulators.events HOST:PORT``."""

import mosaik_api_v3

from cosim.core import lifeline
from simulators.events.sim import EventsSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    mosaik_api_v3.start_simulation(EventsSim(), "cosim events simulator")
