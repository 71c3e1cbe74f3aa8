"""The error of representative periods: economics of shortened runs against the full year.

    python bench/periods.py [--out DIR]

One ``neighbourhood`` design (the defaults) priced from (a) the full year 2016 at 15 min
(35,040 steps, the anchor), (b) one week from the 15th of January, April, July and October,
each standing for a quarter (``cosim optimize --periods seasons:7``), (c) the same with two
days each (``seasons:2``) and (d) three days from 15 April scaled to a year (``--periods run``
with the benchmark's period, ``bench/optimize.py``). Printed: each economics KPI of each and its
error against the full year [%].
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cosim.analysis.kpis import DEFAULT_SETTINGS
from cosim.run.config import make_config
from cosim.run.logs import quiet_logging
from cosim.run.scenario import load_scenario
from cosim.study.design_space import Period, periods
from cosim.study.optimize import evaluate_design

SHOWN = ("npc_eur", "grid_eur_per_year", "fuel_eur_per_year", "co2_project_kg", "lcoe_eur_per_mwh")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temp dir)")
    args = parser.parse_args()
    quiet_logging()
    cfg = make_config(load_scenario("neighbourhood").config_class)
    cases = {
        "full year": [Period("year", "2016-01-01 00:00:00", 35040, 8760.0)],
        "seasons:7": periods("seasons:7", cfg),
        "seasons:2": periods("seasons:2", cfg),
        "3 days, 15 Apr": [Period("run", "2016-04-15 00:00:00", 288, 8760.0)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        found = {}
        for name, chosen in cases.items():
            t0 = time.perf_counter()
            folder = str(out / name.replace(" ", "_").replace(",", "").replace(":", "-"))
            result = evaluate_design(
                "neighbourhood", {}, chosen, folder, {**DEFAULT_SETTINGS.__dict__}, 0.0
            )
            if result["status"] != "completed":
                raise SystemExit(f"{name}: {result['error']}")
            found[name] = result["kpis"]
            steps = sum(p.steps for p in chosen)
            print(f"{name}: {steps} steps simulated, {time.perf_counter() - t0:.0f} s", flush=True)
    year = found["full year"]
    print(f"\n{'KPI':22s}" + "".join(f"{n:>22s}" for n in cases))
    for kpi in SHOWN:
        cells = [f"{year[kpi]:22.6g}"]
        for name in list(cases)[1:]:
            error = 100 * (found[name][kpi] / year[kpi] - 1)
            cells.append(f"{found[name][kpi]:13.6g} ({error:+5.1f} %)")
        print(f"{kpi:22s}" + "".join(cells))


if __name__ == "__main__":
    main()
