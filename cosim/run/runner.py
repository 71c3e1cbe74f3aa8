"""Run a scenario: build its world, run it, and leave a results folder that says how it went.

The run holds an exclusive lock on its folder (:class:`cosim.run.endings.FolderLock`). The manifest
is written before the first step (status ``running``) and rewritten at the end, after the
recorder has flushed: ``completed``; ``failed`` with the error (a simulator that raised or
died, a full disk, a file-size limit, ``sys.exit`` or any exception in the scenario's build);
or ``interrupted`` by SIGINT or SIGTERM, with the steps done. A run that stops at step N
leaves steps 0..N-1 readable; one killed outright (SIGKILL) leaves ``running`` and every step
recorded up to ``flush_s`` seconds before the kill (:mod:`cosim.analysis.results`).

Every simulator is guarded (:mod:`cosim.run.coupling.guard`): a failure while running names the
simulator, the call and the step, also in the manifest (``failure``), and a simulator in its
own process or on another host that does not answer a step within ``step_timeout_s`` fails
the run instead of hanging it.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import re
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mosaik
from loguru import logger
from mosaik.exceptions import ScenarioError
from mosaik_api_v3.connection import RemoteException

from cosim.analysis.results import DEFAULT_FLUSH_S, parts, steps_in
from cosim.core import lifeline
from cosim.core.digest import sha256
from cosim.core.errors import ConfigError, CosimError, SimulationError
from cosim.run import manifest
from cosim.run.config import RunConfig, as_dict
from cosim.run.coupling import DEFAULT_STEP_TIMEOUT_S, SimulatorFailure, Timeouts, guard
from cosim.run.coupling.guard import reap, remote_parts, tracked_of
from cosim.run.endings import RESERVE_FILE, FolderLock, Interrupted, StopSignals
from cosim.run.scenario import Builder, Scenario, aware_start, sim_config

# keep the simulators up after the run: the runner shuts the world down itself, also after a
# failure, so that every finalize (the recorder's last chunk) runs; older mosaik has no keyword
_KEEP_OPEN = (
    {"shutdown": False} if "shutdown" in inspect.signature(mosaik.World.run).parameters else {}
)


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended."""

    out_dir: Path
    status: str  # "completed", "failed" or "interrupted"
    steps_done: int
    build_s: float  # starting simulators, creating entities, connecting [s]
    run_s: float  # the steps [s]
    error: str | None = None
    signum: int | None = None  # the signal that interrupted the run


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
    kind, message = remote_parts(err)
    text = f"{err.source or 'a simulator'}: {message}"
    return ConfigError(text) if kind == "ConfigError" else SimulationError(text)


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
    """Number of steps whose results are in the folder (see
    :func:`cosim.analysis.results.steps_in`)."""
    return steps_in(out_dir)


def run(
    scenario: Scenario,
    cfg: RunConfig,
    out_dir: Path | None = None,
    processes: bool = False,
    progress: bool = True,
    step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
    flush_s: float = DEFAULT_FLUSH_S,
    rt_factor: float | None = None,
) -> RunOutcome:
    """Build and run ``scenario`` with ``cfg``; results go to ``out_dir``.

    Raises ConfigError when the scenario cannot be built or the folder cannot be used (in use
    by another run, a file, not writable, holds results), SimulationError when the build fails
    otherwise (``sys.exit``, an exception of the scenario's code); the manifest says so too.
    A failure while running is returned as ``status="failed"`` with the error, SIGINT or
    SIGTERM as ``status="interrupted"``; the folder keeps every finished step.
    ``step_timeout_s`` bounds each step and get_data answer of a simulator in its own process
    or on another host [s]; ``flush_s`` is the longest wall time between writes of the
    recorded steps [s], the most a SIGKILL can lose.
    ``rt_factor`` paces the run against the wall clock (wall seconds per simulated second;
    mosaik's ``rt_factor``): the manifest records the worst lag [s].
    """
    if rt_factor is not None and not (math.isfinite(rt_factor) and rt_factor > 0):
        raise ConfigError(f"rt_factor={rt_factor!r} must be a positive number")
    if not (isinstance(flush_s, int | float) and math.isfinite(flush_s) and flush_s > 0):
        raise ConfigError(f"flush_s={flush_s!r} must be a positive number of seconds")
    timeouts = Timeouts(step_s=step_timeout_s)
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(scenario.name)
    started_at = manifest.now()
    lock = FolderLock(out_dir, f"pid {os.getpid()}, started {started_at}")
    try:
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
            "flush_s": flush_s,
            "versions": manifest.versions(),
            "scenario_sha256": sha256(Path(scenario.module.__file__ or "")),
            "started_at": started_at,
            "pid": os.getpid(),
            "status": "running",
        }
        manifest.write(out_dir, record)
        os.environ[lifeline.PARENT_ENV] = str(os.getpid())  # cosim's children die with us
        world = mosaik.World(
            sim_config(processes),  # type: ignore[arg-type]
            skip_greetings=True,
            configure_logging=False,
        )
        guard(world, timeouts)
        with StopSignals() as stop:
            return _run(world, scenario, cfg, out_dir, progress, flush_s, rt_factor, record, stop)
    finally:
        lock.release()


def _run(
    world: mosaik.World,
    scenario: Scenario,
    cfg: RunConfig,
    out_dir: Path,
    progress: bool,
    flush_s: float,
    rt_factor: float | None,
    record: dict[str, Any],
    stop: StopSignals,
) -> RunOutcome:
    """Build, run and close the world; the manifest says how it ended."""
    t0 = time.perf_counter()
    try:
        built = _build(world, scenario, cfg, out_dir, progress, flush_s)
        record.update(
            notes=built.notes, kinds=built.kinds, coupled=built.coupled, installed=built.installed
        )
    except Interrupted:
        stop.closing()
        reap(world)
        return _close(out_dir, record, "", None, 0.0, 0.0, stop)
    except BaseException as err:
        stop.closing()
        reap(world)
        reason = _build_error(err)
        _end(out_dir, record, status="failed", error=f"build: {reason}", steps_done=0)
        if isinstance(err, ConfigError):
            raise
        raise SimulationError(f"scenario {scenario.name!r}, build: {reason}") from None
    t1 = time.perf_counter()
    error: str | None = None
    failure: dict[str, Any] | None = None
    lag = _Lag({})
    with _mosaik_errors() as logged:  # only around the run: mosaik logs what it does not raise
        stop.running(world.loop)
        try:
            with _paced(rt_factor, cfg.until_s) as lag:
                world.run(until=cfg.until_s, print_progress=False, **_KEEP_OPEN, **lag.run_kwargs)
        except asyncio.CancelledError:
            if stop.signum is None:
                error = "the run was cancelled"
        except RemoteException as err:
            error = str(_remote_error(err))
        except CosimError as err:
            error = str(err)
            if isinstance(err, SimulatorFailure):
                failure = err.as_dict()
        except (Exception, SystemExit) as err:  # a simulator's own failure: say what it was
            error = f"{type(err).__name__}: {err}"
        finally:
            stop.closing()
            _cancel_waiting(world)
            stop_error = _shutdown(world)
            error = error or stop_error
    if error is None and logged:
        error = "; ".join(logged)
    if rt_factor is not None:
        record.update(
            rt_factor=rt_factor, rt_lag_max_s=round(lag.worst_s, 3), rt_wall_s=round(lag.wall_s, 3)
        )
    return _close(out_dir, record, error, failure, t1 - t0, time.perf_counter() - t1, stop)


def _shutdown(world: mosaik.World) -> str | None:
    """Stop every simulator (each finalize runs: the recorder writes its last part), kill
    what is left of their processes; the first error of a finalize, if any."""
    try:
        world.shutdown()
    except Exception as err:
        return f"shutdown: {type(err).__name__}: {err}"
    finally:
        reap(world)
    errors = tracked_of(world).stop_errors
    return errors[0] if errors else None


def _close(
    out_dir: Path,
    record: dict[str, Any],
    error: str | None,
    failure: dict[str, Any] | None,
    build_s: float,
    run_s: float,
    stop: StopSignals,
) -> RunOutcome:
    """Count the steps on disk and write the final manifest."""
    steps_done = steps_on_disk(out_dir)
    steps = record["steps"]
    if stop.signum is not None and not error and steps_done < steps:
        status, error = (
            "interrupted",
            f"interrupted by {stop.name} after {steps_done} of {steps} steps",
        )
    elif error is None and steps_done < steps:
        status, error = "failed", f"the run stopped after {steps_done} of {steps} steps"
    else:
        status = "failed" if error else "completed"
    _end(
        out_dir,
        record,
        status=status,
        error=error,
        failure=failure,
        signal=stop.name or None,
        steps_done=steps_done,
        build_s=round(build_s, 3),
        run_s=round(run_s, 3),
        checksums=manifest.checksums(out_dir),
    )
    signum = stop.signum if status == "interrupted" else None
    return RunOutcome(out_dir, status, steps_done, build_s, run_s, error, signum)


def _end(out_dir: Path, record: dict[str, Any], **ending: Any) -> None:
    """Write the final manifest (in the space the lock reserved); a disk that refuses it is
    one clear error."""
    record.update(ending, ended_at=manifest.now())
    (out_dir / RESERVE_FILE).unlink(missing_ok=True)
    try:
        manifest.write(out_dir, record)
    except OSError as err:
        raise SimulationError(
            f"the run ended {record['status']} ({record.get('error')}), but its manifest could"
            f" not be written: {err.strerror or err}; {out_dir / 'manifest.json'} still says"
            " 'running'"
        ) from None


def _build_error(err: BaseException) -> str:
    """One line for a failed build: the error, and for the scenario's own code where."""
    if isinstance(err, CosimError):
        return str(err)
    if isinstance(err, SystemExit):
        return f"the scenario called sys.exit({err.code!r})"
    where = ""
    frames = traceback.extract_tb(err.__traceback__)
    if frames:
        where = f" (at {frames[-1].filename}:{frames[-1].lineno})"
    return f"{type(err).__name__}: {err}{where}"


def _build(
    world: mosaik.World,
    scenario: Scenario,
    cfg: RunConfig,
    out_dir: Path,
    progress: bool,
    flush_s: float,
) -> Builder:
    """Start the recorder and let the scenario build; build errors become ConfigError.

    Returns the Builder, with the scenario's notes and declared kinds."""
    try:
        rec_sim = world.start(
            "Recorder",
            out_dir=str(out_dir),
            step_s=cfg.step_s,
            flush_s=flush_s,
            progress_steps=cfg.steps if progress else 0,
            progress_desc=scenario.name,
            progress_start=cfg.start,
        )
        recorder = rec_sim.Recorder()
        builder = Builder(world, cfg, recorder, {recorder.sid: rec_sim})
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
