"""Coupling outside simulators: the ways to start one, wiring by name, and failures mid-run.

Wiring of tests/data/coupled_battery.py (the battery coupled by class, process or server)::

    Setpoints-0.series_0 --p_set_kw (kW -> MW)--> Bat-0.battery_0.p_set_mw
    Bat-0.battery_0 --p_mw--> Grid-0.storage_<new>.p_mw;  recorded: soc_frac, p_mw, ext_grid

Wiring of tests/data/coupled_source.py (a simulator that fails on purpose at t_s=1800)::

    Ext-0.source_0 --p_kw--> Recorder
"""

import socket
import subprocess
import sys
import time
from pathlib import Path

import mosaik
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest

from cosim.analysis import results
from cosim.cli import EXIT_FAILED, main
from cosim.core.errors import ConfigError, SimulationError
from cosim.run import coupling, runner
from cosim.run.config import RunConfig, make_config
from cosim.run.coupling import KW_TO_MW, NEGATE, W_TO_MW, Timeouts, Transform
from cosim.run.scenario import Builder, load_scenario, sim_config
from cosim.run.testing import CollectorSim

DATA = Path(__file__).parent / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(tmp_path, script, name="run", step_timeout_s=60.0, **values):
    scenario = load_scenario(str(DATA / script))
    cfg = make_config(scenario.config_class, **values)
    return runner.run(scenario, cfg, tmp_path / name, progress=False, step_timeout_s=step_timeout_s)


# --- transforms ----------------------------------------------------------------------------


def test_transforms():
    assert KW_TO_MW(500) == pytest.approx(0.5, rel=1e-15)
    assert W_TO_MW(1500.0) == pytest.approx(0.0015, rel=1e-15)
    assert NEGATE(0.25) == -0.25  # load sign -> sgen sign
    load_kw_to_sgen_mw = KW_TO_MW.then(NEGATE)
    assert load_kw_to_sgen_mw(3.0) == pytest.approx(-0.003, rel=1e-15)
    # (x * 2 + 1) * 3 + 4 at x = 5: 37
    assert Transform(2.0, 1.0).then(Transform(3.0, 4.0))(5) == 37.0
    assert KW_TO_MW(None) is None  # no value passes as no value
    with pytest.raises(SimulationError, match="not a number"):
        KW_TO_MW("5 kW")
    with pytest.raises(ConfigError, match="scale=inf"):
        Transform(scale=float("inf"))


# --- three ways to start a simulator -------------------------------------------------------


@pytest.fixture
def battery_server():
    """cosim's battery in server mode on 127.0.0.1 (the default bind of ``serve``)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim.run.coupling", "serve", "Battery", "--port", str(port)]
    )
    yield f"127.0.0.1:{port}"
    proc.kill()
    proc.wait(10)


def test_class_process_and_server_give_the_same_results(tmp_path, battery_server):
    frames = {}
    for how in ("python", "cmd", "connect"):
        outcome = run(tmp_path, "coupled_battery.py", how, steps=4, how=how, address=battery_server)
        assert outcome.status == "completed", outcome.error
        frames[how] = results.load(outcome.out_dir)
    pd.testing.assert_frame_equal(frames["python"], frames["cmd"], check_exact=True)
    pd.testing.assert_frame_equal(frames["python"], frames["connect"], check_exact=True)
    data = frames["python"]
    # set points 5, 5, -5, 0 kW -> MW; 0.5 C limit of 0.02 MWh is 10 kW, so all are met
    p_mw = data[("Bat-0.battery_0", "p_mw")].tolist()
    assert p_mw == pytest.approx([0.005, 0.005, -0.005, 0.0], rel=1e-12)
    assert data[("Grid-0.storage_0", "p_mw")].tolist() == p_mw
    # hand calculation: e = 0.01 MWh + 0.005 MW * 0.95 * 0.25 h per charging step, then
    # - 0.005 MW / 0.95 * 0.25 h; soc = e / 0.02 MWh
    e_mwh = [0.01 + 0.0011875, 0.01 + 2 * 0.0011875]
    e_mwh += [e_mwh[1] - 0.005 / 0.95 * 0.25] * 2
    assert data[("Bat-0.battery_0", "soc_frac")].tolist() == pytest.approx(
        [e / 0.02 for e in e_mwh], rel=1e-12
    )
    # the grid: pandapower run directly on the same net with the same storage power; both
    # solve to pandapower's tolerance (1e-8 MVA of mismatch at each of the 44 buses)
    for t_s, p in zip(data.index[:3], p_mw[:3], strict=True):
        net = pn.create_cigre_network_lv()
        pp.create_storage(net, bus=19, p_mw=p, max_e_mwh=0.02)
        pp.runpp(net)
        assert data.at[t_s, ("Grid-0.ext_grid_0", "p_mw")] == pytest.approx(
            net.res_ext_grid.p_mw.iloc[0], abs=1e-7
        )


# --- names that do not exist ---------------------------------------------------------------


@pytest.fixture
def world():
    """A world with a battery and a series of set points (no grid: fast)."""
    w = mosaik.World(sim_config(False), skip_greetings=True, configure_logging=False)
    coupling.guard(w, Timeouts(connect_wait_s=0.5))
    yield w
    w.shutdown()


def _entities(w):
    battery = coupling.couple(w, "Bat", {"python": "simulators.battery.sim:BatterySim"})
    series = coupling.couple(
        w, "Setpoints", {"python": "cosim.run.testing:SeriesSim"}, step_s=900, attrs=["p_set_kw"]
    )
    return battery.Battery(e_max_mwh=0.02), series.Series(values={"p_set_kw": [1.0, 2.0]})


@pytest.mark.parametrize(
    ("src", "dest", "attrs", "message"),
    [
        (
            "Setpoints-0.series_0",
            "Bat-0.battery_1",
            "p_set_kw",
            "entity='Bat-0.battery_1' is not an entity of Bat-0; did you mean 'battery_0'",
        ),
        (
            "Setpoint-0.series_0",
            "Bat-0.battery_0",
            "p_set_kw",
            "is not a started simulator; did you mean 'Setpoints-0'? known (2): Bat-0, Setpoints-0",
        ),
        (
            "Setpoints-0.series_0",
            "Bat-0.battery_0",
            {"p_set_kwh": "p_set_mw"},
            "output attr='p_set_kwh' is not an attr of Setpoints-0.series_0 (Series); "
            "did you mean 'p_set_kw'? known (1): p_set_kw",
        ),
        (
            "Setpoints-0.series_0",
            "Bat-0.battery_0",
            {"p_set_kw": ("p_setpoint_mw", KW_TO_MW)},
            "input attr='p_setpoint_mw' is not an attr of Bat-0.battery_0 (Battery); "
            "did you mean 'p_set_mw' or 'p_gen_mw'? known (",
        ),
        (
            ["Setpoints-0.series_0"] * 2,
            "Bat-0.battery_0",
            {"p_set_kw": "p_set_mw"},
            "2 sources but 1 destinations",
        ),
    ],
)
def test_unknown_names_are_build_errors_listing_known_ones(world, src, dest, attrs, message):
    _entities(world)
    with pytest.raises(ConfigError, match=r"known|sources") as err:
        coupling.wire(world, src, dest, attrs)
    assert message in str(err.value)
    if "attr" in message and "input" in message:  # the battery's inputs are all listed
        assert "p_load_mw" in str(err.value) and "p_slack_mw" in str(err.value)


def test_record_takes_full_ids_and_names_a_missing_output(world):
    battery, _ = _entities(world)
    collector = coupling.couple(
        world, "Collector", {"python": "cosim.run.testing:CollectorSim"}, sim_id="Collector-rec"
    ).Collector()
    b = Builder(world, RunConfig(), collector)
    assert b.record("Bat-0.battery_0", "soc_frac") == 1
    assert b.record([battery, "Bat-0.battery_0"], "p_mw") == 2
    with pytest.raises(ConfigError, match=r"output attr='soc' is not an attr of Bat-0.battery_0"):
        b.record(["Bat-0.battery_0"], "soc")
    with pytest.raises(ConfigError, match=r"entity='Bat-0\.battery_9' is not an entity of Bat-0"):
        b.record("Bat-0.battery_9", "p_mw")


def test_time_shifted_wire_transforms_its_initial_value(world):
    battery, series = _entities(world)
    with pytest.raises(ConfigError, match=r"initial has \['p_kw'\], not wired here"):
        coupling.wire(
            world,
            series,
            battery,
            {"p_set_kw": "p_set_mw"},
            time_shifted=True,
            initial={"p_set_kw": 4.0, "p_kw": 4.0},
        )
    with pytest.raises(ConfigError, match=r"initial\['p_set_kw'\] is missing"):
        coupling.wire(
            world, series, battery, {"p_set_kw": ("p_set_mw", KW_TO_MW)}, time_shifted=True
        )
    coupling.wire(
        world,
        series,
        battery,
        {"p_set_kw": ("p_set_mw", KW_TO_MW)},
        time_shifted=True,
        initial={"p_set_kw": 4.0},
    )
    collector = coupling.couple(
        world, "Collector", {"python": "cosim.run.testing:CollectorSim"}, sim_id="Collector-tshift"
    ).Collector()
    coupling.wire(world, battery, collector, "p_mw")
    world.run(until=1800, print_progress=False)
    seen = CollectorSim.instances.pop("Collector-tshift").collected
    # t=0: the initial 4 kW as 0.004 MW; t=900: the series' 1 kW of t=0, one step late
    assert [seen[t]["Bat-0.battery_0"]["p_mw"] for t in (0, 900)] == pytest.approx(
        [0.004, 0.001], rel=1e-12
    )


def test_a_misspelt_attr_stops_the_build_and_the_manifest_says_so(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'p_set_mw'"):
        run(tmp_path, "coupled_battery.py", steps=2, set_attr="p_set_mwh")
    m = results.read_manifest(tmp_path / "run")
    assert m["status"] == "failed" and m["steps_done"] == 0 and "p_set_mwh" in m["error"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"python": "a:B", "cmd": "x"}, "needs exactly one of python, cmd, connect"),
        ({"python": "no_such_package.sim:Sim"}, "no module 'no_such_package.sim'; install"),
        (
            {"python": "cosim.run.testing:NoSuchSim"},
            "module 'cosim.run.testing' has no 'NoSuchSim'",
        ),
        ({"cmd": "no-such-program %(addr)s"}, "program 'no-such-program' is not on PATH"),
        ({"connect": "localhost"}, "must look like HOST:PORT"),
        ({"python": "cosim.run.testing:SeriesSim", "timeout": 3}, "options: api_version, cwd, env"),
    ],
)
def test_bad_sim_configs(config, message):
    with pytest.raises(ConfigError, match="Ext") as err:
        coupling.check_config("Ext", config)
    assert message in str(err.value)


def test_a_missing_optional_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(coupling.INSTALL_HINTS, "no_such_package", "pip install no-such-package")
    with pytest.raises(ConfigError, match=r"no module 'no_such_package\.sim'; pip install no-such"):
        coupling.check_config("Ext", {"python": "no_such_package.sim:Sim"})


def test_taken_name_and_nothing_listening(world):
    with pytest.raises(ConfigError, match="name='Grid' is taken"):
        coupling.couple(world, "Grid", {"python": "cosim.run.testing:SeriesSim"})
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=r"Far .*could not be started.*127\.0\.0\.1"):
        coupling.couple(world, "Far", {"connect": f"127.0.0.1:{free_port()}"})
    assert time.perf_counter() - t0 < 5  # retried for connect_wait_s = 0.5 s, then gave up


# --- failures mid-run ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "fail", "kind", "detail"),
    [
        ("misbehaving", "die", "died", "closed its connection (process exit code 3)"),
        ("misbehaving", "hang", "timeout", "no answer within 1 s"),
        ("misbehaving", "garbage", "garbage", "sent a message that is not mosaik protocol"),
        ("misbehaving", "shape", "garbage", "answered 'soon', not the next time"),
        ("misbehaving", "raise", "error", "ValueError: no data for t_s=1800"),
        ("misbehaving", "raise_text", "error", "no data for t_s=1800"),
        ("pysim", "raise", "error", "ValueError: no data for t_s=1800"),
    ],
)
def test_a_failing_simulator_stops_the_run_naming_it_and_the_step(
    tmp_path, monkeypatch, how, fail, kind, detail
):
    monkeypatch.syspath_prepend(str(DATA))  # pysim
    t0 = time.perf_counter()
    outcome = run(tmp_path, "coupled_source.py", steps=4, how=how, fail=fail, step_timeout_s=1)
    elapsed_s = time.perf_counter() - t0
    assert outcome.status == "failed" and outcome.steps_done == 2
    assert outcome.error.startswith(f"simulator 'Ext-0', step at t_s=1800: {detail}")
    assert elapsed_s < 20  # bounded: a hanging simulator is given up after 1 s
    data = results.load(outcome.out_dir)
    assert list(data.index) == [0, 900]
    assert data[("Ext-0.source_0", "p_kw")].tolist() == [1.0, 1.0]
    m = results.read_manifest(outcome.out_dir)
    assert m["status"] == "failed" and m["steps_done"] == 2 and m["error"] == outcome.error
    assert m["failure"] == {"simulator": "Ext-0", "call": "step", "t_s": 1800, "kind": kind}


def test_the_cli_takes_the_step_timeout(tmp_path, capsys):
    script = str(DATA / "coupled_source.py")
    out = tmp_path / "cli"
    args = ["run", script, "--set", "steps=4", "--set", "fail=hang", "--out", str(out)]
    t0 = time.perf_counter()
    assert main([*args, "--quiet", "--step-timeout-s", "1.5"]) == EXIT_FAILED
    assert time.perf_counter() - t0 < 20
    err = capsys.readouterr().err
    assert "simulator 'Ext-0', step at t_s=1800: no answer within 1.5 s" in err
    assert results.read_manifest(out)["steps_done"] == 2


def test_no_process_is_left_behind(tmp_path):
    run(tmp_path, "coupled_source.py", steps=4, fail="hang", step_timeout_s=1)
    found = subprocess.run(
        ["pgrep", "-f", str(DATA / "misbehaving_sim.py")], capture_output=True, text=True
    )
    assert found.stdout == ""
