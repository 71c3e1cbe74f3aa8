"""The vocabulary every layer shares: errors, units, the simulator API schema, time series.

A leaf: it imports nothing else of cosim (and no mosaik), so a simulator or controller can use it
without pulling in the framework.
"""
