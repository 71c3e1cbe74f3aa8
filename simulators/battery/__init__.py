"""The battery simulator: ``model`` (pure storage physics) and ``sim`` (mosaik adapter)."""
