"""Clearing a local energy market: pure functions over numpy arrays, no mosaik.

A market interval has **buyers** (quantity ``q_mwh > 0`` they want, limit price ``bid``: the
most they pay) and **sellers** (quantity they offer, limit price ``ask``: the least they
accept), prices in EUR/MWh. Every mechanism first finds the same **merit order**:

- bids sorted by price descending, offers ascending (ties: lower index first, so a clearing is
  deterministic);
- walking both cumulative curves, a unit of energy trades while the current bid is at least the
  current offer; the **traded quantity** is where the curves cross (the largest quantity with
  bid >= ask). The last bid and offer with energy traded are the **marginal pair**.

The mechanisms then differ only in the prices:

``uniform`` (default): a k-double auction (Satterthwaite & Williams 1989) with one price for
every trade, ``price = k * marginal bid + (1 - k) * marginal ask`` (k = 0.5: the midpoint).
``pay_as_bid``: discriminatory pricing; the merit order is matched pair by pair (the first bid
with the first offer, and so on) and each matched slice trades at the buyer's bid.
``p2p``: bilateral matching in the same merit order, each slice at the midpoint of its own
bid and ask (``k`` of the pair).

Properties of every cleared market (``tests/test_clearing.py`` checks them with hypothesis):

- **budget balance**: every slice's buyer pays what its seller receives, so the money paid
  equals the money received (no operator surplus or deficit);
- **individual rationality w.r.t. limit prices**: no buyer pays more per MWh than its bid, no
  seller gets less than its ask (uniform: every traded bid >= marginal bid >= price >=
  marginal ask >= every traded ask; the pair mechanisms: the price lies between the pair's
  bid and ask);
- **efficiency of the quantity**: the traded quantity is the crossing of the curves, so the
  gains from trade at the stated limit prices are the largest possible.

None of them is **strategy-proof**: in the uniform auction a marginal seller that raises its
ask (or a marginal buyer that lowers its bid) moves the price in its favour (Myerson &
Satterthwaite 1983: no budget-balanced, individually rational, efficient mechanism is
strategy-proof). Bidding the tariffs (buy at most at the retail price, sell at least at the
feed-in credit) makes every participant's bill no higher than under net billing
(:func:`cosim.analysis.market_kpis.settle`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosim.core.errors import ConfigError

MECHANISMS = ("uniform", "pay_as_bid", "p2p")
_TOL_MWH = 1e-12  # quantities below this are no trade [MWh]


@dataclass(frozen=True)
class Clearing:
    """The result of one interval: per buyer and per seller, in input order.

    ``bought_mwh``/``sold_mwh`` [MWh] and ``paid_eur``/``received_eur`` [EUR] per participant;
    ``price_eur_per_mwh``: the uniform price, or the volume-weighted mean price of the pair
    mechanisms (NaN when nothing trades).
    """

    bought_mwh: np.ndarray
    paid_eur: np.ndarray
    sold_mwh: np.ndarray
    received_eur: np.ndarray
    price_eur_per_mwh: float

    @property
    def traded_mwh(self) -> float:
        return float(self.bought_mwh.sum())


def _check_side(name: str, q_mwh: np.ndarray, price: np.ndarray) -> None:
    if q_mwh.shape != price.shape or q_mwh.ndim != 1:
        raise ConfigError(
            f"{name}: quantities {q_mwh.shape} and prices {price.shape} must be 1-d and equal"
        )
    if not (np.all(np.isfinite(q_mwh)) and np.all(q_mwh >= 0)):
        raise ConfigError(f"{name} quantities {q_mwh.tolist()} must be finite and >= 0 [MWh]")
    if not np.all(np.isfinite(price)):
        raise ConfigError(f"{name} prices {price.tolist()} must be finite [EUR/MWh]")


def _slices(
    bid_q: np.ndarray, bid_p: np.ndarray, ask_q: np.ndarray, ask_p: np.ndarray
) -> list[tuple[int, int, float]]:
    """The merit order's matched slices: (buyer index, seller index, MWh), in order."""
    buyers = [i for i in np.lexsort((np.arange(len(bid_p)), -bid_p)) if bid_q[i] > _TOL_MWH]
    sellers = [j for j in np.lexsort((np.arange(len(ask_p)), ask_p)) if ask_q[j] > _TOL_MWH]
    left_b = {int(i): float(bid_q[i]) for i in buyers}
    left_s = {int(j): float(ask_q[j]) for j in sellers}
    out: list[tuple[int, int, float]] = []
    bi = si = 0
    while bi < len(buyers) and si < len(sellers):
        i, j = int(buyers[bi]), int(sellers[si])
        if bid_p[i] < ask_p[j]:
            break
        q = min(left_b[i], left_s[j])
        out.append((i, j, q))
        left_b[i] -= q
        left_s[j] -= q
        bi += left_b[i] <= _TOL_MWH
        si += left_s[j] <= _TOL_MWH
    return out


def clear(
    bid_q_mwh: np.ndarray,
    bid_eur_per_mwh: np.ndarray,
    ask_q_mwh: np.ndarray,
    ask_eur_per_mwh: np.ndarray,
    mechanism: str = "uniform",
    k: float = 0.5,
) -> Clearing:
    """Clear one interval (module docstring: merit order, mechanisms, properties).

    Parameters
    ----------
    bid_q_mwh, bid_eur_per_mwh : array
        Each buyer's quantity [MWh] (>= 0) and limit price [EUR/MWh].
    ask_q_mwh, ask_eur_per_mwh : array
        Each seller's quantity [MWh] (>= 0) and limit price [EUR/MWh].
    mechanism : str
        One of ``MECHANISMS``.
    k : float
        Share of the bid in a price, in [0, 1] (``uniform``: of the marginal pair).
    """
    if mechanism not in MECHANISMS:
        raise ConfigError(f"mechanism={mechanism!r} must be one of {MECHANISMS}")
    if not (isinstance(k, int | float) and 0.0 <= k <= 1.0):
        raise ConfigError(f"k={k!r} must be in [0, 1]")
    bq, bp = np.asarray(bid_q_mwh, np.float64), np.asarray(bid_eur_per_mwh, np.float64)
    aq, ap = np.asarray(ask_q_mwh, np.float64), np.asarray(ask_eur_per_mwh, np.float64)
    _check_side("bids", bq, bp)
    _check_side("offers", aq, ap)
    bought, paid = np.zeros(len(bq)), np.zeros(len(bq))
    sold, received = np.zeros(len(aq)), np.zeros(len(aq))
    slices = _slices(bq, bp, aq, ap)
    if not slices:
        return Clearing(bought, paid, sold, received, float("nan"))
    uniform = None
    if mechanism == "uniform":
        i, j, _ = slices[-1]
        uniform = k * bp[i] + (1.0 - k) * ap[j]
    for i, j, q in slices:
        if uniform is not None:
            price = uniform
        elif mechanism == "pay_as_bid":
            price = bp[i]
        else:
            price = k * bp[i] + (1.0 - k) * ap[j]
        bought[i] += q
        sold[j] += q
        paid[i] += q * price
        received[j] += q * price
    mean = float(paid.sum() / bought.sum()) if uniform is None else float(uniform)
    return Clearing(bought, paid, sold, received, mean)


STRATEGIES = ("truthful", "markup", "zip")


def limit_prices(
    margin_frac: np.ndarray, retail_eur_per_mwh: float, feed_in_eur_per_mwh: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bid and ask of participants with these margins, as a share of the tariff spread [-]:
    ``bid = retail - margin * spread``, ``ask = feed_in + margin * spread`` (margin 0: truthful
    at the tariffs). Margins in [0, 1] keep every limit price between the two tariffs."""
    spread = retail_eur_per_mwh - feed_in_eur_per_mwh
    return retail_eur_per_mwh - margin_frac * spread, feed_in_eur_per_mwh + margin_frac * spread


def zip_update(
    margin_frac: np.ndarray, limit_eur_per_mwh: np.ndarray, traded: np.ndarray, buyer: np.ndarray,
    price_eur_per_mwh: float, retail_eur_per_mwh: float, feed_in_eur_per_mwh: float,
    beta: float, rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """Zero-intelligence-plus margins after an interval (Cliff 1997, simplified to one market
    price): each participant that was in the market moves its limit price a share ``beta``
    toward a target near the clearing price: one that traded asks for more (a seller a price a
    little above, a buyer a little below); one that did not trade offers a little better than
    the price. Targets are perturbed by up to 5 % of the spread (``rng``); margins stay in
    [0, 1]. Without a price (no trade) every participant in the market lowers its margin."""
    spread = retail_eur_per_mwh - feed_in_eur_per_mwh
    if spread <= 0:
        return margin_frac
    if np.isnan(price_eur_per_mwh):
        return np.clip(margin_frac * (1.0 - beta), 0.0, 1.0)
    nudge = rng.uniform(0.0, 0.05, size=margin_frac.shape) * spread
    greedy = np.where(buyer, -nudge, nudge)  # a better price for itself
    target = price_eur_per_mwh + np.where(traded, greedy, -greedy)
    new_limit = limit_eur_per_mwh + beta * (target - limit_eur_per_mwh)
    margin = np.where(
        buyer,
        (retail_eur_per_mwh - new_limit) / spread,
        (new_limit - feed_in_eur_per_mwh) / spread,
    )
    return np.clip(margin, 0.0, 1.0)


def curtail_share(
    vm_pu: np.ndarray, v_max_pu: float, v_ramp_pu: float, loading_percent: float,
    loading_max_percent: float, loading_ramp_percent: float, exporting: bool,
) -> np.ndarray:  # fmt: skip
    """Share of each seller's offer the grid rule removes [0..1].

    Voltage: a seller whose bus was above ``v_max_pu`` loses ``(vm - v_max) / v_ramp`` of its
    offer (all of it at ``v_max + v_ramp``), like a volt-watt curve. Loading: while the feeder
    exports and its most loaded line or trafo is above ``loading_max_percent``, every seller
    loses ``(loading - max) / ramp`` of its offer. The larger of the two applies.
    """
    by_voltage = np.clip((vm_pu - v_max_pu) / v_ramp_pu, 0.0, 1.0)
    by_loading = 0.0
    if exporting:
        by_loading = float(np.clip((loading_percent - loading_max_percent) / loading_ramp_percent,
                                   0.0, 1.0))  # fmt: skip
    return np.maximum(by_voltage, by_loading)
