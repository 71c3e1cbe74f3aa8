"""Figures of a local energy market run (the ``local_market`` controller's reports), in the
style of :mod:`cosim.analysis.plots`: clearing price and traded volume over time, and the bill
of every participant under the three tariffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cosim.analysis.market_kpis import PRICE, market_entity, participant_table
from cosim.analysis.plots import (
    COLORS,
    FONT_PT,
    Start,
    _figure,
    _finish,
    _power_unit,
    _time,
    _ylabel,
)


def price_and_volume(results: pd.DataFrame, start: Start = None) -> Figure | None:
    """Clearing price [EUR/MWh] (top) and traded, offered and curtailed power [kW or MW]."""
    entity = market_entity(results)
    if entity is None:
        return None
    own = results[entity]
    x, x_label = _time(results, start)
    fig, (ax, ax_q) = _figure(2, heights=(1.0, 1.5))
    price = own[PRICE].astype(np.float64).to_numpy()
    ax.step(x, price, where="post", color="black", lw=2, label="clearing price")
    retail = own["retail_eur_per_mwh"].astype(np.float64).to_numpy()
    feed_in = own["feed_in_eur_per_mwh"].astype(np.float64).to_numpy()
    ax.step(x, retail, where="post", color=COLORS["load"], lw=1.2, ls="--", label="retail")
    ax.step(x, feed_in, where="post", color=COLORS["pv"], lw=1.2, ls="--", label="feed-in")
    _ylabel(ax, "price [EUR/MWh]")
    frames = {a: own[a].astype(np.float64).fillna(0.0) for a in
              ("p_offered_mw", "p_traded_mw", "p_curtailed_mw")}  # fmt: skip
    factor, unit = _power_unit(*frames.values())
    ax_q.fill_between(x, 0, frames["p_offered_mw"] * factor, step="post", color="#fde0a0",
                      label="offered (exports)")  # fmt: skip
    ax_q.step(x, frames["p_traded_mw"] * factor, where="post", color=COLORS["battery"], lw=2,
              label="traded locally")  # fmt: skip
    ax_q.step(x, frames["p_curtailed_mw"] * factor, where="post", color=COLORS["chp"], lw=1.5,
              label="curtailed by the grid rule")  # fmt: skip
    _ylabel(ax_q, f"power [{unit}]")
    return _finish(fig, [ax, ax_q], "Local market: clearing price and traded volume", x_label, x)


def bills(results: pd.DataFrame, step_h: float) -> Figure | None:
    """Each participant's bill [EUR] under net metering, net billing and the local market."""
    table = participant_table(results, step_h)
    if table is None:
        return None
    table = table.sort_values("bill_net_billing_eur")
    fig, (ax,) = _figure(1)
    pos = np.arange(len(table))
    for shift, column, label, color in (
        (-0.27, "bill_net_metering_eur", "net metering", COLORS["other"]),
        (0.0, "bill_net_billing_eur", "net billing", COLORS["load"]),
        (0.27, "bill_market_eur", "local market", COLORS["battery"]),
    ):
        ax.bar(pos + shift, table[column].to_numpy(), width=0.27, color=color, label=label)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(pos, [str(n).replace("_", " ") for n in table.index], rotation=90,
                  fontsize=FONT_PT - 6)  # fmt: skip
    _ylabel(ax, "bill [EUR] (< 0: earns)")
    fig.suptitle("Bills per participant", fontsize=FONT_PT + 4, fontweight="bold", x=0.01,
                 ha="left")  # fmt: skip
    ax.legend(fontsize=FONT_PT - 2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
