"""Benchmark: ``cosim optimize`` against the exhaustive ``cosim sweep`` grid of the same space.

    python bench/optimize.py [--steps 288] [--start "2016-04-15 00:00:00"] [--workers 2]
                             [--trials 30] [--pareto-trials 30] [--out DIR] [--png FILE]

The space is ``neighbourhood``'s PV size (``pv_p_peak_mw`` 4..12 kW, 5 values), battery size
(``battery_e_mwh`` 5..15 kWh, 5 values; its power a fixed 5 kW) and battery share
(``battery_share_frac`` 0, 0.5, 1): 5 x 5 x 3 = 75 designs. The anchor runs every design with
``cosim sweep`` and reads each run's ``npc_eur`` (economics KPIs, default costs, the period
scaled to a year). The optimizer runs ``cosim optimize`` minimising NPC with at most
``--trials`` co-simulations (30 = 40 % of 75). Both run the same representative period
(``--steps`` from ``--start``) on the same local Dask cluster size. Printed: the best NPC of
each, their ratio, and the run counts; done means the optimizer's best is within 1 % of the
grid's with at most 40 % of its runs.

With ``--pareto-trials N`` a second study minimises NPC and project CO2 (a Pareto front) and
``--png`` saves the front over every grid design as a picture.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from cosim.run.logs import quiet_logging
from cosim.run.scenario import load_scenario
from cosim.study.optimize import optimize
from cosim.study.optimize_report import BEST_CSV
from cosim.study.sweep import execute, plan, vary_values

RANGES = {
    "pv_p_peak_mw": (0.004, 0.012, 0.002),
    "battery_e_mwh": (0.005, 0.015, 0.0025),
    "battery_share_frac": (0.0, 1.0, 0.5),
}


def grid_values() -> dict[str, list[float]]:
    """The sweep's values: LOW, LOW + STEP, ..., HIGH of each range."""
    return {
        k: [round(lo + i * st, 12) for i in range(round((hi - lo) / st) + 1)]
        for k, (lo, hi, st) in RANGES.items()
    }


def sweep_grid(out: Path, fixed: dict[str, object], workers: int) -> pd.DataFrame:
    """Every design of the grid by ``cosim sweep``; its summary with each run's NPC and CO2."""
    cls = load_scenario("neighbourhood").config_class
    runs = plan(cls, vary_values(cls, grid_values()), fixed)
    table = execute("neighbourhood", runs, out, workers, progress=False)
    for name in ("npc_eur", "co2_project_kg"):
        table[name] = [
            next(
                k["value"]
                for k in json.loads((out / r / "kpis.json").read_text())
                if k["name"] == name
            )
            for r in table["run"]
        ]
    return table


def kpi_value(folder: Path, name: str) -> float:
    """KPI ``name`` from the ``kpis.json`` a sweep run left."""
    found = json.loads((folder / "kpis.json").read_text())
    return float(next(k["value"] for k in found if k["name"] == name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=288)
    parser.add_argument("--start", default="2016-04-15 00:00:00")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--pareto-trials", type=int, default=0)
    parser.add_argument("--out", type=Path, help="keep the folders here (default: a temp dir)")
    parser.add_argument("--png", type=Path, help="save the NPC-CO2 Pareto front picture here")
    args = parser.parse_args()
    quiet_logging()
    # the battery's power stays 5 kW as the capacity varies (else 0.5 C of it)
    fixed: dict[str, object] = {"steps": args.steps, "start": args.start, "battery_p_mw": 0.005}
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        grid = sweep_grid(out / "sweep", fixed, args.workers)
        grid_s = time.perf_counter() - t0
        if (grid["status"] != "completed").any():
            raise SystemExit(f"sweep runs failed:\n{grid[grid['status'] != 'completed']}")
        t0 = time.perf_counter()
        ranges = [f"{k}={lo}:{hi}:{st}" for k, (lo, hi, st) in RANGES.items()]
        overrides = [f"{k}={v}" for k, v in fixed.items()]
        study = optimize(
            "neighbourhood", ranges, trials=args.trials, workers=args.workers,
            out=out / "optimize", overrides=overrides, progress=False,
        )  # fmt: skip
        opt_s = time.perf_counter() - t0
        summary = pd.read_csv(study / "summary.csv")
        best = pd.read_csv(study / BEST_CSV)
        runs = int((~summary["cached"] & summary["state"].isin(["complete", "fail"])).sum())
        best_grid = grid.loc[grid["npc_eur"].idxmin()]
        ratio = float(best["npc_eur"].item() / best_grid["npc_eur"])
        top = best["npc_eur"].item()
        rank = int((grid["npc_eur"] < top - 1e-6).sum()) + 1
        print(f"space: 5 x 5 x 3 = {len(grid)} designs; {args.steps} steps from {args.start}")
        print(
            f"grid (cosim sweep): {len(grid)} runs, {grid_s:.0f} s; "
            f"best NPC {best_grid['npc_eur']:.2f} EUR at {best_grid['run']}"
        )
        print(
            f"optimize (TPE):     {runs} runs, {opt_s:.0f} s, {len(summary)} trials; "
            f"best NPC {top:.2f} EUR at {best['design'].item()} (rank {rank} of {len(grid)})"
        )
        print(
            f"ratio optimize / grid: NPC {ratio:.5f} (done: <= 1.01), "
            f"runs {runs / len(grid):.2f} (done: <= 0.40)"
        )
        if args.pareto_trials:
            pareto(args, out, overrides, grid)


def pareto(args: argparse.Namespace, out: Path, overrides: list[str], grid: pd.DataFrame) -> None:
    """A two-objective study (NPC, project CO2) and, with --png, its front over the grid."""
    ranges = [f"{k}={lo}:{hi}:{st}" for k, (lo, hi, st) in RANGES.items()]
    study = optimize(
        "neighbourhood", ranges, ["npc_eur", "co2_project_kg"], args.pareto_trials,
        args.workers, out=out / "pareto", overrides=overrides, progress=False,
    )  # fmt: skip
    front = pd.read_csv(study / BEST_CSV).sort_values("npc_eur")
    print(f"Pareto front (NPC, CO2 over 25 a) of {len(front)} designs:")
    print(front[["design", "npc_eur", "co2_project_kg"]].to_string(index=False))
    if args.png:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4.5))
        ax = fig.subplots()
        ax.scatter(
            grid["npc_eur"] / 1e3,
            grid["co2_project_kg"] / 1e3,
            s=14,
            color="#bbb",
            label="every grid design (cosim sweep)",
        )
        ax.plot(
            front["npc_eur"] / 1e3,
            front["co2_project_kg"] / 1e3,
            "o-",
            color="#1b7e3c",
            label=f"Pareto front (cosim optimize, {args.pareto_trials} runs)",
        )
        ax.set_xlabel("net present cost [kEUR]")
        ax.set_ylabel("CO2 over 25 years [t]")
        ax.set_title("neighbourhood: PV size, battery size and share")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)
        print(f"picture: {args.png}")


if __name__ == "__main__":
    main()
