"""A plain (non-editable) ``pip install`` carries every file the packages read: the wheel holds
each file under the package folders, data included (the price profile, the example data)."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("cosim", "simulators", "controllers", "scenarios")


def test_the_wheel_holds_every_file_of_the_packages(tmp_path):
    source = tmp_path / "source"  # a copy without the egg-info an editable install leaves
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run(
        [*pip, "--wheel-dir", str(tmp_path), str(source)], check=True, capture_output=True
    )
    (wheel,) = tmp_path.glob("cosim-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    files = {
        path.relative_to(source).as_posix()
        for path in source.rglob("*")
        if path.is_file() and path.parts[len(source.parts)] in PACKAGES
    }
    assert "scenarios/data/day_ahead_price_2016.csv" in files
    assert files - inside == set()
