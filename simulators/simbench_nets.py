"""SimBench nets, loaded once and kept on disk.

``simbench.get_simbench_net`` parses SimBench's CSV data on every call (6-13 s here, for a net
that pickles to 12 MB and unpickles in 0.1 s). Each net is therefore pickled to a cache folder
on first use, keyed by code and the simbench and pandapower versions, and read from there by
every later run and process. ``COSIM_CACHE_DIR`` moves the folder (default
``~/.cache/cosim``); deleting it is always safe.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from cosim.errors import ConfigError


def cache_dir() -> Path:
    return Path(os.environ.get("COSIM_CACHE_DIR") or Path.home() / ".cache" / "cosim")


@functools.cache
def codes() -> tuple[str, ...]:
    """Every SimBench code."""
    import simbench

    return tuple(simbench.collect_all_simbench_codes())


def check_code(code: str, field: str = "grid") -> None:
    """ConfigError naming ``field`` if ``code`` is no SimBench code, with close ones."""
    if code not in codes():
        close = difflib.get_close_matches(code, codes(), n=3)
        hint = f"close ones: {', '.join(close)}; " if close else ""
        raise ConfigError(
            f"{field}={code!r} is not a SimBench code; {hint}all {len(codes())} codes: "
            "simbench.collect_all_simbench_codes()"
        )


def simbench_net(code: str) -> Any:
    """A fresh copy of the SimBench net ``code`` (the caller may change it)."""
    return copy.deepcopy(_cached(code))


@functools.cache
def _cached(code: str) -> Any:
    check_code(code)
    versions = "-".join(metadata.version(p) for p in ("simbench", "pandapower"))
    path = cache_dir() / f"simbench-{code}-{versions}.pickle"
    if path.is_file():
        try:
            with path.open("rb") as f:
                return pickle.load(f)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # a damaged or foreign file: load afresh and overwrite it
    import simbench

    net = simbench.get_simbench_net(code)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(net, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: processes loading at once never see half a file
    except OSError:
        pass  # no writable cache: still correct, only slower next time
    return net
