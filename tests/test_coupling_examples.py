"""The coupling examples: a third-party simulator, a JavaScript one, cosim's simulators in a
plain mosaik scenario, and every cosim simulator in server mode.

Wiring of scenarios/examples/households.py (mosaik-householdsim, from PyPI)::

    Households-0.House_<i> --P_out (W -> MW)--> Grid-0.load_<i+1>.p_mw   (by the house's node_id)

Wiring of scenarios/examples/node_heaters.py (heater_sim.js on Node.js)::

    Heaters-0.heater_<i> --p_kw (kW -> MW)--> Grid-0.load_<new>.p_mw      (same step)
    Grid-0.bus_<bus i>   --vm_pu------------> Heaters-0.heater_<i>.vm_pu  (one step late)

Wiring of scenarios/examples/plain_mosaik.py (no cosim helpers)::

    PV-0.pv_0 --p_mw, q_mvar--> Grid-0.sgen_<new>;  PV, bus_19, ext_grid_0 --> Output-0
"""

import gc
import shutil
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import mosaik
import pandapower as pp
import pandapower.networks as pn
import pytest

from cosim.analysis import results
from cosim.run import coupling, runner
from cosim.run.config import make_config
from cosim.run.registry import SIMULATORS
from cosim.run.scenario import load_scenario, sim_config

EXAMPLES = Path(__file__).parents[1] / "scenarios" / "examples"
DATA = Path(__file__).parent / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tmp_path, script, **values):
    scenario = load_scenario(str(EXAMPLES / script))
    cfg = make_config(scenario.config_class, **values)
    outcome = runner.run(scenario, cfg, tmp_path / script, progress=False)
    assert outcome.status == "completed", outcome.error
    return results.load(outcome.out_dir)


def _profiles(path: Path) -> dict[str, list[float]]:
    """The profile rows of a mosaik-householdsim file: ``{"YYYY-MM-DD HH:MM": [W, ...]}``."""
    lines = path.read_text().splitlines()
    rows = lines[lines.index("# profiles") + 1 :]
    return {r.split(",")[0]: [float(v) for v in r.split(",")[1:]] for r in rows}


# mosaik-householdsim 2.2.0 opens its profile file and never closes it
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
def test_third_party_households_feed_the_grid_loads(tmp_path):
    pytest.importorskip("mosaik_components.household", reason="pip install 'cosim[coupling]'")
    data = _run(tmp_path, "households.py", steps=4, start="2016-01-01 18:30:00")
    gc.collect()  # the simulator and its open file go here, under this test's filter
    profiles = _profiles(EXAMPLES / "data" / "households.data")
    times = ["2016-01-01 18:30", "2016-01-01 18:45", "2016-01-01 19:00", "2016-01-01 19:15"]
    for i in range(5):  # house i plays profile i % 2 and feeds load_<i+1> (its node_id)
        p_w = [profiles[t][i % 2] for t in times]
        assert data[(f"Households-0.House_{i}", "P_out")].tolist() == p_w
        assert data[(f"Grid-0.load_{i + 1}", "p_mw")].tolist() == pytest.approx(
            [p / 1e6 for p in p_w], rel=1e-12
        )
    assert data[("Households-0.House_1", "P_out")].tolist() == [250.0, 250.0, 1500.0, 1500.0]
    coupled = results.read_manifest(tmp_path / "households.py")["coupled"]
    assert [(c["name"], c["package"]) for c in coupled] == [("Households", "mosaik-householdsim")]
    assert coupled[0]["version"] == metadata.version("mosaik-householdsim")
    # the grid against pandapower run directly with the same household loads (t = 19:00)
    net = pn.create_cigre_network_lv()
    for i in range(5):
        net.load.at[i + 1, "p_mw"] = profiles["2016-01-01 19:00"][i % 2] / 1e6
    pp.runpp(net)
    assert data.at[1800, ("Grid-0.ext_grid_0", "p_mw")] == pytest.approx(
        net.res_ext_grid.p_mw.iloc[0], abs=1e-7
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js (node) is not installed")
def test_javascript_heaters_exchange_power_and_voltage_with_the_grid(tmp_path):
    data = _run(tmp_path, "node_heaters.py", steps=4, buses=(19,), vm_min_pu=0.92)
    p_kw = data[("Heaters-0.heater_0", "p_kw")].tolist()
    seen_pu = data[("Heaters-0.heater_0", "vm_pu")].tolist()
    bus_pu = data[("Grid-0.bus_19", "vm_pu")].tolist()
    assert data[("Grid-0.load_15", "p_mw")].tolist() == pytest.approx(
        [p / 1000 for p in p_kw], rel=1e-15
    )
    assert seen_pu == [1.0, *bus_pu[:3]]  # the bus voltage arrives one step late, unchanged
    assert p_kw == [9.0 if v >= 0.92 else 4.5 for v in seen_pu]
    assert p_kw == [9.0, 4.5, 9.0, 4.5]  # 9 kW pulls bus 19 under 0.92 pu, 4.5 kW does not


def test_cosim_simulators_in_a_plain_mosaik_scenario():
    from scenarios.examples import plain_mosaik

    local = plain_mosaik.run(steps=3, processes=False)  # each as its own process: see below
    for t_s in (0, 900, 1800):
        got = local[t_s]
        p_mw, q_mvar = got["p_mw"]["PV-0.pv_0"], got["q_mvar"]["PV-0.pv_0"]
        assert 0.01 < p_mw < 0.02  # 20 kWp in Berlin on a clear June morning
        net = pn.create_cigre_network_lv()
        pp.create_sgen(net, bus=19, p_mw=p_mw, q_mvar=q_mvar)
        pp.runpp(net)
        assert got["p_mw"]["Grid-0.ext_grid_0"] == pytest.approx(
            net.res_ext_grid.p_mw.iloc[0], abs=1e-7
        )
        assert got["vm_pu"]["Grid-0.bus_19"] == pytest.approx(net.res_bus.vm_pu.at[19], abs=1e-8)


def _package(target: str) -> str:
    return target.split(":")[0].rsplit(".", 1)[0]


def test_every_cosim_simulator_serves_a_scenario_that_connects(tmp_path):
    """``python -m <package> 127.0.0.1:PORT --remote`` for every simulator (and the controller
    host), all at once; one world connects to each and gets its meta."""
    fmu_params = {}
    if "FMU" in SIMULATORS and shutil.which("pythonfmu"):
        from scenarios.examples.fmu_building import example_fmu

        fmu_params = {"fmu": str(example_fmu(tmp_path))}
    names = [n for n in SIMULATORS if n != "FMU" or fmu_params]
    controller_params = {"controller": f"{DATA / 'idle_controller.py'}:Idle", "options": {}}
    servers = {}
    for name in names:
        port = free_port()
        cmd = [sys.executable, "-m", _package(SIMULATORS[name]), f"127.0.0.1:{port}", "--remote"]
        servers[name] = (port, subprocess.Popen(cmd))
    world = mosaik.World(sim_config(False), skip_greetings=True, configure_logging=False)
    coupling.guard(world, coupling.Timeouts(connect_wait_s=60))
    try:
        for name, (port, _) in servers.items():
            config = {"connect": f"127.0.0.1:{port}"}
            params = {"FMU": fmu_params, "Controller": controller_params}.get(name, {})
            meta = coupling.couple(world, f"Remote{name}", config, **params).meta
            assert meta["api_version"] == "3.0" and meta["models"], name
    finally:
        world.shutdown()
        for _, proc in servers.values():
            proc.kill()
            proc.wait(10)


def test_serve_binds_loopback_unless_told(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim.run.coupling", "serve", "Battery", "--port", str(port)],
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and port not in {p for _, p in _listening()}:
            time.sleep(0.1)
        assert [host for host, p in _listening() if p == port] == ["127.0.0.1"]
    finally:
        proc.kill()
        proc.wait(10)
    bad = subprocess.run(
        [sys.executable, "-m", "cosim.run.coupling", "serve", "Batery", "--port", str(port)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "simulator='Batery' is unknown; known: " in bad.stderr
    assert "Traceback" not in bad.stderr


def _listening() -> list[tuple[str, int]]:
    """(IPv4 address, port) of every listening TCP socket, from /proc (no connection made:
    a server in mosaik's server mode takes the first connection as mosaik's)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A":  # LISTEN
            host_hex, port_hex = local.split(":")
            host = ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
            found.append((host, int(port_hex, 16)))
    return found
