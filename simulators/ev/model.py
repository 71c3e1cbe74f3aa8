"""EV charging at home: sessions, power limits, departure targets, V2G; vectorised over all EVs.

Pure physics, never imports mosaik. Sign (pandapower, the charger as a load): ``p_mw > 0``
charges the EV from the grid, ``p_mw < 0`` (V2G) feeds the grid.

Per step ``[t0, t1)`` and EV:

- The EV is plugged in for ``tau_s`` seconds: the overlap of the step with its current session.
  ``p_mw`` is the grid power averaged over the whole step, so an EV that arrives or leaves
  within a step draws ``p * tau_s / dt_s``; absent, it draws nothing whatever its set point.
- At its arrival its state of charge is the session's arrival SoC.
- While plugged in it draws ``p``: the set point ``p_set_mw`` if given (sources summed), else
  its charger's maximum (uncontrolled charging until the target or the departure), within:
    - charging: ``p_charger_max_mw`` and the energy still missing to ``soc_target_frac``
      (the target is also the charge limit);
    - V2G (only if ``v2g``): ``p_discharge_max_mw`` and the floor
      ``max(soc_min_frac * e_max, e_target - p_charger_max * eta_charge * t_left)``, i.e. it
      never discharges below what it could still recharge to the target at full power in the
      ``t_left`` it stays plugged in after this step.
  A charging set point below what the target needs is obeyed: a controller may curtail
  charging (e.g. in an island), and the shortfall at departure counts as unmet energy.
- Storing: ``p * eta_charge * tau_h`` when charging, ``p / eta_discharge * tau_h`` removed when
  discharging; ``p_loss_mw`` closes the balance: ``e(t1) - e(t0) = (p_mw - p_loss_mw) * dt_h``
  (with ``e(t0)`` the arrival energy in an arrival step).
- At its departure the energy missing to the target is added to ``e_unmet_mwh``.
- One session per EV and step is served (choose steps shorter than sessions and the gaps
  between them); a session that came and went within a step already used is skipped, its
  whole need unmet. Sessions under way at the first step start warm (see ``initial_state``).

``bounds`` gives controllers the next step's range: ``p_min_mw`` is the power needed now to
still reach the target by departure at full power later (negative for a V2G EV with slack:
what it may give), ``p_max_mw`` the most it can take.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from cosim.core.units import SECONDS_PER_HOUR
from simulators.arrays import column
from simulators.ev.params import EVParams
from simulators.ev.sessions import SessionTable

ENERGY_TOL_MWH = 1e-12
"""Energy gaps below this are rounding, not a reason to charge or discharge [MWh]."""


@dataclass(frozen=True, eq=False)
class Fleet:
    """The parameters of all EVs as arrays, one entry per EV (in entity order)."""

    e_max_mwh: np.ndarray
    p_charge_max_mw: np.ndarray
    p_discharge_max_mw: np.ndarray
    """0 where the EV has no V2G."""
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    e_target_mwh: np.ndarray
    e_min_mwh: np.ndarray

    @classmethod
    def of(cls, units: Sequence[EVParams]) -> Fleet:
        """Stack the parameters of ``units`` (one per EV)."""

        e_max = column(units, "e_max_mwh")
        v2g = column(units, "v2g", bool)
        return cls(
            e_max_mwh=e_max,
            p_charge_max_mw=column(units, "p_charger_max_mw"),
            p_discharge_max_mw=np.where(v2g, column(units, "p_discharge_max_mw"), 0.0),
            eta_charge=column(units, "eta_charge"),
            eta_discharge=column(units, "eta_discharge"),
            e_target_mwh=column(units, "soc_target_frac") * e_max,
            e_min_mwh=column(units, "soc_min_frac") * e_max,
        )

    @property
    def size(self) -> int:
        """Number of EVs."""
        return int(self.e_max_mwh.size)


class State(NamedTuple):
    """What the EVs remember between steps."""

    e_mwh: np.ndarray
    """Stored energy [MWh]; between sessions the energy at the last departure."""
    k: np.ndarray
    """Index of each EV's current or next session in the session table."""
    started: np.ndarray
    """The session ``k`` has begun (the EV arrived)."""
    e_unmet_mwh: np.ndarray
    """Energy missing to the target at past departures, cumulative [MWh]."""


class StepResult(NamedTuple):
    """One step of all EVs (arrays over EVs)."""

    p_mw: np.ndarray
    """Grid power, mean over the step [MW, > 0 charges]."""
    p_loss_mw: np.ndarray
    """Charging and discharging losses, mean over the step [MW]."""
    connected: np.ndarray
    """Plugged in during (part of) the step."""
    arrived: np.ndarray
    """The session began in this step: the energy was reset to its arrival SoC."""
    departed: np.ndarray
    """The session ended in this step."""
    e_start_mwh: np.ndarray
    """Energy at the start of the step, after an arrival reset [MWh]."""
    e_needed_mwh: np.ndarray
    """Energy still missing to the target at the end of the step; 0 if not connected [MWh]."""
    t_departure_s: np.ndarray
    """Departure of the session of this step; -1 if not connected [s]."""


def initial_state(fleet: Fleet, table: SessionTable, t_s: int) -> State:
    """The state at the first step ``t_s``: sessions that ended before are skipped.

    A session under way at ``t_s`` is assumed to have charged uncontrolled since its arrival
    (a warm start: otherwise every EV that came home the evening before would start charging
    at once at ``t_s``). Until its first arrival an EV reports its target SoC.
    """
    k = (table.departure_t_s <= t_s).sum(axis=1)
    rows = np.arange(fleet.size)
    arr = table.arrival_t_s[rows, k]
    ongoing = arr < t_s
    e_arrival = table.soc_arrival_frac[rows, k] * fleet.e_max_mwh
    hours = np.where(ongoing, t_s - arr, 0) / SECONDS_PER_HOUR
    charged = np.minimum(
        e_arrival + fleet.p_charge_max_mw * fleet.eta_charge * hours, fleet.e_target_mwh
    )
    e = np.where(ongoing, np.maximum(e_arrival, charged), fleet.e_target_mwh)
    return State(e, k, ongoing, np.zeros(fleet.size))


def _limits(
    e_mwh: np.ndarray, tau_h: np.ndarray, left_s: np.ndarray, fleet: Fleet
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p_lo, p_hi, later_mwh)`` while plugged in for ``tau_h`` > 0 hours (see ``bounds``)."""
    gap = fleet.e_target_mwh - e_mwh
    gap = np.where(gap > ENERGY_TOL_MWH, gap, 0.0)
    p_hi = np.minimum(fleet.p_charge_max_mw, gap / (fleet.eta_charge * tau_h))
    later_mwh = fleet.p_charge_max_mw * fleet.eta_charge * (left_s / SECONDS_PER_HOUR)
    spare = e_mwh - np.maximum(fleet.e_min_mwh, fleet.e_target_mwh - later_mwh)
    spare = np.where(spare > ENERGY_TOL_MWH, spare, 0.0)
    p_lo = -np.minimum(fleet.p_discharge_max_mw, spare * fleet.eta_discharge / tau_h)
    return p_lo, p_hi, later_mwh


def bounds(
    e_mwh: np.ndarray, tau_s: np.ndarray, left_s: np.ndarray, fleet: Fleet
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power range of a step in which each EV is plugged in for ``tau_s`` [s].

    ``left_s`` [s] is how long it stays plugged in after the step. Returns ``(p_lo, p_min,
    p_hi)`` [MW] while plugged in: the lowest power allowed (V2G floor, else 0), the power
    needed to still reach the target at full power later (capped at ``p_hi``; ``p_lo`` when
    nothing is needed), and the most it can charge. All 0 where ``tau_s`` is 0.
    """
    plugged = tau_s > 0
    tau_h = np.where(plugged, tau_s, 1.0) / SECONDS_PER_HOUR
    p_lo, p_hi, later_mwh = _limits(e_mwh, tau_h, left_s, fleet)
    need = fleet.e_target_mwh - later_mwh - e_mwh  # to store in this step
    p_need = np.minimum(need / (fleet.eta_charge * tau_h), p_hi)
    p_min = np.where(need > ENERGY_TOL_MWH, p_need, p_lo)
    return (
        np.where(plugged, p_lo, 0.0),
        np.where(plugged, p_min, 0.0),
        np.where(plugged, p_hi, 0.0),
    )


def _skip_missed(state: State, table: SessionTable, t_s: int, fleet: Fleet) -> State:
    """Move past sessions that ended before ``t_s`` without being served (see ``step``)."""
    rows, k, unmet = np.arange(state.k.size), state.k, state.e_unmet_mwh
    while True:
        missed = table.departure_t_s[rows, k] <= t_s  # never started: see step
        if not missed.any():
            return state._replace(k=k, e_unmet_mwh=unmet)
        soc_arr = table.soc_arrival_frac[rows, k]
        need = np.maximum(fleet.e_target_mwh - soc_arr * fleet.e_max_mwh, 0.0)
        unmet = unmet + np.where(missed, need, 0.0)
        k = k + missed


def step(
    state: State,
    table: SessionTable,
    t_s: int,
    dt_s: int,
    p_set_mw: np.ndarray,
    has_set: np.ndarray,
    fleet: Fleet,
) -> tuple[State, StepResult]:
    """Advance all EVs over ``[t_s, t_s + dt_s)``; ``p_set_mw`` applies where ``has_set`` [MW].

    The table must hold every session arriving before ``t_s + dt_s``. One session per EV and
    step is served: a session that came and went within a step already used by an earlier
    session of the same EV is skipped at the next step, its whole need counted as unmet.
    """
    t1 = t_s + dt_s
    rows = np.arange(fleet.size)
    dep = table.departure_t_s[rows, state.k]
    if (dep <= t_s).any():  # a started session moves on at its departure: these never began
        state = _skip_missed(state, table, t_s, fleet)
        dep = table.departure_t_s[rows, state.k]
    arr = table.arrival_t_s[rows, state.k]
    arrived = ~state.started & (arr < t1)
    e0 = np.where(arrived, table.soc_arrival_frac[rows, state.k] * fleet.e_max_mwh, state.e_mwh)
    started = state.started | arrived
    tau_s = np.maximum(np.minimum(dep, t1) - np.maximum(arr, t_s), 0) * started
    p_lo, p_hi, _ = _limits(
        e0, np.maximum(tau_s, 1) / SECONDS_PER_HOUR, np.maximum(dep - t1, 0), fleet
    )
    p = np.minimum(np.maximum(np.where(has_set, p_set_mw, fleet.p_charge_max_mw), p_lo), p_hi)
    stored = np.where(p > 0, p * fleet.eta_charge, p / fleet.eta_discharge) * (
        tau_s / SECONDS_PER_HOUR
    )
    # a clipped power lands on its limit up to rounding: keep the energy inside the limits
    e1 = np.maximum(e0 + stored, np.minimum(e0, fleet.e_min_mwh))
    e1 = np.minimum(e1, np.maximum(e0, fleet.e_target_mwh))
    p_mw = p * (tau_s / dt_s)
    p_loss_mw = p_mw - (e1 - e0) * (SECONDS_PER_HOUR / dt_s)
    departed = started & (dep <= t1)
    unmet = np.where(departed, np.maximum(fleet.e_target_mwh - e1, 0.0), 0.0)
    new = State(e1, state.k + departed, started & ~departed, state.e_unmet_mwh + unmet)
    connected = tau_s > 0
    e_needed = np.where(connected, np.maximum(fleet.e_target_mwh - e1, 0.0), 0.0)
    t_departure = np.where(connected, dep, -1)
    result = StepResult(p_mw, p_loss_mw, connected, arrived, departed, e0, e_needed, t_departure)
    return new, result


def next_bounds(
    state: State, table: SessionTable, t_s: int, dt_s: int, fleet: Fleet
) -> tuple[np.ndarray, np.ndarray]:
    """``(p_min_mw, p_max_mw)`` of the step ``[t_s, t_s + dt_s)`` for EVs already plugged in.

    0 for EVs not plugged in at ``t_s`` (one arriving during that step gets its range after).
    """
    dep = table.departure_t_s[np.arange(fleet.size), state.k]
    t1 = t_s + dt_s
    tau_s = np.maximum(np.minimum(dep, t1) - t_s, 0) * state.started
    _, p_min, p_hi = bounds(state.e_mwh, tau_s, np.maximum(dep - t1, 0), fleet)
    return p_min, p_hi
