"""The FMU adapter (simulators/fmu, on fmpy) with the example building FMU built by pythonfmu.

Wiring of scenarios/examples/fmu_building.py::

    FMU-0.fmu_0   --p_el_kw (kW -> MW)--> Grid-0.load_15.p_mw      (same step)
    Grid-0.bus_19 --vm_pu-------------> FMU-0.fmu_0.vm_pu          (one step late)

The building (scenarios/examples/heated_building_fmu.py), per 900 s step (dt_h = 0.25) with
the defaults c_th = 10 kWh/K, r_th = 5 K/kW, cop = 3, p_el_rated = 3 kW (so p_th = 9 kW):
``t_room += 0.25 / 10 * (p_th - (t_room - t_out) / 5)``, heat pump on while t_room < t_set and
the voltage it last received >= vm_min_pu.
"""

import pandapower as pp
import pandapower.networks as pn
import pytest

pytest.importorskip("fmpy", reason="the FMU adapter needs fmpy: pip install 'cosim[coupling]'")
pytest.importorskip("pythonfmu", reason="the test FMU is built with pythonfmu")

from cosim.analysis import results
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario
from cosim.run.testing import run_simulator
from scenarios.examples.fmu_building import example_fmu
from simulators.fmu import model as fmu
from simulators.fmu.sim import FMUSim


@pytest.fixture(scope="module")
def fmu_path(tmp_path_factory):
    return example_fmu(tmp_path_factory.mktemp("fmu"))


def test_description_maps_causality_to_params_inputs_outputs(fmu_path):
    desc = fmu.read(fmu_path)
    assert list(desc.parameters) == [
        "c_th_kwh_per_k",
        "r_th_k_per_kw",
        "cop",
        "p_el_rated_kw",
        "t_set_c",
        "t_room_start_c",
        "vm_min_pu",
    ]
    assert list(desc.inputs) == ["t_out_c", "vm_pu"]
    assert list(desc.outputs) == ["t_room_c", "p_el_kw", "p_th_kw"]
    assert desc.parameters["cop"].start == 3.0 and desc.inputs["vm_pu"].start == 1.0
    meta = FMUSim().init("FMU-0", fmu=str(fmu_path), step_s=900)
    model = meta["models"]["FMU"]
    assert model["params"] == [*desc.parameters, *desc.inputs]
    assert model["attrs"] == ["t_out_c", "vm_pu", "t_room_c", "p_el_kw", "p_th_kw"]


@pytest.mark.parametrize(
    ("t_set_c", "t_room_c", "p_el_kw"),
    [
        # on all the way; t_out 0, 5, -5 °C:
        # 20 + 0.025 * (9 - 20/5) = 20.125; + 0.025 * (9 - 15.125/5) = 20.274375;
        # + 0.025 * (9 - 25.274375/5) = 20.373003125
        (21.0, [20.125, 20.274375, 20.373003125], [3.0, 3.0, 3.0]),
        # set point 20.1 °C: off in the second step (20.125 >= 20.1), on again in the third:
        # 20.125 + 0.025 * (0 - 15.125/5) = 20.049375; + 0.025 * (9 - 25.049375/5) = 20.149128125
        (20.1, [20.125, 20.049375, 20.149128125], [3.0, 0.0, 3.0]),
    ],
)
def test_steps_match_the_hand_calculation_in_and_out_of_process(
    fmu_path, t_set_c, t_room_c, p_el_kw
):
    kwargs = dict(
        init={"step_s": 900, "fmu": str(fmu_path)},
        model="FMU",
        create={"t_set_c": t_set_c},
        inputs={"t_out_c": [0.0, 5.0, -5.0]},
        outputs=["t_room_c", "p_el_kw"],
        steps=3,
    )
    local = run_simulator("simulators.fmu", processes=False, **kwargs)
    assert [local[t]["fmu_0"]["t_room_c"] for t in (0, 900, 1800)] == pytest.approx(
        t_room_c, rel=1e-14
    )
    assert [local[t]["fmu_0"]["p_el_kw"] for t in (0, 900, 1800)] == p_el_kw
    assert run_simulator("simulators.fmu", processes=True, **kwargs) == local


def test_bad_fmu_params_name_what_is_allowed(fmu_path, tmp_path):
    sim = FMUSim()
    sim.init("FMU-0", fmu=str(fmu_path))
    with pytest.raises(ConfigError, match="FMU parameter or input='cop_' is unknown; known: "):
        sim.create(1, "FMU", cop_=3.0)
    with pytest.raises(ConfigError, match="t_set_c='warm' must be of the FMU type Real"):
        sim.create(1, "FMU", t_set_c="warm")
    with pytest.raises(ConfigError, match="sim param='step' is unknown"):
        FMUSim().init("FMU-1", fmu=str(fmu_path), step=900)
    with pytest.raises(ConfigError, match="no such file"):
        FMUSim().init("FMU-2", fmu=str(tmp_path / "none.fmu"))
    not_an_fmu = tmp_path / "text.fmu"
    not_an_fmu.write_text("not a zip")
    with pytest.raises(ConfigError, match="is not a readable FMU"):
        FMUSim().init("FMU-3", fmu=str(not_an_fmu))
    sim.finalize()


def _bus_19_vm_pu(p_el_kw: float) -> float:
    """Voltage at bus 19 of CIGRE LV with the heat pump's load there, by pandapower directly."""
    net = pn.create_cigre_network_lv()
    pp.create_load(net, bus=19, p_mw=p_el_kw / 1000)
    pp.runpp(net)
    return float(net.res_bus.vm_pu.at[19])


def test_fmu_and_grid_exchange_values_every_step(tmp_path, fmu_path):
    v_on, v_off = _bus_19_vm_pu(3.0), _bus_19_vm_pu(0.0)
    assert v_on < v_off
    scenario = load_scenario("scenarios/examples/fmu_building.py")
    cfg = make_config(
        scenario.config_class,
        steps=4,
        fmu=str(fmu_path),
        t_set_c=30.0,
        vm_min_pu=(v_on + v_off) / 2,
    )
    outcome = runner.run(scenario, cfg, tmp_path / "run", progress=False)
    assert outcome.status == "completed", outcome.error
    data = results.load(outcome.out_dir)
    # step 0 sees the initial 1.0 pu: on; from then on it sees its own effect one step late
    p_el_kw = [3.0, 0.0, 3.0, 0.0]
    assert data[("FMU-0.fmu_0", "p_el_kw")].tolist() == p_el_kw
    assert data[("Grid-0.load_15", "p_mw")].tolist() == pytest.approx(
        [p / 1000 for p in p_el_kw], rel=1e-15
    )
    assert data[("Grid-0.bus_19", "vm_pu")].tolist() == pytest.approx(
        [v_on, v_off, v_on, v_off], abs=1e-8
    )
    # hand calculation, t_out 0 °C: 20.125; 20.125 - 0.025 * 20.125/5 = 20.024375;
    # + 0.025 * (9 - 20.024375/5) = 20.149253125; - 0.025 * 20.149253125/5 = 20.048506859375
    assert data[("FMU-0.fmu_0", "t_room_c")].tolist() == pytest.approx(
        [20.125, 20.024375, 20.149253125, 20.048506859375], rel=1e-14
    )
