"""A unit type as a user would ship one: a heat pump found through its ``cosim.simulators``
entry point (``heatpump-1.0.dist-info``), with no edit under ``cosim/``."""
