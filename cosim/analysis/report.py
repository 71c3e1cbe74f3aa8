"""``report.html``: one self-contained page per run with its KPIs and plots.

The page needs nothing but a browser: the plots are embedded as base64 PNG, the style sheet is
inline and there is no script and no external URL, so it can be mailed or archived as it is.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from cosim.analysis import kpis as kpi_mod
from cosim.analysis import market_plots, plots, results, vpp_plots
from cosim.core.errors import ConfigError
from cosim.core.units import SECONDS_PER_HOUR

REPORT = "report.html"
DPI = 150  # 1920 x 1080 px for the 12.8 x 7.2 inch figures
_UNIT_SUFFIXES = {"mwh", "mw", "h", "percent", "pu", "eur", "kg", "frac"}
_ACRONYMS = {"pv": "PV", "chp": "CHP", "ev": "EV", "co2": "CO2", "v": "V", "soc": "SoC"}
_ACRONYMS |= {"npc": "NPC", "lcoe": "LCOE", "om": "O&M"}  # the economics KPIs

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #222; margin: 0; background: #f4f5f7; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 30px; margin: 0 0 4px; }
h2 { font-size: 22px; margin: 36px 0 12px; border-bottom: 2px solid #2c7fb8; padding-bottom: 4px; }
h3 { font-size: 17px; margin: 20px 0 6px; text-transform: capitalize; color: #2c7fb8; }
.sub { color: #555; font-size: 16px; margin: 0 0 16px; }
.status-completed { color: #1b7e3c; font-weight: 600; }
.status-other { color: #b30000; font-weight: 600; }
.banner { background: #fdecea; border: 2px solid #b30000; border-radius: 6px; padding: 12px 16px;
  margin: 12px 0 20px; font-size: 16px; }
.banner strong { color: #b30000; font-size: 18px; }
.banner pre { white-space: pre-wrap; margin: 8px 0 0; font-size: 13px; color: #444; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; }
.card { border: 1px solid #d9dde3; border-radius: 6px; padding: 10px 14px; background: #fafbfc; }
.card .label { font-size: 13px; color: #555; }
.card .value { font-size: 24px; font-weight: 600; margin-top: 2px; }
.card .unit { font-size: 15px; font-weight: 400; color: #555; }
table { border-collapse: collapse; width: 100%; font-size: 15px; }
table.kpi { table-layout: fixed; }
table.kpi col.name { width: 60%; } table.kpi col.value { width: 12%; }
table.kpi col.unit { width: 7%; } table.kpi col.at { width: 21%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #e3e6ea;
  vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
th.num { text-align: right; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td .def { display: block; font-size: 12.5px; color: #666; margin-top: 1px; }
td.at { font-size: 13px; color: #444; }
figure { margin: 20px 0 32px; }
figure img { width: 100%; height: auto; border: 1px solid #e3e6ea; }
figcaption { font-size: 15px; color: #333; margin-top: 6px; }
details { font-size: 14px; } code { font-size: 13px; }
.note { color: #666; font-style: italic; }
"""


def write_report(
    folder: str | Path,
    settings: kpi_mod.Settings | None = None,
    load_grid: Callable[[str], Any] | None = None,
) -> Path:
    """Write ``report.html`` (and ``kpis.json``/``kpis.csv``) into a run's results folder.

    A failed or unfinished run still gets a report, covering its finished steps, under a
    "partial run" banner.

    Parameters
    ----------
    folder : the run's output folder (``manifest.json``, ``results.parquet/``).
    settings : limits, tariffs and emission factors of the KPIs; None: their defaults.
    load_grid : the pandapower net of a grid source (the manifest's ``config.grid``) for the
        grid map, e.g. ``simulators.grid.nets.load_net``; None: no grid map.

    Returns
    -------
    The path of ``report.html``.

    A setting the run's KPIs cannot use (e.g. a price file too short) raises ConfigError before
    any file is written; an earlier report's files are replaced, never left beside new ones.
    """
    folder = Path(folder)
    settings = settings if settings is not None else kpi_mod.DEFAULT_SETTINGS
    manifest = results.read_manifest(folder)
    notes: list[str] = []
    try:
        data: pd.DataFrame | None = results.load(folder)
    except ConfigError as exc:
        data = None
        notes.append(f"No KPIs, no plots: {exc}")
    # results that load: a ConfigError from the KPIs is a bad setting, raised before any file
    # is touched; after that no file of an earlier report is left beside the new ones
    kpis = [] if data is None else kpi_mod.compute(folder, settings)
    for name in (kpi_mod.KPIS_JSON, kpi_mod.KPIS_CSV, REPORT):
        (folder / name).unlink(missing_ok=True)
    if data is not None:
        kpi_mod.write(kpis, folder)
        converged = plots.columns(data, "converged", sim="Grid")
        if not converged.empty and not (converged == 1).to_numpy().any():
            notes.append("No power flow converged: no voltages, loadings or grid exchange.")
    figures = [] if data is None else _figures(data, manifest, settings, notes, load_grid)
    page = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{_e(_title(manifest))}</title>",
            f"<style>{CSS}</style></head><body><main>",
            _header(manifest, folder),
            _headline(kpi_mod.headline(kpis)),
            *(f'<p class="note">{_e(n)}</p>' for n in notes),
            _kpi_tables(kpis),
            _figure_section(figures),
            _run_details(manifest),
            "</main></body></html>",
        ]
    )
    path = folder / REPORT
    path.write_text(page, encoding="utf-8")
    return path


def _figures(
    data: pd.DataFrame,
    manifest: dict[str, Any],
    settings: kpi_mod.Settings,
    notes: list[str],
    load_grid: Callable[[str], Any] | None,
) -> list[tuple[str, str, str]]:
    """(title, caption, base64 PNG) of every plot the results allow."""
    start = manifest.get("start")
    v_min, v_max = settings.v_min_pu, settings.v_max_pu
    grid = manifest.get("config", {}).get("grid")
    if grid and load_grid is None:
        notes.append("Grid map left out: no grid loader given (load_grid).")
    makers: list[tuple[Callable[[], Figure | None], str]] = [
        (
            lambda: plots.voltage_envelope(data, v_min, v_max, start=start),
            f"Bus voltages|Lowest, median and highest over all buses at each step. Red lines (when "
            f"in view): the voltage band {v_min:g} to {v_max:g} pu; shaded: outside the band.",
        ),
        (
            lambda: plots.feeder_power(data, start=start),
            "Power at the grid connection|Active power at the grid connection (positive: "
            "import from the upstream grid, negative: export) and the total of each unit type. "
            "Loads, batteries and EVs are positive when they consume or charge.",
        ),
        (
            lambda: (
                plots.grid_map(data, load_grid(grid), v_min_pu=v_min, v_max_pu=v_max)
                if grid and load_grid
                else None
            ),
            "Grid map|Each bus coloured by its voltage farthest from 1 pu during the run, each "
            "line (solid) and transformer (dashed) by its highest loading; the square marks "
            "the connection to the upstream grid.",
        ),
        (
            lambda: plots.battery_soc(data, start=start),
            "Home batteries|State of charge of each battery and their mean (top), total "
            "battery power, positive when charging (bottom).",
        ),
        (
            lambda: plots.chp_heat(data, start=start),
            "CHP heat|Heat from the CHP and the backup boiler stacked against the heat "
            "demand (top), energy stored in the heat tank (bottom).",
        ),
        (
            lambda: vpp_plots.schedule_plot(data, start=start),
            "Virtual power plant|The schedule's request, the power the fleet delivered (both in "
            "the schedule's sign) and the flexibility envelope the plant computed for each step.",
        ),
        (
            lambda: plots.ev_charging(data, start=start),
            "EV charging|Total charging power of all EVs (top) and how many are plugged in "
            "(bottom).",
        ),
        (
            lambda: market_plots.price_and_volume(data, start=start),
            "Local market|Clearing price of each interval with the retail and feed-in tariffs "
            "(top); energy the participants exported and offered, traded locally, and removed "
            "by the grid rule, as power over the step (bottom).",
        ),
        (
            lambda: market_plots.bills(data, int(manifest["step_s"]) / SECONDS_PER_HOUR),
            "Market bills|Each participant's bill over the run under net metering, net billing "
            "and the local market (negative: it earns).",
        ),
    ]
    out = []
    for make, caption in makers:
        try:
            fig = make()
        except ConfigError as exc:  # e.g. the grid file of the run has moved
            notes.append(f"Plot left out: {exc}")
            continue
        if fig is not None:
            title, _, text = caption.partition("|")
            out.append((title, text, png_base64(fig)))
    return out


def png_base64(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _title(manifest: dict[str, Any]) -> str:
    return f"{manifest.get('scenario', 'run')}: {manifest.get('start', '')}"


def _header(manifest: dict[str, Any], folder: Path) -> str:
    status = str(manifest.get("status", "unknown"))
    done, steps = manifest.get("steps_done"), manifest.get("steps")
    step_s = manifest.get("step_s")
    length = ""
    if isinstance(step_s, int | float) and isinstance(done, int):
        length = f" of {step_s / 60:g} min ({done * step_s / 3600:g} h)"
    grid = manifest.get("config", {}).get("grid")
    parts = [
        f"start {_e(manifest.get('start', '?'))}",
        f"{_e(done)} of {_e(steps)} steps{_e(length)}",
        *([f"grid <code>{_e(grid)}</code>"] if grid else []),
        f'status <span class="status-{"completed" if status == "completed" else "other"}">'
        f"{_e(status)}</span>",
    ]
    out = [
        f"<h1>{_e(manifest.get('scenario', 'run'))}</h1>",
        f'<p class="sub">{" &middot; ".join(parts)}<br>folder <code>{_e(folder)}</code></p>',
    ]
    if status != "completed":
        error = manifest.get("error") or "the run did not finish"
        out.append(
            '<div class="banner"><strong>Partial run</strong>: the simulation '
            f"{'failed' if status == 'failed' else 'did not complete'} after {_e(done)} of "
            f"{_e(steps)} steps. The KPIs and plots cover the finished steps only."
            f"<pre>{_e(error)}</pre></div>"
        )
    return "\n".join(out)


def label(name: str, unit: str) -> str:
    """A KPI name for people: underscores to spaces, the trailing unit dropped, acronyms."""
    words = name.split("_")
    if len(words) > 1 and (words[-1] in _UNIT_SUFFIXES or words[-1] == unit.lower()):
        words = words[:-1]
    words = [_ACRONYMS.get(w, w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def format_value(value: float, unit: str) -> str:
    """A KPI value rounded for reading: integers as such, else 4 significant digits."""
    if not math.isfinite(value):
        return "&ndash;"
    if value == round(value) and abs(value) < 1e9:
        return f"{round(value):,}".replace(",", "&thinsp;")
    if abs(value) >= 1e4:
        return f"{value:,.0f}".replace(",", "&thinsp;")
    text = f"{value:.4g}"
    return text if "e" in text or unit != "p.u." else f"{value:.4f}"


def _shown(k: kpi_mod.Kpi) -> str:
    return ("yes" if k.value else "no") if k.name == "partial" else format_value(k.value, k.unit)


def _headline(kpis: list[kpi_mod.Kpi]) -> str:
    if not kpis:
        return ""
    cards = [
        f'<div class="card" title="{_e(k.definition)}"><div class="label">'
        f'{_e(label(k.name, k.unit))}</div><div class="value">{_shown(k)} '
        f'<span class="unit">{_e(k.unit if k.unit != "-" else "")}</span></div></div>'
        for k in kpis
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _kpi_tables(kpis: list[kpi_mod.Kpi]) -> str:
    if not kpis:
        return ""
    groups: dict[str, list[kpi_mod.Kpi]] = {}
    for k in kpis:
        groups.setdefault(k.group, []).append(k)
    out = ['<h2 id="kpis">Key performance indicators</h2>']
    for group, rows in groups.items():
        out.append(f"<h3>{_e(group)}</h3>")
        out.append(
            '<table class="kpi"><colgroup><col class="name"><col class="value"><col class="unit">'
            '<col class="at"></colgroup><thead><tr><th>indicator</th><th class="num">value</th>'
            "<th>unit</th><th>where / when</th></tr></thead><tbody>"
        )
        for k in rows:
            out.append(
                f'<tr title="{_e(k.definition)}"><td><strong>{_e(label(k.name, k.unit))}</strong> '
                f'<code>{_e(k.name)}</code><span class="def">{_e(k.definition)}</span></td>'
                f'<td class="num">{_shown(k)}</td><td>{_e(k.unit)}</td>'
                f'<td class="at">{_e(k.at or "")}</td></tr>'
            )
        out.append("</tbody></table>")
    return "\n".join(out)


def _figure_section(figures: list[tuple[str, str, str]]) -> str:
    if not figures:
        return ""
    out = ['<h2 id="plots">Plots</h2>']
    for number, (title, caption, png) in enumerate(figures, start=1):
        out.append(
            f'<figure><img alt="Figure {number}: {_e(title)}" src="data:image/png;base64,{png}">'
            f"<figcaption><strong>Figure {number}. {_e(title)}.</strong> {_e(caption)}"
            "</figcaption></figure>"
        )
    return "\n".join(out)


def _run_details(manifest: dict[str, Any]) -> str:
    config = manifest.get("config", {})
    versions = manifest.get("versions", {})
    rows = [
        *(f"<tr><td><code>{_e(k)}</code></td><td>{_e(v)}</td></tr>" for k, v in config.items()),
        *(
            f"<tr><td>{_e(k)}</td><td>{_e(manifest.get(k))}</td></tr>"
            for k in ("started_at", "ended_at", "build_s", "run_s", "processes")
            if k in manifest
        ),
        "<tr><td>versions</td><td>"
        + _e(", ".join(f"{k} {v}" for k, v in versions.items() if v))
        + "</td></tr>",
    ]
    return (
        '<h2 id="run">Run</h2><details open><summary>Configuration and versions</summary>'
        f"<table>{''.join(rows)}</table></details>"
    )
