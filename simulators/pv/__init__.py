"""The PV simulator: ``model`` (pvlib physics), ``weather`` (its input table), ``sim`` (mosaik)."""
