"""Building and running one study: config, scenario Builder, coupling, runner, recorder, manifest.

Imports :mod:`cosim.analysis` (the results format it writes) and :mod:`cosim.core`; it starts
simulators by the names in ``registry`` (built-ins, and entry point ``cosim.simulators``),
never by importing them.
"""
