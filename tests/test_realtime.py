"""``cosim run --rt-factor``: a paced run keeps to the wall clock and records its worst lag.

Events-0.events_0 --value as p_set_mw--> Battery-0.battery_0; recorded: battery p_mw
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cosim import cli

SCENARIO = """
from dataclasses import dataclass
from cosim.run.config import RunConfig

@dataclass(frozen=True)
class Config(RunConfig):
    steps: int = 5
    step_s: int = 1

def build(b, cfg):
    event = b.start("Events").Events(initial=0.001)
    battery = b.start("Battery").Battery.create(1, e_max_mwh=0.01)[0]
    b.connect(event, battery, ("value", "p_set_mw"))
    b.record([battery], "p_mw")
"""


def test_rt_factor_1_keeps_wall_time_within_5_percent(tmp_path: Path) -> None:
    path = tmp_path / "paced.py"
    path.write_text(textwrap.dedent(SCENARIO))
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), "--quiet", "--rt-factor", "1"]) == 0
    record = json.loads((out / "manifest.json").read_text())
    simulated_s = 5 * 1  # 5 steps of 1 s
    # the paced span: from the first step to the end of the last (build and shutdown excluded)
    assert record["rt_wall_s"] == pytest.approx(simulated_s, rel=0.05)
    assert record["run_s"] >= record["rt_wall_s"]
    assert record["rt_factor"] == 1.0
    assert 0.0 <= record["rt_lag_max_s"] <= record["rt_wall_s"]


def test_rt_factor_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "paced.py"
    path.write_text(textwrap.dedent(SCENARIO))
    assert cli.main(["run", str(path), "--out", str(tmp_path / "o"), "--rt-factor", "0"]) == 2
    assert "--rt-factor='0' must be a positive number" in capsys.readouterr().err


def test_progress_bar_shows_the_simulated_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "paced.py"
    path.write_text(textwrap.dedent(SCENARIO))
    argv = ["run", str(path), "--out", str(tmp_path / "o"), "--set", "step_s=3600"]
    assert cli.main(argv) == 0
    assert "2016-01-01 04:00" in capsys.readouterr().err  # the start of the 5th hourly step
