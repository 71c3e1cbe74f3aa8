"""Run the FMU adapter as its own process: ``python -m simulators.fmu HOST:PORT``."""

import mosaik_api_v3

from cosim.core import lifeline
from simulators.fmu.sim import FMUSim

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    mosaik_api_v3.start_simulation(FMUSim(), "cosim FMU adapter (FMI 2.0 co-simulation)")
