"""The recorder: a mosaik sink that streams every value it receives to the results folder.

Connect any entity's attributes to its one ``Recorder`` entity (``any_inputs``); each step's
values go to a :class:`cosim.analysis.results.ChunkWriter` under the source's full id
(``Grid-0.bus_12``), which writes them at least every ``flush_s`` seconds of wall time.
``finalize`` writes what is buffered, also when the run failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest
from tqdm import tqdm

from cosim.analysis.results import DEFAULT_CHUNK_VALUES, DEFAULT_FLUSH_S, ChunkWriter
from cosim.core.errors import ConfigError, SimulationError
from cosim.core.simapi import DEFAULT_STEP_S, model_meta, parse_params, sim_meta

RECORDER_EID = "recorder"
RECORDER_PARAMS: dict[str, Any] = {
    "out_dir": "",
    "step_s": DEFAULT_STEP_S,
    "chunk_values": DEFAULT_CHUNK_VALUES,
    "flush_s": DEFAULT_FLUSH_S,
    "progress_steps": 0,
    "progress_desc": "",
    "progress_start": "",
}
META: Meta = sim_meta({"Recorder": model_meta([], any_inputs=True)})  # type: ignore[assignment]
META["extra_methods"] = ["expand"]


class RecorderSim(mosaik_api_v3.Simulator):
    """Writes one row per step; steps after its sources at the same time."""

    def __init__(self) -> None:
        super().__init__(META)
        self.writer: ChunkWriter | None = None
        self.bar: tqdm | None = None
        self._progress = (0, "")
        self._start: datetime | None = None
        self.step_s = 0
        self._keys: list[tuple[str, str]] = []
        self._index: dict[tuple[str, str], int] = {}
        self._units: dict[str, list[str]] = {}  # fleet full id -> its units' full ids
        self._spread: dict[tuple[str, str], np.ndarray] = {}  # (fleet, attr) -> key positions

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Sim params: ``out_dir`` (the run's folder), ``step_s`` [s], ``chunk_values`` (values
        per Parquet part), ``flush_s`` (longest wall time between writes [s]),
        ``progress_steps`` (> 0 shows a progress bar over that many steps), ``progress_desc``
        (its label), ``progress_start`` (ISO date and time of t_s = 0: the bar shows the
        simulated date and time)."""
        params = parse_params(sim_params, RECORDER_PARAMS, "recorder")
        out_dir, chunk_values = params["out_dir"], params["chunk_values"]
        if not out_dir:
            raise ConfigError("out_dir='' must name the run's output folder")
        self.writer = ChunkWriter(Path(out_dir), chunk_values, float(params["flush_s"]))
        self.step_s = params["step_s"]
        self._progress = (params["progress_steps"], params["progress_desc"])
        start = params["progress_start"]
        self._start = datetime.fromisoformat(start) if start else None
        return self.meta

    def setup_done(self) -> None:
        steps, desc = self._progress
        if steps > 0:  # the bar starts with the run, not with the build
            self.bar = tqdm(total=steps, desc=desc or None, unit="step", dynamic_ncols=True)

    def expand(self, fleet: str, units: list[str]) -> None:
        """Record fleet ``fleet`` (full id) as one column per unit: ``units`` (their full ids,
        in array order), named as their single entities would be."""
        self._units[fleet] = list(units)

    def create(self, num: int, model: str, **params: Any) -> list[CreateResult]:
        if num != 1:
            raise ConfigError(f"num={num!r}: one Recorder entity per recorder")
        return [{"eid": RECORDER_EID, "type": "Recorder", "rel": []}]

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        assert self.writer is not None
        received = inputs.get(RECORDER_EID, {})
        index = self._index
        spread = self._spread
        fresh = [
            (src, attr)
            for attr, srcs in received.items()
            for src in srcs
            if (src, attr) not in index and (src, attr) not in spread
        ]
        try:
            if fresh:
                self._add_keys(fresh)
            values = np.full(len(self._keys), np.nan)
            for attr, sources in received.items():
                for src, value in sources.items():
                    if (at := spread.get((src, attr))) is not None:
                        if value is not None:
                            values[at] = value
                    else:
                        values[index[src, attr]] = np.nan if value is None else value
            self.writer.add(time, values)
        except OSError as err:
            raise _unwritable(self.writer, err) from None
        if self.bar is not None:
            if self._start is not None:
                now = self._start + timedelta(seconds=time)
                self.bar.set_postfix_str(f"{now:%Y-%m-%d %H:%M}", refresh=False)
            self.bar.update()
        return time + self.step_s

    def _add_keys(self, fresh: list[tuple[str, str]]) -> None:
        """New columns: a fleet's attr gives one per unit; all sorted, as mosaik's order
        follows the hash seed and the file must not."""
        assert self.writer is not None
        keys = [(unit, attr) for src, attr in fresh for unit in self._units.get(src, [src])]
        for key in sorted(keys):
            self._index[key] = len(self._keys)
            self._keys.append(key)
        for src, attr in fresh:
            if src in self._units:
                self._spread[src, attr] = np.array(
                    [self._index[u, attr] for u in self._units[src]], dtype=np.int64
                )
        self.writer.set_keys(self._keys)  # writes the part of the old keys

    def get_data(self, outputs: OutputRequest) -> OutputData:
        return {}

    def finalize(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            try:
                self.writer.close()
            except OSError as err:
                raise _unwritable(self.writer, err) from None


def _unwritable(writer: ChunkWriter, err: OSError) -> SimulationError:
    """A full disk or a file-size limit, in one line; what was written before stays."""
    return SimulationError(
        f"results could not be written to {str(writer.folder)!r}: {err.strerror or err}"
        f" (errno {err.errno}); the steps written before are kept"
    )
