"""Figures of a run's results, sized for a 16:9 slide.

Every function takes the frame of :func:`cosim.analysis.results.load` (indexed by ``t_s`` [s]
or by date and time) and returns a :class:`matplotlib.figure.Figure`, or None when the run did
not record what it shows. No pyplot: the figures hold no global state, so they are safe in notebooks
(they display there as they are) and in servers; ``fig.savefig("x.png")`` writes one.

Sign conventions are pandapower's: ext_grid ``p_mw`` > 0 imports from the upstream grid,
load and storage ``p_mw`` > 0 consume (a battery or EV charging), sgen ``p_mw`` > 0 generates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeAlias

import matplotlib.dates as mdates
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from pandapower.auxiliary import pandapowerNet

from cosim.analysis.results import energised, select
from cosim.core.text import count

SLIDE_IN = (12.8, 7.2)  # 16:9 [inch]
FONT_PT = 16
COLORS = {
    "grid": "#4c4c4c",
    "pv": "#f2a900",
    "chp": "#c0392b",
    "load": "#2c7fb8",
    "battery": "#1b9e77",
    "ev": "#7b3294",
    "other": "#8c8c8c",
    "boiler": "#e67e22",
}

Start: TypeAlias = "str | pd.Timestamp | None"


def columns(
    results: pd.DataFrame, attr: str, sim: str | None = None, element: str | None = None
) -> pd.DataFrame:
    """Columns of one attribute, by full entity id; optionally only of one simulator type
    (``"PV"`` for ``PV-0.*``) or one grid element type (``"load"`` for ``Grid-0.load_*``)."""

    return select(results, attr, sim, f"{element}_" if element else "")


def _time(results: pd.DataFrame, start: Start) -> tuple[pd.Index, str]:
    """The x values and their axis label: date and time if known, else hours from the start."""
    if isinstance(results.index, pd.DatetimeIndex):
        return results.index, "time"
    if start is not None:
        return pd.Timestamp(start) + pd.to_timedelta(results.index, unit="s"), "time"
    return pd.Index(np.asarray(results.index, dtype=float) / 3600.0), "time [h]"


def _figure(rows: int = 1, heights: tuple[float, ...] | None = None) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=SLIDE_IN, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    for ax in axes:
        ax.tick_params(labelsize=FONT_PT - 2)
        ax.grid(True, color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig, list(axes)


def _finish(fig: Figure, axes: list[Axes], title: str, x_label: str, x: pd.Index) -> Figure:
    fig.suptitle(title, fontsize=FONT_PT + 4, fontweight="bold", x=0.01, ha="left")
    axes[-1].set_xlabel(x_label, fontsize=FONT_PT)
    if isinstance(x, pd.DatetimeIndex):
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        axes[-1].xaxis.set_major_locator(locator)
        axes[-1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=FONT_PT - 2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _ylabel(ax: Axes, text: str) -> None:
    ax.set_ylabel(text, fontsize=FONT_PT)


def _power_unit(*frames: pd.DataFrame | pd.Series) -> tuple[float, str]:
    """kW for an LV grid, MW above 1 MW: the factor from MW and the unit name."""
    peak = max((float(np.nanmax(np.abs(f.to_numpy()), initial=0.0)) for f in frames), default=0.0)
    return (1.0, "MW") if peak >= 1.0 else (1000.0, "kW")


def voltage_envelope(
    results: pd.DataFrame, v_min_pu: float = 0.9, v_max_pu: float = 1.1, start: Start = None
) -> Figure | None:
    """Lowest, median and highest bus voltage at each step, with the band limits [pu].

    De-energised buses (``vm_pu = 0``) are left out, as in the voltage KPIs."""
    vm = columns(results, "vm_pu")
    if vm.empty:
        return None
    vm = energised(vm)
    x, x_label = _time(results, start)
    fig, (ax,) = _figure()
    low, mid, high = vm.min(axis=1), vm.median(axis=1), vm.max(axis=1)
    ax.fill_between(x, low.to_numpy(), high.to_numpy(), color="#9ecae1", alpha=0.5, lw=0)
    ax.plot(x, high.to_numpy(), color="#08519c", lw=2.5, label="highest bus")
    ax.plot(x, mid.to_numpy(), color="#3182bd", lw=1.5, ls="--", label="median bus")
    ax.plot(x, low.to_numpy(), color="#6baed6", lw=2.5, label="lowest bus")
    lo, hi = float(low.min()), float(high.max())
    if not np.isfinite(lo + hi):  # no converged step
        lo, hi = v_min_pu, v_max_pu
    pad = max(0.15 * (hi - lo), 0.01)
    bottom, top = lo - pad, hi + pad
    if v_min_pu > bottom - 0.03:  # show a limit when the voltages come near it
        bottom = min(bottom, v_min_pu - pad)
    if v_max_pu < top + 0.03:
        top = max(top, v_max_pu + pad)
    ax.axhspan(v_max_pu, max(top, v_max_pu), color="#e34a33", alpha=0.12, lw=0)
    ax.axhspan(min(bottom, v_min_pu), v_min_pu, color="#e34a33", alpha=0.12, lw=0)
    ax.axhline(v_max_pu, color="#b30000", lw=1.5, label=f"limits {v_min_pu:g} / {v_max_pu:g} pu")
    ax.axhline(v_min_pu, color="#b30000", lw=1.5)
    ax.set_ylim(bottom, top)
    if not (bottom < v_min_pu or top > v_max_pu):
        ax.get_lines()[-2].set_label(f"limits {v_min_pu:g} / {v_max_pu:g} pu (outside view)")
    margin = min(v_max_pu - hi, lo - v_min_pu)
    ax.text(0.99, 0.03, f"closest to a limit: {margin:.3f} pu", transform=ax.transAxes,
            ha="right", fontsize=FONT_PT - 2, color="#b30000")  # fmt: skip
    _ylabel(ax, "bus voltage [pu]")
    title = f"Bus voltages: envelope over {vm.shape[1]} buses"
    return _finish(fig, [ax], title, x_label, x)


def feeder_power(results: pd.DataFrame, start: Start = None) -> Figure | None:
    """Import/export at the grid connection and the power of PV, CHP, loads, batteries, EVs."""
    ext = columns(results, "p_mw", element="ext_grid")
    if ext.empty:
        return None
    series = {
        "PV": columns(results, "p_mw", sim="PV").sum(axis=1, min_count=1),
        "CHP": columns(results, "p_mw", sim="CHP").sum(axis=1, min_count=1),
        "loads": columns(results, "p_mw", sim="Grid", element="load").sum(axis=1, min_count=1),
        "batteries (+ charging)": columns(results, "p_mw", sim="Battery").sum(axis=1, min_count=1),
        "EVs charging": columns(results, "p_mw", sim="EV").sum(axis=1, min_count=1),
    }
    sgen = columns(results, "p_mw", sim="Grid", element="sgen").sum(axis=1, min_count=1)
    other = sgen - series["PV"].fillna(0.0) - series["CHP"].fillna(0.0)
    if other.abs().max() > 1e-9:
        series["other generators"] = other
    colors = ["pv", "chp", "load", "battery", "ev", "other"]
    series = {k: v for k, v in series.items() if v.notna().any()}
    net_mw = ext.sum(axis=1, min_count=1)
    factor, unit = _power_unit(net_mw, *series.values())
    x, x_label = _time(results, start)
    fig, (ax,) = _figure()
    grid_kw = (net_mw * factor).to_numpy()
    ax.fill_between(x, grid_kw, 0, where=grid_kw > 0, color="#fdae6b", alpha=0.5, lw=0,
                    interpolate=True, label="import from upstream grid")  # fmt: skip
    ax.fill_between(x, grid_kw, 0, where=grid_kw < 0, color="#a1d99b", alpha=0.6, lw=0,
                    interpolate=True, label="export to upstream grid")  # fmt: skip
    ax.plot(x, grid_kw, color=COLORS["grid"], lw=3, label="grid connection (+ import)")
    for (name, values), key in zip(series.items(), colors, strict=False):
        color = COLORS[key] if name != "other generators" else COLORS["other"]
        ax.plot(x, (values * factor).to_numpy(), color=color, lw=2, label=name)
    ax.axhline(0.0, color="black", lw=0.8)
    _ylabel(ax, f"active power [{unit}]")
    return _finish(fig, [ax], "Power at the grid connection and of the units", x_label, x)


def battery_soc(results: pd.DataFrame, start: Start = None) -> Figure | None:
    """State of charge of every home battery [%] and their total power [kW or MW]."""
    soc = columns(results, "soc_frac", sim="Battery")
    if soc.empty:
        return None
    x, x_label = _time(results, start)
    fig, (ax, ax_p) = _figure(2, heights=(2.0, 1.0))
    many = soc.shape[1] > 8
    if many:
        ax.fill_between(x, soc.min(axis=1) * 100, soc.max(axis=1) * 100, color="#a1d99b",
                        alpha=0.6, lw=0, label="range over batteries")  # fmt: skip
    else:
        for entity in soc.columns:
            name = str(entity).partition(".")[2].replace("_", " ")
            ax.plot(x, soc[entity].to_numpy() * 100, lw=1.5, alpha=0.8, label=name)
    ax.plot(x, soc.mean(axis=1).to_numpy() * 100, color="black", lw=3, label="mean")
    ax.set_ylim(-3, 103)
    _ylabel(ax, "state of charge [%]")
    p = columns(results, "p_mw", sim="Battery").sum(axis=1, min_count=1)
    factor, unit = _power_unit(p)
    ax_p.plot(x, (p * factor).to_numpy(), color=COLORS["battery"], lw=2, label="total power")
    ax_p.axhline(0.0, color="black", lw=0.8)
    _ylabel(ax_p, f"charge (+) [{unit}]")
    title = f"Home batteries: state of charge of {count(soc.shape[1], 'battery', 'batteries')}"
    return _finish(fig, [ax, ax_p], title, x_label, x)


def chp_heat(results: pd.DataFrame, start: Start = None) -> Figure | None:
    """Heat from the CHPs and backup boilers against the heat demand, and the tank energy."""
    heat = columns(results, "p_th_mw", sim="CHP")
    if heat.empty:
        return None
    boiler = columns(results, "p_boiler_th_mw", sim="CHP").sum(axis=1)
    demand = columns(results, "p_heat_demand_mw", sim="CHP").sum(axis=1, min_count=1)
    tank = columns(results, "e_tank_mwh", sim="CHP").sum(axis=1, min_count=1)
    chp = heat.sum(axis=1)
    factor, unit = _power_unit(chp, boiler, demand)
    x, x_label = _time(results, start)
    fig, (ax, ax_t) = _figure(2, heights=(2.0, 1.0))
    ax.stackplot(x, (chp * factor).to_numpy(), (boiler * factor).to_numpy(),
                 colors=[COLORS["chp"], COLORS["boiler"]], alpha=0.75,
                 labels=["CHP heat", "boiler heat"])  # fmt: skip
    if demand.notna().any():
        ax.plot(x, (demand * factor).to_numpy(), color="black", lw=2.5, label="heat demand")
    _ylabel(ax, f"heat [{unit}th]")
    if tank.notna().any():
        ax_t.plot(x, (tank * factor).to_numpy(), color="#8c2d04", lw=2.5, label="tank")
    _ylabel(ax_t, f"tank [{unit}h]")
    title = f"CHP heat supply of {count(heat.shape[1], 'CHP unit')}"
    return _finish(fig, [ax, ax_t], title, x_label, x)


def ev_charging(results: pd.DataFrame, start: Start = None) -> Figure | None:
    """Total EV charging power and the number of EVs plugged in."""
    p = columns(results, "p_mw", sim="EV")
    if p.empty:
        return None
    total = p.sum(axis=1)
    connected = columns(results, "connected", sim="EV").sum(axis=1)
    factor, unit = _power_unit(total)
    x, x_label = _time(results, start)
    fig, (ax, ax_n) = _figure(2, heights=(2.0, 1.0))
    ax.fill_between(x, (total * factor).to_numpy(), 0, color=COLORS["ev"], alpha=0.3, lw=0)
    ax.plot(x, (total * factor).to_numpy(), color=COLORS["ev"], lw=2.5, label="charging power")
    _ylabel(ax, f"power [{unit}]")
    ax_n.step(x, connected.to_numpy(), where="post", color="black", lw=2, label="plugged in")
    ax_n.set_ylim(-0.3, max(float(connected.max()), 1.0) + 0.5)
    ax_n.yaxis.set_major_locator(MaxNLocator(integer=True))
    _ylabel(ax_n, "EVs [-]")
    return _finish(fig, [ax, ax_n], f"EV charging: {count(p.shape[1], 'EV')}", x_label, x)


def bus_coordinates(net: pandapowerNet) -> dict[int, tuple[float, float]]:
    """Bus positions: the net's GeoJSON points (``net.bus.geo``) when every bus has one,
    else a tree layout from the grid connection (x: depth in buses, y: spread over leaves)."""
    return _geo_coordinates(net) or _tree_layout(net)


def _geo_coordinates(net: pandapowerNet) -> dict[int, tuple[float, float]] | None:
    """Longitude and latitude [degree] of every bus from ``net.bus.geo``, or None."""
    geo = net.bus["geo"] if "geo" in net.bus.columns else pd.Series(dtype=object)
    if len(geo) == 0 or len(geo) != len(net.bus) or not geo.notna().all():
        return None
    points = {
        int(b): json.loads(g).get("coordinates", ())
        for b, g in zip(net.bus.index, geo, strict=True)
    }
    if not all(len(p) == 2 for p in points.values()):
        return None
    return {b: (float(p[0]), float(p[1])) for b, p in points.items()}


def _graph(net: pandapowerNet) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(int(b) for b in net.bus.index)
    for table, a, b in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
        for _, row in net[table].iterrows():
            graph.add_edge(int(row[a]), int(row[b]))
    closed = net.switch[(net.switch.et == "b") & net.switch.closed]
    graph.add_edges_from(zip(closed.bus.astype(int), closed.element.astype(int), strict=True))
    return graph


def _tree_layout(net: pandapowerNet) -> dict[int, tuple[float, float]]:
    graph = _graph(net)
    roots = [int(b) for b in net.ext_grid.bus] or [int(net.bus.index[0])]
    pos: dict[int, tuple[float, float]] = {}
    leaf = 0.0
    for component in nx.connected_components(graph):
        root = next((r for r in roots if r in component), min(component))
        tree = nx.bfs_tree(graph.subgraph(component), root)
        depth = nx.shortest_path_length(tree, root)
        for node in nx.dfs_postorder_nodes(tree, root):
            children = list(tree.successors(node))
            if children:
                y = float(np.mean([pos[c][1] for c in children]))
            else:
                y, leaf = leaf, leaf + 1.0
            pos[node] = (float(depth[node]), -y)
        leaf += 1.0
    return pos


def grid_map(
    results: pd.DataFrame,
    net: pandapowerNet,
    coords: Mapping[int, tuple[float, float]] | None = None,
    v_min_pu: float = 0.9,
    v_max_pu: float = 1.1,
) -> Figure | None:
    """The grid drawn with each bus coloured by its worst voltage (farthest from 1 pu) while
    energised (as the voltage KPIs) and each line and transformer by its highest loading [%]
    over the run. A bus never energised has no dot.

    ``net`` is the run's pandapower net (the Grid simulator's ``load_net`` of the manifest's
    ``config.grid``); ``coords`` overrides the bus positions.
    """
    vm = columns(results, "vm_pu", sim="Grid", element="bus")
    if vm.empty:
        return None
    vm = energised(vm)
    geo = None if coords is not None else _geo_coordinates(net)
    pos = dict(coords) if coords is not None else (geo or _tree_layout(net))
    high, low = vm.max().to_numpy(), vm.min().to_numpy()
    worst = pd.Series(
        np.where(np.abs(high - 1.0) >= np.abs(1.0 - low), high, low),
        index=[int(str(e).rpartition("_")[2]) for e in vm.columns],
    ).dropna()
    if worst.empty:  # no power flow converged: no voltage to colour a bus with
        return None
    loading = columns(results, "loading_percent", sim="Grid").max(axis=0)
    fig = Figure(figsize=SLIDE_IN, layout="constrained")
    ax = fig.subplots()
    ax.set_axis_off()
    segments, values, styles = [], [], []
    for table, a, b in (("line", "from_bus", "to_bus"), ("trafo", "hv_bus", "lv_bus")):
        for idx, row in net[table].iterrows():
            if int(row[a]) in pos and int(row[b]) in pos:
                segments.append([pos[int(row[a])], pos[int(row[b])]])
                values.append(float(loading.get(f"Grid-0.{table}_{idx}", np.nan)))
                styles.append("--" if table == "trafo" else "-")
    top = max(100.0, float(np.nanmax(values, initial=0.0)))
    lines = LineCollection(segments, cmap="RdYlGn_r", norm=Normalize(0.0, top), linewidths=5,
                           linestyles=styles, capstyle="round")  # fmt: skip
    lines.set_array(np.ma.masked_invalid(values))
    ax.add_collection(lines)
    buses = [b for b in pos if b in worst.index]
    xy = np.array([pos[b] for b in buses]).reshape(-1, 2)
    half = max(v_max_pu - 1.0, 1.0 - v_min_pu)
    norm = TwoSlopeNorm(1.0, 1.0 - half, 1.0 + half)
    dots = ax.scatter(xy[:, 0], xy[:, 1], c=worst[buses].to_numpy(), cmap="coolwarm", norm=norm,
                      s=140, edgecolors="black", linewidths=1, zorder=3)  # fmt: skip
    slack = [pos[int(b)] for b in net.ext_grid.bus if int(b) in pos]
    if slack:
        sx, sy = zip(*slack, strict=True)
        ax.scatter(sx, sy, marker="s", s=400, facecolors="none", edgecolors="black",
                   linewidths=2.5, zorder=4, label="grid connection")  # fmt: skip
        ax.legend(fontsize=FONT_PT - 2, loc="upper left", frameon=False)
    if buses:
        extreme = max(buses, key=lambda bus: abs(float(worst[bus]) - 1.0))
        ax.annotate(f"bus {extreme}: {worst[extreme]:.3f} pu", pos[extreme], xytext=(12, 12),
                    textcoords="offset points", fontsize=FONT_PT - 2, zorder=5,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "#999999"})  # fmt: skip
    if geo:  # degrees of longitude are shorter than degrees of latitude
        ax.set_aspect(1.0 / np.cos(np.deg2rad(float(np.mean(xy[:, 1])))), adjustable="datalim")
    if len(buses) <= 40:
        for bus, (bx, by) in zip(buses, xy, strict=True):
            ax.annotate(str(bus), (bx, by), xytext=(9, -6), textcoords="offset points",
                        ha="left", va="top", fontsize=FONT_PT - 5, color="#555555")  # fmt: skip
    ax.autoscale_view()
    ax.margins(0.05)
    for mappable, label in ((dots, "worst bus voltage [pu]"), (lines, "highest loading [%]")):
        bar = fig.colorbar(mappable, ax=ax, shrink=0.85, pad=0.01, aspect=30)
        bar.set_label(label, fontsize=FONT_PT)
        bar.ax.tick_params(labelsize=FONT_PT - 2)
    title = "Grid map: worst voltage per bus, highest loading per line (dashed: transformer)"
    fig.suptitle(title, fontsize=FONT_PT + 2, fontweight="bold", x=0.01, ha="left")
    return fig
