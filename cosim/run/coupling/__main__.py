"""Host one of cosim's simulators (built-in or from entry point ``cosim.simulators``) by name.

- ``python -m cosim.run.coupling serve SIM --port N``: in server mode, for a scenario to connect;
- ``python -m cosim.run.coupling run SIM HOST:PORT``: as a client of the mosaik at ``HOST:PORT``
  (mosaik's ``cmd`` starter); how ``--processes`` runs a simulator without a ``__main__`` of its
  own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import mosaik_api_v3
from loguru import logger

from cosim.core import fleet, lifeline
from cosim.core.errors import ConfigError
from cosim.run import registry


def serve(sim_name: str, port: int, host: str = "127.0.0.1", wait_s: int = 60) -> None:
    """Run one of cosim's simulators as a server for one run of a scenario that connects.

    It waits ``wait_s`` for the scenario, serves it, and exits when the scenario stops.
    """
    simulator = registry.load(sim_name)()
    fleet.crossing()
    asyncio.run(mosaik_api_v3.run_as_server(simulator, host, port, start_timeout=wait_s))


def run(sim_name: str, addr: str) -> None:
    """Run one of cosim's simulators as a client of the mosaik listening at ``addr``
    (``HOST:PORT``), as mosaik's ``cmd`` starter expects; it exits when the run stops."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"addr={addr!r} must be HOST:PORT, e.g. 127.0.0.1:5678")
    simulator = registry.load(sim_name)()
    fleet.crossing()
    logger.remove()  # as the built-ins' ``--log-level warning``: warnings and errors only
    logger.add(sys.stderr, level="WARNING")
    asyncio.run(mosaik_api_v3.run_as_client(simulator, host, int(port)))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cosim.run.coupling serve SIM --port N [--host 127.0.0.1] [--wait-s 60]`` or
    ``python -m cosim.run.coupling run SIM HOST:PORT``."""
    parser = argparse.ArgumentParser(prog="python -m cosim.run.coupling")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run one of cosim's simulators in server mode")
    srv.add_argument("sim", help="mosaik name of the simulator, e.g. Battery")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    srv.add_argument("--wait-s", type=int, default=60, help="how long to wait for mosaik [s]")
    cli = sub.add_parser("run", help="run one of cosim's simulators as a client of mosaik")
    cli.add_argument("sim", help="mosaik name of the simulator, e.g. Battery")
    cli.add_argument("addr", help="HOST:PORT of the mosaik that started it")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            run(args.sim, args.addr)
        else:
            serve(args.sim, args.port, args.host, args.wait_s)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # mosaik_api_v3: nobody connected within wait_s
        where = args.addr if args.command == "run" else f"{args.host}:{args.port}"
        print(f"error: {args.sim} on {where}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    lifeline.bind()  # dies with the process that started it (a shell, a run)
    sys.exit(main())
