"""The profiles simulator: ``model`` (pure tables) and ``sim`` (mosaik adapter)."""
