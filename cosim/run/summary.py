"""The short summary printed after a run, computed from the results folder only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cosim.analysis import kpis
from cosim.analysis.balance import BALANCE_ATTRS, balance_of
from cosim.analysis.results import energised, load, read_manifest, select, split_id
from cosim.core.text import number
from cosim.core.units import SECONDS_PER_HOUR
from cosim.run.runner import RunOutcome

HEADLINE_ATTRS = (
    "vm_pu",
    "loading_percent",
    "p_mw",
    "converged",
    "p_unserved_mw",
    "limit_violated",
    "tripped",
    *BALANCE_ATTRS,
)


def headline(folder: str | Path) -> list[tuple[str, str]]:
    """(label, value) lines: voltages, loading, grid exchange, convergence, energy balance."""
    data = load(folder, attrs=HEADLINE_ATTRS)
    manifest = read_manifest(folder)
    step_s, start = manifest["step_s"], pd.Timestamp(manifest["start"])

    def at(t_s: int) -> str:
        return f"{start + pd.Timedelta(seconds=t_s):%Y-%m-%d %H:%M}"

    step_h = step_s / SECONDS_PER_HOUR
    lines: list[tuple[str, str]] = []
    vm = _of(data, "vm_pu", "bus_")
    if not vm.empty and vm.isna().all().all():
        lines.append(("bus voltage min / max", "none: no power flow converged"))
    elif not vm.empty and not (vm > 0).any().any():
        lines.append(("bus voltage min / max", "0 pu: every bus de-energised, no slack"))
    elif not vm.empty:
        live = energised(vm)
        low, high = _where(live, "min"), _where(live, "max")
        lines.append(
            (
                "bus voltage min / max",
                f"{live.min().min():.4f} pu ({low[1]}, {at(low[0])}) / "
                f"{live.max().max():.4f} pu ({high[1]}, {at(high[0])})",
            )
        )
    loading = _of(data, "loading_percent", "")
    if loading.notna().any().any():
        worst = _where(loading, "max")
        lines.append(
            ("max branch loading", f"{loading.max().max():.1f} % ({worst[1]}, {at(worst[0])})")
        )
    balance = balance_lines(data, step_s, manifest.get("kinds"))
    slack = _of(data, "p_mw", "ext_grid_")
    if slack.notna().any().any() and not balance:
        p_mw = slack.sum(axis=1).to_numpy()
        lines.append(
            (
                "grid import / export",
                f"{np.clip(p_mw, 0, None).sum() * step_h:.4f} MWh / "
                f"{np.clip(-p_mw, 0, None).sum() * step_h + 0.0:.4f} MWh",
            )
        )
    converged = _of(data, "converged", "")
    if not converged.empty:
        failed = int((converged == 0).to_numpy().sum())
        lines.append(("power flows not converged", f"{failed} of {converged.size}"))
    notes = manifest.get("notes") or {}
    return [
        *notes.items(),
        *lines,
        *balance,
        *outage_line(data, step_h),
        *limit_line(data, step_h),
    ]


def outage_line(data: pd.DataFrame, step_h: float) -> list[tuple[str, str]]:
    """Hours each load went unserved, longest first (only loads that were cut)."""
    unserved = _of(data, "p_unserved_mw", "load_")
    cut_h = ((unserved.fillna(0.0) > 0).sum() * step_h).sort_values(ascending=False)
    cut_h = cut_h[cut_h > 0]
    if cut_h.empty:
        return []
    text = ", ".join(f"{str(e).rsplit('.', 1)[-1]} {h:g}" for e, h in cut_h.items())
    return [("outage per load [h]", text)]


def limit_line(data: pd.DataFrame, step_h: float) -> list[tuple[str, str]]:
    """Steps with a unit beyond its limits, and hours an island was collapsed (if recorded)."""
    attrs = set(data.columns.get_level_values(1))
    if not attrs & {"limit_violated", "tripped"}:
        return []

    def steps(attr: str) -> int:
        frame = data[[c for c in data.columns if c[1] == attr]]
        return int(frame.fillna(0).astype(bool).any(axis=1).sum()) if not frame.empty else 0

    return [
        (
            "unit limits exceeded / collapsed",
            f"{steps('limit_violated')} steps / {steps('tripped') * step_h:g} h",
        )
    ]


def balance_lines(
    data: pd.DataFrame, step_s: int, kinds: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """The energy balance, when the run recorded every grid element's power and losses."""
    if not _of(data, "pl_mw", "").notna().any().any():  # not recorded, or nothing converged
        return []
    b = balance_of(data, step_s, kinds)

    def mwh(*values: float) -> str:
        return " / ".join(f"{round(v, 9) + 0.0:.4f}" for v in values) + " MWh"

    return [
        ("energy imported / exported", mwh(b.import_mwh, b.export_mwh)),
        ("PV / CHP / other produced", mwh(b.pv_mwh, b.chp_mwh, b.other_generation_mwh)),
        ("consumed by loads", mwh(b.consumption_mwh)),
        ("into batteries / EVs (net)", mwh(b.battery_mwh, b.ev_mwh)),
        ("losses grid / batteries+EVs", mwh(b.grid_losses_mwh, b.unit_losses_mwh)),
        ("balance residual", f"{b.residual_mwh:.1e} MWh"),
    ]


def _where(frame: pd.DataFrame, which: str) -> tuple[int, str]:
    """(t_s, column) of the smallest or largest value of ``frame``."""
    values = frame.to_numpy()
    flat = np.nanargmin(values) if which == "min" else np.nanargmax(values)
    row, col = np.unravel_index(flat, values.shape)
    return int(frame.index[int(row)]), str(frame.columns[int(col)])


def _of(data: pd.DataFrame, attr: str, prefix: str) -> pd.DataFrame:
    """Columns of ``attr`` whose entity id (after the simulator id) starts with ``prefix``."""
    frame = select(data, attr, prefix=prefix)
    frame.columns = [split_id(c)[1] for c in frame.columns]
    return frame


SHOWN_ABOVE = {"partial", "import_mwh", "export_mwh", "nonconverged_steps"}


def kpi_lines(folder: str | Path) -> list[tuple[str, str]]:
    """The headline KPIs the lines above do not show already (``cosim report`` has them all)."""
    found = kpis.headline(kpis.compute(folder))
    return [
        (k.name, f"{number(k.value)} {k.unit}" + (f" ({k.at})" if k.at else ""))
        for k in found
        if k.name not in SHOWN_ABOVE
    ]


def render(outcome: RunOutcome) -> str:
    """The summary as text."""
    per_step_ms = 1000 * outcome.run_s / max(outcome.steps_done, 1)
    rows = [
        ("status", outcome.status + (f": {outcome.error}" if outcome.error else "")),
        (
            "steps",
            f"{outcome.steps_done} in {outcome.run_s:.2f} s ({per_step_ms:.2f} ms/step), "
            f"after {outcome.build_s:.2f} s to build",
        ),
        ("results", str(outcome.out_dir)),
    ]
    if outcome.steps_done:
        rows += headline(outcome.out_dir)
        rows += kpi_lines(outcome.out_dir)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
