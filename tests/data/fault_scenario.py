"""A small, fast scenario for fault injection: idle batteries recorded every step.

``ending`` makes the build end early: ``exit`` calls ``sys.exit(3)``, ``raise`` raises a
ZeroDivisionError, ``nothing`` records nothing (the steps still run).

Wiring::

    Battery-0.battery_<i> --soc_frac, p_mw, e_mwh--> Recorder
"""

import sys
from dataclasses import dataclass

from cosim.run.config import RunConfig
from cosim.run.scenario import Builder


@dataclass(frozen=True)
class Config(RunConfig):
    steps: int = 4
    step_s: int = 60
    batteries: int = 20
    ending: str = "none"


def build(b: Builder, cfg: Config) -> None:
    if cfg.ending == "exit":
        sys.exit(3)
    if cfg.ending == "raise":
        print(1 / 0)
    sim = b.start("Battery")
    batteries = [sim.Battery(e_max_mwh=0.01) for _ in range(cfg.batteries)]
    if cfg.ending != "nothing":
        b.record(batteries, "soc_frac", "p_mw", "e_mwh")
