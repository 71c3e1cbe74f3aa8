"""The SimBench cache holds data only: exact round trip, no code run from it, unsafe files refused.

Net: SimBench 1-LV-rural1--0-sw (15 buses, 13 loads, 4 sgens), parsed once by
``simbench.get_simbench_net``; each test writes its cache into its own temporary folder.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simbench

from cosim.core.errors import ConfigError
from simulators import datacache, simbench_nets
from simulators.profiles import model
from simulators.profiles.sim import ProfilesSim
from simulators.profiles.simbench import BLOCK_ROWS, simbench_table

CODE = "1-LV-rural1--0-sw"


@pytest.fixture(scope="module")
def reference() -> Any:
    return simbench.get_simbench_net(CODE)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Any) -> dict[str, Any]:
    """An empty cache folder; simbench's parser replaced by a copy of ``reference``, counted."""
    root = tmp_path / "cache"
    monkeypatch.setenv("COSIM_CACHE_DIR", str(root))
    parsed = {"root": root, "count": 0}

    def parse(code: str) -> Any:
        assert code == CODE
        parsed["count"] += 1
        return copy.deepcopy(reference)

    monkeypatch.setattr(simbench, "get_simbench_net", parse)
    return parsed


def entry(root: Path) -> Path:
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


def assert_same_frame(ours: pd.DataFrame, theirs: pd.DataFrame, key: str) -> None:
    assert ours.equals(theirs), key
    assert ours.dtypes.equals(theirs.dtypes), key
    assert type(ours.index) is type(theirs.index) and ours.index.dtype == theirs.index.dtype, key
    assert list(ours.columns) == list(theirs.columns), key
    assert ours.columns.dtype == theirs.columns.dtype, key


def test_round_trip_gives_simbenchs_net_exactly(cache: dict[str, Any], reference: Any) -> None:
    first = simbench_nets.simbench_net(CODE)
    again = simbench_nets.simbench_net(CODE)  # from the files now
    assert cache["count"] == 1
    for net in (first, again):
        assert list(net) == list(reference)
        for key, value in reference.items():
            if key == "profiles":
                assert list(net[key]) == list(value)
                for group, frame in value.items():
                    assert_same_frame(net[key][group], frame, f"profiles.{group}")
            elif isinstance(value, pd.DataFrame):
                assert_same_frame(net[key], value, key)
            else:
                assert net[key] == value and type(net[key]) is type(value), key
    assert "profiles" not in simbench_nets.simbench_net(CODE, profiles=False)
    files = {p.suffix for p in entry(cache["root"]).iterdir()}
    assert files == {".parquet", ".arrow", ".json"}  # data only: no pickle anywhere


class Payload:
    """Unpickling this creates ``marker``: proof that a pickle was run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def test_a_planted_pickle_is_never_run(
    cache: dict[str, Any], tmp_path: Path, reference: Any
) -> None:
    marker = tmp_path / "ran"
    bomb = pickle.dumps(Payload(marker))
    root = cache["root"]
    root.mkdir(mode=0o700)
    versions = "-".join(metadata.version(p) for p in ("simbench", "pandapower"))
    (root / f"simbench-{CODE}-{versions}.pickle").write_bytes(bomb)  # the old cache's name
    simbench_nets.simbench_net(CODE)
    folder = entry(root)
    for item in folder.iterdir():  # every file of the entry replaced by the pickle
        if item.name != datacache.MANIFEST:
            item.write_bytes(bomb)
    net = simbench_nets.simbench_net(CODE)  # checksums differ: rebuilt, nothing unpickled
    assert not marker.exists()
    assert cache["count"] == 2
    assert_same_frame(net.load, reference.load, "load")


def test_an_edited_table_is_not_used(cache: dict[str, Any], reference: Any) -> None:
    simbench_nets.simbench_net(CODE, profiles=False)
    folder = entry(cache["root"])
    manifest = (folder / datacache.MANIFEST).read_text()
    (load_file,) = [i[2][0] for i in json.loads(manifest)["items"] if i[0] == "load"]
    edited = pd.read_parquet(folder / load_file)
    edited["p_mw"] *= 100  # a planted grid: same format, other numbers
    edited.to_parquet(folder / load_file)
    net = simbench_nets.simbench_net(CODE, profiles=False)
    assert cache["count"] == 2  # refused and rebuilt
    assert_same_frame(net.load, reference.load, "load")


def test_an_edited_profile_file_is_not_used(cache: dict[str, Any]) -> None:
    simbench_nets.simbench_net(CODE, profiles=False)
    path = entry(cache["root"]) / simbench_nets.PROFILES_FILE
    data = bytearray(path.read_bytes())
    data[-4096] ^= 0xFF
    path.write_bytes(bytes(data))
    simbench_nets.simbench_net(CODE, profiles=False)
    assert cache["count"] == 2


@pytest.mark.parametrize("where", ["root", "entry", "file"])
def test_files_others_may_write_are_refused(cache: dict[str, Any], where: str) -> None:
    simbench_nets.simbench_net(CODE, profiles=False)
    folder = entry(cache["root"])
    path = {"root": cache["root"], "entry": folder, "file": folder / "manifest.json"}[where]
    path.chmod(path.stat().st_mode | 0o020)  # group-writable
    with pytest.raises(
        ConfigError, match=rf"cache path '{path}' is writable by group or others \(mode \d+\)"
    ):
        simbench_nets.simbench_net(CODE, profiles=False)
    assert cache["count"] == 1  # refused, not rebuilt over


def test_a_symlink_or_a_file_of_another_user_is_refused(cache: dict[str, Any]) -> None:
    simbench_nets.simbench_net(CODE, profiles=False)
    folder = entry(cache["root"])
    target = folder / "manifest.json"
    moved = cache["root"].parent / "elsewhere.json"
    shutil.move(target, moved)
    target.symlink_to(moved)
    with pytest.raises(ConfigError, match="is a symbolic link: refused"):
        simbench_nets.simbench_net(CODE, profiles=False)
    if os.geteuid() == 0:  # only root can give a file to another user
        target.unlink()
        shutil.move(moved, target)
        os.chown(target, 4321, -1)
        with pytest.raises(ConfigError, match="is owned by uid 4321, not by this user"):
            simbench_nets.simbench_net(CODE, profiles=False)


def test_entries_appear_whole_and_private_whatever_the_umask(cache: dict[str, Any]) -> None:
    old = os.umask(0o002)  # a common umask: group-writable files
    try:
        simbench_nets.simbench_net(CODE, profiles=False)
    finally:
        os.umask(old)
    root = cache["root"]
    assert [p.name for p in root.iterdir()] == [entry(root).name]  # no temporary left
    assert entry(root).stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in entry(root).iterdir()} == {0o600}


# --- profiles, read lazily --------------------------------------------------------------------


def test_lazy_table_equals_get_absolute_values_all_year(cache: dict[str, Any]) -> None:
    net = simbench_nets.simbench_net(CODE)
    full = model.simbench_profiles(net)  # get_absolute_values, as pandas frames
    lazy = simbench_table(CODE)
    assert lazy.columns == full.columns and lazy.n_rows == full.n_rows == 35136
    np.testing.assert_array_equal(lazy.rows_at(np.arange(35136) * 900), full.values)
    for row in (0, 95, 96, 17000, 35135):  # stepping row by row, across block edges
        np.testing.assert_array_equal(lazy.row_at(row * 900), full.values[row])


def test_a_run_reads_only_the_rows_it_plays(
    cache: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[tuple[int, int]] = []
    read = simbench_nets.ProfileStore.read

    def counted(self: Any, columns: Any, start_row: int, n_rows: int) -> np.ndarray:
        reads.append((start_row, n_rows))
        return read(self, columns, start_row, n_rows)

    monkeypatch.setattr(simbench_nets.ProfileStore, "read", counted)
    sim = ProfilesSim()
    sim.init("Profiles-0", time_resolution=1.0, step_s=900, start="2016-12-31 23:30:00")
    sim.create(1, "Profiles", source=f"simbench:{CODE}")
    for k in range(4):  # rows 35134, 35135, then (a typical year) 0 and 1
        sim.step(900 * k, {}, 10**9)
    assert reads == [(35134, 2), (0, BLOCK_ROWS)]  # at most one block ahead, never the year


def test_read_profiles_by_name_and_row_range(cache: dict[str, Any]) -> None:
    net = simbench_nets.simbench_net(CODE)
    got = simbench_nets.read_profiles(CODE, ["renewables/PV5", "load/H0-A_pload"], 4000, 96)
    expected = np.column_stack(
        [
            net.profiles["renewables"]["PV5"][4000:4096],
            net.profiles["load"]["H0-A_pload"][4000:4096],
        ]
    )
    np.testing.assert_array_equal(got, expected)
    with pytest.raises(ConfigError, match=r"rows 35100..35199 are outside .* 0..35135"):
        simbench_nets.read_profiles(CODE, ["renewables/PV5"], 35100, 100)
    with pytest.raises(ConfigError, match=r"profile 'PV5' is not in .*'group/name'"):
        simbench_nets.read_profiles(CODE, ["PV5"], 0, 1)
