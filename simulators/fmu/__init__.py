"""FMU adapter: FMI 2.0 co-simulation units (through fmpy) as mosaik entities."""
