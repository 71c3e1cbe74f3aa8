"""What a sizing study leaves in its folder: the trial table, the best designs, a report page.

``summary.parquet`` / ``summary.csv``: one row per trial (design, parameters, state,
objectives, constraints, feasibility, every economics KPI). ``best.csv``: the best feasible
design (one objective) or the Pareto front of the feasible designs (several).
``report.html``: the front, each objective against each parameter, the best designs' table
and a link to the best design's own run report.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cosim.analysis import kpis, report
from cosim.analysis.kpi_catalogue import CATALOGUE
from cosim.study.design_space import CONSTRAINTS, DESIGNS, OBJECTIVES, Range
from cosim.study.sweep import SUMMARY_CSV, SUMMARY_PARQUET, run_name

BEST_CSV = "best.csv"


def trial_table(study: Any, ranges: Mapping[str, Range], objectives: Sequence[str]) -> pd.DataFrame:
    """One row per trial of ``study``, in trial order."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        found = t.user_attrs.get("kpis", {})
        limits = t.user_attrs.get("constraints", [math.nan] * len(CONSTRAINTS))
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name.lower(),
                "design": t.user_attrs.get("design")
                or run_name({k: r.snap(t.params[k]) for k, r in ranges.items() if k in t.params}),
                **{
                    k: r.snap(t.params[k]) if k in t.params else math.nan for k, r in ranges.items()
                },
                **{o: found.get(o, math.nan) for o in objectives},
                **dict(zip(CONSTRAINTS, limits, strict=True)),
                "feasible": t.state.name == "COMPLETE" and all(c <= 0 for c in limits),
                "cached": bool(t.user_attrs.get("cached", False)),
                "error": t.user_attrs.get("error"),
                **{f"kpi_{k}": found.get(k, math.nan) for k in OBJECTIVES if k not in objectives},
            }
        )
    return pd.DataFrame(rows)


def best(table: pd.DataFrame, objectives: Sequence[str]) -> pd.DataFrame:
    """The best feasible design (one objective) or the Pareto front (several), one row per
    design, sorted by the first objective."""
    ok = table[table["feasible"]].drop_duplicates("design")
    if ok.empty:
        return ok
    values = ok[list(objectives)].to_numpy(dtype=float)
    if len(objectives) == 1:
        return ok.iloc[[int(np.argmin(values[:, 0]))]]
    dominated = [
        bool(np.any(np.all(values <= v, axis=1) & np.any(values < v, axis=1))) for v in values
    ]
    return ok[~np.array(dominated)].sort_values(list(objectives))


def write_outputs(
    folder: Path,
    study: Any,
    ranges: Mapping[str, Range],
    objectives: Sequence[str],
    settings: kpis.Settings,
    load_grid: Callable[[str], Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write the trial table, the best designs and ``report.html`` (``load_grid``: see
    :func:`cosim.analysis.report.write_report`); the table and the best."""
    table = trial_table(study, ranges, objectives)
    table.to_parquet(folder / SUMMARY_PARQUET, index=False)
    table.to_csv(folder / SUMMARY_CSV, index=False)
    top = best(table, objectives) if len(table) else table
    top.to_csv(folder / BEST_CSV, index=False)
    link = ""
    if len(top):
        runs = sorted(
            p for p in (folder / DESIGNS / str(top["design"].iloc[0])).iterdir() if p.is_dir()
        )
        if runs:
            page = report.write_report(runs[0], settings, load_grid)
            link = str(page.relative_to(folder))
    _page(folder, table, top, ranges, objectives, link)
    return table, top


def _label(name: str) -> str:
    unit = CATALOGUE[name][1] if name in CATALOGUE else ""
    return f"{report.label(name, unit)} [{unit}]" if unit else name


def _figures(
    table: pd.DataFrame, top: pd.DataFrame, ranges: Mapping[str, Range], objectives: Sequence[str]
) -> list[tuple[str, str]]:
    """(title, base64 PNG) of the front (or the objective by trial) and objective vs parameter."""
    done = table[table["state"] == "complete"]
    good, bad = done[done["feasible"]], done[~done["feasible"]]
    out = []
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    if len(objectives) > 1:
        x, y = objectives[0], objectives[1]
        ax.scatter(good[x], good[y], s=18, color="#2c7fb8", label="feasible")
        ax.scatter(bad[x], bad[y], s=18, marker="x", color="#b30000", label="infeasible")
        front = top.sort_values(x)
        ax.plot(front[x], front[y], "o-", color="#1b7e3c", label="Pareto front")
        ax.set_xlabel(_label(x))
        ax.set_ylabel(_label(y))
        title = f"Pareto front: {x} against {y}"
    else:
        x = objectives[0]
        ax.scatter(good["trial"], good[x], s=18, color="#2c7fb8", label="feasible")
        ax.scatter(bad["trial"], bad[x], s=18, marker="x", color="#b30000", label="infeasible")
        ax.plot(good["trial"], good[x].cummin(), color="#1b7e3c", label="best so far")
        ax.set_xlabel("trial")
        ax.set_ylabel(_label(x))
        title = f"{x} by trial"
    ax.legend()
    ax.grid(alpha=0.3)
    out.append((title, report.png_base64(fig)))
    for key in ranges:
        fig = Figure(figsize=(4.5 * len(objectives), 3.6))
        for ax, goal in zip(
            np.atleast_1d(fig.subplots(1, len(objectives))), objectives, strict=True
        ):
            ax.scatter(good[key], good[goal], s=18, color="#2c7fb8")
            ax.scatter(bad[key], bad[goal], s=18, marker="x", color="#b30000")
            ax.set_xlabel(key)
            ax.set_ylabel(_label(goal))
            ax.grid(alpha=0.3)
        fig.tight_layout()
        out.append((f"objectives against {key}", report.png_base64(fig)))
    return out


def _page(
    folder: Path,
    table: pd.DataFrame,
    top: pd.DataFrame,
    ranges: Mapping[str, Range],
    objectives: Sequence[str],
    link: str,
) -> Path:
    e = html.escape
    counts = table["state"].value_counts().to_dict() if len(table) else {}
    states = ", ".join(f"{n} {state}" for state, n in counts.items())
    columns = ["trial", "design", *ranges, *objectives, *CONSTRAINTS]
    best_html = (
        top[columns].to_html(index=False, float_format=lambda v: f"{v:.6g}") if len(top) else ""
    )
    figures = _figures(table, top, ranges, objectives) if len(table) else []
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>sizing study</title>',
        f"<style>{report.CSS}</style></head><body><main>",
        f"<h1>Sizing study: {e(folder.name)}</h1>",
        f'<p class="sub">{len(table)} trials ({e(states)}), '
        f"{table['design'].nunique() if len(table) else 0} designs simulated; minimising "
        f"{e(', '.join(objectives))}. Feasible: no voltage-band violation, no overload, "
        "energy not served within the limit.</p>",
        f"<h2>{'Best design' if len(objectives) == 1 else 'Pareto front'}</h2>",
        best_html or '<p class="note">No feasible design yet.</p>',
        f'<p>Run report of the best design: <a href="{e(link)}">{e(link)}</a></p>' if link else "",
        "<h2>Plots</h2>",
        *(
            f'<figure><img alt="{e(t)}" src="data:image/png;base64,{png}">'
            f"<figcaption>{e(t)}</figcaption></figure>"
            for t, png in figures
        ),
        f"<p>Every trial: {SUMMARY_CSV}, {SUMMARY_PARQUET}.</p>",
        "</main></body></html>",
    ]
    path = folder / "report.html"
    path.write_text("\n".join(body), encoding="utf-8")
    return path
