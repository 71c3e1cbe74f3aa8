"""The pure market clearing (controllers.clearing): hand-checked examples, the mechanisms'
properties as hypothesis tests, and clear errors. No mosaik."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers import clearing
from controllers.clearing import MECHANISMS, clear, curtail_share, limit_prices
from cosim.analysis.market_kpis import settle
from cosim.core.errors import ConfigError

# Example book: bids A 3 MWh @ 250, B 2 @ 200, C 1 @ 100; offers X 2 @ 90, Y 2 @ 150, Z 5 @ 220.
# Merit order (bids descending, offers ascending): A-X 2 MWh (250 >= 90), A-Y 1 (250 >= 150),
# B-Y 1 (200 >= 150); then B (200) < Z (220): stop. Traded 4 MWh; marginal pair B 200 / Y 150.
BIDS = (np.array([3.0, 2.0, 1.0]), np.array([250.0, 200.0, 100.0]))
OFFERS = (np.array([2.0, 2.0, 5.0]), np.array([90.0, 150.0, 220.0]))


def test_uniform_price_is_the_midpoint_of_the_marginal_pair() -> None:
    c = clear(*BIDS, *OFFERS)
    # price 0.5 * 200 + 0.5 * 150 = 175; A 3 MWh x 175 = 525, B 1 x 175; X 2 x 175, Y 2 x 175
    assert c.price_eur_per_mwh == 175.0
    np.testing.assert_allclose(c.bought_mwh, [3, 1, 0])
    np.testing.assert_allclose(c.paid_eur, [525, 175, 0])
    np.testing.assert_allclose(c.sold_mwh, [2, 2, 0])
    np.testing.assert_allclose(c.received_eur, [350, 350, 0])


def test_uniform_k_moves_the_price_within_the_marginal_pair() -> None:
    assert clear(*BIDS, *OFFERS, k=1.0).price_eur_per_mwh == 200.0  # the marginal bid
    assert clear(*BIDS, *OFFERS, k=0.0).price_eur_per_mwh == 150.0  # the marginal ask


def test_pay_as_bid_prices_each_slice_at_its_buyers_bid() -> None:
    c = clear(*BIDS, *OFFERS, mechanism="pay_as_bid")
    # A-X 2 x 250 = 500, A-Y 1 x 250 = 250, B-Y 1 x 200 = 200
    np.testing.assert_allclose(c.paid_eur, [750, 200, 0])
    np.testing.assert_allclose(c.received_eur, [500, 450, 0])
    assert c.price_eur_per_mwh == pytest.approx(950 / 4)


def test_p2p_prices_each_pair_at_its_own_midpoint() -> None:
    c = clear(*BIDS, *OFFERS, mechanism="p2p")
    # A-X 2 x (250+90)/2 = 340, A-Y 1 x (250+150)/2 = 200, B-Y 1 x (200+150)/2 = 175
    np.testing.assert_allclose(c.paid_eur, [540, 175, 0])
    np.testing.assert_allclose(c.received_eur, [340, 375, 0])


def test_no_crossing_no_trade() -> None:
    c = clear(np.array([1.0]), np.array([100.0]), np.array([1.0]), np.array([120.0]))
    assert c.traded_mwh == 0 and np.isnan(c.price_eur_per_mwh)


def test_uniform_auction_is_not_strategy_proof() -> None:
    """A seller that asks more than its true 80 EUR/MWh gets more for the same energy."""
    one = np.array([1.0])
    truthful = clear(one, np.array([300.0]), one, np.array([80.0]))
    shaded = clear(one, np.array([300.0]), one, np.array([200.0]))
    assert truthful.received_eur[0] == 190.0  # (300 + 80) / 2
    assert shaded.received_eur[0] == 250.0  # (300 + 200) / 2, still sells 1 MWh
    assert shaded.sold_mwh[0] == truthful.sold_mwh[0] == 1.0


def test_settle_by_hand() -> None:
    # participant 0 imports 2 MWh, buys 1 locally for 190 EUR; 1 exports 1, sells it for 190
    bills = settle(
        np.array([2.0, -1.0]), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
        np.array([190.0, 0.0]), np.array([0.0, 190.0]), 300.0, 80.0,
    )  # fmt: skip
    np.testing.assert_allclose(bills.net_billing_eur, [600, -80])  # 2 x 300; -1 x 80
    np.testing.assert_allclose(bills.market_eur, [490, -190])  # 1 x 300 + 190; -190


def test_curtail_share_ramps() -> None:
    vm = np.array([1.0, 1.1, 1.105, 1.12])
    # (vm - 1.1) / 0.01 clipped: 0, 0, 0.5, 1
    np.testing.assert_allclose(curtail_share(vm, 1.1, 0.01, 50, 100, 10, True), [0, 0, 0.5, 1])
    # loading 105 % while exporting: (105 - 100) / 10 = 0.5 for every seller
    np.testing.assert_allclose(curtail_share(vm, 1.1, 0.01, 105, 100, 10, True), [0.5, 0.5, 0.5, 1])
    assert curtail_share(vm[:1], 1.1, 0.01, 105, 100, 10, False)[0] == 0.0  # importing: no cut


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mechanism": "vickrey"}, "mechanism='vickrey' must be one of"),
        ({"k": 1.5}, "k=1.5 must be in"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        clear(*BIDS, *OFFERS, **kwargs)


def test_bad_quantities() -> None:
    with pytest.raises(ConfigError, match="bids quantities"):
        clear(np.array([-1.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]))
    with pytest.raises(ConfigError, match="offers prices"):
        clear(np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([np.nan]))
    with pytest.raises(ConfigError, match="must be 1-d and equal"):
        clear(np.array([1.0, 2.0]), np.array([1.0]), np.array([1.0]), np.array([1.0]))


side = st.lists(st.tuples(st.floats(0, 10), st.floats(0, 500)), min_size=0, max_size=12).map(
    lambda rows: (np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
)


@settings(max_examples=300, deadline=None)
@given(bids=side, offers=side, mechanism=st.sampled_from(MECHANISMS), k=st.floats(0, 1))
def test_budget_balance_and_limit_prices(bids, offers, mechanism, k) -> None:  # type: ignore[no-untyped-def]
    c = clear(*bids, *offers, mechanism=mechanism, k=k)
    assert abs(c.paid_eur.sum() - c.received_eur.sum()) <= 1e-9 * max(1.0, c.paid_eur.sum())
    assert c.bought_mwh.sum() == pytest.approx(c.sold_mwh.sum(), abs=1e-9)
    assert np.all(c.bought_mwh <= bids[0] + 1e-9) and np.all(c.sold_mwh <= offers[0] + 1e-9)
    # no buyer pays more than its bid, no seller gets less than its ask (per MWh)
    assert np.all(c.paid_eur <= c.bought_mwh * bids[1] + 1e-9 * (1 + c.paid_eur))
    assert np.all(c.received_eur >= c.sold_mwh * offers[1] - 1e-9 * (1 + c.received_eur))


@settings(max_examples=300, deadline=None)
@given(
    net=st.lists(st.floats(-5, 5), min_size=1, max_size=15),
    feed_in=st.floats(0, 200),
    spread=st.floats(0, 300),
    mechanism=st.sampled_from(MECHANISMS),
    margin=st.floats(0, 1),
    cut=st.floats(0, 1),
)
def test_bidding_within_the_tariffs_never_costs_more_than_net_billing(  # type: ignore[no-untyped-def]
    net, feed_in, spread, mechanism, margin, cut
) -> None:
    """Truthful (margin 0) or any margin in [0, 1] keeps limits between the tariffs, so every
    participant's market bill is at most its net billing bill."""
    net_mwh = np.array(net)
    retail = feed_in + spread
    bid, ask = limit_prices(np.full(len(net), margin), retail, feed_in)
    buy = net_mwh > 0
    c = clear(net_mwh[buy], bid[buy], -net_mwh[~buy] * (1 - cut), ask[~buy], mechanism)
    bought, sold, paid, got = (np.zeros(len(net)) for _ in range(4))
    bought[buy], paid[buy] = c.bought_mwh, c.paid_eur
    sold[~buy], got[~buy] = c.sold_mwh, c.received_eur
    bills = settle(net_mwh, bought, sold, paid, got, retail, feed_in)
    slack = 1e-9 * (1 + abs(bills.net_billing_eur))
    assert np.all(bills.market_eur <= bills.net_billing_eur + slack)


@settings(max_examples=100, deadline=None)
@given(
    margin=st.lists(st.floats(0, 1), min_size=1, max_size=8),
    price=st.floats(80, 300) | st.just(float("nan")),
    seed=st.integers(0, 100),
)
def test_zip_margins_stay_in_range(margin, price, seed) -> None:  # type: ignore[no-untyped-def]
    m = np.array(margin)
    buyer = np.arange(len(m)) % 2 == 0
    bid, ask = limit_prices(m, 300.0, 80.0)
    limit = np.where(buyer, bid, ask)
    out = clearing.zip_update(
        m, limit, np.arange(len(m)) % 3 == 0, buyer, price, 300.0, 80.0, 0.3,
        np.random.default_rng(seed),
    )  # fmt: skip
    assert np.all((out >= 0) & (out <= 1))
