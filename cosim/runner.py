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
import time
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
from cosim.scenario import Builder, Scenario, sim_config

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
) -> RunOutcome:
    """Build and run ``scenario`` with ``cfg``; results go to ``out_dir``.

    Raises ConfigError when the scenario cannot be built (nothing ran). A failure while running
    is returned as ``status="failed"`` with the error; the folder keeps every finished step.
    ``step_timeout_s`` bounds each step and get_data answer of a simulator in its own process
    or on another host [s].
    """
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
        "step_s": cfg.step_s,
        "steps": cfg.steps,
        "processes": processes,
        "step_timeout_s": step_timeout_s,
        "versions": manifest.versions(),
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
        record["installed"] = _build(world, scenario, cfg, out_dir, progress)
    except Exception as err:
        record.update(status="failed", error=f"build: {err}", ended_at=manifest.now(), steps_done=0)
        manifest.write(out_dir, record)
        raise
    t1 = time.perf_counter()
    with _mosaik_errors() as logged:  # only around the run: mosaik logs what it does not raise
        try:
            world.run(until=cfg.until_s, print_progress=False, **_KEEP_OPEN)
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
    manifest.write(out_dir, record)
    return RunOutcome(out_dir, status, steps_done, build_s, run_s, error)


def _build(
    world: mosaik.World, scenario: Scenario, cfg: RunConfig, out_dir: Path, progress: bool
) -> dict[str, float]:
    """Start the recorder and let the scenario build; build errors become ConfigError. The
    capacity the scenario declared installed (``Builder.install``)."""
    try:
        rec_sim = world.start(
            "Recorder",
            out_dir=str(out_dir),
            step_s=cfg.step_s,
            progress_steps=cfg.steps if progress else 0,
            progress_desc=scenario.name,
        )
        recorder = rec_sim.Recorder()
        builder = Builder(world, cfg, recorder)
        scenario.build(builder, cfg)
        return builder.installed
    except BaseException as err:
        world.shutdown()
        if isinstance(err, RemoteException):
            raise _remote_error(err) from None
        if isinstance(err, ScenarioError):
            raise ConfigError(f"scenario {scenario.name!r}: {err}") from None
        if isinstance(err, SystemExit) and isinstance(err.code, str):  # mosaik: init failed
            raise ConfigError(f"scenario {scenario.name!r}: {err.code}") from None
        raise
