"""The CHP simulator: ``model`` (physics), ``heat_demand`` (heat data) and ``sim`` (mosaik)."""
