"""Run the PV simulator as its own process: ``python -m simulators.pv HOST:PORT``."""

from cosim.core import fleet, lifeline
from simulators.pv.sim import PVSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.serve(PVSim(), "cosim PV simulator")
