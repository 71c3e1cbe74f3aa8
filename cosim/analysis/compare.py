"""Two runs side by side: every KPI of either, with the difference and the relative change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cosim.analysis.kpis import CATALOGUE, DEFAULT_SETTINGS, Settings, compute, to_frame
from cosim.core.text import number

COLUMNS = ("name", "unit", "a", "b", "diff", "rel_change")


def compare(
    folder_a: str | Path, folder_b: str | Path, settings: Settings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """The KPIs of run ``a`` and run ``b`` computed with the same ``settings``.

    Returns
    -------
    DataFrame with columns name, unit, a, b, diff (b - a, unit of the KPI) and rel_change
    ((b - a) / |a|, NaN where a is 0 or missing), one row per KPI of either run, in the
    order of ``cosim.analysis.kpis.CATALOGUE``; a KPI only one run has is NaN for the other.
    """
    frame_a = to_frame(compute(folder_a, settings))[["name", "unit", "value"]]
    frame_b = to_frame(compute(folder_b, settings))[["name", "unit", "value"]]
    both = frame_a.merge(
        frame_b, on=["name", "unit"], how="outer", suffixes=("_a", "_b"), sort=False
    )
    both = both.rename(columns={"value_a": "a", "value_b": "b"})
    both["diff"] = both["b"] - both["a"]
    scale = both["a"].abs().where(both["a"] != 0)
    both["rel_change"] = both["diff"] / scale
    order = {name: i for i, name in enumerate(CATALOGUE)}
    both = both.sort_values("name", key=lambda names: names.map(order), kind="stable")
    return both[list(COLUMNS)].reset_index(drop=True)


def render(frame: pd.DataFrame) -> str:
    """``compare``'s table as aligned text: values to 4 significant digits, change in %."""

    def shown(value: float) -> str:
        return "" if np.isnan(value) else number(value)

    rows: list[tuple[str, ...]] = [("KPI", "unit", "a", "b", "b - a", "change")]
    for r in frame.to_dict("records"):
        a, b, diff, rel = (float(r[c]) for c in ("a", "b", "diff", "rel_change"))
        change = "" if np.isnan(rel) else f"{100 * rel:+.1f} %"
        numbers = [shown(value) for value in (a, b, diff)]
        rows.append((str(r["name"]), str(r["unit"]), *numbers, change))
    widths = np.max([[len(cell) for cell in row] for row in rows], axis=0)
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)
