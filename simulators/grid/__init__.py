"""The pandapower grid simulator: ``model`` (pure) and ``sim`` (mosaik adapter)."""
