"""A scenario script with a module beside it, and bad input that leaves no results folder.

Events-0.events_0 --value as p_mw--> Controller (helper.Echo, in the sibling helper.py)
Controller --p_set_mw--> Battery-0.battery_0 (one step late); recorded: battery p_mw
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cosim import cli
from cosim.analysis import results

HELPER = '''
from dataclasses import dataclass
from controllers.base import Controller

@dataclass
class Echo(Controller):
    """Sets the battery to the event value it sees."""
    source: str
    battery: str

    def observes(self):
        return [(self.source, "value")]

    def sets(self):
        return {(self.battery, "p_set_mw"): 0.0}

    def decide(self, t_s, seen):
        return {self.battery: {"p_set_mw": seen[self.source]["value"]}}
'''

SCENARIO = """
from dataclasses import dataclass
from cosim.run.config import RunConfig
from helper import Echo  # the module beside this file

@dataclass(frozen=True)
class Config(RunConfig):
    steps: int = 3
    step_s: int = 3600
    param: str = "e_max_mwh"
    address: str = ""

def build(b, cfg):
    event = b.start("Events").Events(initial=0.002, changes=[[3600, -0.001]])
    battery = b.start("Battery").Battery.create(1, **{cfg.param: 0.01})[0]
    options = {"source": event.full_id, "battery": battery.full_id}
    if cfg.address:  # the controller host runs already; its command line names the controller
        b.control(options=options, address=cfg.address)
    else:
        b.control(Echo, options)
    b.record([battery], "p_mw")
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    (tmp_path / "helper.py").write_text(textwrap.dedent(HELPER))
    path = tmp_path / "study.py"
    path.write_text(textwrap.dedent(SCENARIO))
    return path


@pytest.mark.parametrize("mode", [[], ["--processes"]])
def test_sibling_module_imports(scenario: Path, mode: list[str]) -> None:
    out = scenario.parent / "out"
    assert cli.main(["run", str(scenario), "--out", str(out), "--quiet", *mode]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == hashlib.sha256(scenario.read_bytes()).hexdigest()
    assert manifest["coupled"] == []
    assert manifest["start_iso"] == "2016-01-01T00:00:00+01:00"  # RunConfig's start, CET
    p_mw = results.load(out)[("Battery-0.battery_0", "p_mw")].tolist()
    # set points apply one step late: 0 (the declared initial value), 0.002, then -0.001 MW
    assert p_mw == pytest.approx([0.0, 0.002, -0.001])


def test_control_reaches_a_controller_host_by_address(scenario: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(scenario.parent), *sys.path])}
    command = [sys.executable, "-m", "controllers", f"127.0.0.1:{port}", "--remote"]
    host = subprocess.Popen([*command, "--controller", "helper:Echo"], env=env)
    try:
        out = scenario.parent / "out"
        argv = ["run", str(scenario), "--out", str(out), "--quiet"]
        assert cli.main([*argv, "--set", f"address=127.0.0.1:{port}"]) == 0
        p_mw = results.load(out)[("Battery-0.battery_0", "p_mw")].tolist()
        assert p_mw == pytest.approx([0.0, 0.002, -0.001])  # as in-process, above
        coupled = json.loads((out / "manifest.json").read_text())["coupled"]
        assert coupled == [
            {
                "name": "RemoteController0",
                "config": {"connect": f"127.0.0.1:{port}"},
                "package": None,  # another program, maybe on another host
                "version": None,
            }
        ]
        assert host.wait(30) == 0  # the host ends with the run
    finally:
        host.kill()


def test_misspelt_param_exits_2_and_leaves_no_folder(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = scenario.parent / "out"
    argv = ["run", str(scenario), "--out", str(out), "--set", "param=capacity_mwh"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "capacity_mwh" in err and "e_max_mwh" in err and "soc_init_frac" in err
    assert not out.exists()
