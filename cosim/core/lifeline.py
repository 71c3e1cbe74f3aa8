"""Child processes die with the run that started them, also when the run gets SIGKILL.

A leaf module (standard library only): a guarded world starts every ``cmd`` simulator through
``python -m cosim.core.lifeline PARENT_PID COMMAND...`` (:func:`wrap`), which binds and then
executes the command in its place, and every cosim child entry point (``python -m
simulators.X``, ``python -m controllers``, ``python -m cosim.run.coupling``) calls :func:`bind`
first thing, so it is bound also when a run starts it some other way.

- :func:`bind` asks Linux to SIGKILL this process when its parent dies (``PR_SET_PDEATHSIG``),
  then checks that the parent is still the one that started it: a parent that died before the
  request was made leaves no one to send the signal, so the child exits at once.
- The launcher also puts the command in its own process group: a Ctrl-C in the terminal
  reaches only the run, which stops its simulators itself, and the run can kill the group
  (the simulator and anything it started) when it ends.

On other systems :func:`bind` does nothing (no parent-death signal); the run still stops its
simulators on every ending it can handle.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PARENT_ENV = "COSIM_PARENT_PID"
"""Environment variable naming the pid of the run that starts cosim's child processes."""
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _set_parent_death_signal(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0  # type: ignore[no-any-return]


def bind(parent_pid: int | None = None) -> None:
    """Die with the run: SIGKILL on the parent's death; exit now if the run is already gone.

    ``parent_pid``: the pid that must be the parent (the launcher's case). Without it, only a
    process started under a cosim run binds: ``COSIM_PARENT_PID`` names the run, which must
    still be alive (it may be a grandparent: a simulator can start helpers of its own). A
    simulator started by hand or by another program (no ``COSIM_PARENT_PID``) is left alone,
    so ``nohup python -m cosim.run.coupling serve ...`` outlives its shell.
    """
    if parent_pid is None:
        given = os.environ.get(PARENT_ENV, "")
        if not given.isdigit():
            return
    run_pid = parent_pid if parent_pid is not None else int(given)
    if not _set_parent_death_signal(signal.SIGKILL):
        return
    # checked after the request, so no death can fall between the check and the request
    gone = os.getppid() != run_pid if parent_pid is not None else not _alive(run_pid)
    if gone:
        sys.exit(f"cosim: the run that started this process (pid {run_pid}) has ended")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def wrap(cmd: str) -> str:
    """A mosaik ``cmd`` that runs ``cmd`` bound to this process (see the module docstring)."""
    return f"%(python)s -m cosim.core.lifeline {os.getpid()} {cmd}"


def main(argv: list[str]) -> None:
    """``python -m cosim.core.lifeline PARENT_PID COMMAND...``: bind, own group, exec COMMAND."""
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit("usage: python -m cosim.core.lifeline PARENT_PID COMMAND [ARG...]")
    bind(int(argv[0]))
    os.setpgid(0, 0)
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
