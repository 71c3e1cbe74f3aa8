"""Stationary batteries: energy, power and SoC limits, conversion losses, self-discharge.

Pure physics, vectorised over all batteries of a simulator; never imports mosaik.

Sign (pandapower storage): ``p_mw > 0`` charges from the grid, ``p_mw < 0`` discharges into it.
All powers are grid-side averages over one step [MW]; energies are stored energy [MWh].

Energy bookkeeping over a step of ``dt_h`` hours, in this order:

1. self-discharge takes ``e * (1 - (1 - r) ** (dt_s / 86400))`` (``r`` = fraction per day),
   so that a day of any step size loses exactly the fraction ``r`` [1]_;
2. the grid power ``p`` stores ``p * eta_charge * dt_h`` when charging and removes
   ``-p / eta_discharge * dt_h`` when discharging;
3. ``p_loss_mw`` is what the step lost (conversion + self-discharge), so that exactly
   ``e(t + dt) - e(t) = (p_mw - p_loss_mw) * dt_h``.

A battery follows its requested power within its power limits and within the energy it may
store or give before reaching ``soc_max_frac`` or ``soc_min_frac`` (self-discharge alone may take
it below ``soc_min_frac``: a resting cell keeps losing charge, and nothing recharges it from the
grid for that). A grid-forming battery that the grid's power flow uses as an island's slack takes
exactly the power the grid assigns (``p_slack_mw``), whatever its limits: the island's loads draw
it physically. Its energy stays true even beyond the limits (``soc_frac`` may leave
``[soc_min_frac, soc_max_frac]``, and even ``[0, 1]``: in reality the inverter would trip and
the island black out), and ``limit_violated`` reports every step whose power exceeded what the
battery's own limits allowed.

References
----------
.. [1] Battery University, "BU-802b: What does Elevated Self-discharge Do?": Li-ion cells lose
   about 5 % in the first 24 h after a charge, then 1-2 % per month (a protection circuit adds
   about 3 % per month). The default 0.0005/day (1.5 %/month) is the cells' monthly figure;
   it leaves out the first-day drop and the standby power of the inverter and BMS.
.. [2] Tesla, "Powerwall 2 AC datasheet" (2019): 13.5 kWh usable, 5 kW continuous (0.37 C),
   90 % round-trip efficiency, i.e. about 0.95 each way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from cosim.core.errors import ConfigError
from cosim.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from simulators.arrays import column
from simulators.checks import boolean, number

MODES = ("set_point", "self_consumption")
"""``set_point``: follow ``p_set_mw``. ``self_consumption``: charge the local surplus
``p_gen_mw - p_load_mw`` and discharge the deficit, unless ``p_set_mw`` is given."""

DEFAULT_C_RATE_PER_H = 0.5
"""Default power limits as a fraction of ``e_max_mwh`` per hour [1/h]: between home batteries
(about 0.4 C, [2]_) and utility-scale batteries (1-4 h of storage, 0.25-1 C)."""

ENERGY_TOL_MWH = 1e-12
"""Rounding allowance when comparing energies and powers [MWh, MW]."""


@dataclass(frozen=True)
class BatteryParams:
    """One battery type. Sign (pandapower storage): ``p_mw > 0`` charges.

    Parameters
    ----------
    e_max_mwh : float
        Usable capacity, > 0 [MWh].
    p_charge_max_mw, p_discharge_max_mw : float or None
        Power limits at the grid connection, > 0 [MW]; None: ``DEFAULT_C_RATE_PER_H *
        e_max_mwh`` (0.5 C).
    eta_charge, eta_discharge : float
        Conversion efficiencies in (0, 1] [-]; default 0.95 each (90 % round trip, [2]_).
    soc_min_frac, soc_max_frac : float
        Operating window of the state of charge, ``0 <= min < max <= 1`` [-].
    soc_init_frac : float
        State of charge at t_s = 0, within the window [-].
    self_discharge_per_day_frac : float
        Fraction of the stored energy lost per day at rest, in [0, 1) [1/day]; default 0.0005
        (1.5 %/month, [1]_).
    grid_forming : bool
        The battery may be an island's slack: it then takes the power ``p_slack_mw``.
    mode : str
        ``"set_point"`` (default) or ``"self_consumption"``, see ``MODES``.
    """

    e_max_mwh: float
    p_charge_max_mw: float | None = None
    p_discharge_max_mw: float | None = None
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    soc_min_frac: float = 0.0
    soc_max_frac: float = 1.0
    soc_init_frac: float = 0.5
    self_discharge_per_day_frac: float = 0.0005
    grid_forming: bool = False
    mode: str = "set_point"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        e_max = number("e_max_mwh", self.e_max_mwh)
        if e_max <= 0:
            raise ConfigError(f"e_max_mwh={self.e_max_mwh!r} must be > 0 [MWh]")
        set_(self, "e_max_mwh", e_max)
        for name in ("p_charge_max_mw", "p_discharge_max_mw"):
            value = getattr(self, name)
            p_max = DEFAULT_C_RATE_PER_H * e_max if value is None else number(name, value)
            if p_max <= 0:
                raise ConfigError(f"{name}={value!r} must be > 0 [MW]")
            set_(self, name, p_max)
        for name in ("eta_charge", "eta_discharge"):
            eta = number(name, getattr(self, name))
            if not 0 < eta <= 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be in (0, 1]")
            set_(self, name, eta)
        lo = number("soc_min_frac", self.soc_min_frac)
        hi = number("soc_max_frac", self.soc_max_frac)
        if not 0 <= lo < hi <= 1:
            raise ConfigError(
                f"soc_min_frac={self.soc_min_frac!r} and soc_max_frac={self.soc_max_frac!r} "
                "must satisfy 0 <= soc_min_frac < soc_max_frac <= 1"
            )
        init = number("soc_init_frac", self.soc_init_frac)
        if not lo <= init <= hi:
            raise ConfigError(
                f"soc_init_frac={self.soc_init_frac!r} must be within "
                f"[soc_min_frac, soc_max_frac] = [{lo}, {hi}]"
            )
        rate = number("self_discharge_per_day_frac", self.self_discharge_per_day_frac)
        if not 0 <= rate < 1:
            raise ConfigError(
                f"self_discharge_per_day_frac={self.self_discharge_per_day_frac!r} "
                "must be in [0, 1) [1/day]"
            )
        grid_forming = boolean("grid_forming", self.grid_forming)
        if self.mode not in MODES:
            raise ConfigError(f"mode={self.mode!r} is unknown; known: {', '.join(MODES)}")
        for name, value in (("soc_min_frac", lo), ("soc_max_frac", hi), ("soc_init_frac", init)):
            set_(self, name, value)
        set_(self, "self_discharge_per_day_frac", rate)
        set_(self, "grid_forming", grid_forming)

    @classmethod
    def from_kwargs(cls, params: dict[str, Any]) -> BatteryParams:
        """Build from keyword params; an unknown key is a ConfigError listing the fields."""
        known = [f.name for f in fields(cls)]
        for key in params:
            if key not in known:
                raise ConfigError(
                    f"Battery param {key!r} is unknown; known: {', '.join(sorted(known))}"
                )
        if "e_max_mwh" not in params:
            raise ConfigError("Battery param 'e_max_mwh' is required (usable capacity [MWh])")
        return cls(**params)


@dataclass(frozen=True, eq=False)
class Fleet:
    """The parameters of all batteries of a simulator as arrays, one entry per battery."""

    e_max_mwh: np.ndarray
    p_charge_max_mw: np.ndarray
    p_discharge_max_mw: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    e_lo_mwh: np.ndarray
    e_hi_mwh: np.ndarray
    self_discharge_per_day_frac: np.ndarray
    grid_forming: np.ndarray
    self_consumption: np.ndarray

    @classmethod
    def of(cls, units: Sequence[BatteryParams]) -> Fleet:
        """Stack the parameters of ``units`` (one per battery, in entity order)."""

        e_max = column(units, "e_max_mwh")
        return cls(
            e_max_mwh=e_max,
            p_charge_max_mw=column(units, "p_charge_max_mw"),
            p_discharge_max_mw=column(units, "p_discharge_max_mw"),
            eta_charge=column(units, "eta_charge"),
            eta_discharge=column(units, "eta_discharge"),
            e_lo_mwh=column(units, "soc_min_frac") * e_max,
            e_hi_mwh=column(units, "soc_max_frac") * e_max,
            self_discharge_per_day_frac=column(units, "self_discharge_per_day_frac"),
            grid_forming=column(units, "grid_forming", bool),
            self_consumption=np.array([u.mode == "self_consumption" for u in units], dtype=bool),
        )

    @property
    def size(self) -> int:
        """Number of batteries."""
        return int(self.e_max_mwh.size)


def initial_energy(units: Sequence[BatteryParams]) -> np.ndarray:
    """Stored energy at t_s = 0 [MWh]."""
    return np.array([u.soc_init_frac * u.e_max_mwh for u in units], dtype=np.float64)


def self_discharge_mwh(e_mwh: np.ndarray, dt_s: float, fleet: Fleet) -> np.ndarray:
    """Energy lost to self-discharge over ``dt_s`` [s] from the stored energy ``e_mwh`` [MWh].

    Exponential decay: a day loses the fraction ``self_discharge_per_day_frac`` whatever the step.
    Negative energy (after a forced island slack) does not self-discharge.
    """
    keep = (1.0 - fleet.self_discharge_per_day_frac) ** (dt_s / SECONDS_PER_DAY)
    return np.maximum(e_mwh, 0.0) * (1.0 - keep)


def power_limits(e_mwh: np.ndarray, dt_s: float, fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    """The most a step of ``dt_s`` [s] can charge and discharge from ``e_mwh`` [MW, >= 0].

    ``e_mwh`` is the energy after this step's self-discharge. Charging stops at ``soc_max_frac``,
    discharging at ``soc_min_frac`` (both counted at the cells: grid power times efficiency).
    """
    dt_h = dt_s / SECONDS_PER_HOUR
    room_mwh = np.maximum(fleet.e_hi_mwh - e_mwh, 0.0)
    usable_mwh = np.maximum(e_mwh - fleet.e_lo_mwh, 0.0)
    p_charge = np.minimum(fleet.p_charge_max_mw, room_mwh / (fleet.eta_charge * dt_h))
    p_discharge = np.minimum(fleet.p_discharge_max_mw, usable_mwh * fleet.eta_discharge / dt_h)
    return p_charge, p_discharge


def available_power(e_mwh: np.ndarray, dt_s: float, fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    """What the next step of ``dt_s`` [s] can charge and discharge, from ``e_mwh`` now [MW].

    Includes the next step's self-discharge, so a request within these limits is followed
    exactly.
    """
    return power_limits(e_mwh - self_discharge_mwh(e_mwh, dt_s, fleet), dt_s, fleet)


def requested_power(
    fleet: Fleet,
    p_set_mw: np.ndarray,
    has_set: np.ndarray,
    p_load_mw: np.ndarray,
    p_gen_mw: np.ndarray,
) -> np.ndarray:
    """The power each battery's own control asks for this step [MW, storage sign].

    ``p_set_mw`` wherever ``has_set``; else, in mode ``self_consumption``, the local surplus
    ``p_gen_mw - p_load_mw`` (``p_load_mw`` in load sign, ``p_gen_mw`` in sgen sign, both > 0
    for consumption and generation); else 0.
    """
    own = np.where(fleet.self_consumption, p_gen_mw - p_load_mw, 0.0)
    return np.where(has_set, p_set_mw, own)


class StepResult(NamedTuple):
    """One step of all batteries."""

    e_mwh: np.ndarray
    """Stored energy at the end of the step [MWh]."""
    p_mw: np.ndarray
    """Delivered grid power, average over the step [MW, storage sign]."""
    p_loss_mw: np.ndarray
    """Conversion and self-discharge losses, average over the step [MW, >= 0]."""
    limit_violated: np.ndarray
    """The power exceeded the battery's own power or SoC limits (only ever a forced slack)."""


def step(
    e_mwh: np.ndarray,
    p_request_mw: np.ndarray,
    p_slack_mw: np.ndarray,
    dt_s: float,
    fleet: Fleet,
) -> StepResult:
    """Advance all batteries by ``dt_s`` [s] from stored energy ``e_mwh`` [MWh].

    ``p_request_mw`` is followed within the power and SoC limits; where ``p_slack_mw`` is not
    NaN, the battery takes exactly that power (island slack) [MW, storage sign].
    """
    dt_h = dt_s / SECONDS_PER_HOUR
    e_rest = e_mwh - self_discharge_mwh(e_mwh, dt_s, fleet)
    p_charge, p_discharge = power_limits(e_rest, dt_s, fleet)
    forced = ~np.isnan(p_slack_mw)
    p_mw = np.where(
        forced, p_slack_mw, np.minimum(np.maximum(p_request_mw, -p_discharge), p_charge)
    )
    stored_mwh = np.where(p_mw > 0, p_mw * fleet.eta_charge, p_mw / fleet.eta_discharge) * dt_h
    e_new = e_rest + stored_mwh
    # a clipped request lands on its limit up to rounding: keep it inside the window
    lo = np.minimum(fleet.e_lo_mwh, e_rest)
    hi = np.maximum(fleet.e_hi_mwh, e_rest)
    e_new = np.where(forced, e_new, np.minimum(np.maximum(e_new, lo), hi))
    p_loss_mw = p_mw - (e_new - e_mwh) / dt_h
    tol = ENERGY_TOL_MWH + 1e-9 * np.abs(p_mw)
    violated = forced & ((p_mw > p_charge + tol) | (p_mw < -p_discharge - tol))
    return StepResult(e_new, p_mw, p_loss_mw, violated)
