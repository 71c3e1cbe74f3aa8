"""Finding a controller by name: built-in, entry point ``cosim.controllers``, or a class path.

``"package.module:Class"`` imports a module; ``"path/to/file.py:Class"`` loads a file (a
scenario script that defines its own controller). An unknown name lists the known ones.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from controllers.base import Controller
from cosim.core.errors import ConfigError, unknown
from cosim.core.imports import load_file

ENTRY_POINT_GROUP = "cosim.controllers"
BUILTIN: dict[str, str] = {
    "demand_response": "controllers.demand_response:DemandResponse",
    "peak_shaving": "controllers.demand_response:PeakShaving",
    "islanding": "controllers.islanding:Islanding",
    "local_market": "controllers.market:LocalMarket",
    "vpp": "controllers.vpp:Vpp",
}


def known_names() -> list[str]:
    """Built-in and installed (entry point) controller names."""
    return sorted({*BUILTIN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def find(name: str) -> type[Controller]:
    """The controller class called ``name``."""
    if name in BUILTIN:
        return _load(BUILTIN[name], name)
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return _check(ep.load(), name)
    if ":" in name:
        return _load(name, name)
    raise ConfigError(
        f"controller={name!r} is unknown; known: {', '.join(known_names())} "
        "(or 'package.module:Class', or 'path/to/file.py:Class')"
    )


def instantiate(
    cls: type[Controller], options: dict[str, Any], step_s: int | None = None
) -> Controller:
    """``cls(**options)``; a wrong option is a ConfigError listing the accepted ones.

    ``step_s`` (the step of the simulator that hosts the controller [s]) goes to a controller
    that takes a ``step_s`` option; an option ``step_s`` that differs from it is a ConfigError.
    """
    accepted = check_options(cls, options)
    if step_s is not None and "step_s" in accepted:
        given = options.get("step_s", step_s)
        if given != step_s:
            raise ConfigError(
                f"{cls.__name__} option step_s={given!r} differs from the run's step_s={step_s}; "
                "leave it out: the controller gets the run's step"
            )
        options = {**options, "step_s": step_s}
    try:
        return cls(**options)
    except TypeError as err:  # a missing required option
        raise ConfigError(f"{cls.__name__}: {err}; its options: {accepted}") from None


def check_options(cls: type[Controller], keys: Iterable[str]) -> list[str]:
    """The options ``cls`` accepts; a key it does not accept is a ConfigError listing them."""
    accepted = [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    for key in keys:
        if key not in accepted:
            raise unknown(f"{cls.__name__} option", key, accepted)
    return accepted


def _load(spec: str, name: str) -> type[Controller]:
    module_name, _, qualname = spec.rpartition(":")
    if not module_name or not qualname:
        raise ConfigError(f"controller={name!r}: a class path is 'package.module:Class'")
    if module_name.endswith(".py"):
        module = _load_file(Path(module_name), name)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ConfigError(
                f"controller={name!r}: cannot import {module_name!r}: {err}"
            ) from None
    obj: Any = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"controller={name!r}: {module_name!r} has no {qualname!r}")
        obj = getattr(obj, part)
    return _check(obj, name)


def _load_file(path: Path, name: str) -> Any:
    if not path.is_file():
        raise ConfigError(f"controller={name!r}: no such file {str(path)!r}")
    return load_file(path, fresh=False)


def _check(obj: Any, name: str) -> type[Controller]:
    if not (isinstance(obj, type) and issubclass(obj, Controller)):
        raise ConfigError(
            f"controller={name!r} is {obj!r}, not a subclass of controllers.base.Controller"
        )
    return obj
