"""A test scenario: one coupled simulator whose ``p_kw`` is recorded every step.

``how`` picks the coupled simulator: ``misbehaving`` (tests/data/misbehaving_sim.py as a
process, failing as ``fail`` says at ``at_s``) or ``pysim`` (tests/data/pysim.py:FlakySim in
this process, raising at ``at_s``; tests/data must be on sys.path).

Wiring::

    Ext-0.source_0 --p_kw--> Recorder
"""

import sys
from dataclasses import dataclass
from pathlib import Path

from cosim.run.config import RunConfig
from cosim.run.scenario import Builder

MISBEHAVING = Path(__file__).parent / "misbehaving_sim.py"


@dataclass(frozen=True)
class Config(RunConfig):
    how: str = "misbehaving"
    fail: str = "none"
    at_s: int = 1800


def build(b: Builder, cfg: Config) -> None:
    if cfg.how == "misbehaving":
        cmd = f"{sys.executable} {MISBEHAVING} %(addr)s {cfg.fail} {cfg.at_s}"
        ext = b.couple("Ext", {"cmd": cmd}, step_s=cfg.step_s)
    else:
        ext = b.couple("Ext", {"python": "pysim:FlakySim"}, fail_at_s=cfg.at_s)
    b.record([ext.Source()], "p_kw")
