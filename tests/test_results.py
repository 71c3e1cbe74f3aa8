"""The chunked Parquet writer and ``cosim.analysis.results.load``: values checked by hand."""

import json

import numpy as np
import pandas as pd
import pytest

from cosim.analysis.results import ChunkWriter, load, parts, read_long
from cosim.core.errors import ConfigError


def _write(folder, chunk_values):
    writer = ChunkWriter(folder, chunk_values=chunk_values)
    writer.set_keys([("Grid-0.bus_0", "vm_pu"), ("Grid-0.line_0", "loading_percent")])
    for k in range(5):  # t_s = 0, 900, ..., 3600; values 1.0 + k/100 and 10 k
        writer.add(900 * k, np.array([1.0 + k / 100, 10.0 * k]))
    writer.set_keys(
        [
            ("Grid-0.bus_0", "vm_pu"),
            ("Grid-0.line_0", "loading_percent"),
            ("Grid-0.grid", "converged"),
        ]
    )
    writer.add(4500, np.array([0.95, 60.0, 1.0]))
    writer.close()
    (folder / "manifest.json").write_text(json.dumps({"start": "2016-07-01 12:00:00"}))


def test_chunks_are_whole_files_and_load_pivots_by_time(tmp_path):
    _write(tmp_path, chunk_values=4)  # 2 values per step: a part every 2 steps
    assert len(parts(tmp_path)) == 4  # steps {0,1}, {2,3}, {4}, and the new key set {5}
    wide = load(tmp_path)
    assert list(wide.index) == [0, 900, 1800, 2700, 3600, 4500]
    assert wide[("Grid-0.bus_0", "vm_pu")].tolist() == pytest.approx(
        [1.0, 1.01, 1.02, 1.03, 1.04, 0.95]
    )
    assert wide[("Grid-0.line_0", "loading_percent")].tolist() == [0, 10, 20, 30, 40, 60]
    converged = wide[("Grid-0.grid", "converged")]
    assert converged.isna().sum() == 5 and converged.loc[4500] == 1.0
    assert wide.columns.names == ["entity", "attr"]


def test_load_filters_and_datetime_index(tmp_path):
    _write(tmp_path, chunk_values=1000)
    wide = load(tmp_path, attrs=["vm_pu"], datetime_index=True)
    assert list(wide.columns) == [("Grid-0.bus_0", "vm_pu")]
    assert wide.index[1] == pd.Timestamp("2016-07-01 12:15:00")
    long = read_long(tmp_path, entities=["Grid-0.line_0"])
    assert set(long["attr"].astype(str)) == {"loading_percent"} and len(long) == 6


def test_an_unfinished_temp_part_is_ignored(tmp_path):
    _write(tmp_path, chunk_values=1000)
    (tmp_path / "results.parquet" / "part-00009.tmp").write_bytes(b"half a file")
    assert len(load(tmp_path)) == 6


def test_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"holds no results\.parquet"):
        load(tmp_path)
