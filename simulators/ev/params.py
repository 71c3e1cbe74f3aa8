"""Parameters of EVs and of their stochastic home-charging sessions, validated when built.

Sign (pandapower, EV charger as a load): ``p_mw > 0`` charges the EV from the grid.

References
----------
.. [1] ADAC Ecotest, January 2021, as reported by motorsport-magazin.com ("ADAC Ecotest: Das
   sind die sparsamsten Elektroautos"): the ten most frugal of 27 EVs used 16.3-19.0 kWh/100 km
   measured at the wall, i.e. including charging losses (Hyundai Ioniq 16.3, Kia e-Niro 64 kWh
   18.1, Renault Zoe 52 kWh 19.0); larger cars 24-28 kWh/100 km.
.. [2] Bundesministerium fuer Verkehr, "Fahrleistungserhebung 2014", first results as
   reported by dts (report-k.de, 2016): a car registered in Germany drives 13,600 km a year on
   average, i.e. 37.3 km a day. (KBA, odometer readings 2013: 14,259 km a year.)
.. [3] F. Gonzalez Venegas, M. Petit, Y. Perez, "Plug-in behavior of electric vehicles users:
   insights from a large-scale trial and impacts for grid integration studies",
   eTransportation 10 (2021) 100131: in the Electric Nation trial (UK, home chargers) users
   plug in 2-3 times a week, less often with larger batteries; not every day.
.. [4] EVnetNL (now ElaadNL), public charging statistics 2015, as reported by Nederland
   Elektrisch (2016): on workdays most sessions started at 08:51 and ended at 17:12, at
   weekends most started at 13:45 -- cars leave home in the morning and are back home from
   about 17:00 on workdays, later and more spread at weekends.
.. [5] US DOE, Vehicle Technologies Office, Fact of the Week #912 (2016), EV Project, San Diego:
   home charging demand rises from 16:00 to a plateau from 19:00 to 21:00 on weekdays.
.. [6] ADAC range and consumption test, as reported by t-online.de ("ADAC deckt auf: So weit
   kommen E-Autos wirklich"): a BMW iX took 125.2 kWh from the wall to fill its 105 kWh
   battery, i.e. 84 % charging efficiency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from cosim.core.errors import ConfigError
from cosim.core.simapi import Param, params_of
from simulators.checks import boolean, number

DEPARTURE_MIN_H = 4.0
DEPARTURE_MAX_H = 14.0
"""Generated departures fall in [04:00, 14:00] of the morning after the arrival [h]."""
ARRIVAL_MAX_H = 24.0
MIN_AWAY_H = 1.0
"""A generated arrival is at least this long after the same day's departure [h]."""


def _in_range(obj: object, name: str, lo: float, hi: float, unit: str, lo_open: bool) -> None:
    """Check and normalise ``obj.name`` to a float in [lo, hi] (or (lo, hi] if ``lo_open``)."""
    raw = getattr(obj, name)
    value = number(name, raw)
    if (value <= lo if lo_open else value < lo) or value > hi:
        bracket = "(" if lo_open else "["
        raise ConfigError(f"{name}={raw!r} must be in {bracket}{lo:g}, {hi:g}] {unit}".rstrip())
    object.__setattr__(obj, name, value)


@dataclass(frozen=True)
class EVParams:
    """One EV type and its home charger. Sign: ``p_mw > 0`` charges.

    Parameters
    ----------
    e_max_mwh : float
        Usable battery capacity [MWh]; default 0.06 (compact EVs 52-64 kWh, [1]_).
    p_charger_max_mw : float
        Charger limit [MW]; default 0.011 (an 11 kW three-phase wallbox; in Germany
        chargers above 12 kVA need the grid operator's approval, NAV para. 19).
    eta_charge, eta_discharge : float
        Charging efficiency each way (charger and battery), (0, 1] [-]; default 0.9 (assumed:
        AC charging loses about 10 %, up to 16 % measured in [6]_).
    v2g : bool
        The EV may discharge into the grid on a negative set point.
    p_discharge_max_mw : float or None
        V2G power limit [MW]; None: ``p_charger_max_mw``.
    soc_target_frac : float
        State of charge wanted at departure, also the charge limit, (0, 1] [-]; default 1.0.
    soc_min_frac : float
        V2G never discharges below this, [0, soc_target_frac) [-]; default 0.2 (assumed).
    """

    e_max_mwh: float = 0.06
    p_charger_max_mw: float = 0.011
    eta_charge: float = 0.9
    eta_discharge: float = 0.9
    v2g: bool = False
    p_discharge_max_mw: float | None = None
    soc_target_frac: float = 1.0
    soc_min_frac: float = 0.2

    def __post_init__(self) -> None:
        for name, unit in (("e_max_mwh", "[MWh]"), ("p_charger_max_mw", "[MW]")):
            _in_range(self, name, 0.0, math.inf, unit, lo_open=True)
        if self.p_discharge_max_mw is None:
            object.__setattr__(self, "p_discharge_max_mw", self.p_charger_max_mw)
        _in_range(self, "p_discharge_max_mw", 0.0, math.inf, "[MW]", lo_open=True)
        for name in ("eta_charge", "eta_discharge"):
            _in_range(self, name, 0.0, 1.0, "", lo_open=True)
        _in_range(self, "soc_target_frac", 0.0, 1.0, "", lo_open=True)
        _in_range(self, "soc_min_frac", 0.0, 1.0, "", lo_open=False)
        if self.soc_min_frac >= self.soc_target_frac:
            raise ConfigError(
                f"soc_min_frac={self.soc_min_frac!r} must be < soc_target_frac="
                f"{self.soc_target_frac!r}"
            )
        object.__setattr__(self, "v2g", boolean("v2g", self.v2g))


@dataclass(frozen=True)
class MobilityParams:
    """Statistics of generated home-charging sessions (one possible session per evening).

    Times of day are truncated normal distributions [h]: departure within [04:00, 14:00],
    arrival from an hour after the same day's departure until midnight. Weekdays are
    Monday-Friday; a session's departure follows the day type of the next morning.
    The time-of-day figures are assumptions shaped after [4]_ and [5]_, not a fit.

    Parameters
    ----------
    weekday_arrival_h, weekday_arrival_std_h : float
        Arrival at home on workdays [h]; default 18.0 +- 2.0.
    weekday_departure_h, weekday_departure_std_h : float
        Departure on workday mornings [h]; default 7.5 +- 1.0.
    weekend_arrival_h, weekend_arrival_std_h : float
        Arrival at weekends [h]; default 17.0 +- 3.0.
    weekend_departure_h, weekend_departure_std_h : float
        Departure on weekend mornings [h]; default 10.0 +- 2.0.
    distance_mean_km : float
        Mean distance driven per day [km]; default 37.0 ([2]_: 13,600 km a year).
    distance_sigma_ln : float
        Shape of the lognormal daily distance (std of its log) [-]; default 0.8 (assumed:
        median 27 km, 95th percentile about 100 km).
    consumption_mwh_per_km : float
        Energy from the grid per km, charging losses included [MWh/km]; default 0.00018
        ([1]_: 16-19 kWh/100 km for compact EVs). The battery loses this times eta_charge.
    plug_in_prob : float
        Chance to plug in on an evening without need [-]; default 0.3.
    plug_in_below_soc_frac : float
        Always plug in when the state of charge at arrival is below this [-]; default 0.5.
        With the defaults, a 60 kWh EV plugs in about 2.5 times a week, as observed in [3]_.
    """

    weekday_arrival_h: float = 18.0
    weekday_arrival_std_h: float = 2.0
    weekday_departure_h: float = 7.5
    weekday_departure_std_h: float = 1.0
    weekend_arrival_h: float = 17.0
    weekend_arrival_std_h: float = 3.0
    weekend_departure_h: float = 10.0
    weekend_departure_std_h: float = 2.0
    distance_mean_km: float = 37.0
    distance_sigma_ln: float = 0.8
    consumption_mwh_per_km: float = 0.00018
    plug_in_prob: float = 0.3
    plug_in_below_soc_frac: float = 0.5

    def __post_init__(self) -> None:
        for day in ("weekday", "weekend"):
            _in_range(self, f"{day}_departure_h", DEPARTURE_MIN_H, DEPARTURE_MAX_H, "[h]", False)
            _in_range(self, f"{day}_arrival_h", DEPARTURE_MIN_H + MIN_AWAY_H, 24.0, "[h]", False)
            for kind in ("arrival", "departure"):
                _in_range(self, f"{day}_{kind}_std_h", 0.0, 12.0, "[h]", lo_open=True)
        _in_range(self, "distance_mean_km", 0.0, 2000.0, "[km]", lo_open=True)
        _in_range(self, "distance_sigma_ln", 0.0, 3.0, "", lo_open=False)
        _in_range(self, "consumption_mwh_per_km", 0.0, 0.001, "[MWh/km]", lo_open=True)
        _in_range(self, "plug_in_prob", 0.0, 1.0, "", lo_open=False)
        _in_range(self, "plug_in_below_soc_frac", 0.0, 1.0, "", lo_open=False)


EV_FIELDS = tuple(f.name for f in fields(EVParams))
MOBILITY_FIELDS = tuple(f.name for f in fields(MobilityParams))
SESSIONS_PARAM = "sessions"
"""Model param: path of a sessions CSV file; without it, sessions are generated."""
PARAMS = (
    *params_of(EVParams),
    *params_of(MobilityParams),
    Param(SESSIONS_PARAM, "str | None", "-", None, "path of a sessions CSV file; None: generated"),
)
"""Every create param of ``EV``, declared once (docs, ``cosim sims EV``, the mosaik meta)."""
MODEL_PARAMS = tuple(p.name for p in PARAMS)


def split_params(params: dict[str, Any]) -> tuple[EVParams, MobilityParams | None, str | None]:
    """Create params -> (EV params, mobility params or None for a CSV, CSV path or None).

    An unknown key is a ConfigError listing the known ones; statistics of the generator
    together with a sessions file is a ConfigError too.
    """
    for key in params:
        if key not in MODEL_PARAMS:
            raise ConfigError(f"EV param {key!r} is unknown; known: {', '.join(MODEL_PARAMS)}")
    ev = EVParams(**{k: v for k, v in params.items() if k in EV_FIELDS})
    stats = {k: v for k, v in params.items() if k in MOBILITY_FIELDS}
    path = params.get(SESSIONS_PARAM)
    if path is None:
        return ev, MobilityParams(**stats), None
    if not isinstance(path, str) or not path:
        raise ConfigError(f"sessions={path!r} must be the path of a sessions CSV file")
    if stats:
        raise ConfigError(
            f"EV params {sorted(stats)} describe generated sessions; "
            f"they cannot be combined with sessions={path!r}"
        )
    return ev, None, path
