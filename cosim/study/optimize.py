"""Sizing studies: optuna searches Config values, every trial a co-simulation, on Dask.

A trial is a *design* (values of the ranged Config fields) simulated over representative
periods (:func:`periods`) and priced with :mod:`cosim.analysis.economics`: its objectives are
economics KPIs, its constraints what the grid allowed (:data:`CONSTRAINTS`; a design that breaks
one is infeasible to the sampler). One objective: TPE; several: TPE's multi-objective
form (MOTPE), which needs far fewer runs than NSGA-II's generations, and a Pareto front.
The design space (ranges, objectives, periods) is parsed in :mod:`cosim.study.design_space`.

The study lives in its folder: ``study.log`` (optuna's JournalStorage), ``study.json`` (what
was asked), ``designs/<design>/<period>/`` (one run folder per period, ``design.json`` with
its result). ``optimize`` on the same folder continues the study up to ``trials``; a design
already simulated is not run again; trials left running by an interrupted process are redone.
Dask and optuna are imported only when a study runs.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cosim.analysis import economics, kpis
from cosim.core.errors import ConfigError
from cosim.run.config import make_config, parse_overrides
from cosim.run.scenario import load_scenario
from cosim.study.cluster import dask_client
from cosim.study.design_space import (
    CONSTRAINTS,
    DESIGNS,
    Period,
    Range,
    check_objectives,
    parse_ranges,
    periods,
)
from cosim.study.optimize_report import write_outputs
from cosim.study.sweep import default_workers, run_name, worker_ref
from cosim.study.sweep import run_one as run_period

STUDY_LOG, STUDY_JSON, DESIGN_JSON = "study.log", "study.json", "design.json"
MAX_REPEATS = 50  # proposals of known designs in a row that end a search: it has converged


def evaluate_design(
    scenario_ref: str,
    values: dict[str, Any],
    design_periods: Sequence[Period],
    folder: str,
    settings: dict[str, Any],
    max_ens_mwh: float,
) -> dict[str, Any]:
    """Run a design's periods (in a worker) and price them; cached in ``design.json``."""
    out = Path(folder)
    if (out / DESIGN_JSON).is_file():
        return {**json.loads((out / DESIGN_JSON).read_text()), "cached": True}
    t0, kpi_settings = time.perf_counter(), kpis.Settings(**settings)
    year_parts, capacity, sums = [], None, dict.fromkeys(CONSTRAINTS, 0.0)
    for p in design_periods:
        run = run_period(
            scenario_ref, {**values, "start": p.start, "steps": p.steps}, str(out / p.name)
        )
        if run["status"] != "completed":
            return {"status": "failed", "error": f"{p.name}: {run['error']}", "cached": False}
        found, flows, capacity = kpis.design_inputs(out / p.name, kpi_settings)
        if flows is None or capacity is None:
            why = "no ext_grid power recorded or undeclared PV/CHP capacity (Builder.install)"
            return {"status": "failed", "error": f"{p.name}: no economics: {why}", "cached": False}
        year_parts.append((flows, p.hours))
        for k in found:
            if k.name in sums:
                sums[k.name] += k.value
    year = economics.to_year(year_parts)
    priced = economics.evaluate(
        year,
        capacity or {},
        economics.read_costs(kpi_settings.costs),
        kpi_settings.demand_charge_eur_per_mw,
    )
    result = {
        "status": "completed",
        "error": None,
        "kpis": priced,
        "constraints": {
            **sums,
            "energy_not_served_mwh": sums["energy_not_served_mwh"] - max_ens_mwh,
        },
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    (out / DESIGN_JSON).write_text(json.dumps(result, indent=1) + "\n")
    return {**result, "cached": False}


def _constraints(trial: Any) -> Sequence[float]:
    """optuna's ``constraints_func``: <= 0 is feasible."""
    return list(trial.user_attrs.get("constraints", [math.inf] * len(CONSTRAINTS)))


@dataclass(frozen=True)
class Study:
    """What was asked (``study.json``): a folder holds one study."""

    scenario: str
    ranges: dict[str, Any]
    objectives: list[str]
    fixed: dict[str, Any]
    periods: str
    settings: dict[str, Any]
    max_ens_mwh: float


def _open(out: Path, asked: Study, seed: int) -> Any:
    """The study in ``out`` (created or loaded); ConfigError if ``out`` holds another."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    out.mkdir(parents=True, exist_ok=True)
    spec = json.loads(json.dumps(asdict(asked)))
    path = out / STUDY_JSON
    if path.is_file():
        held = json.loads(path.read_text())
        differ = [k for k in spec if held.get(k) != spec[k]]
        if differ:
            raise ConfigError(
                f"{out} holds a study with {differ[0]}={held.get(differ[0])!r}, this one has "
                f"{differ[0]}={spec[differ[0]]!r}; choose another --out"
            )
    else:
        path.write_text(json.dumps(spec, indent=1) + "\n")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(out / STUDY_LOG)))
    done = len(storage.get_all_studies()) and len(
        optuna.load_study(study_name="cosim", storage=storage).trials
    )
    # optuna >= 5 takes constraints from Trial.set_constraint (``_tell``); 4 from this function
    modern = hasattr(optuna.trial.Trial, "set_constraint")
    sampler = optuna.samplers.TPESampler(
        seed=seed + done, n_startup_trials=8, constraints_func=None if modern else _constraints
    )
    return optuna.create_study(
        storage=storage,
        sampler=sampler,
        study_name="cosim",
        directions=["minimize"] * len(asked.objectives),
        load_if_exists=True,
    )


def _recover(study: Any) -> None:
    """Trials an interrupted process left running: failed, their designs asked again first."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)


def counted(study: Any) -> int:
    """Designs simulated so far (finished trials that ran, not interrupted): ``trials`` counts
    these."""
    from optuna.trial import TrialState

    return sum(
        1
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL))
        if not t.user_attrs.get("interrupted") and not t.user_attrs.get("cached")
    )


def _tell(study: Any, trial: Any, result: dict[str, Any], objectives: Sequence[str]) -> None:
    from optuna.trial import TrialState

    trial.set_user_attr("cached", bool(result.get("cached")))
    if result["status"] != "completed":
        trial.set_user_attr("error", str(result["error"]))
        study.tell(trial, state=TrialState.FAIL)
        return
    trial.set_user_attr("kpis", result["kpis"])
    trial.set_user_attr("wall_s", result["wall_s"])
    trial.set_user_attr("constraints", [result["constraints"][c] for c in CONSTRAINTS])
    if hasattr(trial, "set_constraint"):
        for name in CONSTRAINTS:
            trial.set_constraint(name, result["constraints"][name])
    values = [result["kpis"][o] for o in objectives]
    if not all(math.isfinite(v) for v in values):  # payback without saving: no value to rank
        trial.set_user_attr(
            "error", f"objective not finite: {dict(zip(objectives, values, strict=True))}"
        )
        study.tell(trial, state=TrialState.FAIL)
        return
    study.tell(trial, values)


def run_trials(
    study: Any,
    ranges: Mapping[str, Range],
    evaluate: Callable[[dict[str, Any], str], Any],
    wait: Callable[[list[Any]], list[Any]],
    parallel: int,
    todo: int,
    objectives: Sequence[str],
    out: Path,
    on_done: Callable[[], None] = lambda: None,
) -> None:
    """Simulate ``todo`` new designs, ``parallel`` at a time (``evaluate(values, folder)`` gives
    a future). A proposal of a design simulated before, or in flight, becomes a trial with that
    result and no new run; after ``MAX_REPEATS`` such proposals in a row the search stops."""
    from optuna.distributions import FloatDistribution, IntDistribution

    space = {
        k: (IntDistribution(int(r.low), int(r.high), step=int(r.step or 1)) if r.integer
            else FloatDistribution(r.low, r.high, step=r.step))
        for k, r in ranges.items()
    }  # fmt: skip
    running: dict[Any, list[Any]] = {}  # future -> its trials, the first one started it
    in_flight: dict[str, Any] = {}  # design -> future
    started = repeats = 0
    while (started < todo and repeats < MAX_REPEATS) or running:
        while started < todo and repeats < MAX_REPEATS and len(running) < parallel:
            trial = study.ask(space)
            design = {k: ranges[k].snap(v) for k, v in trial.params.items()}
            name = run_name(design)
            trial.set_user_attr("design", name)
            known = out / DESIGNS / name / DESIGN_JSON
            if name in in_flight:
                running[in_flight[name]].append(trial)
                repeats += 1
            elif known.is_file():
                _tell(study, trial, {**json.loads(known.read_text()), "cached": True}, objectives)
                repeats += 1
            else:
                future = in_flight[name] = evaluate(design, str(out / DESIGNS / name))
                running[future] = [trial]
                started, repeats = started + 1, 0
        for future in wait(list(running)):
            try:
                result = future.result()
            except Exception as err:  # a lost worker: the trials failed, the design is not cached
                result = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
            trials = running.pop(future)
            in_flight = {n: f for n, f in in_flight.items() if f is not future}
            for i, trial in enumerate(trials):
                _tell(
                    study, trial, {**result, "cached": bool(i or result.get("cached"))}, objectives
                )
            on_done()


def _in_process(fn: Callable[[], dict[str, Any]]) -> Future:
    future: Future = Future()
    try:
        future.set_result(fn())
    except Exception as err:
        future.set_exception(err)
    return future


def optimize(
    scenario: str,
    ranges: Sequence[str],
    objectives: Sequence[str] = (),
    trials: int = 30,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    period_spec: str = "run",
    kpi_settings: kpis.Settings = kpis.DEFAULT_SETTINGS,
    max_ens_mwh: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    load_grid: Callable[[str], Any] | None = None,
) -> Path:
    """Search the ``ranges`` for the designs that minimise ``objectives``; the study folder.

    Parameters
    ----------
    scenario : built-in scenario name or path to a scenario script.
    ranges : ``KEY=LOW:HIGH[:STEP]`` of numeric Config fields.
    objectives : economics KPIs to minimise (default ``npc_eur``); two or more: a Pareto front.
    trials : designs the study simulates in all (a resumed study runs the missing ones); a
        sampler's repeated proposals are recorded as trials but run nothing.
    workers : local Dask workers (default: one per core); 0: every trial in this process.
    scheduler : address of a running Dask scheduler instead.
    out : study folder (default results/<name>-optimize-<time>).
    overrides : ``KEY=VALUE`` of Config fields not searched.
    period_spec : ``run`` or ``seasons:DAYS`` (:func:`periods`).
    kpi_settings : KPI settings (tariffs, limits, ``costs`` file) every design is priced with.
    max_ens_mwh : energy not served a feasible design may have over its periods [MWh].
    load_grid : the net of a grid source, for the best design's grid map (see
        :func:`cosim.analysis.report.write_report`).
    """
    from tqdm import tqdm

    loaded = load_scenario(scenario)
    cls = loaded.config_class
    found = parse_ranges(cls, ranges)
    goals = check_objectives(objectives)
    fixed = parse_overrides(cls, overrides)
    for key in found:
        if key in fixed:
            raise ConfigError(f"{key} is both set ({key}={fixed[key]!r}) and ranged; give one")
    base = make_config(cls, **fixed)
    for r in found.values():  # both ends must make a valid Config before anything runs
        for end in (r.low, r.high):
            make_config(cls, (), **{**fixed, r.key: r.snap(end)})
    design_periods = periods(period_spec, base)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ConfigError(f"trials={trials!r} must be a positive integer")
    if workers is not None and (isinstance(workers, bool) or workers < 0):
        raise ConfigError(f"workers={workers!r} must be >= 0 (0: in this process)")
    if not math.isfinite(max_ens_mwh) or max_ens_mwh < 0:
        raise ConfigError(f"max_ens_mwh={max_ens_mwh!r} must be >= 0")
    folder = Path(out) if out is not None else default_out(loaded.name)
    asked = Study(
        loaded.name, {k: asdict(r) for k, r in found.items()}, list(goals), fixed, period_spec,
        asdict(kpi_settings), max_ens_mwh,
    )  # fmt: skip
    study = _open(folder, asked, seed)
    _recover(study)
    todo = max(trials - counted(study), 0)
    ref = worker_ref(scenario)
    settings = asdict(kpi_settings)

    def job(values: dict[str, Any], design_dir: str) -> tuple[Any, ...]:
        return (evaluate_design, ref, {**fixed, **values}, design_periods, design_dir, settings,
                max_ens_mwh)  # fmt: skip

    with tqdm(total=trials, initial=trials - todo, desc=f"optimize {loaded.name}", unit="trial",
              disable=not progress) as bar:  # fmt: skip
        if todo and workers == 0 and not scheduler:
            run_trials(
                study, found, lambda v, d: _in_process(lambda: job(v, d)[0](*job(v, d)[1:])),
                lambda fs: [f for f in fs if f.done()], 1, todo, goals, folder, bar.update,
            )  # fmt: skip
        elif todo:
            from distributed import wait

            n = min(workers or default_workers(), todo)
            with dask_client(n, scheduler) as client:
                run_trials(
                    study, found, lambda v, d: client.submit(*job(v, d), pure=False),
                    lambda fs: list(wait(fs, return_when="FIRST_COMPLETED").done),
                    n, todo, goals, folder, bar.update,
                )  # fmt: skip
    write_outputs(folder, study, found, goals, kpi_settings, load_grid)
    return folder


def default_out(scenario: str) -> Path:
    return Path("results") / f"{scenario}-optimize-{datetime.now():%Y%m%d-%H%M%S}"
