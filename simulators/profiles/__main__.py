"""Run the profiles simulator as its own process: ``python -m simulators.profiles HOST:PORT``."""

import mosaik_api_v3

from simulators.profiles.sim import ProfilesSim

if __name__ == "__main__":
    mosaik_api_v3.start_simulation(ProfilesSim(), "cosim profiles simulator")
