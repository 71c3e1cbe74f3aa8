"""``manifest.json``: what a run was (scenario, parameters, versions) and how it ended."""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from cosim.analysis.results import MANIFEST, parts
from cosim.core.digest import sha256

PACKAGES = (
    "cosim",
    "mosaik",
    "mosaik-api-v3",
    "pandapower",
    "simbench",
    "numpy",
    "pandas",
    "scipy",
    "pyarrow",
    "numba",
    "lightsim2grid",
)


def versions() -> dict[str, str | None]:
    """Versions of Python and of the packages that decide a run's numbers."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically (a reader never sees half a file)."""
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, folder / MANIFEST)


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every results part, by path relative to the run folder."""
    return {str(p.relative_to(folder)): sha256(p) for p in parts(folder)}


def coupled(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """What the manifest records of a coupled simulator: name, sim config, package, version.

    The package is the installed distribution holding the module of ``{"python": ...}`` or of
    ``{"cmd": "... -m module ..."}``; None for other programs and ``{"connect": ...}``.
    """
    found = re.search(r"-m\s+(\S+)", str(config.get("cmd", "")))
    module = str(config["python"]).split(":")[0] if "python" in config else None
    module = module or (found.group(1) if found else None)
    package = _distribution(module) if module else None
    return {
        "name": name,
        "config": {k: str(v) for k, v in config.items()},
        "package": package,
        "version": metadata.version(package) if package else None,
    }


def _distribution(module: str) -> str | None:
    """The installed distribution that holds ``module`` (a namespace package may have many)."""
    parts_of = module.split(".")
    candidates = metadata.packages_distributions().get(parts_of[0], [])
    prefix = "/".join(parts_of[:2])
    for name in candidates:
        files = metadata.distribution(name).files or []
        if len(candidates) == 1 or any(str(f).startswith(prefix) for f in files):
            return name
    return None
