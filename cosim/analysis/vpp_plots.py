"""The plot of a virtual power plant (``controllers.vpp``), from its recorded reports."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from cosim.analysis import plots
from cosim.analysis.vpp_kpis import report_series


def schedule_plot(results: pd.DataFrame, start: plots.Start = None) -> Figure | None:
    """Requested and delivered power of the plant and its envelope (decided one step before)."""
    req = report_series(results, "p_requested_mw")
    got = report_series(results, "p_delivered_mw")
    lo, hi = report_series(results, "p_env_min_mw"), report_series(results, "p_env_max_mw")
    if req is None or got is None or lo is None or hi is None:
        return None
    lo, hi = lo.shift(1), hi.shift(1)  # the envelope for step t was computed at t - step
    factor, unit = plots._power_unit(req.fillna(0.0), got, lo.fillna(0.0), hi.fillna(0.0))
    x, x_label = plots._time(results, start)
    fig, (ax,) = plots._figure(1)
    ax.fill_between(x, lo * factor, hi * factor, step="post", color="#cccccc", label="envelope")
    ax.step(x, req * factor, where="post", color="black", lw=2.5, label="requested")
    ax.step(x, got * factor, where="post", color=plots.COLORS["battery"], lw=2, label="delivered")
    plots._ylabel(ax, f"power [{unit}]")
    return plots._finish(fig, [ax], "Virtual power plant: schedule and delivery", x_label, x)
