"""Virtual power plant: a fleet of units dispatched as one resource along a set-point schedule.

``Vpp`` (default timing: it sees step t, its set points apply from t + step) aggregates any
batteries, EVs, PV systems (curtailment), power-led CHP units and flexible loads. Each step:

1. it computes every unit's range for the next step and the fleet's **flexibility envelope**
   ``p_env_min_mw..p_env_max_mw`` (:mod:`controllers.flexibility`), in injection sign (> 0
   delivers to the grid). An EV counts while plugged in for all of the next step; one that
   arrives or leaves within it follows its own rule (charging on arrival) for that step;
2. it reads the request for the next step from the **schedule**, a CSV of ``t_s`` [s since the
   run's start] and ``p_mw`` [MW] held until the next row; an empty ``p_mw`` means no request
   (every unit is released to its own mode). ``target="fleet"``: ``p_mw`` is the fleet's
   injection; ``target="pcc"``: ``p_mw`` is the import at ``pcc`` (ext_grid sign, > 0 imports),
   turned into a fleet target as the fleet's last injection plus the last import minus the
   request (the rest of the grid is assumed to stay as measured);
3. it clips the target to the envelope (the difference is the **shortfall**), splits it over
   the units (:func:`controllers.flexibility.allocate`) and, with ``grid_aware``, moves the
   split so that every bus of ``buses`` stays inside ``v_band_pu`` and every branch of
   ``branches`` under ``loading_max_percent`` by the linear estimate of
   :func:`controllers.flexibility.grid_limit` (sensitivities given once, e.g. computed by the
   scenario from the net). What the grid then keeps the fleet from delivering is
   ``p_grid_limited_mw``.

Reports (of step t unless said): ``p_requested_mw`` (the schedule at t, in the schedule's
sign), ``p_delivered_mw`` (the fleet's injection measured at t; at the PCC with ``pcc``),
``p_set_mw`` (the fleet injection set for t + step), ``p_env_min_mw``/``p_env_max_mw`` (the
envelope for t + step), ``p_flex_up_mw``/``p_flex_down_mw`` (how much more or less than
``p_set_mw`` the envelope still allows), ``p_shortfall_mw`` (requested fleet target minus the
envelope's nearest point, > 0: the fleet cannot give enough) and ``p_grid_limited_mw`` (envelope
target minus the grid-limited set point).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from controllers import flexibility as fx
from controllers.base import Controller, Measurements, Point, SetPoints, check_ids, columns
from cosim.core.errors import ConfigError
from cosim.core.simapi import DEFAULT_STEP_S

TARGETS = ("fleet", "pcc")


def read_schedule(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, p_mw)`` of a schedule CSV, sorted by time; NaN ``p_mw``: no request."""
    if not Path(path).is_file():
        raise ConfigError(f"schedule={str(path)!r}: no such file")
    table = pd.read_csv(path)
    missing = {"t_s", "p_mw"} - set(table.columns)
    if missing:
        raise ConfigError(f"schedule={str(path)!r} lacks column(s) {sorted(missing)}")
    t_s = table["t_s"].to_numpy(dtype=np.float64)
    p_mw = pd.to_numeric(table["p_mw"], errors="coerce").to_numpy(dtype=np.float64)
    if len(t_s) == 0 or not np.isfinite(t_s).all() or (np.diff(t_s) <= 0).any():
        raise ConfigError(f"schedule={str(path)!r}: t_s must be finite and strictly increasing")
    return t_s, p_mw


def request_at(t_s: float, times_s: np.ndarray, p_mw: np.ndarray) -> float:
    """The schedule's request at ``t_s`` (the last row at or before it; NaN: none) [MW]."""
    i = int(np.searchsorted(times_s, t_s, side="right")) - 1
    return math.nan if i < 0 else float(p_mw[i])


@dataclass
class Vpp(Controller):
    """A virtual power plant following a schedule (module docstring); signs are pandapower's.

    Parameters
    ----------
    schedule : str
        CSV file with ``t_s`` [s] and ``p_mw`` [MW] (module docstring).
    schedule_scale : float
        Factor on every request of the schedule [-], > 0.
    target : str
        ``fleet`` (the schedule is the fleet's injection) or ``pcc`` (the import at ``pcc``).
    pcc : str
        The ext_grid entity (``p_mw`` > 0 imports); observed when given, needed for ``pcc``.
    batteries, evs, pv, chp, flexloads : list of str
        The units the plant dispatches (battery and EV storage sign, PV and CHP sgen sign,
        flexible loads load sign). CHP units must run ``power_led``.
    grid_aware : bool
        Keep ``buses`` in ``v_band_pu`` and ``branches`` under ``loading_max_percent``.
    buses, branches : list of str
        Bus entities (``vm_pu``) and line/trafo entities (``loading_percent``) it watches.
    sens_vm_pu_per_mw, sens_loading_percent_per_mw : list of list of float
        Per bus (branch), the change of its voltage [pu] (loading [%]) per MW injected by each
        unit, units in the order batteries, evs, pv, chp, flexloads.
    v_band_pu : list of float
        ``[v_min, v_max]`` [pu].
    loading_max_percent : float
        Loading limit of lines and trafos [%], > 0.
    step_s : int
        The run's step [s], given by the controller host.
    """

    schedule: str = ""
    schedule_scale: float = 1.0
    target: str = "fleet"
    pcc: str = ""
    batteries: list[str] = field(default_factory=list)
    evs: list[str] = field(default_factory=list)
    pv: list[str] = field(default_factory=list)
    chp: list[str] = field(default_factory=list)
    flexloads: list[str] = field(default_factory=list)
    grid_aware: bool = False
    buses: list[str] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    sens_vm_pu_per_mw: list[list[float]] = field(default_factory=list)
    sens_loading_percent_per_mw: list[list[float]] = field(default_factory=list)
    v_band_pu: list[float] = field(default_factory=lambda: [0.95, 1.05])
    loading_max_percent: float = 100.0
    step_s: int = DEFAULT_STEP_S
    reports = (
        "p_requested_mw",
        "p_delivered_mw",
        "p_set_mw",
        "p_env_min_mw",
        "p_env_max_mw",
        "p_flex_up_mw",
        "p_flex_down_mw",
        "p_shortfall_mw",
        "p_grid_limited_mw",
    )

    def __post_init__(self) -> None:
        for name in ("batteries", "evs", "pv", "chp", "flexloads", "buses", "branches"):
            check_ids(name, getattr(self, name))
        if self.target not in TARGETS:
            raise ConfigError(f"target={self.target!r} must be one of {TARGETS}")
        if self.target == "pcc" and not self.pcc:
            raise ConfigError("target='pcc' needs pcc, the ext_grid entity's full id")
        if not self.schedule:
            raise ConfigError("schedule='' : give a CSV file of t_s [s] and p_mw [MW]")
        scale = self.schedule_scale
        if isinstance(scale, bool) or not (isinstance(scale, int | float) and 0 < scale < math.inf):
            raise ConfigError(f"schedule_scale={scale!r} must be > 0 and finite")
        self._times_s, p_mw = read_schedule(self.schedule)
        self._p_mw = p_mw * float(scale)
        if not isinstance(self.grid_aware, bool):
            raise ConfigError(f"grid_aware={self.grid_aware!r} must be true or false")
        band = self.v_band_pu
        if not (isinstance(band, list | tuple) and len(band) == 2 and 0 < band[0] < band[1]):
            raise ConfigError(f"v_band_pu={band!r} must be [v_min, v_max] with 0 < v_min < v_max")
        if not (isinstance(self.loading_max_percent, int | float) and self.loading_max_percent > 0):
            raise ConfigError(f"loading_max_percent={self.loading_max_percent!r} must be > 0 [%]")
        n = sum(len(getattr(self, k)) for k in ("batteries", "evs", "pv", "chp", "flexloads"))
        if n == 0:
            raise ConfigError("vpp: no units; give batteries, evs, pv, chp or flexloads")
        self._sv = self._matrix("sens_vm_pu_per_mw", self.buses, n)
        self._sl = self._matrix("sens_loading_percent_per_mw", self.branches, n)
        self._report: dict[str, Any] = dict.fromkeys(self.reports)
        self._plugged = np.zeros(len(self.evs), dtype=bool)

    def _matrix(self, name: str, rows: list[str], n: int) -> np.ndarray:
        value = np.asarray(getattr(self, name), dtype=np.float64)
        if not rows and value.size == 0:
            return np.zeros((0, n))
        if value.shape != (len(rows), n) or not np.isfinite(value).all():
            raise ConfigError(
                f"{name} has shape {value.shape}; it must be finite, one row per entity of "
                f"its list ({len(rows)}) and one column per unit ({n})"
            )
        return value

    def observes(self) -> list[Point]:
        units = (
            (self.batteries, ("p_mw", "p_available_charge_mw", "p_available_discharge_mw")),
            (self.evs, ("p_mw", "p_min_mw", "p_max_mw", "connected", "t_departure_s")),
            (self.pv, ("p_mw", "p_available_mw")),
            (self.chp, ("p_mw", "p_available_mw", "p_min_mw")),
            (self.flexloads, ("p_flex_available_mw", "p_reduced_mw", "p_recovered_mw")),
            (self.buses, ("vm_pu",)),
            (self.branches, ("loading_percent",)),
        )
        points = [(e, a) for ids, attrs in units for e in ids for a in attrs]
        return points + ([(self.pcc, "p_mw")] if self.pcc else [])

    def sets(self) -> dict[Point, Any]:
        points = [(e, "p_set_mw") for e in (*self.batteries, *self.evs, *self.chp)]
        points += [(e, "p_max_mw") for e in self.pv]
        points += [(e, a) for e in self.flexloads for a in ("p_reduce_mw", "p_recover_allowed")]
        return dict.fromkeys(points)

    def _ranges(self, t_s: int, seen: Measurements) -> tuple[fx.Ranges, np.ndarray]:
        """The units' ranges for the next step and their injection measured now [MW]."""
        bat_p, charge, discharge = columns(
            seen, self.batteries, "p_mw", "p_available_charge_mw", "p_available_discharge_mw"
        )
        ev_p, p_min, p_max, connected, departure = columns(
            seen, self.evs, "p_mw", "p_min_mw", "p_max_mw", "connected", "t_departure_s"
        )
        pv_p, pv_avail = columns(seen, self.pv, "p_mw", "p_available_mw")
        chp_p, chp_avail, chp_min = columns(seen, self.chp, "p_mw", "p_available_mw", "p_min_mw")
        flex_avail, reduced, recovered = columns(
            seen, self.flexloads, "p_flex_available_mw", "p_reduced_mw", "p_recovered_mw"
        )
        plugged = (connected > 0) & (departure > t_s + self.step_s)  # all of the next step
        self._plugged = plugged
        ranges = fx.join(
            fx.battery_range(charge, discharge),
            fx.ev_range(p_min, p_max, plugged),
            fx.pv_range(pv_avail),
            fx.chp_range(chp_avail, chp_min),
            fx.flex_range(flex_avail),
        )
        now = np.concatenate([-bat_p, -ev_p, pv_p, chp_p, reduced - recovered])
        return ranges, now

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        r, now = self._ranges(t_s, seen)
        p_pcc = float(seen[self.pcc]["p_mw"] or 0.0) if self.pcc else math.nan
        rep = self._report
        rep["p_requested_mw"] = _none(request_at(t_s, self._times_s, self._p_mw))
        rep["p_delivered_mw"] = p_pcc if self.target == "pcc" else float(now.sum())
        lo, hi = fx.envelope(r)
        rep["p_env_min_mw"], rep["p_env_max_mw"] = lo, hi
        want = request_at(t_s + self.step_s, self._times_s, self._p_mw)
        if math.isnan(want):
            for k in ("p_set_mw", "p_flex_up_mw", "p_flex_down_mw"):
                rep[k] = None
            rep["p_shortfall_mw"] = rep["p_grid_limited_mw"] = 0.0
            return {entity: dict.fromkeys(attrs) for entity, attrs in self._by_entity().items()}
        fleet = want if self.target == "fleet" else float(now.sum()) + p_pcc - want
        held = min(max(fleet, lo), hi)
        p = fx.allocate(held, r)
        limited = 0.0
        if self.grid_aware:
            vm = columns(seen, self.buses, "vm_pu")[0]
            loading = columns(seen, self.branches, "loading_percent")[0]
            band = (float(self.v_band_pu[0]), float(self.v_band_pu[1]))
            live = vm > 0  # a de-energised bus (0) or one not yet measured holds no limit
            p, _ = fx.grid_limit(
                p, r, now, vm[live], self._sv[live], loading, self._sl, band,
                float(self.loading_max_percent),
            )  # fmt: skip
            limited = held - float(p.sum())
        total = float(p.sum())
        rep.update(
            p_set_mw=total,
            p_flex_up_mw=hi - total,
            p_flex_down_mw=total - lo,
            p_shortfall_mw=fleet - held,
            p_grid_limited_mw=limited,
        )
        return self._set_points(p, r)

    def _by_entity(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for entity, attr in self.sets():
            out.setdefault(entity, []).append(attr)
        return out

    def _set_points(self, p: np.ndarray, r: fx.Ranges) -> SetPoints:
        """Unit set points in each unit's own sign from the injections ``p`` [MW]."""
        counts = [len(self.batteries), len(self.evs), len(self.pv), len(self.chp)]
        bat, ev, pv, chp, flex = np.split(p, np.cumsum(counts))
        pv_hi = np.split(r.hi, np.cumsum(counts))[2]
        out: SetPoints = {}
        for e, v in zip(self.batteries, (-bat).tolist(), strict=True):
            out[e] = {"p_set_mw": v}
        for e, v, plugged in zip(self.evs, (-ev).tolist(), self._plugged.tolist(), strict=True):
            out[e] = {"p_set_mw": v if plugged else None}  # else: its own rule
        for e, v, full in zip(self.pv, pv.tolist(), (pv >= pv_hi).tolist(), strict=True):
            out[e] = {"p_max_mw": None if full else v}  # no curtailment: released
        for e, v in zip(self.chp, chp.tolist(), strict=True):
            out[e] = {"p_set_mw": v}
        for e, v in zip(self.flexloads, flex.tolist(), strict=True):
            out[e] = {"p_reduce_mw": v, "p_recover_allowed": False}  # recovery: no request
        return out

    def report(self) -> dict[str, Any]:
        return dict(self._report)


def _none(value: float) -> float | None:
    return None if math.isnan(value) else value
