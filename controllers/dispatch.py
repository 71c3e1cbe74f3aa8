"""The decisions of demand response as pure functions over numpy arrays, no controller state.

:func:`plan` sets every flexible unit for one step under an import limit and a price level,
:func:`price_level` ranks the last price among a window, and :func:`shave_mw` is the small
peak shaver's battery power. ``controllers.demand_response`` wraps them as controllers.

Priority order when the predicted import exceeds the limit (each used only when the previous
is exhausted; within one, units share in proportion to what each can give):

1. EV charging is delayed, down to each EV's ``p_min_mw`` and never below: it costs nothing,
   no energy is lost and the EV still leaves with its energy (``p_min_mw`` is the power that
   still reaches the target by departure at full power later);
2. batteries stop charging, then discharge: stored for this, at the price of conversion
   losses (about 10 % round trip) and cycling;
3. flexible loads stop recovering their backlog, then shift demand into it: residents notice
   (appliances run later), the backlog is capped and must be recovered later;
4. flexible loads of ``curtail`` mode are curtailed: that energy is lost, the last resort.

Headroom under the limit is filled in this order: flexible loads recover their backlog (not in
expensive hours; a unit recovers all it may or nothing), batteries charge (from the
neighbourhood's surplus; from the grid up to ``battery_recharge_frac`` of the limit outside
expensive hours, or up to the limit in cheap hours), and EVs not yet seen plugged in share what
is left: an EV's bounds come one step late, so an EV that arrives during a step draws at most
its share of the headroom. The batteries always get a set point (it overrides a battery's own
mode): with a limit they keep their energy for it and discharge only to hold it; without one
they cover the import (in expensive hours only, with a price signal).

Rebound guard (``cap_mw``): filling headroom (recovery, battery charging, EV charging above
``p_min_mw``, EVs that may arrive) never lifts the predicted import above ``cap_mw``. Without
it, price-following demand response stacks the EVs, batteries and backlog of the whole
neighbourhood onto the first cheap hours: a rebound peak above the uncontrolled one. What the
units must draw (EVs' ``p_min_mw``) still may.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHEAP, NEUTRAL, EXPENSIVE = -1, 0, 1
"""Price levels of :func:`price_level`."""
FLEX_MODES = ("shift", "curtail")


@dataclass(frozen=True, eq=False)
class Flexibility:
    """What the controlled units can do in one step; arrays over units [MW].

    ``p_fixed_mw`` is the predicted import without the controlled units' flexibility:
    uncontrolled demand - generation + the flexible loads' base demand + the loss estimate.
    EVs: ``ev_lo_mw``..``ev_hi_mw`` while plugged in (``p_min_mw``, ``p_max_mw``), and
    ``ev_plugged_frac`` the share of the step they are plugged in (0: not seen plugged in).
    Flexible loads: ``flex_cap_mw`` the most each can reduce, ``flex_recover_mw`` what each
    recovers if allowed, ``flex_shift`` True for shift, False for curtail units.
    """

    p_fixed_mw: float
    battery_charge_mw: np.ndarray
    battery_discharge_mw: np.ndarray
    ev_lo_mw: np.ndarray
    ev_hi_mw: np.ndarray
    ev_plugged_frac: np.ndarray
    flex_cap_mw: np.ndarray
    flex_recover_mw: np.ndarray
    flex_shift: np.ndarray


@dataclass(frozen=True, eq=False)
class Plan:
    """Set points of one step and the import they lead to [MW].

    ``ev_p_mw`` holds the set point of every EV: for one not seen plugged in its share of the
    headroom (NaN without a limit: no set point, it charges at full power on arrival).
    """

    battery_p_mw: np.ndarray
    ev_p_mw: np.ndarray
    flex_reduce_mw: np.ndarray
    flex_recover: np.ndarray
    p_import_mw: float
    """Predicted import, without EVs that arrive during the step."""
    p_import_min_mw: float
    """The least import the flexibility allows in this step."""


def take(amount_mw: float, room_mw: np.ndarray) -> np.ndarray:
    """Up to ``amount_mw`` from units in proportion to their ``room_mw`` (>= 0) [MW]."""
    total = room_mw.sum()
    if amount_mw <= 0 or total <= 0:
        return np.zeros_like(room_mw)
    return room_mw * (min(amount_mw, total) / total)


def plan(
    f: Flexibility,
    limit_mw: float = math.inf,
    level: int | None = None,
    recharge_frac: float = 0.8,
    cap_mw: float = math.inf,
) -> Plan:
    """Set points for one step: the limit in priority order, then the headroom (module doc).

    Parameters
    ----------
    f : Flexibility
        What the units can do [MW].
    limit_mw : float
        Import limit [MW]; ``inf``: none.
    level : int or None
        ``CHEAP``, ``NEUTRAL`` or ``EXPENSIVE``; None without a price signal.
    recharge_frac : float
        Batteries recharge from the grid up to this fraction of a finite limit [-].
    cap_mw : float
        Rebound guard: filling headroom never lifts the import above it [MW]; ``inf``: none.
    """
    w = f.ev_plugged_frac
    seen = w > 0
    lo = np.where(seen, np.maximum(f.ev_lo_mw, 0.0), 0.0)
    hi = np.where(seen, np.maximum(f.ev_hi_mw, lo), 0.0)
    expensive = level == EXPENSIVE
    ev = hi if level in (None, CHEAP) else lo
    reduce = np.where(f.flex_shift & expensive, f.flex_cap_mw, 0.0)
    p_min = float(f.p_fixed_mw + w @ lo - f.battery_discharge_mw.sum() - f.flex_cap_mw.sum())
    battery = 0.0  # fleet total [MW, storage sign]
    excess = f.p_fixed_mw + w @ ev - reduce.sum() - limit_mw
    if excess > 0:  # the priority order
        cut = take(excess, w * (ev - lo))
        ev = ev - np.divide(cut, w, out=np.zeros_like(cut), where=seen)
        excess -= cut.sum()
        battery = -min(max(excess, 0.0), f.battery_discharge_mw.sum())
        excess += battery
        for units in (f.flex_shift, ~f.flex_shift):
            more = take(excess, np.where(units, f.flex_cap_mw - reduce, 0.0))
            reduce = reduce + more
            excess -= more.sum()
    top_mw = min(limit_mw, cap_mw)  # what headroom filling may reach
    over = f.p_fixed_mw + w @ ev - reduce.sum() + battery - cap_mw
    if over > 0:  # the rebound guard holds EVs back towards p_min
        cut = take(over, w * (ev - lo))
        ev = ev - np.divide(cut, w, out=np.zeros_like(cut), where=seen)
    net = float(f.p_fixed_mw + w @ ev - reduce.sum() + battery)
    recover = np.zeros(f.flex_recover_mw.shape, dtype=bool)
    if not expensive:  # headroom 1: backlog, each unit all or nothing
        room = top_mw - net
        for i in np.flatnonzero((reduce <= 0) & (f.flex_recover_mw > 0)):
            if f.flex_recover_mw[i] <= room:
                recover[i] = True
                room -= f.flex_recover_mw[i]
        net += float(f.flex_recover_mw[recover].sum())
    without = net - battery  # import without batteries
    if battery == 0.0:  # headroom 2: batteries charge
        want = max(-without, 0.0)
        if level == CHEAP:
            want = math.inf
        elif math.isfinite(limit_mw) and not expensive:
            want = max(want, recharge_frac * limit_mw - without)
        battery = max(min(want, f.battery_charge_mw.sum(), top_mw - without), 0.0)
    if battery == 0.0 and math.isinf(limit_mw) and level in (None, EXPENSIVE):
        battery = -min(f.battery_discharge_mw.sum(), max(without, 0.0))  # cover the import
    net = without + battery
    charge = take(battery, f.battery_charge_mw)
    discharge = take(-battery, f.battery_discharge_mw)
    unseen = ~seen
    if math.isfinite(top_mw):  # headroom 3: EVs that may arrive
        share = max(top_mw - net, 0.0) / max(int(unseen.sum()), 1)
        ev = np.where(unseen, share, ev)
    else:
        ev = np.where(unseen, np.nan, ev)
    return Plan(charge - discharge, ev, reduce, recover, net, p_min)


def price_level(
    window_eur_per_mwh: np.ndarray, cheap_quantile: float, expensive_quantile: float
) -> int:
    """``CHEAP``, ``NEUTRAL`` or ``EXPENSIVE``: the last price of the window among all of it.

    Cheap: at or below the ``cheap_quantile`` of the window and below its ``expensive_quantile``;
    expensive: at or above the ``expensive_quantile`` and above the ``cheap_quantile``
    (quantiles with numpy's linear interpolation) [EUR/MWh, -].
    """
    price = float(window_eur_per_mwh[-1])
    lo, hi = np.quantile(window_eur_per_mwh, [cheap_quantile, expensive_quantile])
    if lo >= price < hi:
        return CHEAP
    if hi <= price > lo:
        return EXPENSIVE
    return NEUTRAL


def shave_mw(
    p_import_mw: float,
    p_battery_mw: float,
    p_charge_mw: float,
    p_discharge_mw: float,
    limit_mw: float,
    holding: bool,
) -> float | None:
    """``PeakShaving``'s battery fleet power for the next step [MW, storage sign]; None: release.

    The fleet takes the power that would have kept this step's import at the limit,
    ``p_battery_mw - (p_import_mw - limit_mw)``, within ``-p_discharge_mw..p_charge_mw``: while
    the import exceeds the limit, and while the batteries hold it down (``holding``, the last
    decision was not None) and still have to discharge.
    """
    want = p_battery_mw - (p_import_mw - limit_mw)
    if p_import_mw > limit_mw or (holding and want < 0):
        return min(max(want, -p_discharge_mw), p_charge_mw)
    return None
