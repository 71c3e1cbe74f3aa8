"""Combined heat and power units with a heat storage tank and a backup boiler.

Pure physics, never imports mosaik; every function is vectorised over all units.

Sign (pandapower sgen): ``p_mw > 0`` injects into the grid; ``q_mvar > 0`` injects reactive
power (over-excited). Heat and fuel powers are >= 0 [MW]. Efficiencies are on the lower
heating value (LHV) basis: fuel = P_el / eta_el, CHP heat = fuel * eta_th.

One step of ``dt`` for every unit:

1. The tank loses ``e * (1 - exp(-tank_loss_per_h_frac * dt_h))`` (standing loss).
2. On/off: ``heat_led`` starts when the tank, drained by this step's demand, would fall
   below ``tank_low_frac * e_tank_max_mwh``, and stops (or does not start) when running at
   minimum part load would fill the tank ("stop when full": it keeps running, modulated,
   while the demand takes at least minimum part load). ``power_led`` runs when ``p_set_mw``
   is at least minimum part load (a smaller set point means off). ``min_on_s`` /
   ``min_off_s`` hold a unit in its state: held on, it runs at minimum part load. A
   grid-forming unit that is its island's slack (input ``p_slack_mw``) is on (also within
   ``min_off_s``) and delivers that power whatever its limits; the part outside
   [minimum part load, full load] is reported as ``p_limit_violation_mw``, and fuel and heat
   follow the delivered power (none for a negative one).
3. Output: ``heat_led`` covers demand and fills the tank, between minimum part load and full
   load; ``power_led`` follows ``p_set_mw``, and its heat goes to the tank: what the tank
   cannot take is dumped (``p_heat_dumped_mw``), the power set point is not cut.
4. Tank: CHP heat minus demand; the boiler covers what the tank cannot (fuel at
   ``eta_boiler``); heat beyond the tank's capacity is dumped. Per step, exactly,
   ``(p_th + p_boiler_th - p_heat_demand - p_tank_loss - p_heat_dumped) * dt = delta e_tank``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from cosim.core.errors import ConfigError, unknown
from cosim.core.units import SECONDS_PER_HOUR
from simulators.arrays import appended
from simulators.checks import boolean, check, number
from simulators.chp.heat_demand import SLP_COEFFICIENTS

MODES = ("heat_led", "power_led")
TANK_TOL_MWH = 1e-12
"""Slack in the "tank full" test, against rounding [MWh]."""


@dataclass(frozen=True)
class Params:
    """Parameters of one CHP unit with its tank and boiler (defaults: a 20 kW_el gas engine).

    Parameters
    ----------
    p_el_max_mw : float
        Rated electrical output [MW], > 0.
    eta_el, eta_th : float
        Electrical and thermal efficiency, LHV basis [-], each in (0, 1), sum <= 1. Defaults
        0.30 / 0.60: "the relevant order of magnitude for units used in residential buildings"
        (B. Thomas, "Einsatz von BHKW in der Wohnungswirtschaft", Hochschule Reutlingen).
    min_part_load_frac : float
        Lowest electrical output when on, as a fraction of ``p_el_max_mw`` [-], in [0, 1).
        Default 0.5: gas engines commonly modulate down to half load (assumption).
    min_on_s, min_off_s : float
        Minimum run and stand-still times [s], >= 0. Defaults 3600 / 900 (assumption: limits
        starts, which wear engines; no standard value exists).
    e_tank_max_mwh : float
        Usable heat storage capacity [MWh], >= 0. Default 0.08 MWh: 2 h of full thermal output,
        about 2.3 m3 of water over 30 K (1.163 kWh/(m3 K)).
    tank_loss_per_h_frac : float
        Standing loss per hour as a fraction of the stored heat [1/h], in [0, 1). Default
        0.0025: the EU 812/2013 class C limit for a tank of V = 2300 l,
        S = 16.66 + 8.33 V^0.4 W = 201 W, over 80 kWh stored (loss proportional to the heat).
    tank_init_frac, tank_low_frac : float
        Initial tank level and the level below which ``heat_led`` starts, fractions of
        ``e_tank_max_mwh`` [-]: init in [0, 1], low in [0, 1). Defaults 0.5 / 0.2 (assumption).
    eta_boiler : float
        Backup boiler efficiency, LHV basis [-], in (0, 1]. Default 0.9 (assumption: a
        non-condensing gas boiler; condensing boilers reach about 1 on LHV).
    co2_kg_per_mwh_fuel : float
        CO2 per fuel energy, LHV [kg/MWh], >= 0. Default 201.6 for natural gas: 0.056 t/GJ x
        3.6 GJ/MWh (LfU Brandenburg after UBA Climate Change 27/2016, K. Juhrich; IPCC 2006
        default 56.1 t/TJ gives 202).
    cos_phi : float
        Power factor [-], in (0, 1]; ``q_underexcited`` gives its sign (default True: absorbs
        Q, the sign that limits voltage rise in distribution grids). Default 1.0: q = 0.
    q_underexcited : bool
        Sign of Q at ``cos_phi < 1``: True (default) absorbs Q (``q_mvar < 0``), False injects.
    grid_forming : bool
        The unit may be an island's slack (input ``p_slack_mw``). Default False.
    mode : str
        ``"heat_led"`` (default) or ``"power_led"``.
    e_heat_annual_mwh : float
        Annual heat demand of the synthetic profile [MWh], >= 0; unused with a file.
        Default 250 MWh: a multi-family building; the default unit then covers about 90 % of
        it in about 5700 full-load hours a year.
    heat_slp : str
        BDEW profile of the synthetic demand: ``"HMF33"`` (multi-family, default) or
        ``"HEF33"`` (single-family).
    """

    p_el_max_mw: float = 0.02
    eta_el: float = 0.30
    eta_th: float = 0.60
    min_part_load_frac: float = 0.5
    min_on_s: float = 3600.0
    min_off_s: float = 900.0
    e_tank_max_mwh: float = 0.08
    tank_loss_per_h_frac: float = 0.0025
    tank_init_frac: float = 0.5
    tank_low_frac: float = 0.2
    eta_boiler: float = 0.9
    co2_kg_per_mwh_fuel: float = 201.6
    cos_phi: float = 1.0
    q_underexcited: bool = True
    grid_forming: bool = False
    mode: str = "heat_led"
    e_heat_annual_mwh: float = 250.0
    heat_slp: str = "HMF33"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                boolean(f.name, value)
            elif f.type == "float":
                number(f.name, value)
        check(self.p_el_max_mw > 0, "p_el_max_mw", self.p_el_max_mw, "> 0")
        for name in ("eta_el", "eta_th"):
            check(0 < getattr(self, name) < 1, name, getattr(self, name), "in (0, 1)")
        if self.eta_el + self.eta_th > 1:
            raise ConfigError(
                f"eta_el={self.eta_el!r} + eta_th={self.eta_th!r} = "
                f"{self.eta_el + self.eta_th:g} must be <= 1 (LHV basis)"
            )
        for name in ("min_part_load_frac", "tank_loss_per_h_frac", "tank_low_frac"):
            check(0 <= getattr(self, name) < 1, name, getattr(self, name), "in [0, 1)")
        for name in ("min_on_s", "min_off_s", "e_tank_max_mwh", "co2_kg_per_mwh_fuel"):
            check(getattr(self, name) >= 0, name, getattr(self, name), ">= 0")
        check(self.e_heat_annual_mwh >= 0, "e_heat_annual_mwh", self.e_heat_annual_mwh, ">= 0")
        check(0 <= self.tank_init_frac <= 1, "tank_init_frac", self.tank_init_frac, "in [0, 1]")
        check(0 < self.eta_boiler <= 1, "eta_boiler", self.eta_boiler, "in (0, 1]")
        check(0 < self.cos_phi <= 1, "cos_phi", self.cos_phi, "in (0, 1]")
        if self.mode not in MODES:
            raise unknown("mode", self.mode, MODES)
        if self.heat_slp not in SLP_COEFFICIENTS:
            raise unknown("heat_slp", self.heat_slp, tuple(SLP_COEFFICIENTS))

    @classmethod
    def from_dict(cls, params: dict[str, Any], extra: Sequence[str] = ()) -> Params:
        """``Params(**params)``, with an unknown key a ConfigError listing the fields."""
        known = [f.name for f in fields(cls)]
        for key in params:
            if key not in known:
                raise unknown("CHP param", key, [*known, *extra])
        return cls(**params)


@dataclass(frozen=True, eq=False)
class Fleet:
    """Parameters of all units as arrays, shape (n,), and the quantities derived from them."""

    p_el_max_mw: np.ndarray
    p_el_min_mw: np.ndarray
    eta_el: np.ndarray
    eta_th: np.ndarray
    p_th_max_mw: np.ndarray
    p_th_min_mw: np.ndarray
    min_on_s: np.ndarray
    min_off_s: np.ndarray
    e_tank_max_mwh: np.ndarray
    e_tank_low_mwh: np.ndarray
    tank_loss_per_h_frac: np.ndarray
    eta_boiler: np.ndarray
    co2_kg_per_mwh_fuel: np.ndarray
    q_per_p: np.ndarray
    grid_forming: np.ndarray
    power_led: np.ndarray

    @classmethod
    def of(cls, groups: Sequence[tuple[Params, int]]) -> Fleet:
        """The arrays of ``count`` units per ``Params``, in order."""

        def col(get: Any, dtype: Any = np.float64) -> np.ndarray:
            return np.concatenate(
                [np.full(n, get(p), dtype=dtype) for p, n in groups] or [np.zeros(0, dtype)]
            )

        p_max = col(lambda p: p.p_el_max_mw)
        p_min = col(lambda p: p.p_el_max_mw * p.min_part_load_frac)
        ratio = col(lambda p: p.eta_th / p.eta_el)
        e_max = col(lambda p: p.e_tank_max_mwh)
        return cls(
            p_el_max_mw=p_max,
            p_el_min_mw=p_min,
            eta_el=col(lambda p: p.eta_el),
            eta_th=col(lambda p: p.eta_th),
            p_th_max_mw=p_max * ratio,
            p_th_min_mw=p_min * ratio,
            min_on_s=col(lambda p: p.min_on_s),
            min_off_s=col(lambda p: p.min_off_s),
            e_tank_max_mwh=e_max,
            e_tank_low_mwh=e_max * col(lambda p: p.tank_low_frac),
            tank_loss_per_h_frac=col(lambda p: p.tank_loss_per_h_frac),
            eta_boiler=col(lambda p: p.eta_boiler),
            co2_kg_per_mwh_fuel=col(lambda p: p.co2_kg_per_mwh_fuel),
            q_per_p=col(lambda p: math.tan(math.acos(p.cos_phi)) * (-1 if p.q_underexcited else 1)),
            grid_forming=col(lambda p: p.grid_forming, bool),
            power_led=col(lambda p: p.mode == "power_led", bool),
        )


@dataclass(frozen=True, eq=False)
class State:
    """State of all units, shape (n,): stored heat, on/off, time in that state, starts."""

    e_tank_mwh: np.ndarray
    on: np.ndarray
    t_state_s: np.ndarray
    starts: np.ndarray

    @classmethod
    def initial(cls, groups: Sequence[tuple[Params, int]]) -> State:
        """Off, free to start at once, tanks at ``tank_init_frac``."""
        e0 = [np.full(n, p.tank_init_frac * p.e_tank_max_mwh) for p, n in groups]
        n = sum(count for _, count in groups)
        return cls(
            e_tank_mwh=np.concatenate(e0 or [np.zeros(0)]),
            on=np.zeros(n, dtype=bool),
            t_state_s=np.full(n, np.inf),
            starts=np.zeros(n, dtype=np.int64),
        )

    def extended(self, other: State) -> State:
        """This state followed by the units of ``other``."""
        return appended(self, other)


@dataclass(frozen=True, eq=False)
class Flows:
    """Powers of one step, shape (n,) [MW; co2 kg/h]: sgen sign for p_mw and q_mvar."""

    p_mw: np.ndarray
    q_mvar: np.ndarray
    p_th_mw: np.ndarray
    p_boiler_th_mw: np.ndarray
    p_heat_demand_mw: np.ndarray
    p_fuel_mw: np.ndarray
    p_heat_dumped_mw: np.ndarray
    p_tank_loss_mw: np.ndarray
    co2_kg_per_h: np.ndarray
    p_limit_violation_mw: np.ndarray
    limit_violated: np.ndarray


def step(
    state: State,
    fleet: Fleet,
    dt_s: float,
    p_heat_demand_mw: np.ndarray,
    p_set_mw: np.ndarray,
    p_slack_mw: np.ndarray,
) -> tuple[State, Flows]:
    """Advance all units by ``dt_s`` [s].

    Parameters
    ----------
    state, fleet : State, Fleet
        Units' state and parameters.
    dt_s : float
        Step length [s], > 0.
    p_heat_demand_mw : numpy.ndarray
        Heat demand over the step [MW thermal], >= 0.
    p_set_mw : numpy.ndarray
        Electrical set point of ``power_led`` units [MW], sgen sign; ignored by ``heat_led``.
    p_slack_mw : numpy.ndarray
        Electrical output of units that are an island's slack [MW], sgen sign; NaN for the
        others. Only grid-forming units may have a value (the caller checks).

    Returns
    -------
    State, Flows
        The state at the end of the step and the step's powers.
    """
    dt_h = dt_s / SECONDS_PER_HOUR
    demand = p_heat_demand_mw
    e_max = fleet.e_tank_max_mwh
    loss_mwh = state.e_tank_mwh * -np.expm1(-fleet.tank_loss_per_h_frac * dt_h)
    e1 = state.e_tank_mwh - loss_mwh

    # --- on/off ---------------------------------------------------------------------------
    fills_at_min = e1 + (fleet.p_th_min_mw - demand) * dt_h >= e_max - TANK_TOL_MWH
    runs_low = e1 - demand * dt_h < fleet.e_tank_low_mwh
    want_heat = ~fills_at_min & (state.on | runs_low)
    p_req = np.clip(p_set_mw, 0.0, fleet.p_el_max_mw)
    want_power = (p_req > 0) & (p_req >= fleet.p_el_min_mw)
    want_on = np.where(fleet.power_led, want_power, want_heat)
    free = state.t_state_s >= np.where(state.on, fleet.min_on_s, fleet.min_off_s)
    slack = ~np.isnan(p_slack_mw)
    on = np.where(free, want_on, state.on) | slack

    # --- electrical output ----------------------------------------------------------------
    q_target = demand + (e_max - e1) / dt_h
    p_heat_led = np.clip(q_target, fleet.p_th_min_mw, fleet.p_th_max_mw) * (
        fleet.eta_el / fleet.eta_th
    )
    p_power_led = np.maximum(p_req, fleet.p_el_min_mw)
    p_el = np.where(on, np.where(fleet.power_led, p_power_led, p_heat_led), 0.0)
    p_el = np.where(slack, p_slack_mw, p_el)
    violation = np.where(slack, p_el - np.clip(p_el, fleet.p_el_min_mw, fleet.p_el_max_mw), 0.0)
    fuel_chp = np.maximum(p_el, 0.0) / fleet.eta_el
    p_th = fuel_chp * fleet.eta_th

    # --- tank, boiler, dump ---------------------------------------------------------------
    e_net = e1 + (p_th - demand) * dt_h
    dumped = np.maximum(e_net - e_max, 0.0) / dt_h
    boiler = np.maximum(-e_net, 0.0) / dt_h
    fuel = fuel_chp + boiler / fleet.eta_boiler

    switched = on != state.on
    new_state = State(
        e_tank_mwh=np.clip(e_net, 0.0, e_max),
        on=on,
        t_state_s=np.where(switched, float(dt_s), state.t_state_s + dt_s),
        starts=state.starts + (switched & on),
    )
    flows = Flows(
        p_mw=p_el,
        q_mvar=p_el * fleet.q_per_p,
        p_th_mw=p_th,
        p_boiler_th_mw=boiler,
        p_heat_demand_mw=demand,
        p_fuel_mw=fuel,
        p_heat_dumped_mw=dumped,
        p_tank_loss_mw=loss_mwh / dt_h,
        co2_kg_per_h=fuel * fleet.co2_kg_per_mwh_fuel,
        p_limit_violation_mw=violation,
        limit_violated=violation != 0,
    )
    return new_state, flows
