"""Reading a results folder: the results format, energy balance, KPIs, economics, plots, report.

Imports only :mod:`cosim.core`; it knows simulators by the attributes they record, never by
module.
"""
