"""The flexible household load simulator: ``model`` (physics) and ``sim`` (mosaik adapter)."""
