"""A local energy market among the metered participants of a feeder, cleared every step.

Each participant is a connection point (a house or farm): the loads and storages behind it
(load sign: ``p_mw > 0`` consumes) and its generators (sgen sign: ``p_mw > 0`` injects). The
market is **settled on what happened**: at step t the controller sees the power each
participant's elements actually had in the power flow of step t, so its metered net energy
over the step is ``(sum consumers - sum producers) * step`` [MWh]. A participant with a net
import bids for it, one with a net export offers it; a battery's flexibility enters through
its own dispatch (e.g. self-consumption), which the meter sees.

Limit prices come from the bidding ``strategy`` (:mod:`controllers.clearing`): ``truthful``
bids the retail tariff and asks the feed-in credit; ``markup`` keeps a fixed margin
``markup_frac`` of the spread; ``zip`` starts at that margin and adapts it after every
interval (zero-intelligence-plus). The interval is cleared by ``mechanism`` (``uniform``
k-double auction by default, ``pay_as_bid``, ``p2p``). What is not traded locally goes to the
grid at ``retail_eur_per_mwh`` and ``feed_in_eur_per_mwh``.

**Grid in the loop**: before clearing, the offers are cut by the grid rule of
:func:`controllers.clearing.curtail_share` on the same step's measurements (sellers at buses
above ``v_max_pu``; every seller while the feeder exports over a line or trafo above
``loading_max_percent``). The cut energy is exported at the feed-in credit and reported as
``curtailed_mw``.

The controller sets nothing. Its reports per step: the clearing price, the traded, offered
and curtailed power (energy / step) [MW], the tariffs, and per participant ``<name>:p_net_mw``,
``<name>:p_bought_mw``, ``<name>:p_sold_mw`` and ``<name>:local_eur`` (paid minus received for
local trades this step) from which :mod:`cosim.analysis.market_kpis` computes the bills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controllers import clearing
from controllers.base import Controller, Measurements, Point, SetPoints
from cosim.core.errors import ConfigError
from cosim.core.simapi import DEFAULT_STEP_S
from cosim.core.units import SECONDS_PER_HOUR

PARTICIPANT_ATTRS = ("p_net_mw", "p_bought_mw", "p_sold_mw", "local_eur")
"""Per-participant reports, each as ``<name>:<attr>``."""
MARKET_REPORTS = (
    "price_eur_per_mwh",
    "p_traded_mw",
    "p_offered_mw",
    "p_curtailed_mw",
    "retail_eur_per_mwh",
    "feed_in_eur_per_mwh",
)


def participant_attr(name: str, attr: str) -> str:
    """The report of participant ``name``'s ``attr`` (one of ``PARTICIPANT_ATTRS``)."""
    return f"{name}:{attr}"


@dataclass
class LocalMarket(Controller):
    """Clear a local market every step (module docstring).

    Parameters
    ----------
    participants : list of str
        Names of the participants (unique, no ``:``).
    consumers, producers : list of list of str
        Per participant, the entities with ``p_mw`` in load sign / sgen sign [MW].
    buses : list of str
        Per participant, its bus entity (``vm_pu``).
    branches : list of str
        Lines and trafos whose ``loading_percent`` the loading rule watches.
    feeder : str
        The ext_grid entity (``p_mw`` < 0: the feeder exports).
    mechanism : str
        ``uniform``, ``pay_as_bid`` or ``p2p``.
    k : float
        Bid share of a price in [0, 1] (uniform: of the marginal pair).
    strategy : str
        ``truthful``, ``markup`` or ``zip``.
    markup_frac : float
        Margin of ``markup`` and starting margin of ``zip``, a share of the spread [0..1].
    zip_beta : float
        Learning rate of ``zip`` (0, 1].
    retail_eur_per_mwh, feed_in_eur_per_mwh : float
        Grid tariffs [EUR/MWh], retail >= feed-in. Defaults 300 / 80 as
        cosim.analysis.kpis.Settings.
    v_max_pu, v_ramp_pu : float
        Voltage rule: offers are cut from ``v_max_pu`` on, fully at ``v_max + v_ramp`` [p.u.].
    loading_max_percent, loading_ramp_percent : float
        Loading rule's limit and ramp [%].
    seed : int
        Seed of ``zip``'s perturbations.
    step_s : int
        The run's step [s], given by the controller host.
    """

    participants: list[str] = field(default_factory=list)
    consumers: list[list[str]] = field(default_factory=list)
    producers: list[list[str]] = field(default_factory=list)
    buses: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    feeder: str = "Grid-0.ext_grid_0"
    mechanism: str = "uniform"
    k: float = 0.5
    strategy: str = "truthful"
    markup_frac: float = 0.1
    zip_beta: float = 0.3
    retail_eur_per_mwh: float = 300.0
    feed_in_eur_per_mwh: float = 80.0
    v_max_pu: float = 1.1
    v_ramp_pu: float = 0.01
    loading_max_percent: float = 100.0
    loading_ramp_percent: float = 10.0
    seed: int = 0
    step_s: int = DEFAULT_STEP_S

    def __post_init__(self) -> None:
        n = len(self.participants)
        names = self.participants
        if not (n and all(isinstance(p, str) and p and ":" not in p for p in names)):
            raise ConfigError(
                f"participants={names!r} must be a non-empty list of names without ':'"
            )
        if len(set(names)) != n:
            raise ConfigError(f"participants={names!r} must be unique")
        for side in ("consumers", "producers"):
            value = getattr(self, side)
            if not (
                isinstance(value, list)
                and len(value) == n
                and all(isinstance(g, list) and all(isinstance(e, str) for e in g) for g in value)
            ):
                raise ConfigError(
                    f"{side}={value!r} must be one list of entity ids per participant ({n})"
                )
        if not (isinstance(self.buses, list) and len(self.buses) == n):
            raise ConfigError(f"buses={self.buses!r} must name one bus per participant ({n})")
        if self.strategy not in clearing.STRATEGIES:
            raise ConfigError(f"strategy={self.strategy!r} must be one of {clearing.STRATEGIES}")
        clearing.clear(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), self.mechanism, self.k)
        if not self.retail_eur_per_mwh >= self.feed_in_eur_per_mwh >= 0:
            raise ConfigError(
                f"retail_eur_per_mwh={self.retail_eur_per_mwh!r}, feed_in_eur_per_mwh="
                f"{self.feed_in_eur_per_mwh!r}: need retail >= feed-in >= 0"
            )
        for name, lo, hi in (("markup_frac", 0.0, 1.0), ("zip_beta", 1e-9, 1.0)):
            if not lo <= (value := getattr(self, name)) <= hi:
                raise ConfigError(f"{name}={value!r} must be in [{lo:g}, {hi:g}]")
        for name in ("v_max_pu", "v_ramp_pu", "loading_max_percent", "loading_ramp_percent"):
            if not (value := getattr(self, name)) > 0:
                raise ConfigError(f"{name}={value!r} must be > 0")
        margin = 0.0 if self.strategy == "truthful" else self.markup_frac
        self._margin = np.full(n, margin)
        self._rng = np.random.default_rng(self.seed)
        self.reports = (
            *MARKET_REPORTS,
            *(participant_attr(p, a) for p in names for a in PARTICIPANT_ATTRS),
        )
        self._report: dict[str, Any] = dict.fromkeys(self.reports, 0.0)

    def observes(self) -> list[Point]:
        units = {e for group in (*self.consumers, *self.producers) for e in group}
        points = [(e, "p_mw") for e in sorted(units)]
        points += [(b, "vm_pu") for b in sorted(set(self.buses))]
        points += [(b, "loading_percent") for b in self.branches]
        return [*points, (self.feeder, "p_mw")]

    def sets(self) -> dict[Point, Any]:
        return {}

    def _net_mw(self, seen: Measurements) -> np.ndarray:
        def total(group: list[str]) -> float:
            return sum(float(seen[e]["p_mw"] or 0.0) for e in group)

        return np.array(
            [total(c) - total(g) for c, g in zip(self.consumers, self.producers, strict=True)]
        )

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        dt_h = self.step_s / SECONDS_PER_HOUR
        net_mw = self._net_mw(seen)
        vm = np.array([float(seen[b]["vm_pu"] or 1.0) for b in self.buses])
        vm = np.nan_to_num(vm, nan=0.0)  # a bus without a voltage takes no cut
        loading = max((float(seen[b]["loading_percent"] or 0.0) for b in self.branches),
                      default=0.0)  # fmt: skip
        exporting = float(seen[self.feeder]["p_mw"] or 0.0) < 0
        buyer = net_mw > 0
        cut = clearing.curtail_share(
            vm, self.v_max_pu, self.v_ramp_pu, loading, self.loading_max_percent,
            self.loading_ramp_percent, exporting,
        )  # fmt: skip
        offer_mwh = np.where(buyer, 0.0, -net_mw * dt_h)
        eligible_mwh = offer_mwh * (1.0 - cut)
        bid_p, ask_p = clearing.limit_prices(
            self._margin, self.retail_eur_per_mwh, self.feed_in_eur_per_mwh
        )
        b_idx, s_idx = np.flatnonzero(buyer), np.flatnonzero(~buyer)
        result = clearing.clear(
            net_mw[b_idx] * dt_h, bid_p[b_idx], eligible_mwh[s_idx], ask_p[s_idx],
            self.mechanism, self.k,
        )  # fmt: skip
        bought, sold, local = np.zeros(len(net_mw)), np.zeros(len(net_mw)), np.zeros(len(net_mw))
        bought[b_idx], sold[s_idx] = result.bought_mwh, result.sold_mwh
        local[b_idx], local[s_idx] = result.paid_eur, -result.received_eur
        if self.strategy == "zip":
            in_market = (np.where(buyer, net_mw, eligible_mwh)) > 0
            limit = np.where(buyer, bid_p, ask_p)
            traded = (bought + sold) > 0
            updated = clearing.zip_update(
                self._margin, limit, traded, buyer, result.price_eur_per_mwh,
                self.retail_eur_per_mwh, self.feed_in_eur_per_mwh, self.zip_beta, self._rng,
            )  # fmt: skip
            self._margin = np.where(in_market, updated, self._margin)
        r = self._report
        price = result.price_eur_per_mwh
        r["price_eur_per_mwh"] = None if np.isnan(price) else price
        r["p_traded_mw"] = result.traded_mwh / dt_h
        r["p_offered_mw"] = float(offer_mwh.sum()) / dt_h
        r["p_curtailed_mw"] = float((offer_mwh - eligible_mwh).sum()) / dt_h
        r["retail_eur_per_mwh"] = float(self.retail_eur_per_mwh)
        r["feed_in_eur_per_mwh"] = float(self.feed_in_eur_per_mwh)
        for i, name in enumerate(self.participants):
            r[participant_attr(name, "p_net_mw")] = float(net_mw[i])
            r[participant_attr(name, "p_bought_mw")] = float(bought[i]) / dt_h
            r[participant_attr(name, "p_sold_mw")] = float(sold[i]) / dt_h
            r[participant_attr(name, "local_eur")] = float(local[i])
        return {}

    def report(self) -> dict[str, Any]:
        return dict(self._report)
