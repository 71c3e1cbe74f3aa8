"""Demand response: keep the grid import under a limit and move flexible demand to cheap hours.

The decisions are pure functions over numpy arrays in :mod:`controllers.dispatch`
(``plan``, ``price_level``, ``shave_mw``); two controllers wrap them:

``PeakShaving``, the small example: one feeder, batteries. It sees the feeder's import at step t
and, when it exceeds ``import_limit_mw``, discharges the batteries from t + step (default
timing); a peak that lasts one step is missed. Batteries it does not need keep their own mode.

``DemandResponse`` (``same_step``): a peak limit and a price signal together. It runs before the
units it sets, so its set points apply in the step they are made for:

- at step t it observes what does not depend on it: the uncontrolled ``demand`` and
  ``generation`` (profiles, PV, CHP, the grid's own sgens), each flexible load's base demand
  (``flex_demand``) and the ``price``;
- one step late it observes the units' own state: batteries' available power, EVs' ``p_min_mw``,
  ``p_max_mw`` and departure, flexible loads' backlog, and the ``feeder`` import;
- it predicts the import as uncontrolled demand - generation + flexible base demand + the set
  powers + the last step's grid losses (last import minus last net demand) and sets every unit
  so that the prediction stays under the limit. The recorded import may exceed the limit by the
  change of the grid losses from one step to the next. In the first step it has seen no unit
  yet: batteries stay idle, EVs count as not plugged in, and the loss estimate is 0.

The priority order and the use of headroom are those of :func:`controllers.dispatch.plan`.

Price mode (``price`` given): each step's price [EUR/MWh] comes from a simulator (scenario
data, e.g. a Profiles table column ``price_0``). The controller knows only the prices up to
now: a price is cheap at or below the ``cheap_quantile`` of the last ``price_window_h`` hours
of prices, expensive at or above their ``expensive_quantile``. Cheap: EVs charge at full power
and batteries from the grid up to the limit. Expensive: EVs charge only ``p_min_mw``, shift
loads reduce what their backlog can take, batteries (without a limit) cover the import. Backlog
is recovered in every hour that is not expensive, as soon as headroom allows.

Rebound guard (price mode): recovery, battery charging and EV charging never lift the predicted
import above ``rebound_cap_mw`` (:func:`controllers.dispatch.plan`'s ``cap_mw``); by default the
highest uncontrolled import seen so far (uncontrolled demand - generation + flexible base demand
+ loss estimate + plugged-in EVs at full power, batteries idle), so moving demand to cheap
hours does not make a peak above the one the neighbourhood has without control.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from controllers.base import Controller, Measurements, Point, SetPoints, check_ids, columns
from controllers.dispatch import (
    FLEX_MODES,
    Flexibility,
    Plan,
    plan,
    price_level,
    shave_mw,
    take,
)
from cosim.core.errors import ConfigError, SimulationError
from cosim.core.simapi import DEFAULT_STEP_S
from cosim.core.units import SECONDS_PER_HOUR


@dataclass
class PeakShaving(Controller):
    """Discharge batteries while the import at ``feeder`` exceeds ``import_limit_mw``.

    Parameters
    ----------
    feeder : str
        Entity whose ``p_mw`` is the import [MW] (ext_grid sign: > 0 imports).
    batteries : list of str
        Battery entities; released (own mode) while not needed.
    import_limit_mw : float
        Import limit [MW], > 0.
    """

    feeder: str = "Grid-0.ext_grid_0"
    batteries: list[str] = field(default_factory=list)
    import_limit_mw: float = 0.0
    reports = ("import_limit_mw", "p_battery_set_mw")

    def __post_init__(self) -> None:
        check_ids("batteries", self.batteries)
        limit = self.import_limit_mw
        if not (isinstance(limit, int | float) and 0 < limit < math.inf):
            raise ConfigError(f"import_limit_mw={limit!r} must be > 0 [MW]")
        self._set_mw: float | None = None

    def observes(self) -> list[Point]:
        attrs = ("p_mw", "p_available_charge_mw", "p_available_discharge_mw")
        return [(self.feeder, "p_mw"), *((b, a) for b in self.batteries for a in attrs)]

    def sets(self) -> dict[Point, Any]:
        return {(b, "p_set_mw"): None for b in self.batteries}

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        p_battery, charge, discharge = columns(
            seen, self.batteries, "p_mw", "p_available_charge_mw", "p_available_discharge_mw"
        )
        p_import = seen[self.feeder]["p_mw"] or 0.0
        total = shave_mw(
            p_import, p_battery.sum(), charge.sum(), discharge.sum(), self.import_limit_mw,
            self._set_mw is not None,
        )  # fmt: skip
        self._set_mw = total
        split = [None] * len(self.batteries)
        if total is not None:  # in proportion to each battery's available power
            split = (take(total, charge) - take(-total, discharge)).tolist()
        return {b: {"p_set_mw": p} for b, p in zip(self.batteries, split, strict=True)}

    def report(self) -> dict[str, Any]:
        return {"import_limit_mw": self.import_limit_mw, "p_battery_set_mw": self._set_mw}


@dataclass
class DemandResponse(Controller):
    """Peak limit and price signal over batteries, EVs and flexible loads (module docstring).

    Runs ``same_step``. Every entity is named by its full id; ``p_mw`` signs are pandapower's.

    Parameters
    ----------
    feeder : str
        Entity whose ``p_mw`` is the import (ext_grid: > 0 imports) [MW]; seen one step late.
    import_limit_mw : float or None
        Import limit [MW], > 0; None: no limit (price mode only).
    demand : list of str
        Uncontrolled consumers: their ``p_mw`` at t, load sign [MW].
    generation : list of str
        Uncontrolled generators (PV, CHP, the grid's own sgens): ``p_mw`` at t, sgen sign [MW].
    batteries, evs, flexloads : list of str
        Battery, EV and FlexLoad entities the controller sets.
    flex_demand : list of str
        For each flexible load, the entity whose ``p_mw`` at t is its base demand [MW].
    flex_mode : str or list of str
        ``"shift"`` or ``"curtail"``: the mode of the flexible loads (all, or one per load).
    flex_share_frac, flex_backlog_max_mwh, flex_recover_max_mw : float
        The flexible loads' ``flex_share_frac`` [-], ``e_backlog_max_mwh`` [MWh] and
        ``p_recover_max_mw`` [MW]; must equal the units' own parameters (defaults: theirs).
    price : str
        Entity with output ``eur_per_mwh`` at t [EUR/MWh]; "": no price mode.
    price_window_h : float
        Hours of past prices a price is compared with [h], > 0.
    cheap_quantile, expensive_quantile : float
        Quantiles of that window below and above which a price is cheap or expensive [-],
        ``0 <= cheap <= expensive <= 1``.
    battery_recharge_frac : float
        Outside cheap hours, batteries recharge from the grid while the import stays under this
        fraction of the limit [-], in [0, 1]; 0: only from the neighbourhood's surplus.
    rebound_cap_mw : float or None
        Price mode's rebound guard [MW], > 0 (``inf``: no guard); None: the highest
        uncontrolled import seen so far (module docstring).
    step_s : int
        The run's step [s], given by the controller host (leave it out of the options);
        checked against the time between decisions.
    """

    feeder: str = "Grid-0.ext_grid_0"
    import_limit_mw: float | None = None
    demand: list[str] = field(default_factory=list)
    generation: list[str] = field(default_factory=list)
    batteries: list[str] = field(default_factory=list)
    evs: list[str] = field(default_factory=list)
    flexloads: list[str] = field(default_factory=list)
    flex_demand: list[str] = field(default_factory=list)
    flex_mode: str | list[str] = "shift"
    flex_share_frac: float = 0.1
    flex_backlog_max_mwh: float = 0.002
    flex_recover_max_mw: float = 0.001
    price: str = ""
    price_window_h: float = 24.0
    cheap_quantile: float = 0.25
    expensive_quantile: float = 0.75
    battery_recharge_frac: float = 0.8
    rebound_cap_mw: float | None = None
    step_s: int = DEFAULT_STEP_S
    same_step = True
    reports = (
        "import_limit_mw",
        "p_import_predicted_mw",
        "p_import_min_mw",
        "limit_unreachable_steps",
        "e_ev_delayed_mwh",
        "e_shifted_mwh",
        "e_recovered_mwh",
        "e_curtailed_mwh",
        "price_level",
        "rebound_cap_mw",
    )

    def __post_init__(self) -> None:
        for name in ("demand", "generation", "batteries", "evs", "flexloads", "flex_demand"):
            check_ids(name, getattr(self, name))
        if len(self.flex_demand) != len(self.flexloads):
            raise ConfigError(
                f"flex_demand has {len(self.flex_demand)} entities, flexloads "
                f"{len(self.flexloads)}: give one base demand per flexible load"
            )
        given = self.flex_mode if isinstance(self.flex_mode, list) else [self.flex_mode]
        modes = given if isinstance(self.flex_mode, list) else given * len(self.flexloads)
        if len(modes) != len(self.flexloads) or any(m not in FLEX_MODES for m in given):
            raise ConfigError(
                f"flex_mode={self.flex_mode!r} must be one of {FLEX_MODES} or a list of them, "
                "one per flexible load"
            )
        limit = self.import_limit_mw
        if limit is not None and not (isinstance(limit, int | float) and 0 < limit < math.inf):
            raise ConfigError(f"import_limit_mw={limit!r} must be > 0 [MW] or None (no limit)")
        ranges = (
            ("flex_share_frac", 0.0, 1.0),
            ("flex_backlog_max_mwh", 0.0, math.inf),
            ("flex_recover_max_mw", 0.0, math.inf),
            ("cheap_quantile", 0.0, self.expensive_quantile),
            ("expensive_quantile", self.cheap_quantile, 1.0),
            ("battery_recharge_frac", 0.0, 1.0),
        )
        for name, lo, hi in ranges:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and lo <= value <= hi):
                raise ConfigError(f"{name}={value!r} must be in [{lo}, {hi}]")
        cap = self.rebound_cap_mw
        if cap is not None and not (isinstance(cap, int | float) and cap > 0):
            raise ConfigError(
                f"rebound_cap_mw={cap!r} must be > 0 [MW] (inf: no guard) or None (the "
                "uncontrolled peak so far)"
            )
        if not (isinstance(self.price_window_h, int | float) and self.price_window_h > 0):
            raise ConfigError(f"price_window_h={self.price_window_h!r} must be > 0 [h]")
        if isinstance(self.step_s, bool) or not isinstance(self.step_s, int) or self.step_s <= 0:
            raise ConfigError(f"step_s={self.step_s!r} must be a positive int [s]")
        self._shift = np.array([m == "shift" for m in modes], dtype=bool)
        self._limit_mw = math.inf if limit is None else float(limit)
        n_prices = max(round(self.price_window_h * SECONDS_PER_HOUR / self.step_s), 1)
        self._prices: deque[float] = deque(maxlen=n_prices)
        self._t_s: int | None = None
        self._last_exogenous_mw: float | None = None
        self._uncontrolled_peak_mw = -math.inf
        self._report: dict[str, Any] = dict.fromkeys(self.reports, 0.0)
        self._report["import_limit_mw"] = limit
        self._report["price_level"] = None

    def observes(self) -> list[Point]:
        now = [(e, "p_mw") for e in (*self.demand, *self.generation, *self.flex_demand)]
        return now + ([(self.price, "eur_per_mwh")] if self.price else [])

    def observes_previous(self) -> list[Point]:
        units = (
            (self.batteries, ("p_mw", "p_available_charge_mw", "p_available_discharge_mw")),
            (self.evs, ("p_mw", "p_min_mw", "p_max_mw", "connected", "t_departure_s")),
            (self.flexloads, ("p_mw", "e_backlog_mwh")),
        )
        points = [(e, a) for ids, attrs in units for e in ids for a in attrs]
        return [(self.feeder, "p_mw"), *points]

    def sets(self) -> dict[Point, Any]:
        points = [(e, "p_set_mw") for e in (*self.batteries, *self.evs)]
        points += [(e, a) for e in self.flexloads for a in ("p_reduce_mw", "p_recover_allowed")]
        return dict.fromkeys(points)

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        if self._t_s is not None and t_s - self._t_s != self.step_s:
            raise SimulationError(
                f"DemandResponse: step_s={self.step_s} but decisions at t_s={self._t_s} and "
                f"{t_s}; set step_s to the scenario's step"
            )
        self._t_s = t_s
        dt_h = self.step_s / SECONDS_PER_HOUR
        flex = self._flexibility(t_s, seen, dt_h)
        level = None
        if self.price:
            self._prices.append(float(seen[self.price]["eur_per_mwh"]))
            level = price_level(
                np.array(self._prices), self.cheap_quantile, self.expensive_quantile
            )
        p = plan(flex, self._limit_mw, level, self.battery_recharge_frac, self._cap_mw(flex))
        self._account(flex, p, level, dt_h)
        out: SetPoints = {}
        for e, v in zip(self.batteries, p.battery_p_mw.tolist(), strict=True):
            out[e] = {"p_set_mw": v}
        for e, v in zip(self.evs, p.ev_p_mw.tolist(), strict=True):
            out[e] = {"p_set_mw": None if math.isnan(v) else v}
        for e, r, ok in zip(
            self.flexloads, p.flex_reduce_mw.tolist(), p.flex_recover.tolist(), strict=True
        ):
            out[e] = {"p_reduce_mw": r, "p_recover_allowed": ok}
        return out

    def _cap_mw(self, f: Flexibility) -> float:
        """The rebound guard's cap for this step [MW]: none without a price signal."""
        uncontrolled = f.p_fixed_mw + f.ev_plugged_frac @ np.maximum(f.ev_hi_mw, 0.0)
        self._uncontrolled_peak_mw = max(self._uncontrolled_peak_mw, float(uncontrolled))
        cap = math.inf
        if self.price:
            cap = self._uncontrolled_peak_mw
            cap = cap if self.rebound_cap_mw is None else float(self.rebound_cap_mw)
        self._report["rebound_cap_mw"] = cap if math.isfinite(cap) else None
        return cap

    def _flexibility(self, t_s: int, seen: Measurements, dt_h: float) -> Flexibility:
        """This step's Flexibility from the measurements, with the loss estimate."""
        (demand,) = columns(seen, self.demand, "p_mw")
        (generation,) = columns(seen, self.generation, "p_mw")
        (base,) = columns(seen, self.flex_demand, "p_mw")
        flex_p, backlog = columns(seen, self.flexloads, "p_mw", "e_backlog_mwh")
        ev_p, p_min, p_max, connected, departure = columns(
            seen, self.evs, "p_mw", "p_min_mw", "p_max_mw", "connected", "t_departure_s"
        )
        bat_p, charge, discharge = columns(
            seen, self.batteries, "p_mw", "p_available_charge_mw", "p_available_discharge_mw"
        )
        exogenous = float(demand.sum() - generation.sum())
        last_import = seen[self.feeder]["p_mw"]
        loss = 0.0
        if last_import is not None and self._last_exogenous_mw is not None:
            units = flex_p.sum() + ev_p.sum() + bat_p.sum()
            loss = last_import - self._last_exogenous_mw - units
        self._last_exogenous_mw = exogenous
        cap = self.flex_share_frac * np.maximum(base, 0.0)
        room = np.maximum(self.flex_backlog_max_mwh - backlog, 0.0) / dt_h
        plugged = (connected > 0) & (departure > t_s)
        return Flexibility(
            p_fixed_mw=float(exogenous + base.sum() + loss),
            battery_charge_mw=charge,
            battery_discharge_mw=discharge,
            ev_lo_mw=p_min,
            ev_hi_mw=p_max,
            ev_plugged_frac=np.where(
                plugged, np.clip((departure - t_s) / self.step_s, 0.0, 1.0), 0.0
            ),
            flex_cap_mw=np.where(self._shift, np.minimum(cap, room), cap),
            flex_recover_mw=np.where(
                self._shift, np.minimum(self.flex_recover_max_mw, backlog / dt_h), 0.0
            ),
            flex_shift=self._shift,
        )

    def _account(self, f: Flexibility, p: Plan, level: int | None, dt_h: float) -> None:
        """Add this step to the reports."""
        r, w = self._report, f.ev_plugged_frac
        hi = np.maximum(f.ev_hi_mw, np.maximum(f.ev_lo_mw, 0.0))
        delayed = np.where(w > 0, w * (hi - np.nan_to_num(p.ev_p_mw)), 0.0).sum()
        r["e_ev_delayed_mwh"] += float(delayed) * dt_h
        r["e_shifted_mwh"] += float(p.flex_reduce_mw[f.flex_shift].sum()) * dt_h
        r["e_curtailed_mwh"] += float(p.flex_reduce_mw[~f.flex_shift].sum()) * dt_h
        r["e_recovered_mwh"] += float(f.flex_recover_mw[p.flex_recover].sum()) * dt_h
        r["limit_unreachable_steps"] += int(p.p_import_min_mw > self._limit_mw)
        r["p_import_predicted_mw"] = p.p_import_mw
        r["p_import_min_mw"] = p.p_import_min_mw
        r["price_level"] = level

    def report(self) -> dict[str, Any]:
        return dict(self._report)
