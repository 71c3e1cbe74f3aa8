"""Simulators found by entry point, and connections refused when their units differ.

``heatpump`` (tests/data) is a unit type as a user would ship one: a package with a
``cosim.simulators`` entry point (``heatpump-1.0.dist-info``) and no edit under ``cosim/``; the
tests put tests/data on the path (and on PYTHONPATH for the simulator processes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mosaik
import pytest

from cosim import cli
from cosim.analysis import results
from cosim.builtin import catalog
from cosim.core.errors import ConfigError
from cosim.run import coupling, registry, runner
from cosim.run.config import make_config
from cosim.run.coupling.__main__ import main as host_main
from cosim.run.scenario import load_scenario, sim_config

DATA = Path(__file__).parent / "data"
SCENARIO = DATA / "heatpump_scenario.py"
BUSES = (20, 24)  # the scenario's default buses of CIGRE LV


def _run(tmp_path: Path, name: str, processes: bool = False, **values: Any) -> Any:
    scenario = load_scenario(str(SCENARIO))
    cfg = make_config(scenario.config_class, steps=3, **values)
    out = runner.run(scenario, cfg, tmp_path / name, processes=processes, progress=False)
    assert out.status == "completed", out.error
    return results.load(out.out_dir)


@pytest.mark.usefixtures("data_packages")
def test_found_by_entry_point_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert "HeatPump" not in registry.SIMULATORS  # registered only through its entry point
    assert registry.target("HeatPump") == "heatpump.sim:HeatPumpSim"
    # as its own process: through the generic host, since it has no __main__ of its own
    cmd = sim_config(processes=True)["HeatPump"]["cmd"]
    assert cmd == "%(python)s -m cosim.run.coupling run HeatPump %(addr)s"
    assert cli.main(["sims"]) == 0
    assert any(line.startswith("HeatPump ") for line in capsys.readouterr().out.splitlines())
    assert cli.main(["sims", "HeatPump"]) == 0
    assert "q_heat_kw  output  kW" in capsys.readouterr().out
    assert "### HeatPump" in catalog.markdown(["HeatPump"])


def test_unknown_simulator_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"simulator='Nope' is unknown; known: .*Battery"):
        registry.target("Nope")
    assert host_main(["run", "Nope", "127.0.0.1:1"]) == 2


@pytest.mark.usefixtures("data_packages")
def test_scenario_with_it_in_process_and_as_processes(tmp_path: Path) -> None:
    inproc = _run(tmp_path, "a")
    procs = _run(tmp_path, "b", processes=True)
    assert inproc.equals(procs), (inproc - procs).abs().max().max()
    # hand check: COP = 0.45 * (55 + 273.15) K / (55 - 7) K = 3.0764 (the package's defaults;
    # air-source heat pumps are rated about 3 at A7/W55), so 8 kW of heat takes 2.6005 kW
    p_mw = 8.0 / (0.45 * 328.15 / 48.0) / 1000.0
    for k in range(len(BUSES)):
        assert inproc[(f"HeatPump-0.hp_{k}", "p_mw")].tolist() == pytest.approx([p_mw] * 3)
        assert inproc[(f"HeatPump-0.hp_{k}", "q_heat_kw")].tolist() == [8.0] * 3
    loads = [c for c in inproc.columns if c[0].startswith("Grid-0.load") and c[1] == "p_mw"]
    assert len(loads) == len(BUSES)
    for column in loads:  # the grid carries what the heat pumps draw
        assert inproc[column].tolist() == pytest.approx([p_mw] * 3)


@pytest.mark.usefixtures("data_packages")
def test_connection_between_different_units_is_refused_with_both_named() -> None:
    world = mosaik.World(
        sim_config(False, extra={"Flaky": "pysim:FlakySim"}),
        skip_greetings=True,
        configure_logging=False,
    )
    try:
        grid_sim = world.start("Grid")
        grid_sim.Grid(grid="create_cigre_network_lv")
        load = grid_sim.Load(bus=BUSES[0])
        pump = world.start("HeatPump").HeatPump()
        both = r"HeatPump-0.hp_0.q_heat_kw \[kW\] -> Grid-0.load_\d+.p_mw \[MW\]: the units differ"
        with pytest.raises(ConfigError, match=both):
            coupling.wire(world, pump, load, {"q_heat_kw": "p_mw"})
        with pytest.raises(ConfigError, match=both):  # Builder.connect, attach, feed_back
            coupling.connect(world, pump, load, ("q_heat_kw", "p_mw"))
        # a transform converts: kW -> MW is what it is for
        assert coupling.wire(world, pump, load, {"q_heat_kw": ("p_mw", coupling.KW_TO_MW)}) == 1
        assert coupling.wire(world, pump, load, "q_mvar") == 1  # Mvar -> Mvar
        # a third-party simulator declares no units (no schema): its p_kw passes
        source = world.start("Flaky").Source()
        assert coupling.wire(world, source, load, {"p_kw": ("p_mw", coupling.KW_TO_MW)}) == 1
        coupling.connect(world, source, grid_sim.Load(bus=BUSES[1]), ("p_kw", "p_mw"))
    finally:
        world.shutdown()
