"""Heat pump physics: the electric power that meets a heat demand at a Carnot-fraction COP."""

from __future__ import annotations

ZERO_C_IN_K = 273.15


def cop(t_supply_c: float, t_outdoor_c: float, carnot_frac: float) -> float:
    """Coefficient of performance: ``carnot_frac`` of the Carnot COP ``T_sink / (T_sink -
    T_source)`` [K]; the supply must be warmer than the outdoor air."""
    lift_k = t_supply_c - t_outdoor_c
    if not lift_k > 0:
        raise ValueError(f"t_supply_c={t_supply_c!r} must exceed t_outdoor_c={t_outdoor_c!r}")
    return carnot_frac * (t_supply_c + ZERO_C_IN_K) / lift_k


def p_el_kw(q_heat_kw: float, t_supply_c: float, t_outdoor_c: float, carnot_frac: float) -> float:
    """Electric power [kW] that delivers ``q_heat_kw`` of heat."""
    return q_heat_kw / cop(t_supply_c, t_outdoor_c, carnot_frac)
