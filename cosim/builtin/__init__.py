"""Tools about the built-in simulators: their catalogue and the validation against pandapower.

The only cosim package besides the CLI that imports :mod:`simulators`.
"""
