"""A virtual power plant's decisions as pure functions over numpy arrays, no controller state.

Every power here is in **injection sign** (an sgen's: ``> 0`` delivers to the grid) [MW], so a
battery, an EV, a PV system, a CHP unit and a flexible load add up to one fleet power. The
conversion from each unit's own pandapower sign happens in :func:`unit_ranges` and
``controllers.vpp`` only.

- :func:`unit_ranges` turns what each unit reports about its next step (battery available
  power, EV ``p_min_mw``/``p_max_mw``, PV available power, CHP rating and minimum load, flexible
  load reduction room) into a range ``lo..hi`` and a reference ``ref`` (what the unit does on
  its own) per unit;
- :func:`envelope` is the fleet's flexibility envelope ``sum(lo)..sum(hi)``;
- :func:`allocate` splits a fleet target over the units (rule below);
- :func:`grid_limit` moves that split, when it would break the grid's voltage band or loading
  limit by a linear estimate, to the split nearest the target that keeps them.

Allocation rule (:func:`allocate`): every unit starts at its reference clipped to its range;
the rest of the target is shared in proportion to each unit's headroom in the needed direction
(``hi - ref`` up, ``ref - lo`` down). A battery's headroom is its available power, which is
limited by its stored energy near the SoC window's edges, so nearly empty (full) batteries
give (take) less. A CHP unit runs at zero or between its minimum load and its rating: a share
below the minimum load becomes the minimum load from half of it upwards, else zero, and the
other units share the rest again.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import linprog

from cosim.core.errors import SimulationError


class Ranges(NamedTuple):
    """Per unit: the injection range of the next step and the unit's own operating point [MW]."""

    lo: np.ndarray
    hi: np.ndarray
    ref: np.ndarray
    p_min_on: np.ndarray
    """Least injection while on for CHP units; 0 for the others (no minimum)."""


def battery_range(p_charge_mw: np.ndarray, p_discharge_mw: np.ndarray) -> Ranges:
    """Batteries: ``-charge..discharge`` from their available powers (SoC window and
    efficiencies already in them, ``simulators.battery.model.available_power``); own point 0."""
    lo = -np.maximum(p_charge_mw, 0.0)
    hi = np.maximum(p_discharge_mw, 0.0)
    return Ranges(lo, hi, np.zeros_like(lo), np.zeros_like(lo))


def ev_range(p_min_mw: np.ndarray, p_max_mw: np.ndarray, plugged: np.ndarray) -> Ranges:
    """EVs (storage sign ``p_min_mw..p_max_mw``, ``p_min_mw`` the power that still reaches the
    target by departure): ``-p_max..-p_min`` while plugged in, else 0; own point: full power."""
    hi = np.where(plugged, -p_min_mw, 0.0)
    lo = np.where(plugged, -np.maximum(p_max_mw, p_min_mw), 0.0)
    return Ranges(lo, hi, lo.copy(), np.zeros_like(lo))


def pv_range(p_available_mw: np.ndarray) -> Ranges:
    """PV: curtailed down to 0, up to the available power; own point: all of it."""
    hi = np.maximum(p_available_mw, 0.0)
    return Ranges(np.zeros_like(hi), hi, hi.copy(), np.zeros_like(hi))


def chp_range(p_available_mw: np.ndarray, p_min_mw: np.ndarray) -> Ranges:
    """Power-led CHP units: off (0) or ``p_min_mw..p_available_mw``; own point: off."""
    hi = np.maximum(p_available_mw, 0.0)
    return Ranges(np.zeros_like(hi), hi, np.zeros_like(hi), np.minimum(p_min_mw, hi))


def flex_range(p_reducible_mw: np.ndarray) -> Ranges:
    """Flexible loads as negawatts: a reduction of ``0..p_reducible_mw``; own point 0."""
    hi = np.maximum(p_reducible_mw, 0.0)
    zero = np.zeros_like(hi)
    return Ranges(zero, hi, zero.copy(), zero.copy())


def join(*parts: Ranges) -> Ranges:
    """The ranges of several unit types, in order, as one fleet."""
    return Ranges(*(np.concatenate([getattr(p, f) for p in parts]) for f in Ranges._fields))


def envelope(r: Ranges) -> tuple[float, float]:
    """The fleet's flexibility envelope ``(p_min_mw, p_max_mw)`` for the next step [MW]."""
    return float(r.lo.sum()), float(r.hi.sum())


def _share(target_mw: float, lo: np.ndarray, hi: np.ndarray, ref: np.ndarray) -> np.ndarray:
    base = np.clip(ref, lo, hi)
    delta = target_mw - float(base.sum())
    room = hi - base if delta > 0 else base - lo
    total = float(room.sum())
    if total <= 0.0 or delta == 0.0:
        return base
    return base + np.sign(delta) * room * min(abs(delta) / total, 1.0)


def allocate(target_mw: float, r: Ranges) -> np.ndarray:
    """Each unit's injection for a fleet target (module docstring's rule) [MW].

    A target outside the envelope gives every unit its bound in that direction.
    """
    p = _share(target_mw, r.lo, r.hi, r.ref)
    chp = r.p_min_on > 0
    low = chp & (p > 0) & (p < r.p_min_on)
    if not low.any():
        return p
    fixed = np.where(p >= r.p_min_on / 2, r.p_min_on, 0.0)
    lo = np.where(low, fixed, r.lo)
    hi = np.where(low, fixed, r.hi)
    return _share(target_mw, lo, hi, np.where(low, fixed, p))


class GridLimit(NamedTuple):
    """Set points after :func:`grid_limit` and whether the grid estimate moved them."""

    p_mw: np.ndarray
    limited: bool


def grid_limit(
    p_mw: np.ndarray,
    r: Ranges,
    p_last_mw: np.ndarray,
    vm_pu: np.ndarray,
    sens_vm_pu_per_mw: np.ndarray,
    loading_percent: np.ndarray,
    sens_loading_percent_per_mw: np.ndarray,
    v_band_pu: tuple[float, float],
    loading_max_percent: float,
) -> GridLimit:
    """The split nearest ``p_mw``'s fleet total that keeps the grid in its limits by estimate.

    Linear estimate from this step's measurements: the voltage of bus ``i`` next step is
    ``vm_pu[i] + sens_vm[i] @ (p - p_last)`` and the loading of branch ``k`` at most
    ``loading[k] + |sens_loading[k]| @ |p - p_last|`` (the absolute values: a flow may turn
    round, so the estimate is conservative). If ``p_mw`` keeps both, it is returned as it is;
    otherwise a linear programme finds, within each unit's range, the set points that (by
    priority) first minimise the estimated violations (some may be left by load the fleet does
    not control), then the gap to ``p_mw``'s fleet total, then the change from ``p_mw``.

    Shapes: ``p_mw``, ``p_last_mw`` (n units); ``vm_pu`` (m buses), ``sens_vm`` (m, n) [pu/MW];
    ``loading_percent`` (k branches), ``sens_loading`` (k, n) [%/MW].
    """
    v_min, v_max = v_band_pu
    sv, sl = sens_vm_pu_per_mw, np.abs(sens_loading_percent_per_mw)
    move = p_mw - p_last_mw
    vm_next = vm_pu + sv @ move
    load_next = loading_percent + sl @ np.abs(move)
    tol = 1e-9
    if (
        (vm_next <= v_max + tol).all()
        and (vm_next >= v_min - tol).all()
        and (load_next <= loading_max_percent + tol).all()
    ):
        return GridLimit(p_mw, False)
    n, m, k = len(p_mw), len(vm_pu), len(loading_percent)
    # variables: p (n), |p - p_last| (n), |p - p_mw| (n), e+ e- (2), bus slack (m), branch (k)
    size = 3 * n + 2 + m + k
    i_p, i_g, i_d, i_e, i_s, i_t = 0, n, 2 * n, 3 * n, 3 * n + 2, 3 * n + 2 + m
    cost = np.zeros(size)
    cost[i_d:i_e] = 1e-3  # keep the proportional split where the grid allows
    cost[i_e : i_e + 2] = 1.0  # MW of tracking
    cost[i_s:i_t] = 1e3  # pu of voltage violation: 1 mpu weighs 1 MW
    cost[i_t:] = 1e1  # % of overload: 0.1 % weighs 1 MW
    rows: list[np.ndarray] = []
    rhs: list[float] = []

    def row(**blocks: tuple[int, np.ndarray]) -> np.ndarray:
        out = np.zeros(size)
        for start, values in blocks.values():
            out[start : start + len(values)] += values
        return out

    eye = np.eye(n)
    for j in range(n):  # g >= +-(p - p_last), d >= +-(p - p_mw)
        for sign in (1.0, -1.0):
            rows.append(row(p=(i_p, sign * eye[j]), g=(i_g, -eye[j])))
            rhs.append(sign * p_last_mw[j])
            rows.append(row(p=(i_p, sign * eye[j]), d=(i_d, -eye[j])))
            rhs.append(sign * p_mw[j])
    for i in range(m):  # v_min - s <= vm + sv (p - p_last) <= v_max + s
        s = np.zeros(m)
        s[i] = -1.0
        base = vm_pu[i] - sv[i] @ p_last_mw
        rows.append(row(p=(i_p, sv[i]), s=(i_s, s)))
        rhs.append(v_max - base)
        rows.append(row(p=(i_p, -sv[i]), s=(i_s, s)))
        rhs.append(base - v_min)
    for b in range(k):  # loading + sl |p - p_last| <= max + t
        t = np.zeros(k)
        t[b] = -1.0
        rows.append(row(g=(i_g, sl[b]), t=(i_t, t)))
        rhs.append(loading_max_percent - loading_percent[b])
    a_eq = row(p=(i_p, np.ones(n)), e=(i_e, np.array([-1.0, 1.0])))[None, :]
    bounds: list[tuple[float, float | None]] = [
        (float(a), float(b)) for a, b in zip(r.lo, r.hi, strict=True)
    ]
    bounds += [(0.0, None)] * (size - n)
    res = linprog(
        cost,
        A_ub=np.array(rows),
        b_ub=np.array(rhs),
        A_eq=a_eq,
        b_eq=[float(p_mw.sum())],
        bounds=bounds,
        method="highs",
    )
    if res.status != 0:
        raise SimulationError(f"vpp: the grid-limit programme failed: {res.message}")
    return GridLimit(np.asarray(res.x[:n]), True)
