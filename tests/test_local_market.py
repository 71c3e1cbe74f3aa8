"""The local_market controller on hand-made measurements, and the local_market scenario.

Scenario wiring (scenarios/local_market.py): the neighbourhood's units on 1-LV-semiurb4--0-sw;
Grid loads, PV, batteries (p_mw), buses (vm_pu), lines and trafo (loading_percent) and the
ext_grid (p_mw) -> Controller ctrl (same step); the controller sets nothing and is recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from controllers.base import Measurements
from controllers.market import LocalMarket
from controllers.registry import find
from cosim.analysis import kpis, results
from cosim.analysis.market_kpis import market_entity, participant_table
from cosim.core.errors import ConfigError
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

# A consumes 4 kW; B has 2 kW load and 10 kW PV (net -8 kW); C consumes 6 kW. 900 s steps.
HOUSES = {
    "participants": ["A", "B", "C"],
    "consumers": [["g.load_a"], ["g.load_b"], ["g.load_c"]],
    "producers": [[], ["pv.b"], []],
    "buses": ["g.bus_a", "g.bus_b", "g.bus_c"],
    "branches": ["g.trafo_0"],
    "feeder": "g.ext_grid_0",
    "step_s": 900,
}
POWERS_MW = {"g.load_a": 0.004, "g.load_b": 0.002, "g.load_c": 0.006, "pv.b": 0.010}


def _decide(ctrl: LocalMarket, vm_b_pu: float = 1.0) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {e: {"p_mw": p} for e, p in POWERS_MW.items()}
    values.update({b: {"vm_pu": 1.0} for b in HOUSES["buses"]})
    values["g.bus_b"] = {"vm_pu": vm_b_pu}
    values["g.trafo_0"] = {"loading_percent": 20.0}
    values["g.ext_grid_0"] = {"p_mw": 0.002}
    observed: dict[str, set[str]] = {}
    for e, a in ctrl.observes():
        observed.setdefault(e, set()).add(a)
    assert ctrl.decide(0, Measurements(values, observed)) == {}
    return ctrl.report()


def test_uniform_market_by_hand() -> None:
    r = _decide(LocalMarket(**HOUSES))  # type: ignore[arg-type]
    # bids A 0.004 MW x 0.25 h = 0.001 MWh, C 0.0015 MWh, both at retail 300 (tie: A first);
    # offer B 0.008 x 0.25 = 0.002 MWh at feed-in 80. A buys 0.001, C 0.001; marginal pair
    # C 300 / B 80: price 190. Traded 0.002 MWh / 0.25 h = 0.008 MW.
    assert r["price_eur_per_mwh"] == 190.0
    assert r["p_traded_mw"] == pytest.approx(0.008)
    assert r["A:p_bought_mw"] == pytest.approx(0.004)
    assert r["C:p_bought_mw"] == pytest.approx(0.004)
    assert r["B:p_sold_mw"] == pytest.approx(0.008)
    assert r["B:local_eur"] == pytest.approx(-0.002 * 190)  # received 0.38 EUR
    assert r["A:local_eur"] == r["C:local_eur"] == pytest.approx(0.001 * 190)
    assert r["B:p_net_mw"] == pytest.approx(-0.008)
    assert r["p_curtailed_mw"] == 0.0


def test_seller_above_v_max_is_curtailed_by_the_ramp() -> None:
    r = _decide(LocalMarket(**HOUSES), vm_b_pu=1.105)  # type: ignore[arg-type]
    # (1.105 - 1.1) / 0.01 = half of B's 0.002 MWh is cut: 0.001 MWh left, all to A
    assert r["p_curtailed_mw"] == pytest.approx(0.004)
    assert r["p_traded_mw"] == pytest.approx(0.004)
    assert r["A:p_bought_mw"] == pytest.approx(0.004) and r["C:p_bought_mw"] == 0.0


def test_markup_moves_both_limits_into_the_spread() -> None:
    r = _decide(LocalMarket(**HOUSES, strategy="markup", markup_frac=0.1))  # type: ignore[arg-type]
    # bids 300 - 0.1 x 220 = 278, ask 80 + 22 = 102: price (278 + 102) / 2 = 190
    assert r["price_eur_per_mwh"] == pytest.approx(190.0)
    r = _decide(LocalMarket(**HOUSES, mechanism="pay_as_bid", strategy="markup"))  # type: ignore[arg-type]
    assert r["price_eur_per_mwh"] == pytest.approx(278.0)


def test_zip_traders_grow_greedier_after_a_trade() -> None:
    ctrl = LocalMarket(**HOUSES, strategy="zip", markup_frac=0.1)  # type: ignore[arg-type]
    first = _decide(ctrl)["price_eur_per_mwh"]  # (278 + 102) / 2 = 190, all three trade
    assert first == pytest.approx(190.0)
    # every trader moves its limit 0.3 of the way to 190 -+ up to 5 % of the 220 spread (11):
    # bids 278 -> 278 + 0.3 (179..190 - 278) = 248.3..251.6, ask 102 -> 128.4..131.7, so the
    # margins rise from 0.1; all trade again at the midpoint of C's bid and B's ask,
    # (248.3 + 128.4) / 2 = 188.35 .. (251.6 + 131.7) / 2 = 191.65
    assert np.all(ctrl._margin > 0.1)
    second = _decide(ctrl)
    assert 188.35 - 1e-9 <= second["price_eur_per_mwh"] <= 191.65 + 1e-9
    assert second["p_traded_mw"] == pytest.approx(0.008)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"strategy": "greedy"}, "strategy='greedy' must be one of"),
        ({"mechanism": "vickrey"}, "mechanism='vickrey' must be one of"),
        ({"producers": [[]]}, "producers=.* one list of entity ids per participant"),
        ({"participants": ["A", "A", "C"]}, "must be unique"),
        ({"feed_in_eur_per_mwh": 400.0}, "need retail >= feed-in"),
        ({"markup_frac": 2.0}, "markup_frac=2.0 must be in"),
        ({"v_ramp_pu": 0.0}, "v_ramp_pu=0.0 must be > 0"),
    ],
)
def test_bad_options(change: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LocalMarket(**{**HOUSES, **change})  # type: ignore[arg-type]


def test_registered_as_builtin() -> None:
    assert find("local_market") is LocalMarket


@pytest.fixture(scope="module")
def noon(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Four steps around a June noon with a tight grid rule (v_max_pu 1.02: voltages reach
    about 1.03 there), so that the rule bites."""
    scenario = load_scenario("local_market")
    cfg = make_config(scenario.config_class, steps=4, start="2016-06-21 11:00:00", v_max_pu=1.02)
    out = tmp_path_factory.mktemp("market") / "run"
    outcome = runner.run(scenario, cfg, out, progress=False)
    assert outcome.status == "completed", outcome.error
    return out, results.load(out)


def test_market_settles_on_the_recorded_power_flow(noon) -> None:  # type: ignore[no-untyped-def]
    _, data = noon
    ctrl = market_entity(data)
    assert ctrl is not None
    net = data[ctrl][[c for c in data[ctrl].columns if c.endswith(":p_net_mw")]].sum(axis=1)
    units = [
        c for c in data.columns
        if c[1] == "p_mw" and (c[0].startswith(("Grid-0.load_", "Battery-", "EV-")))
    ]  # fmt: skip
    pv = [c for c in data.columns if c[1] == "p_mw" and c[0].startswith("PV-")]
    metered = data[units].sum(axis=1) - data[pv].sum(axis=1)
    np.testing.assert_allclose(net.to_numpy(), metered.to_numpy(), atol=1e-12)
    money = data[ctrl][[c for c in data[ctrl].columns if c.endswith(":local_eur")]]
    assert abs(money.to_numpy().sum()) < 1e-9  # budget balance over the run


def test_grid_rule_curtails_and_bills_stay_under_net_billing(noon) -> None:  # type: ignore[no-untyped-def]
    out, data = noon
    found = {k.name: k.value for k in kpis.compute(out)}
    assert found["market_participants"] == 41  # 1-LV-semiurb4--0-sw has 41 loads
    assert found["market_curtailed_mwh"] > 0
    assert (
        found["market_traded_mwh"]
        <= found["market_offered_mwh"] - found["market_curtailed_mwh"] + 1e-12
    )
    assert found["market_bill_increase_max_eur"] <= 1e-9  # truthful bids
    table = participant_table(data, 0.25)
    assert table is not None
    assert found["market_bill_local_eur"] == pytest.approx(table["bill_market_eur"].sum())
    assert found["market_price_mean_eur_per_mwh"] == pytest.approx(190.0)  # (300 + 80) / 2


def test_scenario_bad_config() -> None:
    scenario = load_scenario("local_market")
    with pytest.raises(ConfigError, match="mechanism='auction' must be one of"):
        make_config(scenario.config_class, mechanism="auction")
    with pytest.raises(ConfigError, match=r"pv_share_frac=1\.5"):
        make_config(scenario.config_class, pv_share_frac=1.5)
