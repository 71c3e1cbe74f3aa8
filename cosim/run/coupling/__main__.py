"""``python -m cosim.run.coupling serve SIM --port N``: one of cosim's simulators in server mode."""

import sys

from cosim.core import lifeline
from cosim.run.coupling import main

if __name__ == "__main__":
    lifeline.bind()  # dies with the process that started it (a shell, a run)
    sys.exit(main())
