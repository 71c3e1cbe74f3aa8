"""Sweeps: the cartesian product of Config values, each run in its own folder, on Dask.

Planning (:func:`parse_vary`, :func:`plan`, :func:`run_name`) is pure and checks every Config
before anything runs. Execution (:func:`execute`) skips the runs whose folder already holds a
completed run of the same Config, sends the others to Dask workers (a ``LocalCluster`` on
127.0.0.1, or an existing scheduler: :mod:`cosim.study.cluster`), and writes ``summary.parquet`` and
``summary.csv``.

The module is callable, so ``cosim.sweep(...)`` is :func:`sweep`; ``from cosim.study.sweep import
sweep`` is the same function for type checkers. Dask is imported only when runs execute.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
import sys
import time
import types
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, get_origin

import pandas as pd

from cosim.analysis import kpis
from cosim.analysis.kpis import HEADLINE
from cosim.analysis.results import MANIFEST
from cosim.core.errors import ConfigError, CosimError, unknown
from cosim.run import runner
from cosim.run.config import RunConfig, as_dict, field_types, make_config, parse_value
from cosim.run.logs import quiet_logging
from cosim.run.scenario import load_scenario
from cosim.study.cluster import dask_client

SUMMARY_PARQUET = "summary.parquet"
SUMMARY_CSV = "summary.csv"
NAME_MAX_CHARS = 120  # longer run names are cut and end in a hash of the whole name
_UNSAFE = re.compile(r"[^A-Za-z0-9._+=,-]")


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: its folder name, the varied values and every Config value."""

    name: str
    params: dict[str, Any]  # the varied fields (and seed with ``seeds``), typed
    values: dict[str, Any]  # every value given to the Config: fixed overrides and params
    config: dict[str, Any]  # the whole Config as the manifest stores it (JSON data)


def _typed(cls: type, key: str, value: Any) -> Any:
    """A value for field ``key``: text is parsed as ``--set`` does, other values kept."""
    return (
        parse_value(key, value.strip(), field_types(cls)[key]) if isinstance(value, str) else value
    )


def parse_vary(cls: type, specs: Iterable[str]) -> dict[str, tuple[Any, ...]]:
    """``["pv_share_frac=0.2,0.4", ...]`` as typed values per field, in the order given.

    Values are separated by commas (by ``;`` for a tuple field) and parsed like ``--set``.
    """
    texts: dict[str, str] = {}
    for spec in specs:
        key, sep, text = spec.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--vary {spec!r} must look like KEY=V1,V2,...")
        if key in texts:
            raise ConfigError(f"--vary {key} is given twice; list its values in one --vary")
        texts[key] = text
    return vary_values(cls, texts)


def vary_values(cls: type, vary: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Typed values per varied field from a list of values or one ``"V1,V2"`` string each."""
    known = field_types(cls)
    out: dict[str, tuple[Any, ...]] = {}
    for key, values in vary.items():
        if key not in known:
            raise unknown("--vary key", key, list(known))
        if isinstance(values, str):
            values = [
                t.strip() for t in values.split(";" if get_origin(known[key]) is tuple else ",")
            ]
        elif not isinstance(values, Iterable):
            raise ConfigError(f"--vary {key}={values!r} must be a list of values")
        typed: list[Any] = []
        for value in values:
            item = _typed(cls, key, value)
            if item in typed:
                raise ConfigError(f"--vary {key}: value {item!r} is given twice")
            typed.append(item)
        if not typed:
            raise ConfigError(f"--vary {key} has no values; give {key}=V1,V2,...")
        out[key] = tuple(typed)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)  # exact and stable: 0.1 -> "0.1", 1e-05 -> "1e-05"
    if isinstance(value, tuple | list):
        return "+".join(_text(v) for v in value)
    return str(value)


def run_name(params: Mapping[str, Any]) -> str:
    """A readable, stable, filesystem-safe folder name: ``pv_share_frac=0.4,seed=1``.

    Characters other than letters, digits and ``._+=,-`` become ``_``; a name that had such
    characters or is longer than ``NAME_MAX_CHARS`` ends in ``-`` and 8 hex digits of the
    SHA-256 of the exact name, so that different values never share a folder.
    """
    exact = ",".join(f"{key}={_text(value)}" for key, value in params.items())
    safe = _UNSAFE.sub("_", exact)
    if safe == exact and len(safe) <= NAME_MAX_CHARS:
        return safe
    digest = hashlib.sha256(exact.encode()).hexdigest()[:8]
    return f"{safe[:NAME_MAX_CHARS]}-{digest}"


def plan(
    cls: type[RunConfig],
    vary: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    seeds: int | None = None,
) -> list[PlannedRun]:
    """Every combination of the ``vary`` values, with ``fixed`` values for the other fields.

    ``seeds=N`` adds N seeds: the Config's seed (``fixed`` or default) plus 0..N-1. Each
    Config is built here, so a bad value is a ConfigError before any run starts.
    """
    fixed = dict(fixed or {})
    for key in vary:
        if key in fixed:
            raise ConfigError(f"{key} is both set ({key}={fixed[key]!r}) and varied; give one")
    grid = dict(vary)
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"seeds={seeds!r} must be a positive integer")
        if "seed" in grid:
            raise ConfigError(f"seeds={seeds} and a varied seed: give one of them")
        base = make_config(cls, **fixed).seed
        grid["seed"] = tuple(base + i for i in range(seeds))
    if not grid:
        raise ConfigError("nothing to sweep: give --vary KEY=V1,V2,... or --seeds N")
    runs = []
    for combo in itertools.product(*grid.values()):
        params = dict(zip(grid, combo, strict=True))
        values = {**fixed, **params}
        config = json.loads(json.dumps(as_dict(make_config(cls, **values))))
        runs.append(PlannedRun(run_name(params), params, values, config))
    names = [r.name for r in runs]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"different values give the same run name {twice[0]!r}; vary fewer")
    return runs


def _manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, json.JSONDecodeError):
        return None  # half written or unreadable: not a completed run


def _done(folder: Path, run: PlannedRun, scenario: str) -> dict[str, Any] | None:
    """The manifest if ``folder`` holds this run completed; ConfigError if another Config."""
    found = _manifest(folder)
    if found is None or found.get("status") != "completed":
        return None
    theirs = {"scenario": found.get("scenario"), **found.get("config", {})}
    ours = {"scenario": scenario, **run.config}
    differ = [k for k in ours if theirs.get(k, ours[k]) != ours[k]]
    if differ:
        k = differ[0]
        raise ConfigError(
            f"{folder} holds a completed run with {k}={theirs[k]!r}, this sweep has "
            f"{k}={ours[k]!r}; choose another --out for a different sweep"
        )
    return found


def _quiet_worker() -> None:
    """Warnings and errors only: loguru (mosaik) at WARNING, no library FutureWarnings."""
    quiet_logging()
    warnings.filterwarnings("ignore", category=FutureWarning)


def _headline(folder: Path) -> dict[str, float]:
    """Headline KPI values of a run folder; also written as kpis.json and kpis.csv there."""
    found = kpis.compute(folder)
    kpis.write(found, folder)
    return {k.name: k.value for k in found if k.name in HEADLINE and k.name != "partial"}


def run_one(scenario_ref: str, values: dict[str, Any], out_dir: str) -> dict[str, Any]:
    """One run in a worker: clear an earlier attempt's folder, run, return a small dict."""
    _quiet_worker()
    folder = Path(out_dir)
    if folder.exists():  # a failed or partial attempt: the plan skipped completed runs
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    try:
        scenario = load_scenario(scenario_ref)
        outcome = runner.run(
            scenario, make_config(scenario.config_class, **values), folder, progress=False
        )
    except CosimError as err:  # the build failed; the manifest says so too
        return _result("failed", f"build: {err}", 0, time.perf_counter() - t0)
    except Exception as err:
        return _result("failed", f"{type(err).__name__}: {err}", 0, time.perf_counter() - t0)
    result = _result(
        outcome.status, outcome.error, outcome.steps_done, outcome.build_s + outcome.run_s
    )
    if outcome.steps_done:
        try:
            result["kpis"] = _headline(folder)
        except Exception as err:  # the run stands; say why its KPIs are missing
            result["error"] = outcome.error or f"kpis: {type(err).__name__}: {err}"
    return result


def _result(status: str, error: str | None, steps_done: int, wall_s: float) -> dict[str, Any]:
    return {
        "status": status,
        "error": error,
        "steps_done": steps_done,
        "wall_s": round(wall_s, 3),
        "kpis": {},
    }


def _skipped(folder: Path, found: dict[str, Any]) -> dict[str, Any]:
    """The result of a run completed earlier, from its manifest and KPI files."""
    try:
        headline = {k.name: k.value for k in kpis.read(folder) if k.name in HEADLINE}
    except CosimError:  # completed by other means: compute them now
        try:
            headline = _headline(folder)
        except CosimError:
            headline = {}
    headline.pop("partial", None)
    wall_s = float(found.get("build_s", math.nan)) + float(found.get("run_s", math.nan))
    return {**_result("completed", None, int(found.get("steps_done", 0)), wall_s), "kpis": headline}


def default_workers() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def execute(
    scenario_ref: str,
    runs: Sequence[PlannedRun],
    out: Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run what ``out`` does not hold completed, write and return the summary table."""
    from tqdm import tqdm

    name = Path(scenario_ref).stem if scenario_ref.endswith(".py") else scenario_ref
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ConfigError(f"workers={workers!r} must be a positive integer")
    if workers is not None and scheduler:
        raise ConfigError(
            f"workers={workers} sizes the local cluster; with scheduler={scheduler!r} "
            "the workers started for that scheduler run the sweep"
        )
    results: dict[str, dict[str, Any]] = {}
    for run in runs:
        found = _done(out / run.name, run, name)
        if found is not None:
            results[run.name] = {**_skipped(out / run.name, found), "skipped": True}
    pending = [r for r in runs if r.name not in results]
    if pending:  # connect first: a bad scheduler address is one message, no bar
        n_workers = min(workers or default_workers(), len(pending))
        with (
            dask_client(n_workers, scheduler) as client,
            tqdm(
                total=len(runs),
                initial=len(runs) - len(pending),
                desc=f"sweep {name}",
                unit="run",
                disable=not progress,
            ) as bar,
        ):
            results.update(_submit(client, scenario_ref, pending, out, bar))
    frame = summary_frame(runs, results)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out / SUMMARY_PARQUET, index=False)
    frame.to_csv(out / SUMMARY_CSV, index=False)
    return frame


def _submit(
    client: Any, scenario_ref: str, runs: Sequence[PlannedRun], out: Path, bar: Any
) -> dict[str, dict[str, Any]]:
    """Send each run to the cluster; a lost task (a worker that died) is a failed run."""
    from distributed import as_completed

    futures = {
        client.submit(run_one, scenario_ref, r.values, str(out / r.name), pure=False): r
        for r in runs
    }
    done: dict[str, dict[str, Any]] = {}
    for future in as_completed(futures):
        run = futures[future]
        try:
            done[run.name] = {**future.result(), "skipped": False}
        except Exception as err:  # e.g. KilledWorker: the folder says "running", redone next time
            lost = _result("failed", f"{type(err).__name__}: {err}", 0, math.nan)
            done[run.name] = {**lost, "skipped": False}
        bar.update()
    return done


def summary_frame(
    runs: Sequence[PlannedRun], results: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    """One row per run, in plan order: name, varied values and seed, outcome, headline KPIs."""
    keys = list(dict.fromkeys([*(k for r in runs for k in r.params), "seed"]))
    present = {name for r in results.values() for name in r["kpis"]}
    kpi_names = [n for n in HEADLINE if n in present]
    rows = []
    for run in runs:
        r = results[run.name]
        rows.append(
            {
                "run": run.name,
                **{k: run.config[k] for k in keys},
                "status": r["status"],
                "error": r["error"],
                "steps_done": r["steps_done"],
                "steps": run.config["steps"],
                "wall_s": r["wall_s"],
                "skipped": r["skipped"],
                **{n: r["kpis"].get(n, math.nan) for n in kpi_names},
            }
        )
    return pd.DataFrame(rows)


def default_out(scenario: str) -> Path:
    return Path("results") / f"{scenario}-sweep-{datetime.now():%Y%m%d-%H%M%S}"


def worker_ref(scenario: str) -> str:
    """The scenario as workers load it: a script by absolute path, a built-in by name."""
    return str(Path(scenario).resolve()) if scenario.endswith(".py") else scenario


def fixed_values(cls: type, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The Python API's ``overrides``: values of fields not varied, text parsed like ``--set``."""
    known = field_types(cls)
    for key in overrides:
        if key not in known:
            raise unknown("overrides key", key, list(known))
    return {key: _typed(cls, key, value) for key, value in overrides.items()}


def sweep(
    scenario: str,
    vary: Mapping[str, Any] | None = None,
    seeds: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every combination of ``vary`` on Dask; the summary table, one row per run.

    Parameters
    ----------
    scenario : built-in scenario name or path to a scenario script.
    vary : per Config field a list of values (or one ``"V1,V2"`` string, parsed like ``--set``).
    seeds : add seeds ``seed + 0 .. seed + seeds - 1`` to the product.
    workers : worker processes of the LocalCluster (default: one per core, at most one per run).
    scheduler : address of a running Dask scheduler (``tcp://host:port``) instead.
    out : sweep folder (default results/<name>-sweep-<time>); runs completed there are skipped.
    overrides : values of the fields not varied (text is parsed like ``--set``).
    """
    loaded = load_scenario(scenario)
    cls = loaded.config_class
    runs = plan(cls, vary_values(cls, vary or {}), fixed_values(cls, overrides or {}), seeds)
    folder = Path(out) if out is not None else default_out(loaded.name)
    return execute(worker_ref(scenario), runs, folder, workers, scheduler, progress)


class _CallableModule(types.ModuleType):
    """``cosim.study.sweep`` is this module and, called, :func:`sweep`."""

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
