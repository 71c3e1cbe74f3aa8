"""Run the profiles simulator as its own process: ``python -m simulators.profiles HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.profiles.sim import ProfilesSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(ProfilesSim(), "cosim profiles simulator")
