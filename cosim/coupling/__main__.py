"""``python -m cosim.coupling serve SIM --port N``: one of cosim's simulators in server mode."""

import sys

from cosim.coupling import main

if __name__ == "__main__":
    sys.exit(main())
