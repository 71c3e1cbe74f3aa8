"""Examples of coupling: third-party, FMU, other-language and plain-mosaik use of cosim.

Run a cosim example scenario by path (``cosim run scenarios/examples/households.py``); the
plain-mosaik example runs by itself (``python -m scenarios.examples.plain_mosaik``). This
sub-package is not listed by ``cosim list``.
"""
