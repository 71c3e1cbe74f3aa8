"""cosim: co-simulation of distributed energy resources with a power grid, on mosaik."""

__version__ = "0.1.0"
