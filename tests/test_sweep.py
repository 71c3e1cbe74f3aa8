"""``cosim sweep``: planning, folder names, bad input, and real sweeps on Dask on 127.0.0.1.

The real sweeps run ``tests/data/sgen_at_bus.py`` (CIGRE LV with one new sgen)::

    Grid-0.sgen_<new> --p_mw--> Recorder;  Grid-0.bus_* --vm_pu--> Recorder

``bus=9999`` is a valid Config value that fails when the run builds the world: the failing run.
"""

import asyncio
import gc
import hashlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dask
import distributed
import pandas as pd
import psutil
import pytest
from distributed.security import Security

import cosim
from cosim.analysis import results
from cosim.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, main
from cosim.core.errors import ConfigError, CosimError
from cosim.run import runner
from cosim.run.config import RunConfig, make_config
from cosim.run.scenario import load_scenario
from cosim.study import cluster
from cosim.study.cluster import dask_client
from cosim.study.sweep import parse_vary, plan, run_name

SCRIPT = str(Path(__file__).parent / "data" / "sgen_at_bus.py")
ARGS = ["--vary", "bus=3,9999", "--vary", "p_mw=0.01,0.02", "--set", "steps=3"]
NAMES = ["bus=3,p_mw=0.01", "bus=3,p_mw=0.02", "bus=9999,p_mw=0.01", "bus=9999,p_mw=0.02"]
BAD_BUS = "build: bus=9999 is not a bus of this net"


def neighbourhood_config() -> type:
    return load_scenario("neighbourhood").config_class


def test_run_names_are_readable_stable_and_safe():
    assert run_name({"pv_share_frac": 0.4, "seed": 1}) == "pv_share_frac=0.4,seed=1"
    assert run_name({"record_angles": True, "step_s": 60}) == "record_angles=true,step_s=60"
    # "/" and " " would make a subfolder or need quoting: replaced, plus a hash of the exact name
    digest = hashlib.sha256(b"weather=data/w 1.csv").hexdigest()[:8]
    assert run_name({"weather": "data/w 1.csv"}) == f"weather=data_w_1.csv-{digest}"
    assert run_name({"weather": "data/w_1.csv"}) != run_name({"weather": "data/w 1.csv"})
    long = run_name({"grid": "x" * 300})
    assert len(long) == 120 + 9 and long.startswith("grid=xxx")


def test_plan_is_the_product_in_order_with_typed_values_and_seeds():
    cls = neighbourhood_config()
    vary = parse_vary(cls, ["pv_share_frac=0.2, 0.4", "chp_count=0,1"])
    assert vary == {"pv_share_frac": (0.2, 0.4), "chp_count": (0, 1)}
    assert [type(v) for v in vary["chp_count"]] == [int, int]
    runs = plan(cls, vary, {"steps": 4, "seed": 10}, seeds=2)
    assert [r.name for r in runs] == [
        f"pv_share_frac={pv},chp_count={chp},seed={seed}"
        for pv in (0.2, 0.4)
        for chp in (0, 1)
        for seed in (10, 11)
    ]
    last = runs[-1]
    assert last.params == {"pv_share_frac": 0.4, "chp_count": 1, "seed": 11}
    assert last.values == {"steps": 4, "seed": 11, "pv_share_frac": 0.4, "chp_count": 1}
    assert last.config["steps"] == 4 and last.config["battery_share_frac"] == 0.5  # default
    assert [r.params["seed"] for r in plan(cls, {}, {}, seeds=3)] == [0, 1, 2]


@dataclass(frozen=True)
class TupleConfig(RunConfig):
    buses: tuple[int, ...] = (1,)


def test_values_of_a_tuple_field_are_separated_by_semicolons():
    vary = parse_vary(TupleConfig, ["buses=1,2;3"])
    assert vary == {"buses": ((1, 2), (3,))}
    assert [r.name for r in plan(TupleConfig, vary)] == ["buses=1+2", "buses=3"]
    assert plan(TupleConfig, vary)[0].config["buses"] == [1, 2]  # as the manifest stores it


def test_python_api_values_are_parsed_like_set():
    cls = neighbourhood_config()
    from cosim.study.sweep import fixed_values, vary_values

    assert vary_values(cls, {"pv_share_frac": "0.2,0.4", "chp_count": [0, "2"]}) == {
        "pv_share_frac": (0.2, 0.4),
        "chp_count": (0, 2),
    }
    assert fixed_values(cls, {"steps": "4", "weather": ""}) == {"steps": 4, "weather": ""}
    with pytest.raises(ConfigError, match="overrides key='stepz' is unknown; known: "):
        fixed_values(cls, {"stepz": 4})
    with pytest.raises(ConfigError, match=r"pv_share_frac=1\.5 must be in"):
        plan(cls, vary_values(cls, {"pv_share_frac": [0.5, 1.5]}))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vary", "pv_share_frax=0.1,0.2"], "--vary key='pv_share_frax' is unknown; known: "),
        (["--vary", "pv_share_frac=0.2,x"], "pv_share_frac='x' must be a number"),
        (["--vary", "pv_share_frac=0.2,1.5"], "pv_share_frac=1.5 must be in [0, 1]"),
        (["--vary", "pv_share_frac"], "--vary 'pv_share_frac' must look like KEY=V1,V2,..."),
        (["--vary", "pv_share_frac="], "--vary 'pv_share_frac=' must look like KEY=V1,V2,..."),
        (["--vary", "pv_share_frac=0.2,0.20"], "--vary pv_share_frac: value 0.2 is given twice"),
        (["--vary", "chp_count=1", "--vary", "chp_count=2"], "--vary chp_count is given twice"),
        (["--vary", "steps=2,3", "--set", "steps=4"], "steps is both set (steps=4) and varied"),
        (["--vary", "steps=2", "--set", "stepz=4"], "--set key='stepz' is unknown; known: "),
        (["--seeds", "0"], "seeds=0 must be a positive integer"),
        (["--seeds", "2", "--vary", "seed=1,2"], "seeds=2 and a varied seed: give one of them"),
        ([], "nothing to sweep: give --vary KEY=V1,V2,... or --seeds N"),
        (["--seeds", "2", "--workers", "0"], "workers=0 must be a positive integer"),
        (["--seeds", "2", "--scheduler", "nonsense"], "scheduler='nonsense': cannot connect"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_runs(args, message, capsys, tmp_path):
    out = tmp_path / "sweep"
    code = main(["sweep", "neighbourhood", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert len(err.splitlines()) == 1 and err.startswith("cosim: error: ")
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_importing_cosim_does_not_import_dask():
    code = (
        "import sys, cosim; cosim.sweep; print(sorted({'dask', 'distributed'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def client():
    """The sweep's own LocalCluster of 2 workers (the CLI default), shared by these tests: each
    worker process compiles pandapower's numba kernels once and then runs world after world."""
    with dask_client(2, None) as client:
        yield client


def test_local_cluster_listens_on_loopback_only(client):
    info = client.scheduler_info()
    assert [w["nthreads"] for w in info["workers"].values()] == [1, 1]
    here = psutil.Process()  # scheduler and nannies run in this process, workers below it
    listening = [
        c.laddr
        for p in (here, *here.children(recursive=True))
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert len(listening) >= 6  # scheduler, its HTTP server, 2 nannies, 2 workers
    assert {a.ip for a in listening} == {"127.0.0.1"}


@pytest.fixture(scope="module")
def first_sweep(client, tmp_path_factory):
    """The sweep of ``ARGS`` by the CLI, on the cluster of ``client``."""
    out = tmp_path_factory.mktemp("sweep") / "first"
    with dask.config.set(_credentials(client.security)):  # an external scheduler's TLS
        code = main(
            ["sweep", SCRIPT, *ARGS, "--scheduler", client.scheduler.address, "--out", str(out)]
        )
    return out, code


def _credentials(security: Security) -> dict[str, str]:
    """dask's config keys that give a Client these TLS credentials."""
    return {
        "distributed.comm.tls.ca-file": security.tls_ca_file,
        "distributed.comm.tls.client.cert": security.tls_client_cert,
        "distributed.comm.tls.client.key": security.tls_client_key,
    }


@pytest.mark.parametrize("credentials", ["none", "other"])
def test_local_cluster_refuses_clients_without_its_credentials(client, credentials):
    """The scheduler speaks TLS and accepts only certificates of its own temporary authority:
    a plain TCP client and a TLS client with another cluster's credentials are both refused."""
    address = client.scheduler.address
    assert address.startswith("tls://127.0.0.1:")
    if credentials == "none":
        outsider = {"address": "tcp://" + address.removeprefix("tls://")}
    else:
        outsider = {"address": address, "security": Security.temporary()}
    started = time.monotonic()
    with pytest.raises((OSError, TimeoutError)):
        distributed.Client(**outsider, timeout="5s")
    assert time.monotonic() - started < 30
    gc.collect()  # the failed Client now, while no loop starts (see cosim.study.cluster)
    assert not [
        o for o in gc.get_objects() if isinstance(o, distributed.Client) and o is not client
    ]
    assert client.submit(sum, [1, 2]).result(timeout=30) == 3  # the sweep's own still works


def test_sweep_records_every_run_and_failures(first_sweep, client, tmp_path):
    out, code = first_sweep
    assert code == EXIT_FAILED  # two runs failed, the two others completed
    table = pd.read_parquet(out / "summary.parquet")
    pd.testing.assert_frame_equal(
        table, pd.read_csv(out / "summary.csv"), check_dtype=False, check_exact=False
    )
    assert table["run"].tolist() == NAMES
    assert table["bus"].tolist() == [3, 3, 9999, 9999]
    assert table["p_mw"].tolist() == [0.01, 0.02, 0.01, 0.02]
    assert table["seed"].tolist() == [0] * 4
    assert table["status"].tolist() == ["completed", "completed", "failed", "failed"]
    assert table["steps_done"].tolist() == [3, 3, 0, 0]
    assert table["steps"].tolist() == [3] * 4
    assert table["error"].iloc[:2].isna().all()
    assert all(e.startswith(BAD_BUS) for e in table["error"].iloc[2:])
    assert (table["wall_s"] > 0).all() and not table["skipped"].any()
    assert table["voltage_violation_h"].iloc[:2].tolist() == [0.0, 0.0]  # headline KPI
    for name in NAMES[2:]:
        assert results.read_manifest(out / name)["status"] == "failed"


def _direct_run(folder: str, p_mw: float) -> str:
    """``runner.run`` of sgen_at_bus with bus=3, called directly (no sweep code)."""
    scenario = load_scenario(SCRIPT)
    cfg = make_config(scenario.config_class, steps=3, bus=3, p_mw=p_mw)
    return runner.run(scenario, cfg, Path(folder), progress=False).status


def test_each_run_equals_the_same_config_run_directly(first_sweep, client, tmp_path):
    # in a worker of the cluster, where numba's kernels are compiled already (a fresh process
    # would compile them again); the worker has run other worlds before, as the sweep's had
    out = first_sweep[0]
    for name, p_mw in zip(NAMES[:2], (0.01, 0.02), strict=True):
        direct = tmp_path / name
        assert client.submit(_direct_run, str(direct), p_mw, pure=False).result() == "completed"
        swept = results.load(out / name)
        pd.testing.assert_frame_equal(swept, results.load(direct), check_exact=True)
        sgen = [c for c in swept.columns if c[1] == "p_mw"]
        assert len(sgen) == 1 and swept[sgen[0]].tolist() == [p_mw] * 3
        ours, theirs = results.read_manifest(out / name), results.read_manifest(direct)
        assert ours["config"] == theirs["config"] and ours["config"]["bus"] == 3


def _event_loops() -> tuple[int, int]:
    """(open, closed) asyncio event loops alive in this process."""
    gc.collect()
    loops = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop)]
    return sum(not loop.is_closed() for loop in loops), sum(loop.is_closed() for loop in loops)


def test_workers_keep_no_loops_of_finished_worlds(first_sweep, client):
    # every mosaik World makes and closes its own loop; what stays is the worker's own loop and
    # at most the last World's closed one (still the executor thread's current loop)
    loops = client.run(_event_loops)
    assert len(loops) == 2
    assert all(open_ == 1 and closed <= 1 for open_, closed in loops.values()), loops


def test_rerun_skips_completed_and_redoes_failed_and_partial(first_sweep, client, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(first_sweep[0], out)  # copy2 keeps the mtimes
    kept = out / NAMES[0] / "manifest.json"
    kept_mtime_ns = kept.stat().st_mtime_ns
    partial = out / NAMES[1]  # as if its worker died mid-run: manifest says running
    manifest = partial / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"completed"', '"running"'))
    (partial / "left-over.txt").write_text("from the attempt that died")
    with dask.config.set(_credentials(client.security)):
        table = cosim.sweep(  # the module is callable
            SCRIPT,
            vary={"bus": [3, 9999], "p_mw": "0.01,0.02"},
            overrides={"steps": 3},
            scheduler=client.scheduler.address,
            out=out,
            progress=False,
        )
    assert table["run"].tolist() == NAMES
    assert table["skipped"].tolist() == [True, False, False, False]
    assert table["status"].tolist() == ["completed", "completed", "failed", "failed"]
    assert table["steps_done"].tolist() == [3, 3, 0, 0]
    assert kept.stat().st_mtime_ns == kept_mtime_ns  # not run again
    assert not (partial / "left-over.txt").exists()  # the partial folder was cleared
    assert results.read_manifest(partial)["status"] == "completed"
    assert table["voltage_violation_h"].tolist()[:2] == [0.0, 0.0]  # also for the skipped run
    pd.testing.assert_frame_equal(table, pd.read_parquet(out / "summary.parquet"))


def test_cli_exit_0_when_all_done_and_2_for_a_different_config(first_sweep, tmp_path, capsys):
    out = tmp_path / "done"
    shutil.copytree(first_sweep[0], out)
    done = ["sweep", SCRIPT, "--vary", "bus=3", "--vary", "p_mw=0.01,0.02", "--out", str(out)]
    assert main([*done, "--set", "steps=3"]) == EXIT_OK  # all skipped: no cluster needed
    assert "summary: " in capsys.readouterr().out
    assert pd.read_csv(out / "summary.csv")["skipped"].tolist() == [True, True]
    assert main([*done, "--set", "steps=4"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "holds a completed run with steps=3, this sweep has steps=4" in err


def _preload(tmp_path: Path, hang_first_only: bool) -> str:
    """A worker preload that never returns: in the first worker that runs it, or in every one."""
    marker = tmp_path / "hung"
    hang = f"not os.path.exists({str(marker)!r})" if hang_first_only else "True"
    script = tmp_path / "hang.py"
    script.write_text(
        f"import os, time\nif {hang}:\n    open({str(marker)!r}, 'w').close()\n"
        "    time.sleep(600)\n"
    )
    return str(script)


def test_a_local_cluster_whose_worker_never_joins_is_started_again(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(cluster, "START_TIMEOUT_S", 10)
    with (
        dask.config.set({"distributed.worker.preload": [_preload(tmp_path, True)]}),
        dask_client(2, None) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
    assert "did not start (a worker did not join within 10 s); starting it again" in caplog.text


def test_a_local_cluster_that_never_starts_is_a_clear_error_in_bounded_time(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "START_TIMEOUT_S", 10)
    started = time.monotonic()
    with (
        dask.config.set({"distributed.worker.preload": [_preload(tmp_path, False)]}),
        pytest.raises(
            CosimError, match=r"2 tries of 10 s each \(a worker did not join within 10 s"
        ),
        dask_client(2, None),
    ):
        pass
    assert time.monotonic() - started < 2 * 10 + 30  # two bounded tries and their closing


def test_a_failed_connection_leaves_no_client_for_the_garbage_collector():
    """A Client whose connection failed sits in a reference cycle; collected later, its
    ``__del__`` takes dask's class-wide LoopRunner lock, and if that happens while a LocalCluster
    starts its loop (which holds the lock), the process hangs for good."""

    def clients() -> set[int]:
        return {id(o) for o in gc.get_objects() if isinstance(o, distributed.Client)}

    before = clients()
    with pytest.raises(ConfigError, match="cannot connect"), dask_client(1, "nonsense"):
        pass
    assert clients() <= before
