"""SimBench nets and their profiles, parsed once and kept on disk as data.

``simbench.get_simbench_net`` parses SimBench's CSV data on every call (6-13 s here; minutes
for an MV grid with all its LV grids). Each net is therefore written on first use to a cache
entry (see :mod:`simulators.datacache`: Parquet and JSON, no pickle), keyed by code and the
simbench and pandapower versions, and read from there by every later run and process:

- ``t<k>.parquet``: every table of the net (``bus``, ``load``, ``res_bus``...), with its
  index and dtypes; ``manifest.json``: the rest of the net (scalars, ``std_types``...) as JSON.
- ``profiles.arrow``: SimBench's *relative* profiles (one column per profile, e.g. ``H0-A_pload``
  or ``PV3``, one row per 15 min) as an Arrow IPC file, read memory-mapped: a run touches only
  the rows it plays. A column is float32 where every value survives the round trip to float64
  bit for bit, else float64 (SimBench's CSV values have up to 9 significant digits, which
  float32's 24-bit mantissa does not hold), so the values read are exactly simbench's.

``COSIM_CACHE_DIR`` moves the folder (default ``~/.cache/cosim``); deleting it is always safe.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from cosim.core.errors import ConfigError
from simulators import datacache

PROFILES_FILE = "profiles.arrow"
TIME_COLUMN = "time"
PROFILE_GROUPS: dict[str, tuple[str, ...]] = {
    "load": ("load",),
    "storage": ("storage",),
    "sgen": ("powerplants", "renewables"),
    "gen": ("powerplants", "renewables"),
}
"""Where the relative profiles of each element type are, in the order simbench looks
(``simbench.get_absolute_profiles_from_relative_profiles``: gen and sgen take the first
non-missing value of powerplants, then renewables)."""

log = logging.getLogger(__name__)


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


def simbench_net(code: str, profiles: bool = True) -> Any:
    """A fresh SimBench net ``code``, as ``simbench.get_simbench_net`` gives it.

    ``profiles=False`` leaves out ``net.profiles`` (the whole year of relative profiles as
    pandas frames): a grid needs none; read rows with :class:`ProfileStore` instead.
    """
    folder, manifest = _entry(code)
    store = ProfileStore(folder / PROFILES_FILE, manifest) if profiles else None
    return _net(folder, manifest, store)


def net_and_profiles(code: str) -> tuple[Any, ProfileStore]:
    """The net ``code`` without ``net.profiles`` and its memory-mapped profiles."""
    folder, manifest = _entry(code)
    return _net(folder, manifest, None), ProfileStore(folder / PROFILES_FILE, manifest)


def _net(folder: Path, manifest: dict[str, Any], store: ProfileStore | None) -> Any:
    """The net of a cache entry; ``net.profiles`` as frames from ``store`` unless None."""
    from pandapower.auxiliary import pandapowerNet

    items: dict[str, Any] = {}
    for key, kind, value in manifest["items"]:
        if kind == "table":
            items[key] = _read_table(folder / value[0], value[1])
        elif kind == "empty":
            items[key] = _empty_table(value)
        elif kind == "profiles":
            if store is not None:
                items[key] = store.frames()
        else:
            items[key] = value
    return pandapowerNet(items)


class ProfileStore:
    """SimBench's relative profiles of one code, memory-mapped: rows are read when asked for.

    ``groups`` maps each of simbench's profile groups (``load``, ``renewables``,
    ``powerplants``, ``storage``) to its value columns; ``n_rows`` rows, 15 min apart, row 0
    at 1 January 2016 00:00 CET.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        import pyarrow as pa

        self.path = path
        self._table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        info = manifest["profiles"]
        self.n_rows = int(info["n_rows"])
        self.groups: dict[str, list[str]] = {g: list(c) for g, c in info["groups"].items()}
        self._lookup = {group: set(names) for group, names in self.groups.items()}
        self._group_rows: dict[str, int] = dict(info["group_rows"])
        self._range_index: dict[str, bool] = dict(info["range_index"])
        self._columns: dict[str, Any] = {}  # store column name -> zero-copy numpy view

    def column_of(self, element: str, name: str) -> str | None:
        """The store column that holds profile ``name`` of element type ``element``."""
        for group in PROFILE_GROUPS[element]:
            if name in self._lookup.get(group, ()):
                return f"{group}/{name}"
        return None

    def read(self, columns: Sequence[str], start_row: int, n_rows: int) -> np.ndarray:
        """Rows ``start_row .. start_row + n_rows - 1`` of store ``columns`` (``"group/name"``,
        e.g. ``"renewables/PV3"``), float64, shape (n_rows, len(columns))."""
        if not (start_row >= 0 and n_rows >= 0 and start_row + n_rows <= self.n_rows):
            raise ConfigError(
                f"rows {start_row}..{start_row + n_rows - 1} are outside the SimBench "
                f"profiles' 0..{self.n_rows - 1}"
            )
        out = np.empty((n_rows, len(columns)), dtype=np.float64)
        for j, name in enumerate(columns):
            out[:, j] = self._column(name)[start_row : start_row + n_rows]
        return out

    def _column(self, name: str) -> np.ndarray:
        view = self._columns.get(name)
        if view is None:
            if name not in self._table.column_names:
                raise ConfigError(
                    f"profile {name!r} is not in {self.path}; columns are 'group/name' with "
                    f"groups {sorted(self.groups)}"
                )
            view = self._table.column(name).chunk(0).to_numpy(zero_copy_only=True)
            self._columns[name] = view
        return view

    def frames(self) -> dict[str, Any]:
        """``net.profiles`` as simbench builds it: one DataFrame per group, ``time`` first."""
        import pandas as pd

        out = {}
        for group, names in self.groups.items():
            n = self._group_rows[group]
            data: dict[str, Any] = {TIME_COLUMN: self._table.column(TIME_COLUMN).to_numpy()[:n]}
            data |= {c: self._column(f"{group}/{c}")[:n].astype(np.float64) for c in names}
            index = pd.RangeIndex(n) if self._range_index[group] else pd.Index(np.arange(n))
            out[group] = pd.DataFrame(data, index=index)
        return out


def profile_store(code: str) -> ProfileStore:
    """The memory-mapped relative profiles of SimBench ``code``.

    The cache writes a new entry beside the old one and renames it, never a file in place,
    so a mapping stays valid while its store lives, even if the entry is rebuilt meanwhile.
    """
    folder, manifest = _entry(code)
    return ProfileStore(folder / PROFILES_FILE, manifest)


def read_profiles(code: str, columns: Sequence[str], start_row: int, n_rows: int) -> np.ndarray:
    """Rows of SimBench ``code``'s relative profiles, e.g. ``columns=["renewables/PV3"]``:
    float64, shape (n_rows, len(columns)); see :meth:`ProfileStore.read`."""
    return profile_store(code).read(columns, start_row, n_rows)


def _entry(code: str) -> tuple[Path, dict[str, Any]]:
    """The cache entry of ``code``, built first if missing or damaged."""
    check_code(code)
    versions = "-".join(metadata.version(p) for p in ("simbench", "pandapower"))
    name = f"simbench-{code}-{versions}"
    try:
        found = datacache.read_entry(cache_dir(), name)
    except datacache.DamagedEntryError as exc:
        log.warning("SimBench cache entry damaged, building it afresh: %s", exc)
        found = None
    if found is not None:
        return found
    import simbench

    net = simbench.get_simbench_net(code)
    try:
        return datacache.write_entry(cache_dir(), name, lambda folder: _write_net(net, folder))
    except OSError as exc:
        raise ConfigError(
            f"cannot write the SimBench cache in {str(cache_dir())!r} ({exc}); set "
            "COSIM_CACHE_DIR to a folder you can write"
        ) from exc


def _write_net(net: Any, folder: Path) -> dict[str, Any]:
    """Write ``net``'s tables and profiles into ``folder``; the manifest's data."""
    import pandas as pd

    items: list[list[Any]] = []
    profiles: dict[str, Any] = {}
    for k, (key, value) in enumerate(net.items()):
        if key == "profiles":
            profiles = _write_profiles(net, folder / PROFILES_FILE)
            items.append([key, "profiles", None])
        elif (
            isinstance(value, pd.DataFrame)
            and value.empty
            and _empty_table(_schema(value)).equals(value)
        ):
            items.append([key, "empty", _schema(value)])
        elif isinstance(value, pd.DataFrame):
            file = f"t{k:03d}.parquet"
            value.to_parquet(folder / file, engine="pyarrow")
            items.append([key, "table", [file, _schema(value)["dtypes"]]])
        else:
            items.append([key, "json", _plain(value, key)])
    if not profiles:
        raise ConfigError("the SimBench net has no profiles")
    return {"items": items, "profiles": profiles}


def _read_table(path: Path, dtypes: list[str]) -> Any:
    """A table as written: Parquet gives an object column of ints back as int64, so every
    column is cast back to its recorded dtype."""
    import pandas as pd

    frame = pd.read_parquet(path, engine="pyarrow")
    for name, dtype in zip(list(frame.columns), dtypes, strict=True):
        if str(frame[name].dtype) != dtype:
            frame[name] = frame[name].astype(_dtype(dtype))
    return frame


def _schema(frame: Any) -> dict[str, Any]:
    """The columns and dtypes of an empty table (read faster from JSON than from Parquet)."""
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(d) for d in frame.dtypes],
        "index": "range" if type(frame.index).__name__ == "RangeIndex" else str(frame.index.dtype),
    }


def _empty_table(schema: dict[str, Any]) -> Any:
    import pandas as pd

    kind = schema["index"]
    index = pd.RangeIndex(0) if kind == "range" else pd.Index([], dtype=_dtype(kind))
    data = {}
    for name, dtype in zip(schema["columns"], map(_dtype, schema["dtypes"]), strict=True):
        data[name] = np.empty(0, dtype) if isinstance(dtype, np.dtype) else pd.array([], dtype)
    return pd.DataFrame(data, index=index, columns=pd.Index(schema["columns"], dtype=object))


@functools.cache
def _dtype(name: str) -> Any:
    import pandas as pd

    return pd.api.types.pandas_dtype(name)


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON data (ValueError for anything else: the cache holds data only)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, where) for v in value]
    raise ValueError(f"net[{where!r}] is a {type(value).__name__}: not cacheable as data")


def _write_profiles(net: Any, path: Path) -> dict[str, Any]:
    """Write ``net.profiles`` to an Arrow IPC file; its groups and row counts."""
    import pandas as pd
    import pyarrow as pa
    from simbench.converter.auxiliary import merge_dataframes

    frames = net.profiles
    n_rows = max(len(f) for f in frames.values())
    arrays: dict[str, Any] = {}
    groups: dict[str, list[str]] = {}
    group_rows: dict[str, int] = {}
    range_index: dict[str, bool] = {}
    for group, frame in frames.items():
        if len(frame) not in (0, n_rows) or list(frame.columns[:1]) != [TIME_COLUMN]:
            raise ValueError(f"SimBench profiles {group!r}: {frame.shape}, time not first")
        group_rows[group] = len(frame)
        range_index[group] = isinstance(frame.index, pd.RangeIndex)
        if not frame.index.equals(pd.RangeIndex(len(frame))):
            raise ValueError(f"SimBench profiles {group!r}: index is not 0, 1, 2...")
        if len(frame) == n_rows:  # one time column for all: they must agree
            time = pa.array(frame[TIME_COLUMN].to_numpy(dtype=str))
            if not arrays.setdefault(TIME_COLUMN, time).equals(time):
                raise ValueError(f"SimBench profiles {group!r}: its time column differs")
        groups[group] = [str(c) for c in frame.columns[1:]]
        for name in groups[group]:
            values = np.full(n_rows, np.nan)
            values[: len(frame)] = frame[name].to_numpy(dtype=np.float64)
            narrow = values.astype(np.float32)
            exact = np.array_equal(narrow.astype(np.float64), values, equal_nan=True)
            arrays[f"{group}/{name}"] = pa.array(narrow if exact else values)
    given = [frames[g] for g in PROFILE_GROUPS["sgen"] if g in frames]
    merged = merge_dataframes(given) if given else pd.DataFrame({TIME_COLUMN: []})
    for name in merged.columns.drop(TIME_COLUMN):  # our lookup order gives simbench's values
        group = next(g for g in PROFILE_GROUPS["sgen"] if name in groups.get(g, ()))
        ours = arrays[f"{group}/{name}"].to_numpy(zero_copy_only=False).astype(np.float64)
        if not np.array_equal(ours, merged[name].to_numpy(np.float64), equal_nan=True):
            raise ValueError(f"SimBench profile {name!r} differs between its groups")
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, pa.table(arrays).schema) as w:
        w.write_table(pa.table(arrays))
    return {
        "n_rows": n_rows,
        "groups": groups,
        "group_rows": group_rows,
        "range_index": range_index,
    }
