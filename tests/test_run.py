"""Running ``grid_profiles`` end to end: results folder, manifest, modes, failures.

Wiring (see scenarios/grid_profiles.py)::

    Profiles-0.<element>_<i> --p_mw, q_mvar--> Grid-0.<element>_<i> --vm_pu, ...--> Recorder
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cosim.analysis import results
from cosim.cli import EXIT_FAILED, main
from cosim.core.digest import sha256
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from simulators.simbench_nets import simbench_net

CODE = "1-LV-rural1--0-sw"


def _run(tmp_path, name="run", processes=False, **values):
    scenario = load_scenario("grid_profiles")
    cfg = make_config(scenario.config_class, **values)
    return runner.run(scenario, cfg, tmp_path / name, processes=processes, progress=False)


def test_results_and_manifest(tmp_path):
    outcome = _run(tmp_path, steps=4)
    assert (outcome.status, outcome.steps_done, outcome.error) == ("completed", 4, None)
    data = results.load(outcome.out_dir)
    net = simbench_net(CODE)
    assert list(data.index) == [0, 900, 1800, 2700]
    assert {e for e, a in data.columns if a == "vm_pu"} == {
        f"Grid-0.bus_{i}" for i in net.bus.index
    }
    assert {e for e, a in data.columns if a == "loading_percent"} == (
        {f"Grid-0.line_{i}" for i in net.line.index}
        | {f"Grid-0.trafo_{i}" for i in net.trafo.index}
    )
    assert data[("Grid-0.grid", "converged")].tolist() == [1.0] * 4
    assert not data.isna().any().any()
    m = results.read_manifest(outcome.out_dir)
    assert m["status"] == "completed" and m["steps_done"] == 4 and m["error"] is None
    assert m["config"]["grid"] == CODE and m["config"]["steps"] == 4 and m["seed"] == 0
    assert m["start"] == "2016-01-01 00:00:00" and m["step_s"] == 900
    assert m["versions"]["pandapower"] and m["versions"]["mosaik"]
    for rel, digest in m["checksums"].items():
        assert sha256(outcome.out_dir / rel) == digest


def test_same_config_same_bytes(tmp_path):
    a, b = _run(tmp_path, "a", steps=6), _run(tmp_path, "b", steps=6)
    ma, mb = results.read_manifest(a.out_dir), results.read_manifest(b.out_dir)
    assert ma["checksums"] == mb["checksums"]


def test_same_bytes_across_processes_whatever_the_hash_seed(tmp_path):
    # mosaik hands the recorder its inputs in set order, which follows PYTHONHASHSEED
    checksums = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-m", "cosim.cli", "run", "neighbourhood", "--set", "steps=2"]
        done = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        checksums.append(results.read_manifest(out)["checksums"])
    assert checksums[0] == checksums[1]


def test_processes_equal_in_process(tmp_path):
    local = results.load(_run(tmp_path, "local", steps=8).out_dir)
    outcome = _run(tmp_path, "procs", processes=True, steps=8)
    assert outcome.status == "completed", outcome.error
    pd.testing.assert_frame_equal(local, results.load(outcome.out_dir), check_exact=True)


def _diverging_profile(tmp_path, bad_row):
    """Every load at 1 kW, then 10 MW at each load of this LV grid from ``bad_row`` on:
    far beyond what its 0.16 MVA transformer can carry, so the Newton-Raphson diverges."""
    net = simbench_net(CODE)
    frame = pd.DataFrame({f"load_{i}": np.full(8, 0.001) for i in net.load.index})
    frame.iloc[bad_row:] = 10.0
    path = tmp_path / "profile.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "processes"])
def test_failure_at_step_n_keeps_steps_before(tmp_path, processes):
    path = _diverging_profile(tmp_path, bad_row=5)
    outcome = _run(tmp_path, processes=processes, steps=8, profiles=str(path))
    assert outcome.status == "failed" and outcome.steps_done == 5
    assert "did not converge at t_s=4500" in outcome.error
    data = results.load(outcome.out_dir)
    assert list(data.index) == [0, 900, 1800, 2700, 3600]
    m = json.loads((outcome.out_dir / "manifest.json").read_text())
    assert m["status"] == "failed" and m["steps_done"] == 5 and "t_s=4500" in m["error"]


def test_cli_failure_exits_1_and_says_where_results_are(tmp_path, capsys):
    path = _diverging_profile(tmp_path, bad_row=2)
    code = main(
        [
            "run",
            "grid_profiles",
            "--set",
            "steps=4",
            "--set",
            f"profiles={path}",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert "did not converge at t_s=1800" in err and "2 finished steps" in err
    assert "Traceback" not in err


def test_on_diverge_continue_records_the_step(tmp_path):
    path = _diverging_profile(tmp_path, bad_row=2)
    outcome = _run(tmp_path, steps=4, profiles=str(path), on_diverge="continue")
    assert outcome.status == "completed"
    data = results.load(outcome.out_dir)
    assert data[("Grid-0.grid", "converged")].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert data[("Grid-0.bus_1", "vm_pu")].iloc[2:].isna().all()


def test_out_folder_with_results_is_refused(tmp_path):
    _run(tmp_path, "same", steps=2)
    with pytest.raises(Exception, match="already holds results"):
        _run(tmp_path, "same", steps=2)
