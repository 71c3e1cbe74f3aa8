"""Grid and Profiles fleets give bit for bit the results of their per-element entities.

Wiring, per element (the reference):
    Profiles-0.<element>_<i> --p_mw, q_mvar--> Grid-0.<element>_<i>   (SimBench profiles)
    Extra-0.<element>_<j>    --p_mw[, q_mvar]--> Grid-0.<element>_<j>  (Sgen/Load/Storage created)
    Grid-0.bus_<i>, line_<i>, trafo_<i>, ext_grid_<i>, <created>  --> Output-0.Dict-0
With fleets (the same net, the same numbers, arrays between the simulators):
    Profiles-0.load/sgen --(route)--> Grid-0.load/sgen                (Grid and Profiles fleets)
    Extra-0.sgen/load/storage --(route)--> Grid-0.<element>_fleet_0   (SgenFleet, LoadFleet, ...)
    Grid-0.bus, line, trafo, ext_grid, <element>_fleet_0 --> Output-0.Dict-0
The same arithmetic runs on both paths (the same float64 values written into the same net
columns), so the results must be equal exactly, in-process and with both simulators started
as their own processes (lists on the wire).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import mosaik
import numpy as np
import pandas as pd
import pytest

from cosim.core.errors import ConfigError, SimulationError
from simulators.grid.sim import GridSim
from simulators.profiles.sim import ProfilesSim

ROOT = Path(__file__).resolve().parents[1]
LV, MV = "1-LV-rural1--0-sw", "1-MV-rural--0-sw"
STEP_S, UNTIL = 900, 3600
IN_PROCESS = {
    "Grid": {"python": "simulators.grid.sim:GridSim"},
    "Profiles": {"python": "simulators.profiles.sim:ProfilesSim"},
}
PROCESSES = {
    "Grid": {"cmd": "%(python)s -m simulators.grid %(addr)s", "cwd": str(ROOT)},
    "Profiles": {"cmd": "%(python)s -m simulators.profiles %(addr)s", "cwd": str(ROOT)},
}
OUTPUTS = {
    "bus": ("vm_pu", "va_degree"),
    "line": ("loading_percent",),
    "trafo": ("loading_percent",),
    "ext_grid": ("p_mw", "q_mvar"),
    "sgen": ("p_mw",),
    "load": ("p_mw", "q_mvar"),
    "storage": ("p_mw",),
}
BUSES = {"sgen": [3, 5, 7], "load": [4, 6], "storage": [8]}  # new elements, in creation order


def _extra_csv(folder: Path, first: dict[str, int]) -> Path:
    """Profiles of the created elements, columns out of order, some units without one."""
    s, ld, st = first["sgen"], first["load"], first["storage"]
    rows = np.arange(UNTIL // STEP_S)
    frame = pd.DataFrame(
        {
            "t_s": rows * STEP_S,
            f"sgen_{s + 2}": 0.003 + 0.001 * rows,  # sgen s+1 has no profile: it keeps p_mw
            f"sgen_{s}": 0.005 - 0.001 * rows,
            f"load_{ld + 1}": 0.002 + 0.0005 * rows,  # load ld+1 has no q_mvar column
            f"load_{ld}": 0.004 * np.ones_like(rows),
            f"load_{ld}.q_mvar": 0.001 * rows,
            f"storage_{st}": 0.006 - 0.004 * rows,  # charges, then discharges
        }
    )
    path = folder / "extra.csv"
    frame.to_csv(path, index=False)
    return path


def _route(dst_units: list[str], src_units: list[str]) -> list[int]:
    """Position in the source's arrays of each unit of the destination (-1: none)."""
    at = {unit: k for k, unit in enumerate(src_units)}
    return [at.get(unit, -1) for unit in dst_units]


def run(code: str, fleets: bool, folder: Path, starters: dict[str, Any]) -> dict[str, Any]:
    """Run the world above for UNTIL s: ``{t_s: {attr: {unit full id: value}}}``."""
    world = mosaik.World(
        {
            **starters,
            "Extra": starters["Profiles"],
            "Output": {"python": "mosaik.basic_simulators:OutputSimulator"},
        },
        skip_greetings=True,
        configure_logging=False,
    )
    grid_sim = world.start("Grid", step_s=STEP_S)
    grid = grid_sim.Grid(grid=code, fleets=fleets)
    first = {e: 0 for e in BUSES}
    for child in grid.children:
        element = child.type.removesuffix("Fleet").lower()
        if element in first:
            units = child.extra_info["units"] if fleets else [child.eid]
            first[element] = max([first[element], *(int(u.rsplit("_", 1)[1]) + 1 for u in units)])
    created = []
    for element, buses in BUSES.items():
        model = element.capitalize()
        p_mw = [0.001 * (k + 1) for k in range(len(buses))]  # the start value, one per unit
        if fleets:
            created.append(getattr(grid_sim, model + "Fleet")(buses=buses, p_mw=p_mw, q_mvar=0.0))
        else:
            created += [
                getattr(grid_sim, model)(bus=b, p_mw=p) for b, p in zip(buses, p_mw, strict=True)
            ]
    profiles = world.start("Profiles", step_s=STEP_S).Profiles(
        source=f"simbench:{code}", fleets=fleets
    )
    extra = world.start("Extra", step_s=STEP_S).Profiles(
        source=str(_extra_csv(folder, first)), fleets=fleets
    )
    by_eid = {c.eid: c for c in [*grid.children, *created]}
    for src in [*profiles.children, *extra.children]:
        attrs = src.extra_info["attrs"]
        if not fleets:
            world.connect(src, by_eid[src.eid], *attrs)
            continue
        table = src.eid if src in profiles.children else f"{src.eid}_fleet_0"
        dst = by_eid[table]
        positions = _route(dst.extra_info["units"], src.extra_info["units"])
        grid_sim.route(dst.eid, src.full_id, positions)
        world.connect(src, dst, *attrs)
    output_sim = world.start("Output")
    sink = output_sim.Dict()
    for entity in by_eid.values():
        element = entity.type.removesuffix("Fleet").lower().replace("extgrid", "ext_grid")
        if element in OUTPUTS:
            world.connect(entity, sink, *OUTPUTS[element])
    world.run(until=UNTIL, print_progress=False, shutdown=False)
    collected = output_sim.get_dict(sink.eid)
    units = {e.full_id: e.extra_info["units"] for e in by_eid.values() if fleets}
    world.shutdown()
    return {t_s: _per_unit(inputs, units) for t_s, inputs in collected.items()}


def _per_unit(inputs: dict[str, Any], units: dict[str, list[str]]) -> dict[str, Any]:
    """Fleet arrays spread over their units' full ids, as the per-element path names them."""
    out: dict[str, dict[str, Any]] = {}
    for attr, sources in inputs.items():
        column = out.setdefault(attr, {})
        for src, value in sources.items():
            if src not in units:
                column[src] = value
                continue
            sid = src.rsplit(".", 1)[0]
            column.update({f"{sid}.{u}": float(v) for u, v in zip(units[src], value, strict=True)})
    return out


@pytest.mark.parametrize("code", [LV, MV])
def test_fleets_equal_per_element_in_process(code: str, tmp_path: Path) -> None:
    per_element = run(code, False, tmp_path, IN_PROCESS)
    with_fleets = run(code, True, tmp_path, IN_PROCESS)
    assert sorted(per_element) == [0, 900, 1800, 2700]
    assert with_fleets == per_element  # every bus, line, trafo, ext_grid, unit: bit for bit
    # the run moved: the created units followed their profiles, not their start values
    first = per_element[2700]["p_mw"]
    sgens = sorted((k for k in first if ".sgen_" in k), key=lambda k: int(k.rsplit("_", 1)[1]))
    assert [first[k] for k in sgens[-3:]] == pytest.approx([0.002, 0.002, 0.006], rel=1e-12)
    assert len(per_element[0]["vm_pu"]) > 10


def test_fleets_as_processes_equal_per_element(tmp_path: Path) -> None:
    assert run(LV, True, tmp_path, PROCESSES) == run(LV, False, tmp_path, IN_PROCESS)


# --- errors, stepped directly -------------------------------------------------------------


def _grid(**params: Any) -> GridSim:
    sim = GridSim()
    sim.init("Grid-0", step_s=STEP_S)
    sim.create(1, "Grid", grid=LV, fleets=True)
    sim.create(1, "SgenFleet", buses=[3, 5], **params)
    return sim


def test_bad_fleet_inputs_are_clear_errors() -> None:
    sim = _grid()
    with pytest.raises(SimulationError, match=r"A-0\.a sent 3 values to fleet 'sgen_fleet_0' of 2"):
        sim.step(0, {"sgen_fleet_0": {"p_mw": {"A-0.a": [0.1, 0.2, 0.3]}}}, STEP_S)
    with pytest.raises(ConfigError, match="input 'vm_pu' of 'bus' is unknown; inputs: in_service"):
        sim.step(0, {"bus": {"vm_pu": {"A-0.a": np.ones(15)}}}, STEP_S)
    with pytest.raises(ConfigError, match="route: 'sgen_4' is not a fleet entity of this grid"):
        sim.route("sgen_4", "A-0.a", [0, 1])
    with pytest.raises(ConfigError, match=r"route of 'A-0\.a' to 'sgen_fleet_0': 3 positions"):
        sim.route("sgen_fleet_0", "A-0.a", [0, 1, 2])
    sim.add_relay("Grid-0.switch_3")  # a unit of the switch fleet, by the per-element id
    with pytest.raises(ConfigError, match="add_relay: 'switch_99' is not a switch entity"):
        sim.add_relay("switch_99")
    sim.route("sgen_fleet_0", "A-0.a", [0, 4])
    with pytest.raises(SimulationError, match="whose route reaches position 4"):
        sim.step(0, {"sgen_fleet_0": {"p_mw": {"A-0.a": [0.1, 0.2]}}}, STEP_S)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"p_mw": [0.1, 0.2, 0.3]},
            r"SgenFleet param p_mw=\[0.1, 0.2, 0.3\] has 3 values; give one per unit \(2\)",
        ),
        ({"n_units": 3}, r"param buses=\[.*\] has 2 values; give one per unit \(3\)"),
        ({"names": "a"}, "SgenFleet param names='a' must be a list or None"),
        ({"bus": 3}, "SgenFleet parameter='bus' is unknown"),
    ],
)
def test_bad_fleet_params_are_clear_errors(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _grid(**params)


def test_bad_fleets_flag_and_profiles_fleet_request(tmp_path: Path) -> None:
    sim = GridSim()
    sim.init("Grid-0", step_s=STEP_S)
    with pytest.raises(ConfigError, match="Grid param fleets='yes' must be True or False"):
        sim.create(1, "Grid", grid=LV, fleets="yes")
    profiles = ProfilesSim()
    profiles.init("Profiles-0", step_s=STEP_S)
    path = _extra_csv(tmp_path, {"sgen": 0, "load": 0, "storage": 0})
    (root,) = profiles.create(1, "Profiles", source=str(path), fleets=True)
    sgen = next(c for c in root["children"] if c["eid"] == "sgen")
    assert sgen["extra_info"] == {"units": ["sgen_2", "sgen_0"], "attrs": ["p_mw"]}
    profiles.step(0, {}, STEP_S)
    with pytest.raises(SimulationError, match="entity 'sgen' has no profile for attr 'q_mvar'"):
        profiles.get_data({"sgen": ["q_mvar"]})
    load = profiles.get_data({"load": ["q_mvar"]})["load"]["q_mvar"]
    assert np.isnan(load[0]) and load[1] == 0.0  # load_1 has no q_mvar column: NaN, no input


def test_single_elements_and_fleets_mix_in_one_table() -> None:
    """Sgen, SgenFleet, Sgen on a per-element grid: the fleet's rows lie between the singles',
    and the inputs of both reach the net as the all-single path's do."""
    sims = []
    for with_fleet in (False, True):
        sim = GridSim()
        sim.init("Grid-0", step_s=STEP_S)
        sim.create(1, "Grid", grid=LV)
        first = sim.create(1, "Sgen", bus=3)[0]["eid"]
        if with_fleet:
            (made,) = sim.create(1, "SgenFleet", buses=[5, 7], names=["a", "b"])
            middle = made["extra_info"]["units"]
            assert made["extra_info"]["name"] == ["a", "b"]
        else:
            middle = [
                sim.create(1, "Sgen", bus=b, name=n)[0]["eid"] for b, n in ((5, "a"), (7, "b"))
            ]
        last = sim.create(1, "Sgen", bus=8)[0]["eid"]
        assert [first, *middle, last] == [f"sgen_{4 + k}" for k in range(4)]  # 4 sgens before
        p_mw = {first: 0.01, middle[0]: 0.02, middle[1]: 0.03, last: 0.04}
        inputs = {e: {"p_mw": {"A-0.a": v}} for e, v in p_mw.items() if e not in middle}
        if with_fleet:
            inputs["sgen_fleet_0"] = {"p_mw": {"A-0.a": np.array([0.02, 0.03])}}
        else:
            inputs.update({e: {"p_mw": {"A-0.a": p_mw[e]}} for e in middle})
        with mock.patch.object(sim.grid, "set_values", wraps=sim.grid.set_values) as write:
            sim.step(0, inputs, STEP_S)
        calls = [c.args[:2] for c in write.call_args_list]
        assert calls == [("sgen", "p_mw")]  # one write per (table, column), singles and fleet
        sims.append(sim)
    single, mixed = sims
    for element, attr in (("bus", "vm_pu"), ("sgen", "p_mw"), ("ext_grid", "p_mw")):
        assert single.grid is not None and mixed.grid is not None
        expected = single.grid.result(element, attr)
        assert (mixed.grid.result(element, attr) == expected).all()
    assert single.grid.result("sgen", "p_mw")[-4:].tolist() == [0.01, 0.02, 0.03, 0.04]
