"""Fault injection: a run that is killed, interrupted, starved or doubled ends as it says.

Every case runs tests/data/fault_scenario.py (idle batteries, recorded every step)::

    Battery-0.battery_<i> --soc_frac, p_mw, e_mwh--> Recorder

as ``cosim run`` in its own process with a short flush interval (``--flush-s 0.2``), waits
until it has flushed several times, then does the damage. Disk full uses a 256 KiB tmpfs
(mounted when the tests run as root, skipped otherwise) and an injected ENOSPC in-process;
the file-size limit is RLIMIT_FSIZE in the child.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cosim.analysis import results
from cosim.cli import EXIT_BAD_INPUT, EXIT_FAILED, main
from cosim.core import lifeline
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.endings import LOCK_FILE
from cosim.run.scenario import load_scenario

DATA = Path(__file__).parent / "data"
SCENARIO = str(DATA / "fault_scenario.py")
STEP_S = 60  # fault_scenario's step_s
LONG = ["--set", "steps=1000000", "--flush-s", "0.2", "--quiet"]  # ends only when stopped
WAIT_S = 120.0  # generous: the machine may be busy


def _cosim(out: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "cosim.cli", "run", SCENARIO, *args, "--out", str(out)]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, **popen)  # type: ignore[call-overload]


def _files(out: Path) -> list[Path]:
    return sorted((out / results.RESULTS_DIR).glob("*.parquet"))


def _wait_flushed(out: Path, proc: subprocess.Popen[str], n_files: int = 3) -> int:
    """Wait until the run has written ``n_files`` parts or pieces; the steps on disk then."""
    deadline = time.monotonic() + WAIT_S
    while len(_files(out)) < n_files:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the run wrote no results"
        time.sleep(0.05)
    return results.steps_in(out)


def _manifest(out: Path) -> dict:
    return json.loads((out / results.MANIFEST).read_text())


def _contiguous(out: Path) -> pd.DataFrame:
    """The results; every step from 0 on, none missing, none twice."""
    data = results.load(out)
    assert list(data.index) == list(range(0, STEP_S * len(data), STEP_S))
    return data


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _gone(pid: int, within_s: float = 15.0) -> bool:
    """The process has ended (or is a zombie waiting for init) within ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_sigkill_keeps_every_flushed_step_and_leaves_running(tmp_path):
    out = tmp_path / "run"
    proc = _cosim(out, *LONG)
    flushed = _wait_flushed(out, proc)
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert _manifest(out)["status"] == "running"  # no handler ran: honest, not finished
    data = _contiguous(out)
    assert len(data) == results.steps_in(out) >= flushed > 0
    assert not data.isna().any().any()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigint_and_sigterm_flush_and_record_interrupted(tmp_path, signum):
    out = tmp_path / "run"
    proc = _cosim(out, *LONG)
    flushed = _wait_flushed(out, proc)
    proc.send_signal(signum)
    err = proc.communicate(timeout=WAIT_S)[1]
    assert proc.returncode == 128 + signum  # 130, 143
    name = signal.Signals(signum).name
    assert f"interrupted by {name} after" in err
    assert "Traceback" not in err and "Task was destroyed" not in err
    m = _manifest(out)
    data = _contiguous(out)
    assert (m["status"], m["signal"]) == ("interrupted", name)
    assert m["steps_done"] == len(data) >= flushed
    assert [f.name for f in _files(out)] == ["part-00000.parquet"]  # whole part, no pieces


def test_killed_child_under_processes_fails_and_leaves_no_orphan(tmp_path):
    out = tmp_path / "run"
    proc = _cosim(out, *LONG, "--processes")
    flushed = _wait_flushed(out, proc)
    [child] = _children(proc.pid)  # the battery simulator
    os.kill(child, signal.SIGKILL)
    err = proc.communicate(timeout=WAIT_S)[1]
    assert proc.returncode == EXIT_FAILED
    assert "simulator 'Battery-0'" in err and "closed its connection" in err
    assert "Traceback" not in err
    m = _manifest(out)
    assert m["status"] == "failed" and m["failure"]["kind"] == "died"
    assert m["steps_done"] == len(_contiguous(out)) >= flushed
    assert _gone(child)


def test_sigkill_of_a_run_with_processes_takes_its_children(tmp_path):
    out = tmp_path / "run"
    proc = _cosim(out, *LONG, "--processes")
    _wait_flushed(out, proc)
    children = _children(proc.pid)
    assert children
    proc.kill()
    proc.communicate()
    assert all(_gone(pid) for pid in children)  # PR_SET_PDEATHSIG: no simulator left behind
    _contiguous(out)


def test_file_size_limit_keeps_the_steps_and_says_why(tmp_path):
    # 64 KiB: a piece (0.2 s of steps, ~10 KB) fits; the whole part of 8000 steps does not
    out = tmp_path / "run"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = _cosim(out, "--set", "steps=8000", "--flush-s", "0.2", "--quiet", preexec_fn=limit)
    err = proc.communicate(timeout=WAIT_S)[1]
    assert proc.returncode == EXIT_FAILED
    assert "File too large" in err and "Traceback" not in err
    m = _manifest(out)
    assert m["status"] == "failed" and "File too large" in m["error"]
    assert m["steps_done"] == len(_contiguous(out)) == 8000  # the last steps went to a piece


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs (root only)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_disk_full_keeps_earlier_steps_and_says_why(tiny_disk):
    out = tiny_disk / "run"
    proc = _cosim(out, *LONG)
    err = proc.communicate(timeout=WAIT_S)[1]
    assert proc.returncode == EXIT_FAILED
    assert "No space left on device" in err and "Traceback" not in err
    m = _manifest(out)  # written in the space the run reserved
    assert m["status"] == "failed" and "No space left on device" in m["error"]
    assert m["steps_done"] == len(_contiguous(out)) > 0


def test_injected_disk_full_is_recorded_in_process(tmp_path, monkeypatch):
    real, calls = results._write_atomic, []

    def fill_up(table, path):
        calls.append(path.name)
        if len(calls) > 2:  # two writes succeed, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(table, path)

    monkeypatch.setattr(results, "_write_atomic", fill_up)
    scenario = load_scenario(SCENARIO)
    cfg = make_config(scenario.config_class, steps=50)
    outcome = runner.run(scenario, cfg, tmp_path / "run", progress=False, flush_s=1e-9)
    assert outcome.status == "failed" and "No space left on device" in outcome.error
    assert calls[:2] == ["_part-00000-0000.parquet", "_part-00000-0001.parquet"]
    data = _contiguous(outcome.out_dir)
    assert outcome.steps_done == len(data) == 2  # one step per piece


def test_second_run_on_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    first = _cosim(out, *LONG)
    _wait_flushed(out, first, n_files=1)
    second = _cosim(out, "--quiet")
    err = second.communicate(timeout=WAIT_S)[1]
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=WAIT_S)
    assert second.returncode == EXIT_BAD_INPUT
    [line] = err.strip().splitlines()
    assert str(out) in line and f"pid {first.pid}" in line and "in use" in line
    assert _manifest(out)["pid"] == first.pid and _manifest(out)["status"] == "interrupted"


def test_out_naming_a_file_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "a-file"
    path.write_text("mine")
    assert main(["run", SCENARIO, "--quiet", "--out", str(path)]) == EXIT_BAD_INPUT
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "is a file" in line and str(path) in line
    assert path.read_text() == "mine"


def test_read_only_out_is_one_line_exit_2(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = False
    if os.geteuid() == 0:  # root writes through permissions: a read-only file system instead
        mount = ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)]
        mounted = subprocess.run(mount, capture_output=True).returncode == 0
        if not mounted:
            pytest.skip("cannot mount a read-only tmpfs here")
    else:
        folder.chmod(0o555)
    try:
        code = main(["run", SCENARIO, "--quiet", "--out", str(folder / "run")])
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
    assert code == EXIT_BAD_INPUT
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "cannot be written" in line and str(folder / "run") in line


@pytest.mark.parametrize(
    ("ending", "said"),
    [
        ("exit", "the scenario called sys.exit(3)"),
        ("raise", "ZeroDivisionError: division by zero (at "),
    ],
)
def test_a_build_that_exits_or_raises_is_recorded_failed(tmp_path, capsys, ending, said):
    out = tmp_path / "run"
    code = main(["run", SCENARIO, "--set", f"ending={ending}", "--quiet", "--out", str(out)])
    assert code == EXIT_FAILED
    [line] = capsys.readouterr().err.strip().splitlines()
    assert said in line
    m = _manifest(out)
    assert m["status"] == "failed" and said in m["error"] and m["steps_done"] == 0


def test_a_scenario_that_records_nothing_still_counts_its_steps(tmp_path):
    scenario = load_scenario(SCENARIO)
    cfg = make_config(scenario.config_class, steps=4, ending="nothing")
    outcome = runner.run(scenario, cfg, tmp_path / "run", progress=False)
    assert (outcome.status, outcome.steps_done, outcome.error) == ("completed", 4, None)
    assert _manifest(outcome.out_dir)["steps_done"] == 4
    assert results.load(outcome.out_dir).empty


def test_load_of_a_run_that_failed_in_its_first_step_is_empty(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(DATA))  # coupled_source's pysim:FlakySim
    scenario = load_scenario(str(DATA / "coupled_source.py"))
    cfg = make_config(scenario.config_class, steps=4, how="pysim", at_s=0)
    outcome = runner.run(scenario, cfg, tmp_path / "run", progress=False)
    assert outcome.status == "failed" and outcome.steps_done == 0
    data = results.load(outcome.out_dir)
    assert data.empty and data.index.name == "t_s"
    assert data.columns.names == ["entity", "attr"]
    with pytest.raises(ConfigError, match=r"holds no results\.parquet"):
        results.load(tmp_path)  # not a run folder at all: still an error


# --- the writer on its own -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_pieces_follow_the_clock_and_the_whole_part_replaces_them(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(results.time, "monotonic", clock)
    keys = [("Grid-0.bus_0", "vm_pu"), ("Grid-0.bus_1", "vm_pu")]
    writer = results.ChunkWriter(tmp_path, chunk_values=1000, flush_s=10.0)
    writer.set_keys(keys)
    for k in range(9):  # clock 0..8 s: under flush_s, nothing on disk yet
        clock.now_s = float(k)
        writer.add(900 * k, np.array([1.0, float(k)]))
    assert _files(tmp_path) == []
    clock.now_s = 10.0  # 10 s after the writer started: the 10 steps so far become a piece
    writer.add(8100, np.array([1.0, 9.0]))
    assert [f.name for f in _files(tmp_path)] == ["_part-00000-0000.parquet"]
    (tmp_path / results.MANIFEST).write_text("{}")
    assert list(results.load(tmp_path).index) == [900 * k for k in range(10)]
    assert pd.read_parquet(tmp_path / results.RESULTS_DIR).empty  # plain readers: parts only
    clock.now_s = 15.0
    writer.add(9000, np.array([1.0, 10.0]))  # 5 s after the piece: kept in memory
    writer.close()
    assert [f.name for f in _files(tmp_path)] == ["part-00000.parquet"]
    assert results.steps_in(tmp_path) == 11
    assert results.load(tmp_path)[("Grid-0.bus_1", "vm_pu")].tolist() == list(range(11))


def test_flush_times_do_not_change_the_bytes(tmp_path):
    keys = [("Grid-0.bus_0", "vm_pu")]
    for name, flush_s in (("never", 1e9), ("always", 0.0)):
        writer = results.ChunkWriter(tmp_path / name, chunk_values=4, flush_s=flush_s)
        writer.set_keys(keys)
        for k in range(6):  # parts of 4 values: steps 0-3, 4-5
            writer.add(k, np.array([k / 10]))
        writer.close()
    never, always = _files(tmp_path / "never"), _files(tmp_path / "always")
    assert (
        [f.name for f in never]
        == [f.name for f in always]
        == [
            "part-00000.parquet",
            "part-00001.parquet",
        ]
    )
    assert [f.read_bytes() for f in never] == [f.read_bytes() for f in always]


def test_pieces_of_a_whole_part_are_never_read_twice(tmp_path):
    # a kill between writing part 0 and removing its pieces leaves both: the part wins
    writer = results.ChunkWriter(tmp_path, chunk_values=100, flush_s=0.0)
    writer.set_keys([("a", "x")])
    for k in range(3):
        writer.add(k, np.array([float(k)]))
    pieces = {f.name: f.read_bytes() for f in _files(tmp_path)}
    writer.close()
    for name, content in pieces.items():
        (tmp_path / results.RESULTS_DIR / name).write_bytes(content)
    (tmp_path / results.RESULTS_DIR / "part-00001.tmp").write_bytes(b"half")
    (tmp_path / results.MANIFEST).write_text("{}")
    assert len(pieces) == 3 and list(results.load(tmp_path).index) == [0, 1, 2]
    assert results.steps_in(tmp_path) == 3


def test_lock_file_names_the_holder(tmp_path):
    scenario = load_scenario(SCENARIO)
    outcome = runner.run(scenario, make_config(scenario.config_class), tmp_path, progress=False)
    assert outcome.status == "completed"
    holder = (tmp_path / LOCK_FILE).read_text()
    assert holder.startswith(f"pid {os.getpid()}, started ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        LOCK_FILE,
        results.MANIFEST,
        results.RESULTS_DIR,
    ]  # the reserve is gone


def _bind(env_pid: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != lifeline.PARENT_ENV}
    if env_pid is not None:
        env[lifeline.PARENT_ENV] = env_pid
    code = f"from cosim.core import lifeline; lifeline.bind({', '.join(args)}); print('bound')"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


def test_a_child_whose_run_is_gone_exits_at_once():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid names no process now (reaped)
    assert _bind(str(dead.pid)).returncode == 1
    assert f"pid {dead.pid}) has ended" in _bind(str(dead.pid)).stderr
    assert _bind(None, str(dead.pid)).returncode == 1  # the launcher: not our parent
    assert _bind(str(os.getpid())).stdout == "bound\n"  # the run (a grandparent) is alive
    assert _bind(None).stdout == "bound\n"  # started by hand: left alone
