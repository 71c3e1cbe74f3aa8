"""The controller plug-in: found by name, wired by ``Builder.control``, same in both modes.

Wiring of ``tests/data/ctrl_scenario.py`` (grid_profiles plus one controller)::

    Grid-0.ext_grid_0 --p_mw--> Controller-0.ctrl --in_service (one step late)--> Grid-0.load_0

``ctrlpkg`` (tests/data) is a controller package with a ``cosim.controllers`` entry point, as
a user would install one; the tests put tests/data on the path (and on PYTHONPATH for the
simulator processes).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from controllers import registry
from controllers.adapter import ControllerSim, set_point_attr
from controllers.base import Controller, Measurements
from cosim.analysis import results
from cosim.core.errors import ConfigError, SimulationError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

DATA = Path(__file__).parent / "data"
SCENARIO = DATA / "ctrl_scenario.py"
FEEDER, LOAD = "Grid-0.ext_grid_0", "Grid-0.load_0"


def _run(tmp_path: Path, name: str, processes: bool = False, **values: Any) -> Any:
    scenario = load_scenario(str(SCENARIO))
    cfg = make_config(scenario.config_class, steps=8, **values)
    out = runner.run(scenario, cfg, tmp_path / name, processes=processes, progress=False)
    assert out.status == "completed", out.error
    return results.load(out.out_dir)


def test_builtin_and_unknown_names() -> None:
    assert registry.find("islanding").__name__ == "Islanding"
    with pytest.raises(ConfigError, match=r"'nope' is unknown; known: .*islanding.*module:Class"):
        registry.find("nope")
    with pytest.raises(ConfigError, match="cannot import 'no_such_module'"):
        registry.find("no_such_module:X")
    with pytest.raises(ConfigError, match=r"not a subclass of controllers\.base\.Controller"):
        registry.find("pathlib:Path")


@pytest.mark.usefixtures("data_packages")
def test_found_through_entry_point_and_class_path() -> None:
    assert "take_off" in registry.known_names()
    assert registry.find("take_off") is registry.find("ctrlpkg:TakeOff")


@pytest.mark.usefixtures("data_packages")
def test_options_are_checked_against_the_constructor() -> None:
    cls = registry.find("take_off")
    with pytest.raises(ConfigError, match=r"option=.limit_kw. is unknown; known: feeder, limit_mw"):
        registry.instantiate(cls, {"feeder": "a", "load": "b", "limit_kw": 1})
    with pytest.raises(ConfigError, match=r"TakeOff: .*missing.*limit_mw"):
        registry.instantiate(cls, {"feeder": "a", "load": "b"})


@pytest.mark.usefixtures("data_packages")
@pytest.mark.parametrize("name", ["take_off", "ctrlpkg:TakeOff"])
def test_controller_acts_one_step_late_and_processes_agree(tmp_path: Path, name: str) -> None:
    # limit 0: the feeder imports at t = 0 (hand check below), so load_0 goes off from t = 900
    inproc = _run(tmp_path, "a", controller=name, limit_mw=0.0)
    procs = _run(tmp_path, "b", processes=True, controller=name, limit_mw=0.0)
    pd_equal = inproc.equals(procs)
    assert pd_equal, (inproc - procs).abs().max().max()
    assert inproc[("Controller-0.ctrl", "decisions")].tolist() == list(range(1, 9))
    # the reference: the same run without the controller's effect (a limit never reached)
    free = _run(tmp_path, "c", controller=name, limit_mw=1e9)
    imp, imp_free = inproc[(FEEDER, "p_mw")], free[(FEEDER, "p_mw")]
    assert imp.iloc[0] > 0 and imp.iloc[0] == imp_free.iloc[0]  # step 0: nothing decided yet
    assert (imp.iloc[1:] < imp_free.iloc[1:] - 1e-4).all()  # load_0 (SimBench) draws > 0.1 kW


def test_unknown_entity_and_attribute_are_build_errors(tmp_path: Path) -> None:
    scenario = load_scenario(str(SCENARIO))
    cfg = make_config(scenario.config_class, steps=2, controller="peak_shaving")
    with pytest.raises(ConfigError):
        runner.run(scenario, cfg, tmp_path / "x", progress=False)


class _Echo(Controller):
    def observes(self) -> list[tuple[str, str]]:
        return [("S-0.a", "x")]

    def sets(self) -> dict[tuple[str, str], Any]:
        return {("S-0.b", "y"): 0.0}

    def decide(self, t_s: int, seen: Measurements) -> dict[str, dict[str, Any]]:
        return {"S-0.b": {"y": 2 * seen["S-0.a"]["x"]}, **({"S-0.c": {"z": 1}} if t_s else {})}


def test_adapter_holds_set_points_and_rejects_undeclared_ones() -> None:
    sim = ControllerSim()
    meta = sim.init("C-0", 1.0, controller=_Echo, options={}, step_s=60)
    assert meta["models"]["Controller"]["attrs"] == [set_point_attr("S-0.b", "y")]
    assert meta["cosim"]["sets"] == [["S-0.b", "y", "S-0.b:y", 0.0]]
    [entity] = sim.create(1, "Controller")
    assert sim.step(0, {entity["eid"]: {"x": {"S-0.a": 1.5}}}, 10**9) == 60
    assert sim.get_data({"ctrl": ["S-0.b:y"]}) == {"ctrl": {"S-0.b:y": 3.0}}
    with pytest.raises(SimulationError, match=r"set 'z' of 'S-0.c' at t_s=60.*does not declare"):
        sim.step(60, {"ctrl": {"x": {"S-0.a": 1.0}}}, 10**9)


def test_measurements_name_what_is_observed() -> None:
    seen = Measurements({"a": {"x": 1.0}}, {"a": {"x"}})
    assert seen["a"]["x"] == 1.0
    with pytest.raises(SimulationError, match=r"'b' asked for.*observes only \['a'\]"):
        seen["b"]
    with pytest.raises(SimulationError, match=r"'y' of 'a' asked for.*only \['x'\]"):
        seen["a"]["y"]


def test_module_path_of_a_scenario_file_loads() -> None:
    cls = registry.find(f"{DATA / 'ctrlpkg' / '__init__.py'}:TakeOff")
    assert cls.__name__ == "TakeOff" and np.isfinite(1.0)
    assert sys.modules[cls.__module__].__file__ == str(DATA / "ctrlpkg" / "__init__.py")


def test_step_s_comes_from_the_host_not_the_options() -> None:
    from controllers.demand_response import DemandResponse

    sim = ControllerSim()
    sim.init("C-0", 1.0, controller=DemandResponse, options={}, step_s=60)
    assert isinstance(sim.ctrl, DemandResponse) and sim.ctrl.step_s == 60
    with pytest.raises(ConfigError, match="option step_s=900 differs from the run's step_s=60"):
        ControllerSim().init(
            "C-1", 1.0, controller=DemandResponse, options={"step_s": 900}, step_s=60
        )
