"""Household loads whose flexible share can be reduced on request: shifted or curtailed.

Pure physics, never imports mosaik; every function is vectorised over all units.

Sign (pandapower load): ``p_mw > 0`` consumes from the grid; ``q_mvar > 0`` consumes
reactive power (inductive).

One step of ``dt`` for every unit, with base demand ``p_base`` (what the household would use):

1. Reduction: ``p_reduced = clip(p_reduce_mw, 0, flex_share_frac * max(p_base, 0))``; in
   ``shift`` mode also at most the backlog room ``(e_backlog_max - e_backlog) / dt``.
2. Recovery (``shift`` only): a unit not asked to reduce (``p_reduce_mw <= 0``) and allowed to
   recover (``p_recover_allowed``, default True) takes back
   ``min(p_recover_max_mw, e_backlog / dt)`` on top of its base demand.
3. ``p_mw = p_base - p_reduced + p_recovered``; a shifted reduction adds to the backlog, a
   curtailed one is lost (``e_curtailed_mwh``). Cumulatively (to rounding):
   consumed + backlog + curtailed = demanded.
4. ``q_mvar``: the base demand's (input ``q_base_mvar``, else ``p_base * tan(acos(cos_phi))``)
   plus the reduced or recovered power's at ``cos_phi``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from cosim.core.errors import unknown
from cosim.core.units import SECONDS_PER_HOUR
from simulators.arrays import appended
from simulators.checks import check, number

MODES = ("shift", "curtail")


@dataclass(frozen=True)
class Params:
    """Parameters of one flexible household load (defaults: an assumed average household).

    Parameters
    ----------
    flex_share_frac : float
        Share of the demand that can be reduced at any time [-], in [0, 1]. Default 0.1
        (assumption: the order of the wet appliances' and other deferrable loads' share).
    p_recover_max_mw : float
        Fastest recovery of shifted energy [MW], >= 0. Default 0.001 (1 kW, assumption).
    e_backlog_max_mwh : float
        Most energy that can be owed [MWh], >= 0. Default 0.002 (2 kWh, about one washing
        and drying cycle; assumption).
    mode : str
        ``"shift"`` (default: reduced energy is recovered later) or ``"curtail"`` (lost).
    p_base_mw : float
        Base demand used when no ``p_base_mw`` input is connected [MW]. Default 0.
    cos_phi : float
        Power factor (inductive, q > 0) of the base demand when no ``q_base_mvar`` input is
        connected, and of the reduced or recovered power [-], in (0, 1]. Default 0.97.
    """

    flex_share_frac: float = 0.1
    p_recover_max_mw: float = 0.001
    e_backlog_max_mwh: float = 0.002
    mode: str = "shift"
    p_base_mw: float = 0.0
    cos_phi: float = 0.97

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.type == "float":
                number(f.name, getattr(self, f.name))
        check(0 <= self.flex_share_frac <= 1, "flex_share_frac", self.flex_share_frac, "in [0, 1]")
        for name in ("p_recover_max_mw", "e_backlog_max_mwh"):
            check(getattr(self, name) >= 0, name, getattr(self, name), ">= 0")
        check(0 < self.cos_phi <= 1, "cos_phi", self.cos_phi, "in (0, 1]")
        if self.mode not in MODES:
            raise unknown("mode", self.mode, MODES)

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> Params:
        """``Params(**params)``, with an unknown key a ConfigError listing the fields."""
        known = [f.name for f in fields(cls)]
        for key in params:
            if key not in known:
                raise unknown("FlexLoad param", key, known)
        return cls(**params)


@dataclass(frozen=True, eq=False)
class Fleet:
    """Parameters of all units as arrays, shape (n,)."""

    flex_share_frac: np.ndarray
    p_recover_max_mw: np.ndarray
    e_backlog_max_mwh: np.ndarray
    shift: np.ndarray
    p_base_mw: np.ndarray
    q_per_p: np.ndarray

    @classmethod
    def of(cls, groups: Sequence[tuple[Params, int]]) -> Fleet:
        """The arrays of ``count`` units per ``Params``, in order."""

        def col(get: Any, dtype: Any = np.float64) -> np.ndarray:
            return np.concatenate(
                [np.full(n, get(p), dtype=dtype) for p, n in groups] or [np.zeros(0, dtype)]
            )

        return cls(
            flex_share_frac=col(lambda p: p.flex_share_frac),
            p_recover_max_mw=col(lambda p: p.p_recover_max_mw),
            e_backlog_max_mwh=col(lambda p: p.e_backlog_max_mwh),
            shift=col(lambda p: p.mode == "shift", bool),
            p_base_mw=col(lambda p: p.p_base_mw),
            q_per_p=col(lambda p: math.tan(math.acos(p.cos_phi))),
        )


@dataclass(frozen=True, eq=False)
class State:
    """Cumulative energies of all units, shape (n,) [MWh]."""

    e_backlog_mwh: np.ndarray
    e_shifted_mwh: np.ndarray
    e_curtailed_mwh: np.ndarray
    e_demanded_mwh: np.ndarray
    e_consumed_mwh: np.ndarray

    @classmethod
    def initial(cls, n: int) -> State:
        """Nothing owed, shifted, curtailed, demanded or consumed yet."""
        return cls(*(np.zeros(n) for _ in fields(cls)))

    def extended(self, other: State) -> State:
        """This state followed by the units of ``other``."""
        return appended(self, other)


@dataclass(frozen=True, eq=False)
class Flows:
    """Powers of one step, shape (n,) [MW, Mvar]: load sign (> 0 consumes)."""

    p_mw: np.ndarray
    q_mvar: np.ndarray
    p_base_mw: np.ndarray
    p_reduced_mw: np.ndarray
    p_recovered_mw: np.ndarray
    p_flex_available_mw: np.ndarray


def step(
    state: State,
    fleet: Fleet,
    dt_s: float,
    p_base_mw: np.ndarray,
    p_reduce_mw: np.ndarray,
    recover_allowed: np.ndarray,
    q_base_mvar: np.ndarray,
) -> tuple[State, Flows]:
    """Advance all units by ``dt_s`` [s].

    Parameters
    ----------
    state, fleet : State, Fleet
        Units' state and parameters.
    dt_s : float
        Step length [s], > 0.
    p_base_mw : numpy.ndarray
        Demand without flexibility [MW], load sign; only a positive demand is flexible.
    p_reduce_mw : numpy.ndarray
        Requested reduction [MW]; <= 0 means no request.
    recover_allowed : numpy.ndarray
        Whether backlog may be recovered this step (bool).
    q_base_mvar : numpy.ndarray
        Reactive power of the base demand [Mvar], or NaN: then ``p_base_mw * tan(acos(cos_phi))``.
        The reduced or recovered power changes it at ``cos_phi``:
        ``q_mvar = q_base + (p_mw - p_base_mw) * tan(acos(cos_phi))``.

    Returns
    -------
    State, Flows
        The state at the end of the step and the step's powers. ``p_flex_available_mw`` is
        what could be reduced next step if its base demand equals this step's.
    """
    dt_h = dt_s / SECONDS_PER_HOUR
    flexible = fleet.flex_share_frac * np.maximum(p_base_mw, 0.0)
    room = np.maximum(fleet.e_backlog_max_mwh - state.e_backlog_mwh, 0.0) / dt_h
    limit = np.where(fleet.shift, np.minimum(flexible, room), flexible)
    reduced = np.clip(p_reduce_mw, 0.0, limit)
    may_recover = fleet.shift & (p_reduce_mw <= 0) & recover_allowed
    recovered = np.where(
        may_recover, np.minimum(fleet.p_recover_max_mw, state.e_backlog_mwh / dt_h), 0.0
    )
    p_mw = p_base_mw - reduced + recovered
    shifted_mwh = np.where(fleet.shift, reduced, 0.0) * dt_h
    backlog = np.maximum(state.e_backlog_mwh + shifted_mwh - recovered * dt_h, 0.0)
    q_base = np.where(np.isnan(q_base_mvar), p_base_mw * fleet.q_per_p, q_base_mvar)
    q_mvar = q_base + (p_mw - p_base_mw) * fleet.q_per_p
    room_next = np.maximum(fleet.e_backlog_max_mwh - backlog, 0.0) / dt_h
    new_state = State(
        e_backlog_mwh=backlog,
        e_shifted_mwh=state.e_shifted_mwh + shifted_mwh,
        e_curtailed_mwh=state.e_curtailed_mwh + np.where(fleet.shift, 0.0, reduced) * dt_h,
        e_demanded_mwh=state.e_demanded_mwh + p_base_mw * dt_h,
        e_consumed_mwh=state.e_consumed_mwh + p_mw * dt_h,
    )
    flows = Flows(
        p_mw=p_mw,
        q_mvar=q_mvar,
        p_base_mw=p_base_mw,
        p_reduced_mw=reduced,
        p_recovered_mw=recovered,
        p_flex_available_mw=np.where(fleet.shift, np.minimum(flexible, room_next), flexible),
    )
    return new_state, flows
