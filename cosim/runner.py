"""Run a scenario: build its world, run it, and leave a results folder that says how it went.

The manifest is written before the first step (status ``running``) and rewritten at the end
(``completed`` or ``failed`` with the error), after the recorder has flushed: a run that fails
at step N leaves steps 0..N-1 readable.

Every simulator is guarded (:mod:`cosim.coupling.guard`): a failure while running names the
simulator, the call and the step, also in the manifest (``failure``), and a simulator in its
own process or on another host that does not answer a step within ``step_timeout_s`` fails
the run instead of hanging it.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mosaik
import pyarrow.compute as pc
import pyarrow.dataset as ds
from loguru import logger
from mosaik.exceptions import ScenarioError
from mosaik_api_v3.connection import RemoteException

from cosim import manifest
from cosim.config import RunConfig, as_dict
from cosim.coupling import DEFAULT_STEP_TIMEOUT_S, SimulatorFailure, Timeouts, guard
from cosim.errors import ConfigError, CosimError, SimulationError
from cosim.results import SCHEMA, parts
from cosim.scenario import Builder, Scenario, aware_start, sim_config

# keep the simulators up after the run: the runner shuts the world down itself, also after a
# failure, so that every finalize (the recorder's last chunk) runs; older mosaik has no keyword
_KEEP_OPEN = (
    {"shutdown": False} if "shutdown" in inspect.signature(mosaik.World.run).parameters else {}
)


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended."""

    out_dir: Path
    status: str  # "completed" or "failed"
    steps_done: int
    build_s: float  # starting simulators, creating entities, connecting [s]
    run_s: float  # the steps [s]
    error: str | None = None


def default_out_dir(scenario: str) -> Path:
    return Path("results") / f"{scenario}-{datetime.now():%Y%m%d-%H%M%S}"


@contextmanager
def _mosaik_errors() -> Iterator[list[str]]:
    """Collect the errors mosaik logs instead of raising (a remote simulator's failure)."""
    messages: list[str] = []
    sink = logger.add(
        lambda m: messages.append(m.record["message"]), level="ERROR", filter="mosaik"
    )
    logger.enable("mosaik.async_scenario")
    try:
        yield messages
    finally:
        logger.disable("mosaik.async_scenario")
        logger.remove(sink)


def _cancel_waiting(world: mosaik.World) -> None:
    """Cancel mosaik's per-simulator tasks still waiting after a failure.

    mosaik stops at the first failing simulator and leaves the others waiting; asyncio would
    report each as destroyed while pending when the loop closes.
    """
    waiting = [
        task
        for task in asyncio.all_tasks(world.loop)
        if not task.done() and task.get_name().startswith("Runner for ")
    ]
    for task in waiting:
        task.cancel()
    if waiting:
        world.loop.run_until_complete(asyncio.gather(*waiting, return_exceptions=True))


def _remote_error(err: RemoteException) -> CosimError:
    text = f"{err.source or 'a simulator'}: {err.remote_msg}"
    return ConfigError(text) if err.remote_type == "ConfigError" else SimulationError(text)


@dataclass
class _Lag:
    """The pacing of a real-time run: mosaik's keywords and the worst lag seen [s]."""

    run_kwargs: dict[str, Any]
    worst_s: float = 0.0
    wall_s: float = 0.0  # from the first step to the end of the last [s]


_BEHIND = re.compile(r"too slow for real-time factor .* - ([0-9.eE+-]+)\s*s behind")


@contextmanager
def _paced(rt_factor: float | None, until_s: int) -> Iterator[_Lag]:
    """Pace ``world.run`` at ``rt_factor`` wall seconds per simulated second.

    mosaik sleeps before each step until its time has come and warns for every step that
    starts late; the worst of those delays is the lag. The last step ends at ``until_s``: the
    run then waits out that step, so that wall time matches simulated time.
    """
    if rt_factor is None:
        yield _Lag({})
        return
    lag = _Lag({"rt_factor": rt_factor, "rt_strict": False})
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lag
    for w in caught:
        behind = _BEHIND.search(str(w.message))
        if behind:
            lag.worst_s = max(lag.worst_s, float(behind.group(1)))
        else:  # not ours: pass it on
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    rest_s = rt_factor * until_s - (time.perf_counter() - start)
    if rest_s > 0:
        time.sleep(rest_s)
    else:
        lag.worst_s = max(lag.worst_s, -rest_s)
    lag.wall_s = time.perf_counter() - start


def steps_on_disk(out_dir: Path) -> int:
    """Number of distinct steps whose results are in the folder."""
    files = parts(out_dir)
    if not files:
        return 0
    table = ds.dataset([str(f) for f in files], format="parquet", schema=SCHEMA).to_table(
        columns=["t_s"]
    )
    return int(pc.count_distinct(table.column("t_s")).as_py())  # no Python set of 7M values


def run(
    scenario: Scenario,
    cfg: RunConfig,
    out_dir: Path | None = None,
    processes: bool = False,
    progress: bool = True,
    step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
    rt_factor: float | None = None,
) -> RunOutcome:
    """Build and run ``scenario`` with ``cfg``; results go to ``out_dir``.

    Raises ConfigError when the scenario cannot be built (nothing ran). A failure while running
    is returned as ``status="failed"`` with the error; the folder keeps every finished step.
    ``step_timeout_s`` bounds each step and get_data answer of a simulator in its own process
    or on another host [s]. ``rt_factor`` paces the run against the wall clock (wall seconds
    per simulated second; mosaik's ``rt_factor``): the manifest records the worst lag [s].
    """
    if rt_factor is not None and not (math.isfinite(rt_factor) and rt_factor > 0):
        raise ConfigError(f"rt_factor={rt_factor!r} must be a positive number")
    timeouts = Timeouts(step_s=step_timeout_s)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(scenario.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    if parts(out_dir):
        raise ConfigError(f"out={str(out_dir)!r} already holds results; choose an empty folder")
    record: dict[str, Any] = {
        "scenario": scenario.name,
        "config": as_dict(cfg),
        "seed": cfg.seed,
        "start": cfg.start,
        "start_iso": aware_start(cfg.start),
        "step_s": cfg.step_s,
        "steps": cfg.steps,
        "processes": processes,
        "step_timeout_s": step_timeout_s,
        "versions": manifest.versions(),
        "scenario_sha256": manifest.sha256(Path(scenario.module.__file__ or "")),
        "started_at": manifest.now(),
        "status": "running",
    }
    manifest.write(out_dir, record)
    world = mosaik.World(
        sim_config(processes),  # type: ignore[arg-type]
        skip_greetings=True,
        configure_logging=False,
    )
    guard(world, timeouts)
    t0 = time.perf_counter()
    error: str | None = None
    failure: dict[str, Any] | None = None
    try:
        builder = _build(world, scenario, cfg, out_dir, progress)
    except Exception as err:
        record.update(status="failed", error=f"build: {err}", ended_at=manifest.now(), steps_done=0)
        manifest.write(out_dir, record)
        raise
    t1 = time.perf_counter()
    record.update(coupled=builder.coupled)
    with _mosaik_errors() as logged:  # only around the run: mosaik logs what it does not raise
        try:
            with _paced(rt_factor, cfg.until_s) as lag:
                world.run(until=cfg.until_s, print_progress=False, **_KEEP_OPEN, **lag.run_kwargs)
        except RemoteException as err:
            error = str(_remote_error(err))
        except CosimError as err:
            error = str(err)
            if isinstance(err, SimulatorFailure):
                failure = err.as_dict()
        except Exception as err:  # a simulator's own failure: keep it, say what it was
            error = f"{type(err).__name__}: {err}"
        finally:
            if error is not None:
                _cancel_waiting(world)
            world.shutdown()  # runs every finalize: the recorder writes its last chunk
    if error is None and logged:
        error = "; ".join(logged)
    build_s, run_s = t1 - t0, time.perf_counter() - t1
    steps_done = steps_on_disk(out_dir)
    if error is None and steps_done < cfg.steps:
        error = f"the run stopped after {steps_done} of {cfg.steps} steps"
    status = "failed" if error else "completed"
    record.update(
        status=status,
        error=error,
        failure=failure,
        steps_done=steps_done,
        ended_at=manifest.now(),
        build_s=round(build_s, 3),
        run_s=round(run_s, 3),
        checksums=manifest.checksums(out_dir),
    )
    if rt_factor is not None:
        record.update(
            rt_factor=rt_factor, rt_lag_max_s=round(lag.worst_s, 3), rt_wall_s=round(lag.wall_s, 3)
        )
    manifest.write(out_dir, record)
    return RunOutcome(out_dir, status, steps_done, build_s, run_s, error)


def _build(
    world: mosaik.World, scenario: Scenario, cfg: RunConfig, out_dir: Path, progress: bool
) -> Builder:
    """Start the recorder and let the scenario build; build errors become ConfigError."""
    try:
        rec_sim = world.start(
            "Recorder",
            out_dir=str(out_dir),
            step_s=cfg.step_s,
            progress_steps=cfg.steps if progress else 0,
            progress_desc=scenario.name,
            progress_start=cfg.start,
        )
        recorder = rec_sim.Recorder()
        builder = Builder(world, cfg, recorder)
        scenario.build(builder, cfg)
        return builder
    except BaseException as err:
        world.shutdown()
        if isinstance(err, RemoteException):
            raise _remote_error(err) from None
        if isinstance(err, ScenarioError):
            raise ConfigError(f"scenario {scenario.name!r}: {err}") from None
        if isinstance(err, SystemExit) and isinstance(err.code, str):  # mosaik: init failed
            raise ConfigError(f"scenario {scenario.name!r}: {err.code}") from None
        raise
