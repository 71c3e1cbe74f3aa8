"""Results on disk: a chunked Parquet writer while the run goes, and ``load()`` afterwards.

Layout of a run's folder::

    results.parquet/part-00000.parquet ...   long form: t_s, entity, attr, value
    manifest.json                            see cosim.manifest

Each chunk is a complete Parquet file, written when it is full and when the run ends (also when
it fails), so a run that stops at step N leaves every step before N readable: pandas and
pyarrow read the folder as one dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from cosim.errors import ConfigError

RESULTS_DIR = "results.parquet"
MANIFEST = "manifest.json"
SCHEMA = pa.schema(
    [
        ("t_s", pa.int64()),
        ("entity", pa.dictionary(pa.int32(), pa.string())),
        ("attr", pa.dictionary(pa.int32(), pa.string())),
        ("value", pa.float64()),
    ]
)


class ChunkWriter:
    """Collects one row of values per step for a fixed set of (entity, attr) columns.

    Values are kept in a numpy block; a chunk is written as one Parquet file in long form
    when ``chunk_values`` values have accumulated and on ``close()``.
    """

    def __init__(self, folder: Path, chunk_values: int = 2_000_000) -> None:
        self.folder = folder / RESULTS_DIR
        self.folder.mkdir(parents=True, exist_ok=True)
        self.chunk_values = chunk_values
        self._keys: tuple[tuple[str, str], ...] = ()
        self._times: list[int] = []
        self._rows: list[np.ndarray] = []
        self._parts = 0

    def set_keys(self, keys: Sequence[tuple[str, str]]) -> None:
        """Name the (entity, attr) of each value of the following steps."""
        if tuple(keys) != self._keys:
            self.flush()
            self._keys = tuple(keys)

    def add(self, t_s: int, values: np.ndarray) -> None:
        """Add the values of one step, one per key."""
        self._times.append(t_s)
        self._rows.append(values)
        if len(self._rows) * len(self._keys) >= self.chunk_values:
            self.flush()

    def flush(self) -> None:
        """Write what has been collected as one Parquet file."""
        if not self._rows:
            return
        n_keys = len(self._keys)
        block = np.vstack(self._rows)
        tiles = np.tile(np.arange(n_keys, dtype=np.int32), len(self._rows))
        columns = {}
        for pos, name in ((0, "entity"), (1, "attr")):
            encoded = pa.array([k[pos] for k in self._keys]).dictionary_encode()
            codes = np.asarray(encoded.indices, dtype=np.int32)[tiles]
            columns[name] = pa.DictionaryArray.from_arrays(codes, encoded.dictionary)
        table = pa.table(
            {
                "t_s": np.repeat(np.asarray(self._times, dtype=np.int64), n_keys),
                **columns,
                "value": block.reshape(-1),
            },
            schema=SCHEMA,
        )
        path = self.folder / f"part-{self._parts:05d}.parquet"
        pq.write_table(table, path.with_suffix(".tmp"), compression="zstd")
        path.with_suffix(".tmp").rename(path)  # a part is either whole or absent
        self._parts += 1
        self._times.clear()
        self._rows.clear()

    def close(self) -> None:
        self.flush()


def parts(folder: str | Path) -> list[Path]:
    """The Parquet parts of a run folder, in order."""
    return sorted((Path(folder) / RESULTS_DIR).glob("part-*.parquet"))


def read_long(
    folder: str | Path,
    entities: Iterable[str] | None = None,
    attrs: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The results of a run folder in long form (t_s, entity, attr, value)."""
    files = parts(folder)
    if not files:
        raise ConfigError(f"results folder {str(folder)!r} holds no {RESULTS_DIR} parts")
    dataset = ds.dataset([str(f) for f in files], format="parquet", schema=SCHEMA)
    condition = None
    if entities is not None:
        condition = ds.field("entity").isin(list(entities))
    if attrs is not None:
        by_attr = ds.field("attr").isin(list(attrs))
        condition = by_attr if condition is None else condition & by_attr
    table = dataset.to_table(filter=condition)
    return table.to_pandas()


def load(
    folder: str | Path,
    entities: Iterable[str] | None = None,
    attrs: Iterable[str] | None = None,
    datetime_index: bool = False,
) -> pd.DataFrame:
    """A run's results indexed by time with ``(entity, attr)`` columns.

    Parameters
    ----------
    folder : path of the run's output folder.
    entities, attrs : keep only these full entity ids / attribute names.
    datetime_index : index by date and time (scenario start + t_s) instead of ``t_s`` [s].
    """
    long = read_long(folder, entities, attrs)
    for column in ("entity", "attr"):
        long[column] = long[column].astype(str)
    wide = long.set_index(["t_s", "entity", "attr"])["value"].unstack(["entity", "attr"])
    wide = wide.sort_index().sort_index(axis=1)
    wide.columns.names = ["entity", "attr"]
    if datetime_index:
        start = pd.Timestamp(read_manifest(folder)["start"])
        wide.index = start + pd.to_timedelta(wide.index, unit="s")
        wide.index.name = "time"
    return wide


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a run folder."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} does not exist: not a cosim results folder")
    return json.loads(path.read_text())


def split_id(full_id: str) -> tuple[str, str]:
    """``(simulator type, entity id)`` of a mosaik full id: ``"Grid-0.bus_3"`` ->
    ``("Grid", "bus_3")``. The sim id ends with ``-<n>``; the entity id follows the first dot."""
    sid, _, eid = str(full_id).partition(".")
    return sid.rsplit("-", 1)[0], eid


def select(data: pd.DataFrame, attr: str, sim: str | None = None, prefix: str = "") -> pd.DataFrame:
    """The columns of ``attr`` in a :func:`load` frame, named by full entity id: only of the
    simulator type ``sim`` (``"Grid"``, ``"PV"``; None: any) and of entity ids that start with
    ``prefix`` (``"load_"``). The one reader of ``"Sim-0.eid"`` column names."""
    keys = []
    for key in data.columns:
        kind, eid = split_id(key[0])
        if key[1] == attr and (sim is None or kind == sim) and eid.startswith(prefix):
            keys.append(key)
    frame = data[keys]
    frame.columns = pd.Index([str(k[0]) for k in keys], name="entity")
    return frame
