"""The EV simulator: ``sessions`` (when plugged in), ``model`` (charging physics), ``sim``."""
