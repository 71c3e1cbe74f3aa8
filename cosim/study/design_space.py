"""The design space of a sizing study: ranges of Config fields, objectives, periods.

Pure parsing and checking (no optuna, no runs), so bad input is one error before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from cosim.analysis import economics
from cosim.analysis.kpi_catalogue import CATALOGUE
from cosim.core.errors import ConfigError, unknown
from cosim.run.config import RunConfig, field_types

OBJECTIVES = tuple(
    name
    for name, (group, _, _) in CATALOGUE.items()
    if group == "economics" and name != "year_scale"
)
SEASON_STARTS = ((1, 15), (4, 15), (7, 15), (10, 15))  # (month, day) of each season's period
CONSTRAINTS = ("voltage_violation_h", "overload_h", "energy_not_served_mwh")
"""KPIs summed over a design's periods; feasible: 0 h outside the voltage band, 0 h overloaded,
energy not served at most ``max_ens_mwh``."""
DESIGNS = "designs"
"""Folder of a study that holds one folder per design."""


@dataclass(frozen=True)
class Range:
    """A searched Config field: ``low..high``, on a grid of ``step`` if given."""

    key: str
    low: float
    high: float
    step: float | None
    integer: bool

    def snap(self, value: float) -> float | int:
        """``value`` on the grid (optuna's floats drift by 1e-17), as the field's type."""
        if self.step is not None:
            value = self.low + round((value - self.low) / self.step) * self.step
        return round(value) if self.integer else round(float(value), 12)


def parse_ranges(cls: type, specs: Sequence[str]) -> dict[str, Range]:
    """``["pv_p_peak_mw=0.004:0.012:0.002", ...]`` as Ranges of numeric Config fields."""
    known, out = field_types(cls), {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        key, parts = key.strip(), text.split(":")
        if not sep or not key or len(parts) not in (2, 3) or not all(p.strip() for p in parts):
            raise ConfigError(f"--range {spec!r} must look like KEY=LOW:HIGH or KEY=LOW:HIGH:STEP")
        if key not in known:
            raise unknown("--range key", key, list(known))
        if key in out:
            raise ConfigError(f"--range {key} is given twice")
        kind = _number_type(known[key])
        if kind is None:
            raise ConfigError(f"--range {key}: the field is {known[key]}, a range needs a number")
        try:
            low, high, *step = (float(p) for p in parts)
        except ValueError:
            raise ConfigError(f"--range {spec!r}: LOW, HIGH and STEP must be numbers") from None
        if not all(math.isfinite(v) for v in (low, high, *step)):
            raise ConfigError(f"--range {spec!r}: LOW, HIGH and STEP must be finite")
        if low > high:
            raise ConfigError(f"--range {key}: LOW={low:g} > HIGH={high:g}; give LOW <= HIGH")
        if low == high:
            raise ConfigError(f"--range {key}={low:g}:{high:g} is empty; use --set {key}=VALUE")
        if step and not step[0] > 0:
            raise ConfigError(f"--range {key}: STEP={step[0]:g} must be > 0")
        if step and abs((high - low) / step[0] - round((high - low) / step[0])) > 1e-9:
            raise ConfigError(f"--range {key}: HIGH - LOW = {high - low:g} is no multiple of STEP")
        integer = kind is int
        if integer and (low != int(low) or high != int(high) or (step and step[0] != int(step[0]))):
            raise ConfigError(f"--range {key}: an integer field needs integer LOW, HIGH, STEP")
        out[key] = Range(key, low, high, step[0] if step else (1.0 if integer else None), integer)
    if not out:
        raise ConfigError("nothing to optimize: give --range KEY=LOW:HIGH[:STEP]")
    return out


def _number_type(tp: object) -> type | None:
    """``int`` or ``float`` for a numeric field, also ``float | None`` (e.g. a size that is
    None by default: derived), else None."""
    options = [a for a in get_args(tp) if a is not type(None)] if get_args(tp) else [tp]
    if len(options) == 1 and options[0] in (int, float):
        return int if options[0] is int else float
    return None


def check_objectives(names: Sequence[str]) -> tuple[str, ...]:
    """Objective KPI names (all minimised); default ``npc_eur``."""
    names = tuple(names) or ("npc_eur",)
    for name in names:
        if name not in OBJECTIVES:
            raise unknown("--objective KPI", name, OBJECTIVES)
    if len(set(names)) != len(names):
        raise ConfigError(f"--objective: a KPI is given twice in {list(names)}")
    return names


@dataclass(frozen=True)
class Period:
    """A representative period: its run's ``start`` and ``steps``, and the hours it stands for."""

    name: str
    start: str
    steps: int
    hours: float


def periods(spec: str, cfg: RunConfig) -> list[Period]:
    """``run``: the Config's own period, standing for a year. ``seasons:DAYS``: DAYS from the
    15th of January, April, July and October of ``start``'s year, each standing for a quarter
    (2190 h): the seasonal sampling HOMER's users do by hand, error measured in the README."""
    if spec == "run":
        return [Period("run", cfg.start, cfg.steps, economics.HOURS_PER_YEAR)]
    kind, _, days_text = spec.partition(":")
    days = int(days_text) if kind == "seasons" and days_text.isdigit() else 0
    if not 1 <= days <= 91 or (days * 86400) % cfg.step_s:
        raise ConfigError(
            f"periods={spec!r} must be 'run' or 'seasons:DAYS' with DAYS in 1..91 whole steps"
        )
    year = datetime.fromisoformat(cfg.start).year
    steps = days * 86400 // cfg.step_s
    hours = economics.HOURS_PER_YEAR / len(SEASON_STARTS)
    return [
        Period(f"{month:02d}-{day:02d}", str(datetime(year, month, day)), steps, hours)
        for month, day in SEASON_STARTS
    ]
