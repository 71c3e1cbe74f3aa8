"""The neighbourhood's units, declared once and built as single entities or as one fleet each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cosim.run.scenario import Builder


@dataclass(frozen=True)
class UnitSpec:
    """``n`` units of simulator ``sim`` (its unit model has the same name)."""

    sim: str
    n: int
    sim_params: dict[str, Any]
    params: dict[str, Any]  # scalars shared by all units; arrays: one value per unit


def unit_specs(cfg: Any, where: Any, size: Any) -> dict[str, UnitSpec]:
    """PV, EV, battery and CHP of the neighbourhood ``cfg`` at the houses of ``where``, sized
    by ``size`` (``scenarios._households``)."""
    battery = {
        "e_max_mwh": size.battery_mwh,
        "p_charge_max_mw": size.battery_p_mw,
        "p_discharge_max_mw": size.battery_p_mw,
        "mode": "self_consumption",
    }
    chp = {"p_el_max_mw": cfg.chp_p_el_mw, "e_heat_annual_mwh": cfg.chp_e_heat_annual_mwh}
    pv_sim = {"weather": cfg.weather, "tz": cfg.timezone}
    return {
        "pv": UnitSpec("PV", len(where.pv), pv_sim, {"p_dc_peak_mw": size.pv_mw}),
        "ev": UnitSpec(
            "EV", len(where.ev), {"seed": cfg.seed}, {"p_charger_max_mw": cfg.ev_p_charger_mw}
        ),
        "battery": UnitSpec("Battery", len(where.battery), {}, battery),
        "chp": UnitSpec("CHP", len(where.chp), {}, chp),
    }


def singles(b: Builder, spec: UnitSpec) -> list:
    """One entity per unit: one ``create(n)`` when all params are shared, else one
    ``create(1)`` per unit; none started for no units."""
    if spec.n == 0:
        return []
    model = getattr(b.start(spec.sim, **spec.sim_params), spec.sim)
    sizes = {k: v for k, v in spec.params.items() if isinstance(v, np.ndarray)}
    if not sizes:
        return list(model.create(spec.n, **spec.params))
    shared = {k: v for k, v in spec.params.items() if k not in sizes}
    return [
        next(iter(model.create(1, **shared, **{k: float(v[i]) for k, v in sizes.items()})))
        for i in range(spec.n)
    ]


def as_fleet(b: Builder, spec: UnitSpec) -> list:
    """One fleet of all units, in a list (a fleet built as :func:`singles` builds its units);
    none started for no units."""
    if spec.n == 0:
        return []
    lists = {k: v.tolist() for k, v in spec.params.items() if isinstance(v, np.ndarray)}
    shared = {k: v for k, v in spec.params.items() if k not in lists}
    return [b.fleet(b.start(spec.sim, **spec.sim_params), n_units=spec.n, **shared, **lists)]
