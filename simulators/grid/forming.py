"""Grid-forming units holding an island: P-f droop, the island's frequency, ratings; pure.

Quasi-static: within a step every island settles to one frequency at which its forming units'
droop characteristics together give what the island needs. Unit ``k`` gives

    p_k = w_k * (f_set_k - f) / F_NOMINAL_HZ,   w_k = s_rated_k / droop_k   [MW]

(``droop_k``: per-unit frequency change for a change of the rated power; ``f_set_k``: its
no-load frequency, which secondary control may move), so an island that needs ``p`` runs at
``f = (sum w_k f_set_k - F_NOMINAL_HZ p) / sum w_k`` and, with equal set points, the units
share ``p`` in proportion to ``w_k``. Reactive power is not shared by droop: the island's
reference unit takes it all. The island's phase drifts against the upstream grid (taken at
its nominal frequency) by ``360 (f - F_NOMINAL_HZ) dt_s`` degrees per step.

Sign: injection, as sgen (``p > 0`` gives power to the island; a charging battery < 0).

References
----------
.. [1] IEEE 1547-2018, clause 6.5.2.7 (frequency droop): default droop 5 %, range 2-5 %;
   VDE-AR-N 4105:2018, 5.7.3.3 (LFSM-O): default 5 %.
"""

from __future__ import annotations

import numpy as np

from cosim.core.synchronism import F_NOMINAL_HZ

DEFAULT_DROOP_FRAC = 0.05
"""P-f droop of a grid-forming unit, per-unit frequency per rated power [-] ([1]_)."""
UNRATED_MVA = 1.0
"""Droop weight basis of a unit without ``sn_mva`` [MVA] (equal shares among such units)."""
TOLERANCE_MW = 1e-9
"""Rounding allowance when checking a unit's power against its limits [MW, MVA]."""


def weights_mw(s_rated_mva: np.ndarray, droop_frac: np.ndarray) -> np.ndarray:
    """Droop gains ``s_rated / droop`` [MW per per-unit frequency]; NaN rating: ``UNRATED_MVA``."""
    rated = np.where(np.isfinite(s_rated_mva) & (s_rated_mva > 0), s_rated_mva, UNRATED_MVA)
    return rated / droop_frac


def frequency_hz(p_mw: float, weight_mw: np.ndarray, f_set_hz: np.ndarray) -> float:
    """Frequency [Hz] at which units of droop gains ``weight_mw`` and no-load frequencies
    ``f_set_hz`` together give ``p_mw`` (injection sign)."""
    total = float(weight_mw.sum())
    return float((weight_mw @ f_set_hz - F_NOMINAL_HZ * p_mw) / total)


def shares_mw(p_mw: float, weight_mw: np.ndarray, f_set_hz: np.ndarray) -> np.ndarray:
    """Each unit's part of ``p_mw`` at the island's droop frequency [MW, injection sign]."""
    f_hz = frequency_hz(p_mw, weight_mw, f_set_hz)
    return weight_mw * (f_set_hz - f_hz) / F_NOMINAL_HZ


def outside_limits(
    p_mw: np.ndarray,
    q_mvar: np.ndarray,
    p_min_mw: np.ndarray,
    p_max_mw: np.ndarray,
    s_max_mva: np.ndarray,
) -> np.ndarray:
    """Which units' power lies outside ``[p_min_mw, p_max_mw]`` or above ``s_max_mva`` (NaN:
    unrated) [MW, Mvar, MVA; injection sign]."""
    s_mva = np.hypot(p_mw, q_mvar)
    over_s = np.isfinite(s_max_mva) & (s_mva > s_max_mva + TOLERANCE_MW)
    return (p_mw > p_max_mw + TOLERANCE_MW) | (p_mw < p_min_mw - TOLERANCE_MW) | over_s


def slip_degree(f_hz: float, dt_s: float) -> float:
    """Phase an island running at ``f_hz`` gains on the grid over ``dt_s`` [degree]."""
    return 360.0 * (f_hz - F_NOMINAL_HZ) * dt_s
