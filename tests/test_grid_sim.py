"""The grid simulator's mosaik adapter, stepped directly, against pandapower run on the same net.

Wiring: two test sources --p_mw--> Grid-0.load_0 (summed); a test source --closed-->
Grid-0.switch_<i>; Grid-0.<element> outputs read with get_data.
"""

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from cosim.core.errors import ConfigError, SimulationError
from simulators.grid.sim import GridSim

GRID = "create_cigre_network_lv"


def _sim(**init):
    sim = GridSim()
    sim.init("Grid-0", time_resolution=1.0, step_s=900, **init)
    grid = sim.create(1, "Grid", grid=GRID)[0]
    return sim, grid


def test_entities_are_named_by_element_and_index_with_name_in_extra_info():
    _, grid = _sim()
    net = pn.create_cigre_network_lv()
    eids = {c["eid"]: c for c in grid["children"]}
    assert grid["eid"] == "grid"
    for element in ("bus", "line", "trafo", "switch", "load", "sgen", "ext_grid"):
        for idx, name in net[element]["name"].items():
            child = eids[f"{element}_{idx}"]
            row = net[element].loc[idx]
            info = {"name": name, "index": idx}
            if element not in ("bus", "line", "trafo", "switch"):
                info["bus"] = int(row["bus"])
            if element == "switch":
                info.update(bus=int(row["bus"]), element=int(row["element"]), et=row["et"])
            if element == "trafo":
                info.update(hv_bus=row["hv_bus"], lv_bus=row["lv_bus"], shift_degree=30.0)
            if element in ("load", "sgen"):
                info["p_rated_mw"] = row["p_mw"]
            assert child["extra_info"] == info
    assert len(eids) == sum(
        len(net[e])
        for e in ("bus", "line", "trafo", "switch", "load", "sgen", "storage", "gen", "ext_grid")
    )


def test_summed_inputs_and_switch_match_direct_runpp():
    sim, _ = _sim()
    ref = pn.create_cigre_network_lv()
    switch = 1  # S2: opening it cuts the industrial feeder, load_0 stays on the supplied one
    inputs = {
        "load_0": {"p_mw": {"A-0.a": 0.10, "B-0.b": 0.05}, "q_mvar": {"A-0.a": 0.02}},
        f"switch_{switch}": {"closed": {"C-0.c": False}},
    }
    assert sim.step(0, inputs, 900) == 900
    ref.load.loc[0, ["p_mw", "q_mvar"]] = [0.15, 0.02]  # the two sources summed
    ref.switch.loc[switch, "closed"] = False
    # reference: pandapower run directly on the same net and inputs, solved tighter than its
    # default 1e-8 MVA (which leaves ~1e-9 MW in the slack power) as the grid model does
    pp.runpp(ref, tolerance_mva=1e-11)
    out = sim.get_data(
        {f"bus_{i}": ["vm_pu", "va_degree"] for i in ref.bus.index}
        | {
            "ext_grid_0": ["p_mw", "q_mvar"],
            "grid": ["converged"],
            "load_0": ["p_mw"],
            f"switch_{switch}": ["closed"],
        }
    )
    vm = np.array([out[f"bus_{i}"]["vm_pu"] for i in ref.bus.index])
    assert ref.res_bus.vm_pu.isna().sum() > 0  # pandapower: NaN on the cut feeder; cosim: 0
    np.testing.assert_allclose(vm, np.nan_to_num(ref.res_bus.vm_pu.to_numpy()), atol=1e-9)
    assert out["ext_grid_0"]["p_mw"] == pytest.approx(ref.res_ext_grid.p_mw[0], abs=1e-9)
    assert out["grid"]["converged"] is True and out["load_0"]["p_mw"] == pytest.approx(0.15)
    assert out[f"switch_{switch}"]["closed"] is False
    assert all(type(v) in (float, bool) for d in out.values() for v in d.values())  # JSON-safe


def test_sgen_created_at_a_bus_feeds_the_power_flow():
    sim, _ = _sim()
    created = sim.create(2, "Sgen", bus=3, p_mw=0.02, name="pv")
    assert [c["type"] for c in created] == ["Sgen", "Sgen"]
    eid = created[1]["eid"]
    sim.step(0, {eid: {"p_mw": {"PV-0.pv_1": 0.03}}}, 900)
    ref = pn.create_cigre_network_lv()
    pp.create_sgen(ref, 3, p_mw=0.02, name="pv")
    pp.create_sgen(ref, 3, p_mw=0.03, name="pv")
    pp.runpp(ref)
    vm3 = sim.get_data({"bus_3": ["vm_pu"]})["bus_3"]["vm_pu"]
    assert vm3 == pytest.approx(ref.res_bus.vm_pu[3], abs=1e-9)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.create(1, "Sgen", bus=9999), "bus=9999 is not a bus of this net"),
        (
            lambda s: s.step(0, {"bus_1": {"vm_pu": {"X-0.x": 1.0}}}, 900),
            "input 'vm_pu' of 'bus_1' is not settable",
        ),
        (
            lambda s: s.step(0, {"switch_0": {"closed": {"X-0.x": 1, "Y-0.y": 0}}}, 900),
            "has several sources",
        ),
    ],
)
def test_bad_use_is_a_clear_error(call, match):
    sim, _ = _sim()
    with pytest.raises(ConfigError, match=match):
        call(sim)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_resolution": 60.0}, "time_resolution=60.0 must be 1.0"),
        ({"step_s": 0}, "step_s=0 must be a positive int"),
        ({"on_diverge": "ignore"}, "on_diverge='ignore' is unknown; known: continue, stop"),
    ],
)
def test_bad_init_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        GridSim().init("Grid-0", **{"time_resolution": 1.0, **kwargs})


def test_divergence_stops_or_is_recorded():
    sim, _ = _sim()
    huge = {"load_0": {"p_mw": {"A-0.a": 1e4}}}
    with pytest.raises(SimulationError, match="did not converge at t_s=900"):
        sim.step(900, huge, 900)
    sim, _ = _sim(on_diverge="continue")
    sim.step(0, huge, 900)
    out = sim.get_data({"grid": ["converged"], "bus_1": ["vm_pu"]})
    assert out["grid"]["converged"] is False and np.isnan(out["bus_1"]["vm_pu"])
    sim.step(900, {"load_0": {"p_mw": {"A-0.a": 0.1}}}, 900)  # and recovers
    assert sim.get_data({"grid": ["converged"]})["grid"]["converged"] is True


def test_create_before_grid_is_refused():
    sim = GridSim()
    sim.init("Grid-0")
    with pytest.raises(ConfigError, match="after the Grid entity"):
        sim.create(1, "Load", bus=1)
