"""Finding scenarios, and the Builder a scenario's ``build()`` uses to make its world.

A scenario is a module (built-in under ``scenarios/`` or any ``.py`` file) with

- ``Config``: a frozen dataclass subclassing :class:`cosim.config.RunConfig`;
- ``build(b: Builder, cfg: Config) -> None``: starts simulators, creates entities, connects
  and records them, all through ``b``;
- ``main()``: ``cosim.cli.main_for(__name__)``, so ``python scenarios/x.py --set ...`` works.

Nothing runs at import.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import mosaik

from cosim.config import RunConfig
from cosim.errors import ConfigError, unknown

BUILTIN_PACKAGE = "scenarios"

# mosaik name -> "module:Class" of cosim's own simulators; ``python -m <package>`` runs each
SIMULATORS: dict[str, str] = {
    "Grid": "simulators.grid.sim:GridSim",
    "Profiles": "simulators.profiles.sim:ProfilesSim",
    "PV": "simulators.pv.sim:PVSim",
    "Battery": "simulators.battery.sim:BatterySim",
    "EV": "simulators.ev.sim:EVSim",
    "CHP": "simulators.chp.sim:ChpSim",
    "FlexLoad": "simulators.flexload.sim:FlexLoadSim",
}
RECORDER = "cosim.recorder:RecorderSim"


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario module."""

    name: str
    module: ModuleType

    @property
    def config_class(self) -> type[RunConfig]:
        return self.module.Config  # type: ignore[no-any-return]

    def build(self, builder: Builder, cfg: RunConfig) -> None:
        self.module.build(builder, cfg)


def builtin_names() -> list[str]:
    """Names of the built-in scenarios (modules of the ``scenarios`` package)."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    return sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")
    )


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a scenario script by path."""
    path = Path(name_or_path)
    if path.suffix == ".py":
        if not path.is_file():
            raise ConfigError(f"scenario={name_or_path!r}: no such file")
        module_name = f"cosim_scenario_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
        name = path.stem
    elif name_or_path in builtin_names():
        module = importlib.import_module(f"{BUILTIN_PACKAGE}.{name_or_path}")
        name = name_or_path
    else:
        raise ConfigError(
            f"scenario={name_or_path!r} is unknown; known: {', '.join(builtin_names())} "
            "(or a path to a scenario .py file)"
        )
    for attr in ("Config", "build"):
        if not hasattr(module, attr):
            raise ConfigError(
                f"scenario {name!r} has no {attr}: a scenario needs Config and build()"
            )
    if not issubclass(module.Config, RunConfig):
        raise ConfigError(f"scenario {name!r}: Config must subclass cosim.config.RunConfig")
    return Scenario(name, module)


def sim_config(processes: bool, extra: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """mosaik's sim_config: cosim's simulators in-process, or each as its own OS process."""
    config: dict[str, dict[str, str]] = {}
    for name, target in {**SIMULATORS, **(extra or {})}.items():
        if processes:
            package = target.split(":")[0].rsplit(".", 1)[0]
            config[name] = {"cmd": f"%(python)s -m {package} --log-level warning %(addr)s"}
        else:
            config[name] = {"python": target}
    config["Recorder"] = {"python": RECORDER}  # the sink stays in-process: it owns the folder
    return config


class Builder:
    """What ``build()`` gets: the mosaik world, the run's Config, and helpers to record."""

    def __init__(self, world: mosaik.World, cfg: RunConfig, recorder: Any) -> None:
        self.world = world
        self.cfg = cfg
        self._recorder = recorder

    def start(self, sim_name: str, **params: Any) -> Any:
        """Start one of cosim's simulators by its mosaik name (``Grid``, ``Profiles``...).

        ``step_s`` and ``start`` default to the Config's step size and start.
        """
        if sim_name not in SIMULATORS:
            raise unknown("simulator", sim_name, list(SIMULATORS))
        params.setdefault("step_s", self.cfg.step_s)
        params.setdefault("start", self.cfg.start)
        return self.world.start(sim_name, **params)

    def connect(self, src: Any, dest: Any, *attrs: str | tuple[str, str], **options: Any) -> None:
        """``world.connect`` for one pair of entities."""
        self.world.connect(src, dest, *attrs, **options)

    def attach(
        self,
        grid_sim: Any,
        units: Sequence[Any],
        element: str,
        buses: Sequence[int],
        attrs: Sequence[str] = ("p_mw", "q_mvar"),
    ) -> list[Any]:
        """Create a grid ``element`` (``load``, ``sgen``, ``storage``) at each bus, fed by its unit.

        The unit's ``attrs`` flow to the new element every step (same step, no shift); its
        full id is the element's name in the net. Returns the new grid entities.
        """
        models = {"load": "Load", "sgen": "Sgen", "storage": "Storage"}
        if element not in models:
            raise unknown("element", element, list(models))
        if len(units) != len(buses):
            raise ConfigError(f"{len(units)} units but {len(buses)} buses: give one bus per unit")
        created = []
        for unit, bus in zip(units, buses, strict=True):
            target = getattr(grid_sim, models[element])(bus=int(bus), name=unit.full_id)
            self.world.connect(unit, target, *attrs)
            created.append(target)
        return created

    def feed_back(self, src: Any, dest: Any, *attrs: str, initial: dict[str, Any]) -> None:
        """Connect ``src`` to ``dest`` one step late (measured at t, used at t + step).

        For values that flow against the data flow of a step, such as a bus voltage going back
        to the unit that feeds the bus. ``initial`` holds each attr's value for the first step.
        """
        self.world.connect(src, dest, *attrs, time_shifted=True, initial_data=initial)

    def record(self, entities: Iterable[Any], *attrs: str) -> int:
        """Record ``attrs`` of every entity (each must provide them); returns the count."""
        count = 0
        for entity in entities:
            self.world.connect(entity, self._recorder, *attrs)
            count += 1
        return count
