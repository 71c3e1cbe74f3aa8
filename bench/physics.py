"""Plausibility of a year of the default ``neighbourhood``: unit figures against published ranges.

    python bench/physics.py [--steps 35040] [--set KEY=VALUE ...] [--out DIR] [--folder DIR]

Runs ``neighbourhood`` in-process (a year at 15 min by default; ``--set weather=clear_sky``
for the clear-sky comparison) or reads a finished run's ``--folder``, and prints each figure
next to a reference range and its source:

- PV specific yield [kWh/kWp]: the PV units' delivered energy over their DC peak power;
- home battery equivalent full cycles [1/a]: ``battery_cycles`` (throughput / 2 / capacity);
- CHP full-load hours [h/a]: electrical energy over the electrical rating;
- EV energy per car [kWh/a]: ``ev_charged_mwh`` over the number of EVs.

Runs shorter than a year are scaled to a year (365 days) and say so. The references are ranges
of real systems; the figure of a run need not sit inside each, but a figure far outside one
points at a default or a model to look at (``docs/plausibility.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.analysis import kpis, results
from cosim.analysis.results import read_manifest
from cosim.run import runner
from cosim.run.config import make_config
from cosim.run.scenario import load_scenario

YEAR_STEPS = 35_040
HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class Reference:
    """A published range for one figure."""

    low: float
    high: float
    source: str


REFERENCES = {
    "pv_yield_kwh_per_kwp": Reference(
        816.0,
        1049.0,
        "te Heesen, Herbort, Rumpler, Solar Energy 194 (2019) 128-135: annual specific yield "
        "of 23,944 German rooftop systems 2012-2018, 816 (Baltic coast 2017) to 1049 (Bavaria "
        "2018) kWh/kWp",
    ),
    "battery_full_cycles": Reference(
        150.0,
        320.0,
        "RWTH Aachen ISEA monitoring of German home storage (K.-P. Kairies in pv Europe, "
        "'Remote monitoring: energy storage needed'): most 200-250 cycles a year, large "
        "systems about 150, very small ones 300-320",
    ),
    "chp_full_load_h": Reference(
        5000.0,
        8000.0,
        "micro-CHP design guidance (heizungsfinder.de, 'Mikro BHKW: Einsatzbereiche'): at "
        "least 5000 h a year recommended, 8000 h the optimum",
    ),
    "ev_kwh_per_car": Reference(
        1850.0,
        2720.0,
        "KBA 'Verkehr in Kilometern': a German car drove 12,320 km (2023) to 13,602 km (2019) "
        "a year; times 0.15-0.20 kWh/km at the charger (an assumed range for compact EVs)",
    ),
}


def figures(folder: str | Path) -> dict[str, float]:
    """The four figures of a neighbourhood run folder, per year (scaled from its length)."""
    manifest = read_manifest(folder)
    cfg = manifest["config"]
    years = manifest["steps_done"] * manifest["step_s"] / 3600.0 / HOURS_PER_YEAR
    data = results.load(folder, attrs=("p_mw",))
    by = {k.name: k.value for k in kpis.compute(folder)}

    def units(kind: str) -> list[tuple[str, str]]:
        return [c for c in data.columns if c[0].split("-", 1)[0] == kind and c[1] == "p_mw"]

    step_h = manifest["step_s"] / 3600.0
    pv, chp, ev = units("PV"), units("CHP"), units("EV")
    out: dict[str, float] = {"years": years}
    if pv:
        pv_kwh = float(data[pv].to_numpy().sum()) * step_h * 1000.0
        pv_kwp = manifest["installed"]["pv_mw"] * 1000.0  # the sum of the units' DC peaks
        out["pv_yield_kwh_per_kwp"] = pv_kwh / pv_kwp / years
    if "battery_cycles" in by:
        out["battery_full_cycles"] = by["battery_cycles"] / years
    if chp:
        chp_mwh = float(data[chp].to_numpy().sum()) * step_h
        out["chp_full_load_h"] = chp_mwh / (len(chp) * cfg["chp_p_el_mw"]) / years
    if ev and "ev_charged_mwh" in by:
        out["ev_kwh_per_car"] = by["ev_charged_mwh"] * 1000.0 / len(ev) / years
    return out


def render(found: dict[str, float]) -> str:
    """The figures as a table with their reference ranges and sources."""
    lines = []
    if abs(found["years"] - 1.0) > 1e-9:
        lines.append(f"(run of {found['years'] * 365:.1f} days, scaled to a year)")
    lines.append(f"{'figure':<22} {'run':>8}  {'reference':>13}  in range  source")
    for name, ref in REFERENCES.items():
        if name not in found:
            continue
        value = found[name]
        inside = "yes" if ref.low <= value <= ref.high else "no"
        span = f"{ref.low:g}-{ref.high:g}"
        lines.append(f"{name:<22} {value:>8.0f}  {span:>13}  {inside:<8}  {ref.source}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=YEAR_STEPS)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=None, help="results folder (new, empty)")
    parser.add_argument("--folder", type=Path, default=None, help="read this run, run nothing")
    args = parser.parse_args()
    folder = args.folder
    if folder is None:
        scenario = load_scenario("neighbourhood")
        cfg = make_config(scenario.config_class, args.set, steps=args.steps)
        t0 = time.perf_counter()
        outcome = runner.run(scenario, cfg, args.out, progress=False)
        if outcome.status != "completed":
            raise SystemExit(f"run failed: {outcome.error}")
        folder = outcome.out_dir
        print(f"neighbourhood, {args.steps} steps, {' '.join(args.set) or 'defaults'}: "
              f"{time.perf_counter() - t0:.0f} s, results in {folder}")  # fmt: skip
    print(render(figures(folder)))


if __name__ == "__main__":
    main()
