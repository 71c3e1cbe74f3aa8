"""cosim: co-simulation of distributed energy resources with a power grid, on mosaik.

Layers, each importing only those below it (checked by ``lint-imports``, see
``docs/architecture.md``): :mod:`cosim.cli` > :mod:`cosim.builtin` > :mod:`cosim.study` >
:mod:`cosim.run` > :mod:`cosim.analysis` > :mod:`cosim.core`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``cosim.sweep``: imported on first use (it brings Dask only when a sweep runs)."""
    if name == "sweep":  # the module is callable: cosim.sweep(...) runs a sweep
        return importlib.import_module("cosim.study.sweep")
    raise AttributeError(f"module 'cosim' has no attribute {name!r}")
