"""Shared fixtures: the packages of tests/data (installed only through their dist-info)."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/data on the path of this process and of the simulators it starts, so that its
    packages' entry points (``ctrlpkg``, ``heatpump``) are found."""
    monkeypatch.syspath_prepend(str(DATA))
    monkeypatch.setenv("PYTHONPATH", f"{DATA}:{Path(__file__).parents[1]}")
