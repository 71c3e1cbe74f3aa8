"""Grid-forming units within their limits, droop sharing and loss of mains, in the grid model.

The SimBench LV feeder ``1-LV-rural1--0-sw``; the transformer's LV breaker (switch 8) is the PCC
and carries a loss-of-mains relay; grid-forming storages at bus 13 (and bus 5)::

    ext_grid (bus 42) -- trafo 0 --[switch 8, relay]-- bus 3 -- feeder ... bus 13: storage A
                                                                    ... bus 5:  storage B

Taking the ext_grid out of service islands the feeder in the same solve. The net's base
case (loads 0.080 MW, PV 0.160 MW) is scaled to an evening: loads at 25 % (0.020 MW), PV off;
the tests read the island's demand from the net itself.
"""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cosim.core.errors import ConfigError
from cosim.core.synchronism import SyncLimits, in_sync, limits_for
from simulators.grid.model import GridModel
from simulators.simbench_nets import simbench_net

CODE = "1-LV-rural1--0-sw"
PCC, BUS_A, BUS_B, UPSTREAM_BUS = 8, 13, 5, 42


@pytest.fixture(scope="module")
def net() -> pp.pandapowerNet:
    return simbench_net(CODE)


def _feeder(net: pp.pandapowerNet, **storage_b: float) -> tuple[GridModel, list[int]]:
    """The feeder with storage A (and B if ``storage_b`` gives its ``sn_mva``), relay on the
    PCC, connected: the ext_grid still in service."""
    model = GridModel(_evening(net))
    units = [model.add_element("storage", BUS_A, grid_forming=True, sn_mva=0.06)]
    if storage_b:
        units.append(model.add_element("storage", BUS_B, grid_forming=True, **storage_b))
    model.add_relay(PCC)
    assert model.solve() and not model.islanded
    return model, units


def _evening(net: pp.pandapowerNet) -> pp.pandapowerNet:
    evening = copy.deepcopy(net)
    evening.load["scaling"] = 0.25
    evening.sgen["p_mw"] = 0.0
    return evening


def _lose_mains(model: GridModel) -> None:
    model.set_values("ext_grid", "in_service", np.array([0]), np.array([False]))
    assert model.solve()


def _available(model: GridModel, idx: int, charge_mw: float, discharge_mw: float) -> None:
    for column, value in (
        ("p_available_charge_mw", charge_mw),
        ("p_available_discharge_mw", discharge_mw),
    ):
        model.set_values("storage", column, np.array([idx]), np.array([value]))


def _demand_mw(model: GridModel) -> float:
    table = model.net.load
    return float((table.p_mw * table.scaling)[table.in_service].sum())


def test_loss_of_mains_opens_the_pcc_in_the_same_step(net: pp.pandapowerNet) -> None:
    model, _ = _feeder(net)
    _lose_mains(model)
    assert model.islanded
    assert not model.result("switch", "closed")[list(net.switch.index).index(PCC)]
    # no energy crosses the open PCC: the transformer and its MV bus are dark in this step
    assert model.result("trafo", "p_hv_mw")[0] == 0.0
    assert model.result("bus", "vm_pu")[list(net.bus.index).index(UPSTREAM_BUS)] == 0.0
    # a closed command while the relay holds the switch open does not close it...
    model.set_values("switch", "closed", np.array([PCC]), np.array([True]))
    model.set_values("ext_grid", "in_service", np.array([0]), np.array([True]))
    assert model.solve() and model.islanded  # upstream back, the island live: no dead-line close
    assert not model.result("switch", "closed")[list(net.switch.index).index(PCC)]
    # ...an open command takes the switch over, and a later closed command closes it
    model.set_values("switch", "closed", np.array([PCC]), np.array([False]))
    assert model.solve()
    model.set_values("switch", "closed", np.array([PCC]), np.array([True]))
    assert model.solve() and not model.islanded


def test_a_dead_feeder_is_reconnected_by_its_relay(net: pp.pandapowerNet) -> None:
    model = GridModel(_evening(net))
    model.add_relay(PCC)
    _lose_mains(model)
    pcc = list(net.switch.index).index(PCC)
    assert not model.result("switch", "closed")[pcc]
    assert model.result("load", "p_unserved_mw").sum() == pytest.approx(_demand_mw(model))
    model.set_values("ext_grid", "in_service", np.array([0]), np.array([True]))
    assert model.solve() and model.result("switch", "closed")[pcc]  # dead-line closing
    assert model.result("load", "p_unserved_mw").sum() == 0.0


def test_a_battery_that_cannot_carry_its_island_blacks_it_out(net: pp.pandapowerNet) -> None:
    model, (a,) = _feeder(net)
    demand_mw = _demand_mw(model)  # every load of the feeder, from the net (0.020 MW)
    assert demand_mw > 0.005
    _available(model, a, charge_mw=0.06, discharge_mw=0.005)  # 5 kW left above soc_min
    _lose_mains(model)
    assert not model.islanded and model.result("storage", "tripped")[a]
    assert (model.result("bus", "vm_pu") == 0).all()  # the feeder and the dark MV side
    assert (model.result("bus", "f_hz") == 0).all()
    # energy not served: the island's whole demand, load by load
    served = model.result("load", "p_mw")
    unserved = model.result("load", "p_unserved_mw")
    assert (served == 0).all()
    assert unserved.sum() == pytest.approx(demand_mw, rel=1e-12)
    assert model.result("storage", "p_mw")[a] == 0.0  # it gave nothing: nothing to book
    assert np.isnan(model.result("storage", "p_slack_mw")[a])
    # still too much next step: it stays dark
    assert model.solve() and model.result("storage", "tripped")[a] and not model.islanded
    # the demand falls to a fifth (loads shed): the black start holds the island again
    model.net.load["scaling"] = 0.05
    assert model.solve() and model.islanded and not model.result("storage", "tripped")[a]
    given_mw = -model.result("storage", "p_mw")[a]
    assert 0.2 * demand_mw < given_mw <= 0.005  # the loads plus the feeder's losses


def test_two_forming_units_share_by_droop(net: pp.pandapowerNet) -> None:
    # A: 0.06 MVA at 5 % droop, B: 0.03 MVA at 2.5 %: gains 0.06/0.05 = 1.2 and
    # 0.03/0.025 = 1.2 MW per per-unit frequency: equal shares
    model, (a, b) = _feeder(net, sn_mva=0.03, droop_frac=0.025)
    _lose_mains(model)
    p_a, p_b = -model.result("storage", "p_mw")[[a, b]]
    assert p_a == pytest.approx(p_b, abs=1e-9)
    # together they give what the island needs: loads + line losses - PV
    lines = model.result("line", "pl_mw").sum()
    need = model.result("load", "p_mw").sum() - model.result("sgen", "p_mw").sum() + lines
    assert p_a + p_b == pytest.approx(need, abs=1e-9)
    # frequency: f = 50 - 50 Hz x p / (1.2 + 1.2 MW)
    f_hz = model.result("bus", "f_hz")[list(net.bus.index).index(BUS_A)]
    assert f_hz == pytest.approx(50.0 - 50.0 * (p_a + p_b) / 2.4, abs=1e-9)
    # B at 5 % too: gains 1.2 and 0.6, so A gives two thirds
    model2, (a2, b2) = _feeder(net, sn_mva=0.03)
    _lose_mains(model2)
    p_a2, p_b2 = -model2.result("storage", "p_mw")[[a2, b2]]
    assert p_a2 == pytest.approx(2.0 * p_b2, abs=1e-9)
    # the booked extra of each (storage sign) is what it gave beyond its own 0 MW
    assert model2.result("storage", "p_slack_mw")[[a2, b2]] == pytest.approx([-p_a2, -p_b2])


def test_a_droop_island_slips_against_the_grid(net: pp.pandapowerNet) -> None:
    model, (a,) = _feeder(net)
    pos = list(net.bus.index).index(BUS_A)
    va_before = model.result("bus", "va_degree")[pos]
    _lose_mains(model)
    f_hz = model.result("bus", "f_hz")[pos]
    p_mw = -model.result("storage", "p_mw")[a]
    assert f_hz == pytest.approx(50.0 - 50.0 * 0.05 * p_mw / 0.06, abs=1e-9)
    first = model.result("bus", "va_degree")[pos]
    assert first == pytest.approx((va_before + 360 * (f_hz - 50) * 900 + 180) % 360 - 180)
    # a set point that restores nominal frequency: no more slip
    f_set = 50.0 + (50.0 - f_hz)
    model.set_values("storage", "f_set_hz", np.array([a]), np.array([f_set]))
    model.set_values("storage", "p_mw", np.array([a]), np.array([0.0]))
    assert model.solve()
    assert model.result("bus", "f_hz")[pos] == pytest.approx(50.0, abs=1e-9)
    # the angle holds up to f's rounding times 360 x 900 deg/Hz (1e-11 Hz: 3e-6 deg)
    assert model.result("bus", "va_degree")[pos] == pytest.approx(first, abs=1e-5)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scaling=st.floats(0.0, 3.0),
    pv_mw=st.floats(0.0, 0.05),
    sn_mva=st.tuples(st.floats(0.002, 0.08), st.floats(0.002, 0.08)),
    charge=st.tuples(st.floats(0.0, 0.08), st.floats(0.0, 0.08)),
    discharge=st.tuples(st.floats(0.0, 0.08), st.floats(0.0, 0.08)),
    second=st.booleans(),
    open_pcc=st.booleans(),
)
def test_no_forming_unit_ever_exceeds_its_limits(
    shared: tuple[GridModel, list[int]],
    scaling: float,
    pv_mw: float,
    sn_mva: tuple[float, float],
    charge: tuple[float, float],
    discharge: tuple[float, float],
    second: bool,
    open_pcc: bool,
) -> None:
    """Random islands (one or two forming units, PCC opened or mains lost), demands and
    limits: every unit gives within [-charge, discharge] and its sn_mva, or it trips."""
    model, units = shared
    net = model.net
    net.load["scaling"] = scaling
    model.set_values("sgen", "p_mw", net.sgen.index.to_numpy(), np.full(len(net.sgen), pv_mw))
    net.storage.loc[units, "sn_mva"] = sn_mva
    for k, idx in enumerate(units):
        _available(model, idx, charge[k], discharge[k])
    model.set_values("storage", "in_service", np.array([units[1]]), np.array([second]))
    model.set_values("switch", "closed", np.array([PCC]), np.array([not open_pcc]))
    model.set_values("ext_grid", "in_service", np.array([0]), np.array([open_pcc]))
    for _ in range(2):  # the separating step and a booked one
        assert model.solve()
        p = -model.result("storage", "p_mw")[units]  # injection sign
        q = -model.result("storage", "q_mvar")[units]
        tripped = model.result("storage", "tripped")[units]
        assert (p <= np.array(discharge) + 1e-9).all() and (p >= -np.array(charge) - 1e-9).all()
        assert (np.hypot(p, q) <= np.array(sn_mva) + 1e-9).all()
        assert (p[tripped] == 0).all()
        if not model.islanded:  # nobody holds the feeder: it is dark, all demand unserved
            served = model.result("load", "p_mw").sum()
            assert served == 0.0
        for idx in units:  # the booking next step: what it gave
            slack = model.result("storage", "p_slack_mw")[idx]
            own = 0.0 if np.isnan(slack) else slack
            model.set_values("storage", "p_mw", np.array([idx]), np.array([own]))
    model.set_values("ext_grid", "in_service", np.array([0]), np.array([True]))
    model.set_values("switch", "closed", np.array([PCC]), np.array([True]))
    assert model.solve()


@pytest.fixture(scope="module")
def shared(net: pp.pandapowerNet) -> tuple[GridModel, list[int]]:
    model = GridModel(_evening(net))
    units = [
        model.add_element("storage", BUS_A, grid_forming=True, sn_mva=0.06),
        model.add_element("storage", BUS_B, grid_forming=True, sn_mva=0.03),
    ]
    model.add_relay(PCC)
    assert model.solve()
    return model, units


def test_synchronism_limits_and_the_slipping_phase() -> None:
    # IEEE 1547-2018 Table 39
    assert limits_for(0.1) == SyncLimits(0.3, 0.10, 20.0)
    assert limits_for(1.0) == SyncLimits(0.2, 0.05, 15.0)
    assert limits_for(5.0) == SyncLimits(0.1, 0.03, 10.0)
    small = limits_for(0.1)
    assert in_sync(0.0, 0.0, 19.0, small) and not in_sync(0.0, 0.0, 21.0, small)
    assert not in_sync(0.31, 0.0, 0.0, small) and not in_sync(0.0, 0.11, 0.0, small)
    # 30 deg apart, no slip: it waits; slipping 1e-4 Hz over 900 s sweeps 32.4 deg: it closes
    assert not in_sync(0.0, 0.0, 30.0, small, dt_s=900.0)
    assert in_sync(-1e-4, 0.0, 30.0, small, dt_s=900.0)
    assert not in_sync(1e-4, 0.0, 30.0, small, dt_s=900.0)  # slipping away: 30 -> 62.4 deg
    assert in_sync(0.01, 0.0, 170.0, small, dt_s=900.0)  # a full turn within the step


def test_a_forming_chp_holds_its_island_between_minimum_load_and_full_load(
    net: pp.pandapowerNet,
) -> None:
    """A 30 kW CHP (sgen) with a 5 kW minimum part load forms the evening island (0.020 MW)."""
    model = GridModel(_evening(net))
    chp = model.add_element("sgen", BUS_A, grid_forming=True, sn_mva=0.03)
    model.set_values("sgen", "p_available_mw", np.array([chp]), np.array([0.03]))
    model.set_values("sgen", "p_min_mw", np.array([chp]), np.array([0.005]))
    model.add_relay(PCC)
    assert model.solve()
    _lose_mains(model)
    assert model.islanded
    assert 0.02 < model.result("sgen", "p_mw")[list(model.net.sgen.index).index(chp)] < 0.03
    # loads down to 0.004 MW: below its minimum part load, it cannot run: the island goes dark
    model.net.load["scaling"] = 0.05
    assert model.solve() and not model.islanded
    assert model.result("sgen", "tripped")[list(model.net.sgen.index).index(chp)]


def test_bad_forming_parameters_are_named(net: pp.pandapowerNet) -> None:
    model, _ = _feeder(net)
    with pytest.raises(ConfigError, match=r"droop_frac=0 must be in \(0, 1\]"):
        model.add_element("storage", BUS_B, grid_forming=True, droop_frac=0)
    with pytest.raises(ConfigError, match=r"sn_mva=-0.01 must be > 0"):
        model.add_element("storage", BUS_B, grid_forming=True, sn_mva=-0.01)
    with pytest.raises(ConfigError, match="switch=999 is not a switch"):
        model.add_relay(999)
    with pytest.raises(ConfigError, match="s_rated_mva=-1"):
        limits_for(-1)


def test_a_tripped_unit_books_its_own_set_power_back(net: pp.pandapowerNet) -> None:
    """The battery reported 2 kW of its own discharge for the step its island collapsed; the
    grid shows it gave nothing, and hands the 2 kW back to be booked next step."""
    model, (a,) = _feeder(net)
    _available(model, a, charge_mw=0.06, discharge_mw=0.005)
    model.set_values("storage", "p_mw", np.array([a]), np.array([-0.002]))  # its own discharge
    _lose_mains(model)
    assert model.result("storage", "tripped")[a] and not model.islanded
    assert model.result("storage", "p_mw")[a] == 0.0
    assert model.result("storage", "p_slack_mw")[a] == pytest.approx(0.002, abs=1e-15)
    # next step the unit reports that booking: it does not flow (the feeder is dark anyway)
    model.set_values("storage", "p_mw", np.array([a]), np.array([0.002]))
    assert model.solve() and model.result("storage", "p_mw")[a] == 0.0
    assert np.isnan(model.result("storage", "p_slack_mw")[a])
