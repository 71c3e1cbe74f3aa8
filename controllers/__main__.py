"""Run a controller as its own process: ``python -m controllers HOST:PORT --controller NAME``.

``--options JSON`` gives the controller's options; both can also come from the scenario's
sim params. With ``--remote`` it listens on HOST:PORT for a mosaik scenario to connect.
"""

import mosaik_api_v3

from controllers.adapter import ControllerSim
from cosim.core import fleet, lifeline

if __name__ == "__main__":
    lifeline.bind()  # dies with the run that started it
    fleet.crossing()  # fleet values go as lists
    mosaik_api_v3.start_simulation(
        ControllerSim(),
        "cosim controller host",
        extra_options=[
            "--controller=NAME  controller name or 'package.module:Class'",
            "--options=JSON     the controller's options as a JSON object",
        ],
    )
