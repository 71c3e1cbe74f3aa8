"""The ``cosim`` command line: list, config, run, sweep, validate.

Exit codes: 0 done, 1 the simulation failed (for ``sweep``: at least one run failed), 2 bad
input (one message, no traceback), 128 + the signal's number when SIGINT (130) or SIGTERM (143)
interrupted the run (``run`` records ``interrupted`` in the manifest first).

The top of the import contract: the one cosim module that may import every layer and the
built-in simulators. Each command imports its modules when it runs (function-local imports, for
start-up speed only: mosaik, pandapower and Dask take seconds, and ``cosim --help``, ``cosim
list`` and ``cosim sims`` need none of them).
"""

from __future__ import annotations

import argparse
import math
import shutil
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cosim.core.errors import ConfigError, CosimError
from cosim.run.logs import quiet_logging

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
EXIT_SIGNAL_BASE = 128  # + the signal's number: 130 SIGINT, 143 SIGTERM (the shells' convention)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosim", description="Co-simulate distributed energy resources with a grid."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the built-in scenarios")
    sims = sub.add_parser("sims", help="list the simulators, or one's params and attributes")
    sims.add_argument("name", nargs="?", help="a simulator, e.g. Battery")
    grids = sub.add_parser("grids", help="list the grids (SimBench codes, pandapower.networks)")
    grids.add_argument("name", nargs="?", help="a grid to load and count its elements")
    show = sub.add_parser("config", help="show a scenario's Config fields and defaults")
    show.add_argument("scenario", help="built-in scenario name or path to a scenario .py file")
    run = sub.add_parser("run", help="run a scenario")
    run.add_argument(
        "scenario",
        nargs="?",
        default="neighbourhood",
        help="built-in scenario name or path to a .py file (default: neighbourhood)",
    )
    _add_run_options(run)
    _add_sweep_parser(sub)
    _add_optimize_parser(sub)
    rep = sub.add_parser("report", help="KPIs (kpis.json, kpis.csv) and report.html of a run")
    rep.add_argument("folder", type=Path, help="a run's results folder")
    _add_kpi_options(rep)
    cmp = sub.add_parser("compare", help="side-by-side KPIs of two runs")
    cmp.add_argument("folder_a", type=Path)
    cmp.add_argument("folder_b", type=Path)
    cmp.add_argument("--csv", type=Path, help="also write the table as CSV")
    _add_kpi_options(cmp)
    val = sub.add_parser(
        "validate",
        help="compare the co-simulation with pandapower's run_timeseries on a SimBench grid",
    )
    val.add_argument("--grid", default="1-LV-rural1--0-sw", help="SimBench code")
    val.add_argument("--steps", type=int, default=96, help="number of 15-min steps")
    val.add_argument("--processes", action="store_true", help="simulators as OS processes")
    val.add_argument(
        "--start", help="date and time of the first step, CET (default: 2016-01-01 00:00:00)"
    )
    val.add_argument(
        "--engine",
        default="pandapower",
        help="the Grid's power-flow engine: pandapower (default) or power-grid-model",
    )
    return parser


def _add_kpi_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="kpi_settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a KPI setting, e.g. v_min_pu=0.95 or import_eur_per_mwh=250",
    )


def _settings(pairs: Sequence[str]) -> Any:
    from cosim.analysis.kpis import Settings
    from cosim.run.config import parse_overrides

    return Settings(**parse_overrides(Settings, pairs))


def _report(args: argparse.Namespace) -> int:
    from cosim.analysis.report import write_report
    from simulators.grid.nets import load_net

    path = write_report(args.folder, _settings(args.kpi_settings), load_net)
    print(f"report: {path}")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from cosim.analysis import compare

    table = compare.compare(args.folder_a, args.folder_b, _settings(args.kpi_settings))
    print(f"a: {args.folder_a}\nb: {args.folder_b}\n")
    print(compare.render(table))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return EXIT_OK


def _add_overrides(parser: Any, help_text: str = "override a Config field (repeatable)") -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help_text,
    )


def _add_dask_options(parser: Any, workers_help: str) -> None:
    parser.add_argument("--workers", type=int, help=workers_help)
    parser.add_argument("--scheduler", help="a running Dask scheduler, e.g. tcp://host:8786")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    _add_overrides(parser)
    parser.add_argument("--out", type=Path, help="output folder (default: results/<name>-<time>)")
    parser.add_argument(
        "--processes", action="store_true", help="run every simulator as its own OS process"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    parser.add_argument(
        "--rt-factor",
        metavar="F",
        help="pace the run: F wall seconds per simulated second (1: real time); the manifest"
        " records the worst lag",
    )
    parser.add_argument(
        "--step-timeout-s",
        metavar="SECONDS",
        help="longest wait for a simulator in its own process or on another host to answer a"
        " step (default: cosim.run.runner.run's step_timeout_s, 60)",
    )
    parser.add_argument(
        "--flush-s",
        metavar="SECONDS",
        help="longest wall time between writes of the recorded steps, the most a killed run"
        " loses (default: cosim.analysis.results.DEFAULT_FLUSH_S, 10)",
    )


def _seconds(option: str, text: str) -> float:
    """``text`` as a positive, finite number of seconds, else a ConfigError naming ``option``."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{option}={text!r} must be a positive number of seconds")
    return value


def _run(scenario_ref: str, args: argparse.Namespace) -> int:
    from cosim.run import runner, summary
    from cosim.run.config import make_config
    from cosim.run.scenario import load_scenario

    scenario = load_scenario(scenario_ref)
    cfg = make_config(scenario.config_class, args.overrides)
    options = {
        key: _seconds(option, given)
        for key, option, given in (
            ("step_timeout_s", "--step-timeout-s", args.step_timeout_s),
            ("flush_s", "--flush-s", args.flush_s),
            ("rt_factor", "--rt-factor", args.rt_factor),
        )
        if given is not None
    }
    out = args.out or runner.default_out_dir(scenario.name)
    fresh = not out.exists()
    try:
        outcome = runner.run(
            scenario, cfg, out, processes=args.processes, progress=not args.quiet, **options
        )
    except ConfigError:
        if fresh:  # bad input found while building: nothing ran, leave no folder behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    if not args.quiet:
        print(summary.render(outcome))
        print(f"full KPIs and plots: cosim report {outcome.out_dir}")
    else:
        print(outcome.out_dir)
    if outcome.signum is not None:
        print(
            f"cosim: run {outcome.error}\n       results of the {outcome.steps_done}"
            f" finished steps are in {outcome.out_dir}",
            file=sys.stderr,
        )
        return EXIT_SIGNAL_BASE + outcome.signum
    if outcome.status != "completed":
        print(
            f"cosim: run failed: {outcome.error}\n       results of the "
            f"{outcome.steps_done} finished steps are in {outcome.out_dir}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep", help="run every combination of Config values on Dask, one folder per run"
    )
    sweep.add_argument("scenario", help="built-in scenario name or path to a .py file")
    sweep.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="values of a Config field to combine with the others (repeatable)",
    )
    _add_overrides(sweep, "override a Config field in every run (repeatable)")
    sweep.add_argument("--seeds", type=int, help="N seeds per combination: seed, seed+1, ...")
    _add_dask_options(sweep, "local worker processes (default: cores)")
    sweep.add_argument(
        "--out", type=Path, help="sweep folder (default: results/<name>-sweep-<time>)"
    )


def _sweep(args: argparse.Namespace) -> int:
    from cosim.run.config import parse_overrides
    from cosim.run.scenario import load_scenario
    from cosim.study import sweep

    scenario = load_scenario(args.scenario)
    cls = scenario.config_class
    vary, fixed = sweep.parse_vary(cls, args.vary), parse_overrides(cls, args.overrides)
    runs = sweep.plan(cls, vary, fixed, args.seeds)
    out = args.out or sweep.default_out(scenario.name)
    table = sweep.execute(sweep.worker_ref(args.scenario), runs, out, args.workers, args.scheduler)
    print(table[["run", "status", "steps_done", "wall_s", "skipped"]].to_string(index=False))
    print(f"summary: {out / sweep.SUMMARY_CSV}")
    failed = table[table["status"] != "completed"]
    for name, error in zip(failed["run"], failed["error"], strict=True):
        print(f"cosim: run {name} failed: {error}", file=sys.stderr)
    return EXIT_FAILED if len(failed) else EXIT_OK


def _add_optimize_parser(sub: Any) -> None:
    opt = sub.add_parser(
        "optimize", help="search Config values for the lowest-cost design (optuna, on Dask)"
    )
    opt.add_argument("scenario", help="built-in scenario name or path to a .py file")
    opt.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=[],
        metavar="KEY=LOW:HIGH[:STEP]",
        help="a numeric Config field to search (repeatable)",
    )
    opt.add_argument(
        "--objective",
        dest="objectives",
        action="append",
        default=[],
        metavar="KPI",
        help="economics KPI to minimise (repeatable; default npc_eur; two: a Pareto front)",
    )
    opt.add_argument(
        "--trials", type=int, default=30, help="designs to co-simulate in all (default 30)"
    )
    _add_dask_options(opt, "local workers (default: cores; 0: no Dask)")
    opt.add_argument("--out", type=Path, help="study folder; an existing one is continued")
    _add_overrides(opt, "override a Config field in every run (repeatable)")
    opt.add_argument(
        "--periods", default="run", help="'run' (the Config's period) or 'seasons:DAYS'"
    )
    opt.add_argument("--costs", default="", help="CSV/JSON file of cost inputs (economics)")
    opt.add_argument(
        "--max-ens-mwh", type=float, default=0.0, help="energy not served a design may have"
    )
    opt.add_argument("--seed", type=int, default=0, help="seed of the sampler")


def _optimize(args: argparse.Namespace) -> int:
    import pandas as pd

    from cosim.analysis.kpis import Settings
    from cosim.study.optimize import optimize
    from cosim.study.optimize_report import BEST_CSV
    from simulators.grid.nets import load_net

    out = optimize(
        args.scenario,
        args.ranges,
        args.objectives,
        args.trials,
        args.workers,
        args.scheduler,
        args.out,
        args.overrides,
        args.periods,
        Settings(costs=args.costs),
        args.max_ens_mwh,
        args.seed,
        load_grid=load_net,
    )
    best = pd.read_csv(out / BEST_CSV)
    if best.empty:
        print(f"cosim: no feasible design in {out}", file=sys.stderr)
        return EXIT_FAILED
    print(best.drop(columns=["cached", "error", "state", "feasible"]).to_string(index=False))
    print(f"trials: {out / 'summary.csv'}\nreport: {out / 'report.html'}")
    return EXIT_OK


def _list() -> int:
    from cosim.run.scenario import builtin_names, load_scenario

    for name in builtin_names():
        doc = (load_scenario(name).module.__doc__ or "").strip().splitlines()
        print(f"{name:24s} {doc[0] if doc else ''}")
    return EXIT_OK


def _config(scenario_ref: str) -> int:
    from cosim.run.config import describe
    from cosim.run.scenario import load_scenario

    rows = [["field", "type", "default", "unit", "description"]]
    rows += describe(load_scenario(scenario_ref).config_class)
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[4])
    return EXIT_OK


def _catalog(one: str, every: str, name: str | None) -> str:
    from cosim.builtin import catalog

    return str(getattr(catalog, one)(name) if name else getattr(catalog, every)())


def _print(text: str) -> int:
    print(text)
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from cosim.builtin import validate

    report = validate.compare(args.grid, args.steps, args.processes, args.start, args.engine)
    print(validate.render(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def _guarded(action: Callable[[], int]) -> int:
    """Run a command; bad input and failures become one line and an exit code."""
    try:
        return action()
    except ConfigError as err:
        print(f"cosim: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CosimError as err:
        print(f"cosim: failed: {err}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cosim: interrupted", file=sys.stderr)
        return EXIT_SIGNAL_BASE + signal.SIGINT


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cosim`` console script."""
    args = _parser().parse_args(argv)
    quiet_logging()
    warnings.filterwarnings("ignore", category=FutureWarning)  # library deprecation chatter
    commands: dict[str, Callable[[], int]] = {
        "list": _list,
        "sims": lambda: _print(_catalog("render_sim", "render_sims", args.name)),
        "grids": lambda: _print(_catalog("render_grid", "render_grids", args.name)),
        "config": lambda: _config(args.scenario),
        "run": lambda: _run(args.scenario, args),
        "sweep": lambda: _sweep(args),
        "optimize": lambda: _optimize(args),
        "validate": lambda: _validate(args),
        "report": lambda: _report(args),
        "compare": lambda: _compare(args),
    }
    return _guarded(commands[args.command])


def main_for(scenario_file: str, argv: Sequence[str] | None = None) -> None:
    """``python scenarios/x.py [--set ...]``: the same as ``cosim run scenarios/x.py``."""
    parser = argparse.ArgumentParser(prog=Path(scenario_file).name)
    _add_run_options(parser)
    args = parser.parse_args(argv)
    quiet_logging()
    sys.exit(_guarded(lambda: _run(scenario_file, args)))


if __name__ == "__main__":
    sys.exit(main())
