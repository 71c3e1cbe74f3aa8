"""Run the profiles simulator as its own process: ``python -m simulators.profiles HOST:PORT``."""

import mosaik_api_v3

from cosim.core import lifeline
from simulators.profiles.sim import ProfilesSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    mosaik_api_v3.start_simulation(ProfilesSim(), "cosim profiles simulator")
