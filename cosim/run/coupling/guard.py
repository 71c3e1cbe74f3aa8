"""Guarding simulators: failures while a world runs name the simulator, the call and the step.

:func:`guard` replaces every entry of a world's sim config by a :class:`GuardedStarter`, whose
:class:`GuardedProxy` sits between mosaik and the simulator:

- an error the simulator raises in ``setup_done``, ``step`` or ``get_data`` becomes a
  :class:`SimulatorFailure` (kind ``error``); build-time errors pass unchanged;
- a simulator in its own process or on another host that closes its connection (kind ``died``,
  with the process's exit code when there is one), sends bytes that are not mosaik protocol or
  answers of the wrong shape (``garbage``), or does not answer a step or get_data within
  ``Timeouts.step_s`` (``timeout``) fails the same way, and is stopped;
- a simulator in the scenario's own process blocks that process while it runs: no timeout can
  stop it; run it as a process (``cmd``) to bound it.

Every ``cmd`` simulator starts through :mod:`cosim.core.lifeline` (it dies with the run, also on
SIGKILL, in its own process group); :func:`reap` kills what is left of those groups when the
run ends. Stopping a simulator that died, or whose ``finalize`` raised, does not stop the
shutdown of the others: the failure is kept in :attr:`Tracked.stop_errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import mosaik
from mosaik.exceptions import ConnectionClosedError
from mosaik.proxies import BaseProxy
from mosaik.starters import ConnectStarter, Starter, get_starter_from_starter_config
from mosaik_api_v3.connection import EndOfRequests, RemoteException

from cosim.core import lifeline
from cosim.core.errors import ConfigError, SimulationError

DEFAULT_STEP_TIMEOUT_S = 60.0
"""How long a simulator in its own process may take to answer a step or get_data [s]."""
DEFAULT_BUILD_TIMEOUT_S = 600.0
"""How long it may take to answer create or an extra method while the world is built [s]."""
DEFAULT_CONNECT_WAIT_S = 10.0
"""How long to retry connecting to a ``connect`` simulator that is still starting [s]."""
STOP_TIMEOUT_S = 5.0
"""How long stopping one simulator may take before its process is killed [s]."""
RUN_METHODS = frozenset({"setup_done", "step", "get_data"})
"""The calls made while the world runs; failures in them become :class:`SimulatorFailure`."""


@dataclass(frozen=True)
class Timeouts:
    """Bounds on a simulator in its own process or on another host [s]."""

    step_s: float = DEFAULT_STEP_TIMEOUT_S
    build_s: float = DEFAULT_BUILD_TIMEOUT_S
    connect_wait_s: float = DEFAULT_CONNECT_WAIT_S

    def __post_init__(self) -> None:
        for name in ("step_s", "build_s", "connect_wait_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"timeout {name}={value!r} must be a number > 0 [s]")


@dataclass
class Tracked:
    """What a guarded world started and what went wrong while stopping it."""

    pids: list[int] = field(default_factory=list)  # each leads its own process group
    stop_errors: list[str] = field(default_factory=list)


class SimulatorFailure(SimulationError):
    """A simulator failed while the world ran: it raised, died, hung or answered garbage."""

    def __init__(self, sid: str, method: str, t_s: int | None, kind: str, detail: str) -> None:
        self.sid, self.method, self.t_s, self.kind = sid, method, t_s, kind
        when = f"at t_s={t_s}" if t_s is not None else "before the first step"
        super().__init__(f"simulator {sid!r}, {method} {when}: {detail}")

    def as_dict(self) -> dict[str, Any]:
        """What the manifest records about the failure."""
        return {"simulator": self.sid, "call": self.method, "t_s": self.t_s, "kind": self.kind}


class GuardedProxy(BaseProxy):
    """mosaik's proxy of one simulator, with bounded answers and failures that say where."""

    def __init__(
        self, inner: BaseProxy, sid: str, timeouts: Timeouts, tracked: Tracked | None = None
    ) -> None:
        super().__init__()
        self._inner, self._sid, self._timeouts = inner, sid, timeouts
        self._tracked = tracked or Tracked()
        self._channel = getattr(inner, "_channel", None)  # None: in the scenario's process
        self._t_s: int | None = None

    async def init(self, sid: str, **kwargs: Any) -> list[int]:  # type: ignore[override]
        return await self._inner.init(sid, **kwargs)  # mosaik bounds it with start_timeout

    @property
    def meta(self) -> Any:
        return self._inner.meta

    async def send(self, request: Any) -> Any:
        method = request[0]
        if method == "step":
            self._t_s = request[1][0]
        run = method in RUN_METHODS
        remote = self._channel is not None
        try:
            result = await (self._remote(request, method) if remote else self._inner.send(request))
        except SimulatorFailure:
            raise
        except RemoteException as err:
            if not run:
                raise
            raise self._failure(method, "error", remote_text(err)) from None
        except (ConnectionClosedError, ConnectionError, asyncio.IncompleteReadError) as err:
            if not remote:
                raise self._failure(method, "error", _short(err)) from err
            raise self._failure(method, "died", await self._closed()) from None
        except Exception as err:
            if not run or remote:
                raise
            raise self._failure(method, "error", _short(err, limit=1000)) from err
        if run:
            self._check(method, request, result)
        return result

    async def _remote(self, request: Any, method: str) -> Any:
        timeout_s = self._timeouts.step_s if method in RUN_METHODS else self._timeouts.build_s
        receiver = getattr(self._channel, "_receiver_task", None)
        if receiver is not None and receiver.done():
            raise await self._broken(method, receiver)
        call = asyncio.ensure_future(self._inner.send(request))
        waiting = {call} if receiver is None else {call, receiver}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout_s, return_when="FIRST_COMPLETED")
        except asyncio.CancelledError:  # the run was interrupted: no one waits for the answer
            call.cancel()
            raise
        if call in done:
            return call.result()
        call.cancel()
        if receiver is not None and receiver in done:
            raise await self._broken(method, receiver)
        raise self._failure(method, "timeout", f"no answer within {timeout_s:g} s")

    async def _broken(self, method: str, receiver: asyncio.Task[Any]) -> SimulatorFailure:
        """The failure when the channel's reader stopped: garbage, or the other end closed."""
        err = None if receiver.cancelled() else receiver.exception()
        if err is None or isinstance(err, ConnectionError | asyncio.IncompleteReadError):
            return self._failure(method, "died", await self._closed())
        return self._failure(
            method, "garbage", f"sent a message that is not mosaik protocol: {_short(err)}"
        )

    async def _closed(self) -> str:
        code = await _exit_code(getattr(self._inner, "_process", None))
        return "closed its connection" + (
            f" (process exit code {code})" if code is not None else ""
        )

    def _failure(self, method: str, kind: str, detail: str) -> SimulatorFailure:
        t_s = None if method == "setup_done" else self._t_s
        return SimulatorFailure(self._sid, method, t_s, kind, detail)

    def _check(self, method: str, request: Any, result: Any) -> None:
        """An answer of the wrong shape is garbage, named here rather than deep in mosaik."""
        if method == "step" and not (
            result is None or (isinstance(result, int) and not isinstance(result, bool))
        ):
            raise self._failure(
                method, "garbage", f"answered {_short(result)}, not the next time (int or None)"
            )
        if method != "get_data":
            return
        if not isinstance(result, dict):
            raise self._failure(method, "garbage", f"answered {_short(result)}, not a dict")
        if self._channel is None or self.meta.get("type") != "time-based":
            return
        for eid, attrs in request[1][0].items():
            values = result.get(eid)
            missing = [a for a in attrs if not isinstance(values, dict) or a not in values]
            if missing:
                raise self._failure(
                    method, "garbage", f"answered no value of {eid}.{', '.join(missing)}"
                )

    async def stop(self) -> None:
        if self._garbled():  # the channel's reader died: end mosaik's request handler too
            self._channel._incoming_requests.put_nowait(EndOfRequests())  # type: ignore[union-attr]
        try:
            await asyncio.wait_for(self._inner.stop(), STOP_TIMEOUT_S)
        except TimeoutError:
            self._kill()
        except (ConnectionClosedError, ConnectionError, asyncio.IncompleteReadError):
            await self._close_dead()  # it died: nothing to stop, only the connection to close
        except Exception as err:  # e.g. the recorder's last write: keep it, stop the others
            self._tracked.stop_errors.append(f"simulator {self._sid!r}, stop: {_short(err, 300)}")

    def _kill(self) -> None:
        process = getattr(self._inner, "_process", None)
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process[0].kill()

    async def _close_dead(self) -> None:
        """Close the channel of a simulator that died and end its reader task."""
        self._kill()
        channel = self._channel
        with contextlib.suppress(Exception):
            await channel.close()  # type: ignore[union-attr]
        reader = getattr(self._inner, "_reader_task", None)
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    def _garbled(self) -> bool:
        receiver = getattr(self._channel, "_receiver_task", None)
        if receiver is None or not receiver.done() or receiver.cancelled():
            return False
        return receiver.exception() is not None


async def _exit_code(process: Any) -> int | None:
    """The exit code of a simulator's process, if it has one and ends within a second."""
    if process is None:
        return None
    proc = process[0]
    try:
        if hasattr(proc, "poll"):  # mosaik 3.6: subprocess.Popen
            for _ in range(20):
                if proc.poll() is not None:
                    break
                await asyncio.sleep(0.05)
            code = proc.poll()
            return int(code) if code is not None else None
        return int(await asyncio.wait_for(proc.wait(), 1.0))  # mosaik 3.7: asyncio process
    except (TimeoutError, OSError):
        return None


def remote_parts(err: RemoteException) -> tuple[str, str]:
    """(type, message) of a simulator's failure reply. A reply whose content is a plain string,
    not ``[type, message, ...]``, reaches mosaik_api_v3's RemoteException one character per
    argument; joined again it is the message, and the type is empty."""
    parts = (err.remote_type, err.remote_msg, *err.further_args)
    if all(isinstance(part, str) and len(part) == 1 for part in parts):
        return "", "".join(parts)
    return str(err.remote_type), str(err.remote_msg)


def remote_text(err: RemoteException) -> str:
    """A simulator's failure reply as ``type: message`` (or the message alone)."""
    kind, message = remote_parts(err)
    return f"{kind}: {message}" if kind else message


def _short(value: Any, limit: int = 120) -> str:
    text = f"{type(value).__name__}: {value}" if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class GuardedStarter(Starter):
    """Starts a simulator from its sim config entry and guards it (:class:`GuardedProxy`).

    The entry is read when the simulator starts, so guarding a sim config imports nothing.
    A ``connect`` simulator that refuses the connection is tried again for
    ``timeouts.connect_wait_s`` (its server may still be starting).
    """

    def __init__(
        self, entry: Mapping[str, Any] | Starter, timeouts: Timeouts, tracked: Tracked | None = None
    ) -> None:
        self.entry, self.timeouts = entry, timeouts
        self.tracked = tracked or Tracked()
        self.api_version = (
            entry.api_version if isinstance(entry, Starter) else entry.get("api_version")
        )

    async def start(self, sim_id: str, mosaik_remote: Any, mosaik_config: Any) -> BaseProxy:
        entry = self.entry
        if isinstance(entry, Mapping) and "cmd" in entry:  # dies with the run, own group
            entry = {**entry, "cmd": lifeline.wrap(entry["cmd"])}
        inner = entry if isinstance(entry, Starter) else get_starter_from_starter_config(entry)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeouts.connect_wait_s
        while True:
            try:
                proxy = await inner.start(sim_id, mosaik_remote, mosaik_config)
                break
            except Exception:
                if not isinstance(inner, ConnectStarter) or loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)
        process = getattr(proxy, "_process", None)
        if process is not None:
            self.tracked.pids.append(process[0].pid)
        return GuardedProxy(proxy, sim_id, self.timeouts, self.tracked)

    @classmethod
    def from_starter_config(cls, starter_config: Any) -> Starter | None:
        return None  # made by guard() and couple(), never from a plain sim config entry


_TIMEOUTS: weakref.WeakKeyDictionary[Any, Timeouts] = weakref.WeakKeyDictionary()
_TRACKED: weakref.WeakKeyDictionary[Any, Tracked] = weakref.WeakKeyDictionary()


def tracked_of(world: mosaik.World) -> Tracked:
    """What the guarded simulators of ``world`` started (see :class:`Tracked`)."""
    return _TRACKED.setdefault(world, Tracked())


def reap(world: mosaik.World) -> None:
    """SIGKILL the process group of every ``cmd`` simulator ``world`` started, if any is left."""
    for pid in tracked_of(world).pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def timeouts_of(world: mosaik.World) -> Timeouts:
    """The timeouts :func:`guard` gave ``world``, or the defaults."""
    return _TIMEOUTS.get(world, Timeouts())


def guard(world: mosaik.World, timeouts: Timeouts | None = None) -> None:
    """Guard every simulator of ``world``'s sim config; :func:`couple` guards later ones."""
    timeouts = timeouts or Timeouts()
    _TIMEOUTS[world] = timeouts
    tracked = tracked_of(world)
    config = world.sim_config
    for name, entry in list(config.items()):
        if not isinstance(entry, GuardedStarter):
            config[name] = GuardedStarter(entry, timeouts, tracked)
