"""How a run holds its folder and hears that it must stop.

- :class:`FolderLock`: one writer per results folder. An exclusive ``flock`` on
  ``<out>/.cosim.lock``, held for the whole run; the file names the holder (pid, start time)
  for the error a second run gets. The lock file stays: removing it would let two runs lock
  two different files of the same name. While it runs, the lock also holds
  ``.cosim.reserve`` (64 KiB allocated on disk), freed just before the last manifest is
  written: a run that filled the disk can still say so.
- :class:`StopSignals`: SIGINT and SIGTERM while a run goes. During the build they raise
  :class:`Interrupted`; while the world runs they cancel mosaik's run, so the runner flushes,
  stops the simulators and records ``interrupted``; while the run closes they are only noted.
  Handlers can be installed in the main thread only (a run on a Dask worker thread keeps the
  worker's handling).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from cosim.core.errors import ConfigError

LOCK_FILE = ".cosim.lock"
RESERVE_FILE = ".cosim.reserve"
RESERVE_BYTES = 64 * 1024  # the final manifest with the checksums of about 500 parts
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived while the scenario was being built."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class FolderLock:
    """An exclusive lock on a run's output folder (created if missing), held until released."""

    def __init__(self, out_dir: Path, holder: str) -> None:
        self.out_dir = out_dir
        _make_folder(out_dir)
        path = out_dir / LOCK_FILE
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise _unusable(out_dir, err) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = os.pread(self._fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise ConfigError(
                f"out={str(out_dir)!r} is in use by a running run ({running}); choose another"
                " folder or wait for it to end"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, holder.encode(), 0)
        self._reserve()

    def _reserve(self) -> None:
        """Hold space for the final manifest; without room or under a file-size limit, none."""
        path = self.out_dir / RESERVE_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            finally:
                os.close(fd)
        except OSError:
            path.unlink(missing_ok=True)

    def free_reserve(self) -> None:
        """Give the reserved space back (before the last manifest write)."""
        (self.out_dir / RESERVE_FILE).unlink(missing_ok=True)

    def release(self) -> None:
        self.free_reserve()
        if self._fd >= 0:
            os.close(self._fd)  # closing the last descriptor releases the flock
            self._fd = -1


def _make_folder(out_dir: Path) -> None:
    """Create ``out_dir``; a file in the way or a folder that cannot be written is a ConfigError."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"out={str(out_dir)!r} is a file; --out must name a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(
            f"out={str(out_dir)!r}: a file is in the way of the folder; --out must name a folder"
        ) from None
    except OSError as err:
        raise _unusable(out_dir, err) from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"out={str(out_dir)!r} cannot be written: permission denied")


def _unusable(out_dir: Path, err: OSError) -> ConfigError:
    return ConfigError(f"out={str(out_dir)!r} cannot be written: {err.strerror or err}")


class StopSignals:
    """SIGINT/SIGTERM handling for one run; ``signum`` is the first one received (or None)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._raising = True
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            if hasattr(signal, "SIGXFSZ"):  # a file-size limit must be an error, not death
                self._previous[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def running(self, loop: asyncio.AbstractEventLoop) -> None:
        """The world runs on ``loop`` from now on: a signal cancels its run."""
        self._loop, self._raising = loop, False
        if self.signum is not None:  # arrived between build and run
            _cancel_run(loop)

    def closing(self) -> None:
        """The run is being closed: signals are only noted."""
        self._loop, self._raising = None, False

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_cancel_run, loop)
        elif first and self._raising:
            raise Interrupted(signum)


def _cancel_run(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel mosaik's run (``AsyncWorld.run``) and its per-simulator tasks."""
    for task in asyncio.all_tasks(loop):
        name = getattr(task.get_coro(), "__qualname__", "")
        if name == "AsyncWorld.run" or task.get_name().startswith("Runner for "):
            task.cancel()
