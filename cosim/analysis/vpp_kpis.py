"""KPIs of a virtual power plant (``controllers.vpp``), from its recorded reports.

The plant reports, for each step t, the request ``p_requested_mw`` and what the fleet
delivered ``p_delivered_mw`` (both in the schedule's sign), and the envelope it computed for
the next step. A step counts for tracking when it has a request. Revenue prices the energy
delivered in those steps at the run's recorded day-ahead price (``eur_per_mwh`` of the price
signal), for schedules of the fleet's injection (absorbed energy counts negative); a PCC
schedule's revenue depends on the baseline it is measured against and is left out.
Violations use the plant's own band and loading limit from the run's configuration
(``v_min_pu``, ``v_max_pu``, ``loading_max_percent``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cosim.analysis.results import energised, select

TOLERANCE_FRAC = 0.05
"""A step tracks its request when within this share of the request's size [-]..."""
TOLERANCE_MIN_MW = 0.001
"""... or within this many MW, whichever is larger (a 1 kW floor for small requests)."""


def report_series(data: pd.DataFrame, attr: str) -> pd.Series | None:
    """Report ``attr`` of the (first) controller that has it; None if none recorded it."""
    frame = select(data, attr, "Controller", "")
    return None if frame.empty else frame.iloc[:, 0].astype(float)


def kpis(r: Any) -> list[Any]:
    """The ``vpp`` KPI group of a run ``r`` (``cosim.analysis.kpis._Run``); empty without one."""
    req, got = report_series(r.data, "p_requested_mw"), report_series(r.data, "p_delivered_mw")
    if req is None or got is None or report_series(r.data, "p_env_max_mw") is None:
        return []
    asked = req.notna().to_numpy()
    a, d = req.to_numpy()[asked], got.to_numpy()[asked]
    err = np.nan_to_num(d - a)
    tol = np.maximum(TOLERANCE_FRAC * np.abs(a), TOLERANCE_MIN_MW)
    out = [
        r.kpi("vpp_request_h", asked.sum() * r.step_h),
        r.kpi("vpp_tracking_rmse_mw", float(np.sqrt(np.mean(err**2))) if len(a) else 0.0),
        r.kpi(
            "vpp_within_tolerance_percent",
            100.0 * float(np.mean(np.abs(err) <= tol)) if len(a) else 100.0,
            frac=TOLERANCE_FRAC * 100,
            floor_kw=TOLERANCE_MIN_MW * 1000,
        ),
        r.kpi("vpp_requested_mwh", float(np.abs(a).sum()) * r.step_h),
        r.kpi("vpp_delivered_mwh", float((np.sign(a) * np.nan_to_num(d)).sum()) * r.step_h),
    ]
    for name, attr in (("vpp_shortfall_mwh", "p_shortfall_mw"),
                       ("vpp_grid_limited_mwh", "p_grid_limited_mw")):  # fmt: skip
        series = report_series(r.data, attr)
        if series is not None:  # decided at t for t + step: the requests of the next steps
            out.append(r.kpi(name, float(np.nansum(np.abs(series.to_numpy()))) * r.step_h))
    price = select(r.data, "eur_per_mwh", None, "")
    target = r.manifest.get("config", {}).get("target", "fleet")
    if not price.empty and target == "fleet":
        p = price.iloc[:, 0].to_numpy(dtype=float)[asked]
        out.append(r.kpi("vpp_revenue_eur", float(np.nansum(d * p)) * r.step_h))
    return out + _violations(r)


def _violations(r: Any) -> list[Any]:
    config = r.manifest.get("config", {})
    v_min, v_max = config.get("v_min_pu"), config.get("v_max_pu")
    out = []
    vm = r.cols("Grid", "vm_pu", "bus_")
    if v_min is not None and v_max is not None and not vm.empty:
        vm = energised(vm)  # de-energised buses are no violation
        bad = ((vm < v_min) | (vm > v_max)).sum().sum()
        out.append(r.kpi("vpp_voltage_violation_bus_steps", bad, v_min=v_min, v_max=v_max))
    limit = config.get("loading_max_percent")
    loading = r.cols("Grid", "loading_percent")
    if limit is not None and not loading.empty:
        out.append(r.kpi("vpp_overload_branch_steps", (loading > limit).sum().sum(), limit=limit))
    return out
