"""Console logging of a run: mosaik and the simulator API log through loguru."""

from __future__ import annotations

import sys

from loguru import logger


def quiet_logging() -> None:
    """Show loguru's warnings and errors only (mosaik logs every step at INFO)."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}")
