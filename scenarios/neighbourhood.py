"""A neighbourhood on a real LV grid: PV, home batteries, EVs, a CHP and flexible household loads.

Every house is one of the grid's loads. SimBench's load profile types tell households (``H*``,
e.g. H0-A) from commercial (``G*``) and agricultural (``L*``) loads: household PV, home
batteries and EVs go to households only (a farm's barn roof and a business's fleet are not a
household's, and sizes drawn for houses would be wrong for them). A seeded draw decides which
households have PV, which of those a home battery, which an EV; PV and battery are sized from
the household's own annual demand as installers size them (``scenarios._households``: 1 kWp
and 1 kWh per MWh a year) unless a fixed size is given; the CHP (250 MWh of heat a
year by default: a farm's or business's demand, about ten houses') stands at a commercial or
agricultural load, or at a household where there is none. Every load, of whatever kind, keeps
its SimBench demand and its flexible share. The summary says how many loads of each kind and
how many units of each type were built. Wiring (same step unless marked)::

    Profiles-0.load_<i>  --p_base_mw, q_base_mvar--> FlexLoad-0.flexload_<k>
    FlexLoad-0.flexload_<k> --p_mw, q_mvar-->       Grid-0.load_<i>       (the house)
    Profiles-0.sgen_<i>  --p_mw-->                  Grid-0.sgen_<i>       (the grid's own sgens)
    PV-0.pv_<k>          --p_mw, q_mvar-->          Grid-0.sgen_<new>     at the house's bus
    EV-0.ev_<k>          --p_mw-->                  Grid-0.storage_<new>  at the house's bus
    Battery-0.battery_<k> --p_mw-->                 Grid-0.storage_<new>  at the house's bus
    FlexLoad, EV (house demand) --p_mw--> Battery p_load_mw;  PV --p_mw--> Battery p_gen_mw
    CHP-0.chp_<k>        --p_mw, q_mvar-->          Grid-0.sgen_<new>
    Grid-0.bus_<b>       --vm_pu (one step late)--> PV-0.pv_<k>   (for Q(U))

With fleets (``fleets``; by default from :data:`FLEETS_FROM_LOADS` loads up) each arrow is
one connection between fleet entities, routed unit by unit (``scenarios._neighbourhood_fleets``):
the same units, sizes and values, recorded under the same names.

The home batteries run in self-consumption mode (charge the house's surplus, cover its deficit);
EVs charge uncontrolled on arrival; the CHP is heat-led. Every grid element's power, every
branch's losses and every unit's state are recorded, so the energy balance closes from the
results folder alone.

With ``controller`` set, a controller is plugged in (``Builder.control``). ``demand_response``
(``controllers.demand_response``, same step) observes Profiles, PV and CHP at t and the
units one step late, and sets every battery, EV and flexible load; a set point overrides a
battery's self-consumption, so the controller runs the batteries. Its price signal is a second
Profiles simulator playing ``price_file`` (child ``price_0``, ``eur_per_mwh``).
``peak_shaving`` (time-shifted) sets only the batteries, and only while the import exceeds the
limit. Any other controller name gets ``controller_options`` alone. The controller's reports, the
price and the units' bounds (battery available power, EV ``p_min_mw``/``p_max_mw``, flexible
base demand) are recorded too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from controllers.registry import check_options, find
from cosim.core.errors import ConfigError
from cosim.core.fleet import FLEET
from cosim.run.config import RunConfig
from cosim.run.scenario import Builder
from scenarios import _neighbourhood_fleets as _fleets
from scenarios import _neighbourhood_units as _singles
from scenarios._households import household_sizes, load_profiles
from scenarios._unit_specs import unit_specs
from simulators.simbench_nets import codes

BUILTIN_PRICE_FILE = Path(__file__).parent / "data" / "day_ahead_price_2016.csv"
"""Synthetic hourly day-ahead prices of 2016 [EUR/MWh] (``scenarios/data/day_ahead_price.py``)."""
FLEX_MODES = ("shift", "curtail")


@dataclass(frozen=True)
class Config(RunConfig):
    """neighbourhood parameters (powers per unit, in MW and MWh as pandapower).

    Attributes
    ----------
    grid : str
        SimBench LV code; its loads are the houses and its profiles their demand.
    pv_share_frac, battery_share_frac, ev_share_frac : float
        Share of households with PV, of PV households with a battery, of households with an EV
        [0..1] (households: loads with a SimBench ``H*`` profile; module docstring).
    pv_p_peak_mw : float or None
        DC peak power of every PV system [MW], or None (default): each sized from its
        household's annual demand by ``pv_kwp_per_mwh`` (``scenarios._households``).
    pv_kwp_per_mwh : float
        PV peak power per MWh of the household's annual demand [kWp/MWh], for
        ``pv_p_peak_mw=None`` (1.0: installers' rule of thumb, ``household_sizes``).
    battery_e_mwh : float or None
        Usable capacity of every home battery [MWh], or None (default): each sized from its
        household's annual demand by ``battery_kwh_per_mwh``.
    battery_kwh_per_mwh : float
        Usable battery capacity per MWh of the household's annual demand [kWh/MWh], for
        ``battery_e_mwh=None`` (1.0: installers' rule of thumb, ``household_sizes``).
    battery_p_mw : float or None
        Charge/discharge power limit of every home battery [MW], or None (default): half its
        usable capacity per hour (0.5 C, as a 10 kWh / 5 kW home battery).
    ev_p_charger_mw : float
        Charger limit of each EV [MW].
    chp_count, chp_p_el_mw, chp_e_heat_annual_mwh : int, float, float
        CHP units, their electrical rating [MW] and the annual heat demand each serves [MWh];
        they stand at commercial or agricultural loads where the grid has them.
    flex_share_frac : float
        Share of each house's demand that can be shifted [0..1].
    weather : str
        Weather of every PV unit: "" or ``typical`` (the typical German year of
        ``simulators.climate``: SimBench's 2016 cloudiness, DWD temperature; the CHP's heat
        demand reads the same temperature), ``clear_sky`` (every day clear), or a CSV/Parquet
        weather file (``simulators.pv.weather``).
    timezone : str
        Time zone of ``start`` and of the SimBench profiles: CET without daylight saving.
    flex_mode : str
        ``shift`` (reduced demand is recovered later) or ``curtail`` (lost) for every house.
    controller : str
        "" (none), ``demand_response``, ``peak_shaving`` or any controller name or
        ``package.module:Class`` (see ``controllers.registry``).
    controller_options : str
        JSON object of controller options, over those the scenario gives (e.g.
        ``{"cheap_quantile": 0.2}``).
    import_limit_mw : float or None
        Import limit of ``demand_response`` and ``peak_shaving`` at the ext_grid [MW]; None: no
        limit (``demand_response`` then follows the price only). 0.05: the default day peaks
        at 0.055 MW without control (the farms at midday), and its flexibility can bring every
        step to 0.049 MW or less.
    engine : str
        Power-flow engine of the grid: ``pandapower`` (the reference) or ``power-grid-model``
        (same results to 1e-9 pu, a faster solve; no grid-forming units).
    fleets : bool or None
        Carry each unit type as one fleet entity with array attributes (``True``), or each
        unit as its own entity (``False``); same results either way. None (default): fleets
        from :data:`FLEETS_FROM_LOADS` loads up (an MV/LV grid), single entities below.
    price_file : str
        Price signal of ``demand_response``: ``builtin`` (synthetic day-ahead prices of a year,
        ``scenarios/data``, played from ``start``'s date), a CSV/Parquet file with ``t_s`` and
        ``price_0`` [EUR/MWh] whose first row plays at ``start``, or "" (no price mode).
    """

    grid: str = "1-LV-rural1--0-sw"
    pv_share_frac: float = 0.6
    pv_p_peak_mw: float | None = None
    pv_kwp_per_mwh: float = 1.0
    battery_share_frac: float = 0.5
    battery_e_mwh: float | None = None
    battery_kwh_per_mwh: float = 1.0
    battery_p_mw: float | None = None
    ev_share_frac: float = 0.4
    ev_p_charger_mw: float = 0.011
    chp_count: int = 1
    chp_p_el_mw: float = 0.02
    chp_e_heat_annual_mwh: float = 250.0
    flex_share_frac: float = 0.1
    weather: str = ""
    timezone: str = "Etc/GMT-1"
    flex_mode: str = "shift"
    controller: str = ""
    controller_options: str = ""
    import_limit_mw: float | None = 0.05
    price_file: str = "builtin"
    engine: Literal["pandapower", "power-grid-model"] = "pandapower"
    fleets: bool | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("pv_share_frac", "battery_share_frac", "ev_share_frac", "flex_share_frac"):
            if not 0.0 <= (value := getattr(self, name)) <= 1.0:
                raise ConfigError(f"{name}={value!r} must be in [0, 1]")
        for name in (
            "pv_kwp_per_mwh",
            "battery_kwh_per_mwh",
            "ev_p_charger_mw",
            "chp_p_el_mw",
            "chp_e_heat_annual_mwh",
        ):
            if not (value := getattr(self, name)) > 0:
                raise ConfigError(f"{name}={value!r} must be > 0")
        for name in ("pv_p_peak_mw", "battery_e_mwh", "battery_p_mw"):
            if (value := getattr(self, name)) is not None and not value > 0:
                raise ConfigError(f"{name}={value!r} must be > 0 or none (sized per demand)")
        if self.chp_count < 0:
            raise ConfigError(f"chp_count={self.chp_count!r} must be >= 0")
        if self.flex_mode not in FLEX_MODES:
            raise ConfigError(f"flex_mode={self.flex_mode!r} must be one of {FLEX_MODES}")
        if self.import_limit_mw is not None and not self.import_limit_mw > 0:
            raise ConfigError(f"import_limit_mw={self.import_limit_mw!r} must be > 0 or none")
        extra = options(self)  # a ConfigError unless a JSON object
        if self.grid not in codes():  # checked before anything is built or written
            raise ConfigError(
                f"grid={self.grid!r} is not a SimBench code; neighbourhood needs one (e.g. "
                "'1-LV-rural1--0-sw', `cosim grids` lists them): its loads are the houses and "
                "its profiles their demand"
            )
        if self.controller:
            check_options(find(self.controller), extra)


FLEETS_FROM_LOADS = 200
"""Loads from which ``fleets=None`` builds fleets: beyond a few LV feeders, one mosaik entity
per unit costs more than the power flow (``bench/scale.py``)."""

LOAD_KINDS = {"H": "household", "G": "commercial", "L": "agricultural"}
"""First letter of a SimBench load profile type (H0-A, G1-B, L2-A, ...) -> kind of load."""


def load_kind(profile: object) -> str:
    """``household``, ``commercial``, ``agricultural`` or ``other`` for a SimBench profile type."""
    return LOAD_KINDS.get(str(profile)[:1].upper(), "other") if profile == profile else "other"


@dataclass(frozen=True)
class Layout:
    """Which houses (positions in the grid's load table) have which unit."""

    kinds: tuple[str, ...]  # of every load, in order
    pv: np.ndarray  # households only
    battery: np.ndarray  # a subset of pv
    ev: np.ndarray  # households only
    chp: np.ndarray

    def counts(self) -> str:
        """How many loads of each kind and units of each type, for the summary."""
        order = (*LOAD_KINDS.values(), "other")
        loads = ", ".join(f"{self.kinds.count(k)} {k}" for k in order if k in self.kinds)
        return (
            f"{loads}; PV {len(self.pv)}, batteries {len(self.battery)}, EVs {len(self.ev)} "
            f"(households only), CHP {len(self.chp)}"
        )


def layout(profiles: list[str], cfg: Config) -> Layout:
    """The seeded draw of unit locations over loads of these SimBench profile types: same seed,
    same neighbourhood (module docstring: who gets what)."""
    rng = np.random.default_rng(cfg.seed)

    def pick(pool: np.ndarray, share: float) -> np.ndarray:
        return np.sort(rng.choice(pool, size=round(share * len(pool)), replace=False))

    kinds = tuple(load_kind(p) for p in profiles)
    households = np.array([i for i, k in enumerate(kinds) if k == "household"], dtype=np.int64)
    others = np.array([i for i, k in enumerate(kinds) if k != "household"], dtype=np.int64)
    pv = pick(households, cfg.pv_share_frac)
    chp_pool = others if len(others) else households
    return Layout(
        kinds=kinds,
        pv=pv,
        battery=pick(pv, cfg.battery_share_frac),
        ev=pick(households, cfg.ev_share_frac),
        chp=np.sort(rng.choice(chp_pool, size=min(cfg.chp_count, len(chp_pool)), replace=False)),
    )


def build(b: Builder, cfg: Config) -> dict[str, Any]:
    """Build the neighbourhood; returns its entities (``grid``, ``feeder``, ``houses``: the
    loads in layout order, unit lists by type), the ``layout`` and each unit type's bus indices
    (``bus_of``), for scenarios built on it. With fleets (``cfg.fleets``) the unit lists hold
    one fleet each and ``feeder`` and ``houses`` are full ids."""
    grid_sim = b.start("Grid")
    types, demand_mwh = load_profiles(cfg.grid)
    fleets = cfg.fleets if cfg.fleets is not None else len(types) >= FLEETS_FROM_LOADS
    grid = grid_sim.Grid(grid=cfg.grid, engine=cfg.engine, **({"fleets": True} if fleets else {}))
    if fleets:
        info = next(e for e in grid.children if e.eid == "load").extra_info
        position = sorted(info["index"])
    else:
        houses = sorted(
            (e for e in grid.children if e.type == "Load"), key=lambda e: e.extra_info["index"]
        )
        position = [h.extra_info["index"] for h in houses]
    where = layout([types[i] for i in position], cfg)
    size = household_sizes(demand_mwh[position], where, cfg)
    b.note("loads and units", where.counts())
    b.note("household sizes", size.describe())
    specs = unit_specs(cfg, where, size)
    if fleets:
        built = _fleets.build(b, cfg, grid_sim, grid, where, specs)
        units = {k: built[k] for k in UNIT_KINDS}
        buses, added = built["buses"], built["added"]
        feeder: Any = f"{grid.sid}.{_fleets.eids(built['tables']['ext_grid'])[0]}"
        series = _fleets.unit_ids(built["series"].values())
        profiles_sid = built["series"]["load"].sid
        house_series = [f"{profiles_sid}.{h.rsplit('.', 1)[1]}" for h in built["house_ids"]]
        houses_out: list[Any] = built["house_ids"]
        children = list(built["tables"].values())
    else:
        units, buses, added, house_entities, profile_ids = _singles.build(
            b, cfg, grid_sim, grid, houses, where, specs
        )
        feeder = next(e for e in grid.children if e.type == "ExtGrid")
        series, house_series = profile_ids
        houses_out = house_entities
        children = list(grid.children)
    b.install(
        pv_mw=float(size.pv_mw.sum()),
        battery_mwh=float(size.battery_mwh.sum()),
        chp_mw=len(where.chp) * cfg.chp_p_el_mw,
    )
    _record(b, grid, children, added, units, controlled=bool(cfg.controller))
    if cfg.controller:
        feeder_id = feeder if isinstance(feeder, str) else feeder.full_id
        ids = {k: _fleets.unit_ids(v) for k, v in units.items()}
        _control(b, cfg, feeder_id, series, house_series, ids)
    at = {"pv": where.pv, "battery": where.battery, "ev": where.ev, "chp": where.chp}
    bus_of = {k: [buses[h] for h in v] for k, v in at.items()} | {"flex": buses}
    return {
        "grid": grid,
        "feeder": feeder,
        "houses": houses_out,
        "layout": where,
        "bus_of": bus_of,
        **units,
    }


UNIT_KINDS = ("pv", "battery", "ev", "chp", "flex")


def single_entities(cfg: Config, scenario: str) -> Config:
    """``cfg`` with one entity per unit, for a scenario that wires single units itself; a
    ConfigError if it asks for fleets."""
    if cfg.fleets:
        raise ConfigError(f"fleets=True: {scenario} wires single units; give fleets=false or none")
    return replace(cfg, fleets=False)


def options(cfg: Config) -> dict[str, Any]:
    """``controller_options`` as a dict (ConfigError unless a JSON object)."""
    if not cfg.controller_options:
        return {}
    try:
        value = json.loads(cfg.controller_options)
    except json.JSONDecodeError as err:
        raise ConfigError(f"controller_options={cfg.controller_options!r}: {err}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"controller_options={cfg.controller_options!r} must be a JSON object")
    return value


def _control(
    b: Builder,
    cfg: Config,
    feeder: str,
    series: list[str],
    base: list[str],
    units: dict[str, list[str]],
) -> None:
    """Plug ``cfg.controller`` in (module docstring) and record what it does. All entities by
    full id: ``series`` the profiles' elements, ``base`` each house's base demand, ``units``
    each unit type's units."""
    from controllers.registry import find

    def of(kind: str) -> list[str]:
        return [s for s in series if s.rsplit(".", 1)[1].startswith(f"{kind}_")]

    given: dict[str, Any] = {}
    limit = cfg.import_limit_mw
    if cfg.controller == "peak_shaving":
        given = {"feeder": feeder, "batteries": units["battery"]}
        given["import_limit_mw"] = limit
    elif cfg.controller == "demand_response":
        given = {
            "feeder": feeder,
            "import_limit_mw": limit,
            "demand": of("storage"),
            "generation": [*units["pv"], *units["chp"], *of("sgen"), *of("gen")],
            "batteries": units["battery"],
            "evs": units["ev"],
            "flexloads": units["flex"],
            "flex_demand": base,
            "flex_mode": cfg.flex_mode,
            "flex_share_frac": cfg.flex_share_frac,
        }
        price = _price(b, cfg)
        if price is not None:
            given["price"] = price.full_id
            b.record([price], "eur_per_mwh")
    ctrl = b.control(cfg.controller, {**given, **options(cfg)})
    reports = find(cfg.controller).reports
    if reports:
        b.record([ctrl], *reports)


def _price(b: Builder, cfg: Config) -> Any:
    """The price signal entity of ``cfg.price_file`` (None for ""), from its own Profiles sim."""
    if not cfg.price_file:
        return None
    path = BUILTIN_PRICE_FILE if cfg.price_file == "builtin" else Path(cfg.price_file)
    if not path.is_file():
        raise ConfigError(f"price_file={cfg.price_file!r}: no such file (or 'builtin' or '')")
    # the built-in prices stand for any year (their row 0: 1 January of ``start``'s year); the
    # first row of a file of one's own plays at ``start``
    year = datetime.fromisoformat(cfg.start).year
    origin = {"origin": f"{year}-01-01 00:00:00"} if cfg.price_file == "builtin" else {}
    table = b.start("Profiles").Profiles(source=str(path.resolve()), **origin)
    prices = [c for c in table.children if c.eid.startswith("price_")]
    if not prices:
        raise ConfigError(f"price_file={cfg.price_file!r} has no price_<k> column")
    return prices[0]


def _record(
    b: Builder, grid: Any, children: list, added: list, units: dict[str, list], controlled: bool
) -> None:
    """Record every grid element's power, every branch's losses and every unit's state, and,
    with a controller, the units' bounds (module docstring); fleets as one column per unit."""
    by_type: dict[str, list] = {}
    for e in [*children, *added]:
        by_type.setdefault(e.type.removesuffix(FLEET), []).append(e)
    b.record(by_type.get("Bus", []), "vm_pu")
    b.record(by_type.get("Line", []) + by_type.get("Trafo", []), "loading_percent", "pl_mw")
    b.record(by_type.get("ExtGrid", []), "p_mw", "q_mvar")
    b.record(by_type.get("Load", []) + by_type.get("Sgen", []) + by_type.get("Storage", []), "p_mw")
    b.record([grid], "converged")
    b.record(units["pv"], "p_mw", "q_mvar", "p_available_mw", "p_curtailed_mw")
    b.record(units["battery"], "p_mw", "soc_frac", "e_mwh", "p_loss_mw")
    b.record(units["ev"], "p_mw", "soc_frac", "connected", "e_unmet_mwh", "p_loss_mw")
    b.record(
        units["chp"],
        "p_mw", "p_th_mw", "p_boiler_th_mw", "p_heat_demand_mw", "p_fuel_mw", "e_tank_mwh",
    )  # fmt: skip
    b.record(units["flex"], "p_mw", "p_reduced_mw", "e_backlog_mwh")
    if not controlled:
        return
    b.record(units["battery"], "p_available_charge_mw", "p_available_discharge_mw")
    b.record(units["ev"], "p_min_mw", "p_max_mw", "t_departure_s")
    b.record(units["flex"], "p_base_mw", "p_recovered_mw")


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
