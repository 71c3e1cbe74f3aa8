"""Run the grid simulator as its own process: ``python -m simulators.grid HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.grid.sim import GridSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(GridSim(), "cosim pandapower grid simulator")
