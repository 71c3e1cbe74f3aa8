"""Dask clients for sweeps: a new LocalCluster on 127.0.0.1 (TLS, credentials of its own), or
a running scheduler (used as given).

A LocalCluster's start is bounded: a worker that has not joined within ``START_TIMEOUT_S`` makes
it start once more, then a :class:`~cosim.core.errors.CosimError`. Dask is imported only here, and
only when a client is asked for.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cosim.core.errors import ConfigError, CosimError

CONNECT_TIMEOUT_S = 20
# A LocalCluster worker that has not joined within START_TIMEOUT_S is given up; the cluster is
# then started once more. Worker processes occasionally never join (dask/distributed#1865), and
# without a bound the sweep would wait forever.
START_TIMEOUT_S = 60
START_TRIES = 2
log = logging.getLogger(__name__)


class _WorkerExit(logging.Filter):
    """Drops the nanny's "Worker process still alive after 4.0 seconds, killing" at close: a
    process that imported pandapower takes 1-2 s to exit, longer on a busy machine, and every
    run has returned by then."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "still alive after" not in record.getMessage()


@contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A client of ``scheduler``, or of a new LocalCluster of ``workers`` processes with one
    thread each, listening on 127.0.0.1 only; closed (with the cluster) on exit."""
    from distributed import Client

    # A Client left in a reference cycle (one whose connection failed) takes dask's class-wide
    # LoopRunner lock in __del__; collected while a loop starts, which holds that lock, it hangs
    # the process for good. So garbage is collected here, before a loop starts, not there.
    gc.collect()
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, ValueError, TypeError) as err:
            failure: str | None = str(err) or type(err).__name__
        else:
            failure = None
        if failure is not None:
            gc.collect()  # the failed Client, now that its error no longer holds it
            raise ConfigError(f"scheduler={scheduler!r}: cannot connect ({failure})")
        with client:
            yield client
        return
    nanny_log, exit_filter = logging.getLogger("distributed.nanny"), _WorkerExit()
    nanny_log.addFilter(exit_filter)
    try:
        with _local_cluster(workers) as cluster, Client(cluster) as client:
            yield client
    finally:
        nanny_log.removeFilter(exit_filter)


def _start_failure(err: BaseException) -> str:
    """Why a LocalCluster did not start: a timeout anywhere in dask's chain of errors (its
    clean-up after a timeout can fail in turn), else the error itself."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return f"a worker did not join within {START_TIMEOUT_S} s"
        cause = cause.__cause__ or cause.__context__
    return f"{type(err).__name__}: {err}"


def _local_cluster(workers: int) -> Any:
    """A LocalCluster of ``workers`` single-thread processes on 127.0.0.1, each worker's start
    bounded by ``START_TIMEOUT_S``; tried ``START_TRIES`` times, then a :class:`CosimError`.

    Its scheduler and workers speak TLS with a key and certificate made for this cluster and
    held in memory (``Security.temporary()``): they accept only peers that hold them, i.e.
    this process's Client and the cluster's own workers, so another local user or process
    cannot connect and run code on the workers."""
    from distributed import LocalCluster
    from distributed.security import Security

    why = ""
    for attempt in range(START_TRIES):
        before = set(multiprocessing.active_children())
        if attempt:
            log.warning("the local Dask cluster did not start (%s); starting it again", why)
        try:
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,  # a mosaik world per process at a time
                processes=True,
                host="127.0.0.1",
                protocol="tls://",
                security=Security.temporary(),  # a new key pair per cluster, in memory
                dashboard_address="127.0.0.1:0",  # its HTTP server: loopback, a free port
                death_timeout=START_TIMEOUT_S,  # to each nanny: bounds its worker's start
            )
        except Exception as err:  # dask raises several kinds, one an AssertionError from close
            why = _start_failure(err)
            for process in set(multiprocessing.active_children()) - before:
                process.kill()  # a worker that never joined can outlive its failed nanny
    raise CosimError(
        f"a local Dask cluster of {workers} workers did not start in {START_TRIES} tries of"
        f" {START_TIMEOUT_S} s each ({why}); start one yourself and give --scheduler ADDRESS"
    )
