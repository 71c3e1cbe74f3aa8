"""``python -m cosim.run.coupling serve SIM --port N``: one of cosim's simulators in server mode."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

import mosaik_api_v3

from cosim.core import lifeline
from cosim.core.errors import ConfigError
from cosim.run.registry import SIMULATORS


def serve(sim_name: str, port: int, host: str = "127.0.0.1", wait_s: int = 60) -> None:
    """Run one of cosim's simulators as a server for one run of a scenario that connects.

    It waits ``wait_s`` for the scenario, serves it, and exits when the scenario stops.
    """
    if sim_name not in SIMULATORS:
        raise ConfigError(
            f"simulator={sim_name!r} is unknown; known: {', '.join(sorted(SIMULATORS))}"
        )
    module, cls = SIMULATORS[sim_name].split(":")
    simulator = getattr(importlib.import_module(module), cls)()
    asyncio.run(mosaik_api_v3.run_as_server(simulator, host, port, start_timeout=wait_s))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cosim.run.coupling serve SIM --port N [--host 127.0.0.1] [--wait-s 60]``."""
    parser = argparse.ArgumentParser(prog="python -m cosim.run.coupling")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run one of cosim's simulators in server mode")
    srv.add_argument("sim", help="mosaik name of the simulator, e.g. Battery")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    srv.add_argument("--wait-s", type=int, default=60, help="how long to wait for mosaik [s]")
    args = parser.parse_args(argv)
    try:
        serve(args.sim, args.port, args.host, args.wait_s)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:  # mosaik_api_v3: nobody connected within wait_s
        print(f"error: {args.sim} on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    lifeline.bind()  # dies with the process that started it (a shell, a run)
    sys.exit(main())
