"""A profile source by name: ``"simbench:<CODE>"`` or a CSV/Parquet file."""

from __future__ import annotations

from pathlib import Path

from cosim.core.errors import ConfigError
from simulators.profiles.model import SIMBENCH_PREFIX, SIMBENCH_STEP_S, Table, read_profile_file
from simulators.profiles.simbench import simbench_table
from simulators.simbench_nets import check_code


def load_profiles(
    source: str | Path, step_s: int | None = None, default_step_s: int | None = None
) -> Table:
    """The table of ``source``: ``"simbench:<CODE>"`` or a CSV/Parquet file path.

    A file without a ``t_s`` column has rows ``step_s`` apart, else ``default_step_s``.
    """
    text = str(source)
    if text.startswith(SIMBENCH_PREFIX):
        if step_s not in (None, SIMBENCH_STEP_S):
            raise ConfigError(
                f"profile_step_s={step_s!r}: SimBench profiles have "
                f"{SIMBENCH_STEP_S} s rows; leave it unset"
            )
        code = text[len(SIMBENCH_PREFIX) :]
        check_code(code, field="source")
        return simbench_table(code)
    return read_profile_file(source, step_s, default_step_s)
