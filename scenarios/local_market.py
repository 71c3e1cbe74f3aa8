"""A local energy market on a SimBench LV grid: prosumers trade their surplus with neighbours.

The units are the neighbourhood's (``scenarios.neighbourhood``, same seeded draw): every load
keeps its SimBench demand through a flexible-load unit; household PV, home batteries in
self-consumption mode and EVs go to households only; no CHP by default. Every load is a metered
**participant** of the market: its load, the battery and EV at the same house (load sign) and
its PV (sgen sign). The ``local_market`` controller (:mod:`controllers.market`) clears the
market every step on the metered net energy of the step's power flow, with the chosen
``mechanism`` and bidding ``strategy``; sellers at buses above ``v_max_pu`` (and every seller
while the feeder exports over an overloaded branch) have their offers cut. Wiring::

    <the neighbourhood's wiring>              (scenarios/neighbourhood.py)
    Grid-0.load_<i> --p_mw-->    Controller ctrl     (the house's served demand, at t)
    Battery, EV, PV at house <i> --p_mw--> ctrl      (at t)
    Grid-0.bus_<b>  --vm_pu-->   ctrl;  lines and trafos --loading_percent--> ctrl
    Grid-0.ext_grid_0 --p_mw-->  ctrl

The controller sets nothing; it reports the clearing price, traded, offered and curtailed
power and every participant's metered net power, local purchases and sales and their money,
which are recorded: the market KPIs (``cosim.analysis.market_kpis``: bills under net metering, net
billing and the market, self-sufficiency, volume) and the report's market plot come from them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from controllers import clearing
from controllers.market import MARKET_REPORTS, PARTICIPANT_ATTRS, LocalMarket, participant_attr
from cosim.core.errors import ConfigError
from cosim.run.config import RunConfig
from cosim.run.scenario import Builder
from scenarios import neighbourhood


@dataclass(frozen=True)
class Config(RunConfig):
    """local_market parameters (powers per unit in MW and MWh, prices in EUR/MWh).

    Attributes
    ----------
    grid : str
        SimBench LV code; its loads are the participants. Default ``1-LV-semiurb4--0-sw``:
        41 loads of which 32 households.
    pv_share_frac, battery_share_frac, ev_share_frac : float
        Share of households with PV, of PV households with a battery, of households with an
        EV [0..1], drawn as in ``neighbourhood``.
    pv_p_peak_mw, battery_e_mwh, battery_p_mw : float or None
        Per unit: PV DC peak [MW], battery capacity [MWh] and power [MW]; None: sized from each
        household's annual demand as in ``neighbourhood`` (``scenarios._households``).
    ev_p_charger_mw : float
        EV charger [MW].
    weather : str
        As ``neighbourhood``: "" (typical year), ``clear_sky`` or a weather file.
    mechanism : str
        ``uniform`` (k-double auction), ``pay_as_bid`` or ``p2p`` (``controllers.clearing``).
    k : float
        Bid share of a price [0..1]; 0.5: the midpoint.
    strategy : str
        ``truthful`` (bid retail, ask feed-in), ``markup`` or ``zip``.
    markup_frac : float
        Margin of ``markup`` (start of ``zip``) as a share of the tariff spread [0..1].
    retail_eur_per_mwh, feed_in_eur_per_mwh : float
        Grid tariffs of energy not traded locally [EUR/MWh]; defaults 300 / 80 as the KPIs'.
    v_max_pu : float
        Upper voltage limit of the market's grid rule [p.u.]; 1.1 as EN 50160 and the KPIs.
    loading_max_percent : float
        Loading limit of the market's grid rule [%].
    """

    start: str = "2016-06-21 00:00:00"
    grid: str = "1-LV-semiurb4--0-sw"
    pv_share_frac: float = 0.5
    pv_p_peak_mw: float | None = None
    battery_share_frac: float = 0.5
    battery_e_mwh: float | None = None
    battery_p_mw: float | None = None
    ev_share_frac: float = 0.0
    ev_p_charger_mw: float = 0.011
    weather: str = ""
    mechanism: str = LocalMarket.mechanism  # the controller's defaults: one owner
    k: float = LocalMarket.k
    strategy: str = LocalMarket.strategy
    markup_frac: float = LocalMarket.markup_frac
    retail_eur_per_mwh: float = LocalMarket.retail_eur_per_mwh
    feed_in_eur_per_mwh: float = LocalMarket.feed_in_eur_per_mwh
    v_max_pu: float = LocalMarket.v_max_pu
    loading_max_percent: float = LocalMarket.loading_max_percent

    def __post_init__(self) -> None:
        super().__post_init__()
        self.units()  # the neighbourhood's checks of the unit fields
        if self.mechanism not in clearing.MECHANISMS:
            raise ConfigError(f"mechanism={self.mechanism!r} must be one of {clearing.MECHANISMS}")
        if self.strategy not in clearing.STRATEGIES:
            raise ConfigError(f"strategy={self.strategy!r} must be one of {clearing.STRATEGIES}")
        for name in ("k", "markup_frac"):
            if not 0.0 <= (value := getattr(self, name)) <= 1.0:
                raise ConfigError(f"{name}={value!r} must be in [0, 1]")
        if not self.retail_eur_per_mwh >= self.feed_in_eur_per_mwh >= 0:
            raise ConfigError(
                f"retail_eur_per_mwh={self.retail_eur_per_mwh!r}, feed_in_eur_per_mwh="
                f"{self.feed_in_eur_per_mwh!r}: need retail >= feed-in >= 0"
            )
        for name in ("v_max_pu", "loading_max_percent"):
            if not (value := getattr(self, name)) > 0:
                raise ConfigError(f"{name}={value!r} must be > 0")

    def units(self) -> neighbourhood.Config:
        """The neighbourhood that holds the units: same grid, shares, sizes and run, no CHP and
        no controller of its own."""
        own = {f.name for f in fields(neighbourhood.Config)}
        given = {f.name: getattr(self, f.name) for f in fields(self) if f.name in own}
        return neighbourhood.Config(**given, chp_count=0, controller="", fleets=False)


def build(b: Builder, cfg: Config) -> None:
    built = neighbourhood.build(b, cfg.units())
    loads, where = built["houses"], built["layout"]
    consumers: list[list[str]] = [[h.full_id] for h in loads]
    producers: list[list[str]] = [[] for _ in loads]
    for kind, side in (("pv", producers), ("battery", consumers), ("ev", consumers)):
        for unit, h in zip(built[kind], getattr(where, kind).tolist(), strict=True):
            side[h].append(unit.full_id)
    grid_entities = b.entities("Grid-0")
    options: dict[str, Any] = {
        "participants": [h.eid for h in loads],
        "consumers": consumers,
        "producers": producers,
        "buses": [f"Grid-0.bus_{h.extra_info['bus']}" for h in loads],
        "branches": [e.full_id for e in grid_entities if e.type in ("Line", "Trafo")],
        "feeder": next(e.full_id for e in grid_entities if e.type == "ExtGrid"),
        "seed": cfg.seed,
        **{name: getattr(cfg, name) for name in _MARKET_FIELDS},
    }
    ctrl = b.control("local_market", options)
    reports = [participant_attr(h.eid, a) for h in loads for a in PARTICIPANT_ATTRS]
    b.record([ctrl], *MARKET_REPORTS, *reports)
    b.note("market", f"{len(loads)} participants, {cfg.mechanism} clearing, {cfg.strategy} bids")


_MARKET_FIELDS = (
    "mechanism",
    "k",
    "strategy",
    "markup_frac",
    "retail_eur_per_mwh",
    "feed_in_eur_per_mwh",
    "v_max_pu",
    "loading_max_percent",
)


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
