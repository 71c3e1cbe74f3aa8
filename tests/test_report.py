"""The run report: plots and ``report.html`` for ``neighbourhood``, ``grid_profiles`` and a
failed ``grid_profiles`` run.

Wiring (see scenarios/neighbourhood.py and scenarios/grid_profiles.py)::

    Profiles, PV, Battery, EV, CHP, FlexLoad --> Grid-0 --> Recorder --> results folder
    results folder --> cosim.analysis.kpis.compute --> cosim.analysis.report.write_report
        --> report.html
"""

import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cosim.analysis import plots, results
from cosim.analysis.report import REPORT, format_value, label, write_report
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from simulators.grid.nets import load_net
from simulators.simbench_nets import simbench_net

CODE = "1-LV-rural1--0-sw"
CHROMIUM = Path("/usr/bin/chromium")
NEIGHBOURHOOD_PLOTS = ["Bus voltages", "Power at the grid connection", "Grid map",
                       "Home batteries", "CHP heat", "EV charging"]  # fmt: skip
GRID_PLOTS = NEIGHBOURHOOD_PLOTS[:3]


def _run(out: Path, name: str, **values: object) -> runner.RunOutcome:
    scenario = load_scenario(name)
    cfg = make_config(scenario.config_class, **values)
    return runner.run(scenario, cfg, out, progress=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """neighbourhood and grid_profiles for 8 steps, and grid_profiles diverging at step 3."""
    base = tmp_path_factory.mktemp("runs")
    net = simbench_net(CODE)
    profile = pd.DataFrame({f"load_{i}": np.full(8, 0.001) for i in net.load.index})
    profile.iloc[3:] = 10.0  # 10 MW per load behind a 0.16 MVA trafo: Newton-Raphson diverges
    profile.to_csv(base / "profile.csv", index=False)
    outcomes = {
        "neighbourhood": _run(base / "nb", "neighbourhood", steps=8),
        "grid_profiles": _run(base / "gp", "grid_profiles", steps=8),
        "failed": _run(base / "fail", "grid_profiles", steps=8, profiles=str(base / "profile.csv")),
    }
    assert outcomes["failed"].status == "failed" and outcomes["failed"].steps_done == 3
    return {k: o.out_dir for k, o in outcomes.items()}


@pytest.fixture(scope="module")
def reports(runs: dict[str, Path]) -> dict[str, str]:
    return {k: write_report(folder, load_grid=load_net).read_text() for k, folder in runs.items()}


def _labels(fig: Figure) -> list[list[str]]:
    return [[str(line.get_label()) for line in ax.get_lines()] for ax in fig.axes]


def test_plots_of_neighbourhood(runs):
    data = results.load(runs["neighbourhood"])
    start = results.read_manifest(runs["neighbourhood"])["start"]
    fig = plots.voltage_envelope(data, start=start)
    assert isinstance(fig, Figure)
    assert _labels(fig)[0][:3] == ["highest bus", "median bus", "lowest bus"]
    low, high = fig.axes[0].get_lines()[2].get_ydata(), fig.axes[0].get_lines()[0].get_ydata()
    vm = data.xs("vm_pu", axis=1, level="attr")
    np.testing.assert_allclose(low, vm.min(axis=1))
    np.testing.assert_allclose(high, vm.max(axis=1))
    assert isinstance(fig.axes[0].get_lines()[0].get_xdata()[0], pd.Timestamp | np.datetime64)

    fig = plots.feeder_power(data)
    assert isinstance(fig, Figure)
    assert _labels(fig)[0][:6] == [
        "grid connection (+ import)", "PV", "CHP", "loads", "batteries (+ charging)",
        "EVs charging",
    ]  # fmt: skip
    # LV powers in kW; the grid line is the ext_grid p_mw (pandapower: > 0 imports)
    ext = data[("Grid-0.ext_grid_0", "p_mw")].to_numpy()
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), ext * 1000)
    assert fig.axes[0].get_ylabel() == "active power [kW]"

    fig = plots.battery_soc(data)
    assert isinstance(fig, Figure) and _labels(fig)[0][-1] == "mean"
    assert fig.axes[0].get_ylabel() == "state of charge [%]"
    fig = plots.chp_heat(data)
    assert isinstance(fig, Figure) and "heat demand" in _labels(fig)[0]
    assert _labels(fig)[1] == ["tank"]
    fig = plots.ev_charging(data)
    assert isinstance(fig, Figure)
    assert _labels(fig) == [["charging power"], ["plugged in"]]
    assert fig.axes[1].get_lines()[0].get_ydata().max() <= len(
        plots.columns(data, "connected", sim="EV").columns
    )
    fig = plots.grid_map(data, load_net(CODE))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # the map and two colour bars
    net = simbench_net(CODE)
    segments = fig.axes[0].collections[0].get_segments()
    assert len(segments) == len(net.line) + len(net.trafo)


def test_plots_without_units_return_none(runs):
    data = results.load(runs["grid_profiles"])
    assert plots.battery_soc(data) is None
    assert plots.chp_heat(data) is None
    assert plots.ev_charging(data) is None
    assert _labels(plots.feeder_power(data))[0][0] == "grid connection (+ import)"
    assert plots.voltage_envelope(data.iloc[:, :0]) is None


def test_grid_map_without_coordinates_uses_a_tree_layout(runs):
    data = results.load(runs["grid_profiles"])
    net = simbench_net(CODE)
    net.bus["geo"] = None
    pos = plots.bus_coordinates(net)
    assert set(pos) == set(net.bus.index)
    slack = int(net.ext_grid.bus.iloc[0])
    assert pos[slack][0] == 0.0  # the grid connection is the root, depth 0
    assert isinstance(plots.grid_map(data, net), Figure)


@pytest.mark.parametrize("name", ["neighbourhood", "grid_profiles", "failed"])
def test_report_html(runs, reports, name):
    page = reports[name]
    expected = NEIGHBOURHOOD_PLOTS if name == "neighbourhood" else GRID_PLOTS
    assert page.count("<img") == len(expected)
    assert page.count('src="data:image/png;base64,') == len(expected)
    assert re.findall(r"<figcaption><strong>Figure \d+\. ([^<]+)\.</strong>", page) == expected
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 may hold "http"
    assert "http" not in text.lower() and "url(" not in text and "href" not in text
    assert "<script" not in text and "<link" not in text
    assert '<table class="kpi">' in page and "import_mwh" in page and "v_min_pu" in page
    assert (runs[name] / "kpis.json").is_file() and (runs[name] / "kpis.csv").is_file()
    assert ("Partial run" in page) == (name == "failed")
    if name == "failed":
        assert "after 3 of 8 steps" in page and "did not converge at t_s=2700" in page


def test_formatting():
    assert label("peak_import_mw", "MW") == "Peak import"
    assert label("v_min_pu", "p.u.") == "V min"
    assert label("chp_starts", "-") == "CHP starts"
    assert format_value(0.023456, "MWh") == "0.02346"
    assert format_value(1.025938, "p.u.") == "1.0259"
    assert format_value(12.0, "-") == "12"
    assert format_value(123456.7, "EUR") == "123&thinsp;457"
    assert format_value(float("nan"), "h") == "&ndash;"


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")
def test_report_renders_in_chromium(runs, reports, tmp_path):
    """Headless Chromium loads every embedded image of the report without console errors."""
    report = runs["neighbourhood"] / REPORT
    flags = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1600,3000", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 50_000, done.stderr
    # a copy with a probe that marks the body once every image has decoded with a size
    probe = tmp_path / "probe.html"
    script = (
        "<script>window.addEventListener('load', () => { const imgs = [...document.images];"
        " document.body.dataset.loaded = imgs.filter(i => i.complete && i.naturalWidth > 0)"
        ".length + '/' + imgs.length; });</script>"
    )
    probe.write_text(report.read_text().replace("</body>", script + "</body>"))
    done = subprocess.run(
        [*flags, "--enable-logging=stderr", "--v=0", "--run-all-compositor-stages-before-draw",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    n = len(NEIGHBOURHOOD_PLOTS)
    assert f'data-loaded="{n}/{n}"' in done.stdout, done.stderr[-2000:]
    console = [
        line for line in done.stderr.splitlines()
        if "Uncaught" in line or re.search(r"ERROR:.*console", line)
    ]  # fmt: skip
    assert not console


def test_de_energised_bus_is_no_voltage_in_plots_and_kpis(runs):
    """A bus that reads vm_pu = 0 (de-energised, as the upstream bus of an islanded feeder) is
    left out of the envelope and the map, as the voltage KPIs leave it out."""
    from cosim.analysis.results import energised

    data = results.load(runs["grid_profiles"]).copy()
    bus = "Grid-0.bus_0"
    data[(bus, "vm_pu")] = 0.0  # de-energised the whole run
    fig = plots.voltage_envelope(data)
    vm = energised(data.xs("vm_pu", axis=1, level="attr"))
    low = fig.axes[0].get_lines()[2].get_ydata()
    np.testing.assert_allclose(low, vm.min(axis=1))
    assert low.min() > 0.9  # without the rule: 0.0, i.e. "closest to a limit: -0.900 pu"
    text = next(t.get_text() for t in fig.axes[0].texts if "closest" in t.get_text())
    margin = min(1.1 - float(vm.max().max()), float(vm.min().min()) - 0.9)
    assert text == f"closest to a limit: {margin:.3f} pu" and margin > 0
    fig = plots.grid_map(data, load_net(CODE))
    dots = fig.axes[0].collections[1]
    assert len(dots.get_offsets()) == len(simbench_net(CODE).bus) - 1  # bus 0: no dot
    assert all("bus 0:" not in t.get_text() for t in fig.axes[0].texts)
