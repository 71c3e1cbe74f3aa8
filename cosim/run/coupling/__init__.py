"""Coupling simulators from outside cosim: start them, wire them by name, serve cosim's.

- :func:`couple` starts any mosaik-API simulator by its mosaik sim config (``{"python":
  "pkg.mod:Class"}``, ``{"cmd": "..."}`` or ``{"connect": "host:port"}``) and returns its model
  factory, as ``world.start`` does; it is guarded (:mod:`cosim.run.coupling.guard`): a failure
  while running names the simulator and the step, and one in its own process or on another
  host that hangs is stopped after a timeout.
- :func:`wire` connects entities, given as objects or by full id (``"Grid-0.load_3"``), with
  attribute renaming and a :class:`Transform` per attribute (kW -> MW, load sign -> sgen sign).
  Attributes whose simulators declare different units (``p_mw`` [MW] into one in kW) are
  refused at build unless a transform converts them; undeclared units pass.
  mosaik applies the transform to the connection's values in the scenario's own process, so
  in-process and ``--processes`` runs give the same values in the same step. A name that does
  not exist is a ConfigError at build time that lists the names that do.
- ``python -m cosim.run.coupling serve Battery --port 5678`` (``__main__``) runs one of cosim's
  simulators in server mode for a scenario to connect to; it binds 127.0.0.1 unless told
  otherwise.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import math
import numbers
import shlex
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mosaik
from mosaik.exceptions import ScenarioError
from mosaik.exceptions import SimulationError as MosaikSimulationError
from mosaik_api_v3.connection import RemoteException

from cosim.core.errors import ConfigError, SimulationError
from cosim.core.units import KW_PER_MW
from cosim.run.coupling.guard import (
    DEFAULT_STEP_TIMEOUT_S,
    GuardedStarter,
    SimulatorFailure,
    Timeouts,
    guard,
    remote_text,
    timeouts_of,
    tracked_of,
)

__all__ = [
    "DEFAULT_STEP_TIMEOUT_S",
    "KW_TO_MW",
    "NEGATE",
    "W_TO_MW",
    "SimulatorFailure",
    "Timeouts",
    "Transform",
    "check_units",
    "connect",
    "couple",
    "entity",
    "guard",
    "resolve",
    "serve",
    "wire",
]

STARTER_KEYS = ("python", "cmd", "connect")
OPTIONAL_KEYS = ("api_version", "cwd", "env")
# modules of optional packages cosim's examples use -> what to install
INSTALL_HINTS = {
    "mosaik_components": "pip install 'cosim[coupling]' (mosaik-householdsim)",
    "householdsim": "pip install 'cosim[coupling]' (mosaik-householdsim)",
    "mosaik_csv": "pip install mosaik-csv",
    "fmpy": "pip install 'cosim[coupling]' (fmpy)",
}
_NAMES_SHOWN = 60
W_PER_KW = 1000.0


# --- transforms ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Transform:
    """``value * scale + offset`` on every value of a connection; None (no value) passes."""

    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        for name in ("scale", "offset"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"{name}={value!r} must be a number")
            if not math.isfinite(value):
                raise ConfigError(f"{name}={value!r} must be finite")

    def __call__(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise SimulationError(f"value {value!r} is not a number; a Transform needs one")
        return float(value) * self.scale + self.offset

    def then(self, other: Transform) -> Transform:
        """This transform followed by ``other``."""
        return Transform(self.scale * other.scale, self.offset * other.scale + other.offset)


KW_TO_MW = Transform(scale=1 / KW_PER_MW)
W_TO_MW = Transform(scale=1 / (KW_PER_MW * W_PER_KW))
NEGATE = Transform(scale=-1.0)
"""Load sign <-> sgen sign (pandapower: a load's ``p_mw > 0`` consumes, an sgen's injects)."""


class _Labelled:
    """A connection's transform that names the connection when it fails."""

    def __init__(self, transform: Callable[[Any], Any], label: str) -> None:
        self.transform, self.label = transform, label

    def __call__(self, value: Any) -> Any:
        try:
            return self.transform(value)
        except Exception as err:
            raise SimulationError(f"transform of {self.label}: {err}") from None


_NONE = "cosim:none"
"""Stands for None in mosaik's initial data: mosaik drops a None there (and warns)."""


class _NoneFirst:
    """``_NONE`` back to None, then the connection's own transform (if any)."""

    def __init__(self, transform: Callable[[Any], Any] | None) -> None:
        self.transform = transform

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and value == _NONE:
            value = None
        return value if self.transform is None else self.transform(value)


# --- names ---------------------------------------------------------------------------------


def _not_found(field: str, wanted: str, names: Iterable[str], where: str) -> ConfigError:
    """A ConfigError for a name that is not one of ``names``, listing them (the closest first)."""
    names = sorted(names)
    close = difflib.get_close_matches(wanted, names, n=3)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    shown = ", ".join(names[:_NAMES_SHOWN]) or "(none)"
    if len(names) > _NAMES_SHOWN:
        shown += f", ... ({len(names) - _NAMES_SHOWN} more)"
    return ConfigError(f"{field}={wanted!r} is not {where}; {hint}known ({len(names)}): {shown}")


def factories(world: mosaik.World) -> dict[str, Any]:
    """sim id -> mosaik's model factory of every simulator started in ``world``."""
    async_world: Any = getattr(world, "_async_world", world)
    return dict(async_world._factories)


def entity(world: mosaik.World, ref: Any) -> Any:
    """The entity ``ref``: an entity object, or a full id ``"<sim id>.<entity id>"``."""
    if not isinstance(ref, str):
        if not hasattr(ref, "full_id"):
            raise ConfigError(f"entity={ref!r} must be a mosaik entity or a full id 'Sim-0.eid'")
        return ref
    sid, sep, eid = ref.partition(".")
    started = factories(world)
    if not sep or sid not in started:
        raise _not_found("simulator of entity", ref, started, "a started simulator")
    entities = started[sid].entities
    if eid not in entities:
        raise _not_found("entity", ref, entities, f"an entity of {sid}")
    return entities[eid]


def _model(world: mosaik.World, ent: Any) -> dict[str, Any]:
    model: dict[str, Any] = factories(world)[ent.sid].meta["models"][ent.type]
    return model


def _attr_names(model: Mapping[str, Any]) -> list[str]:
    names = [*model.get("attrs", []), *model.get("trigger", []), *model.get("non-persistent", [])]
    return sorted(set(names))


def check_attr(world: mosaik.World, ent: Any, attr: str, side: str) -> None:
    """A ConfigError unless ``attr`` is an ``output`` or ``input`` of ``ent`` by its meta."""
    mock = ent.model_mock
    attrs = mock.output_attrs if side == "output" else mock.input_attrs
    if attr not in attrs:
        model = _model(world, ent)
        raise _not_found(
            f"{side} attr", attr, _attr_names(model), f"an attr of {ent.full_id} ({ent.type})"
        )


# --- units ---------------------------------------------------------------------------------


def declared_unit(world: mosaik.World, ent: Any, attr: str) -> str | None:
    """The unit ``ent``'s meta declares for ``attr`` (its ``schema``, see
    :func:`cosim.core.simapi.model_meta`); None if it declares none (``-`` or no schema, as
    third-party simulators)."""
    schema = _model(world, ent).get("schema") or {}
    for declared in schema.get("attrs", ()):
        if declared.get("name") == attr:
            unit = declared.get("unit")
            return unit if isinstance(unit, str) and unit not in ("", "-") else None
    return None


def check_units(world: mosaik.World, src: Any, src_attr: str, dest: Any, dest_attr: str) -> None:
    """A ConfigError if both ends declare a unit and the units differ, naming both."""
    src_unit = declared_unit(world, src, src_attr)
    dest_unit = declared_unit(world, dest, dest_attr)
    if src_unit is not None and dest_unit is not None and src_unit != dest_unit:
        raise ConfigError(
            f"{src.full_id}.{src_attr} [{src_unit}] -> {dest.full_id}.{dest_attr} [{dest_unit}]: "
            "the units differ; connect attributes of one unit, or convert with a transform "
            "(cosim.run.coupling.Transform, e.g. KW_TO_MW)"
        )


def connect(world: mosaik.World, src: Any, dest: Any, *attrs: Any, **options: Any) -> None:
    """``world.connect`` for one pair of entities, refusing attributes of different declared
    units (:func:`check_units`) unless a ``transform`` option converts them."""
    if options.get("transform") is None:
        for pair in attrs:
            src_attr, dest_attr = (pair, pair) if isinstance(pair, str) else pair
            check_units(world, src, src_attr, dest, dest_attr)
    world.connect(src, dest, *attrs, **options)


# --- wiring --------------------------------------------------------------------------------

AttrMap = Mapping[str, str | tuple[str, Callable[[Any], Any]]]


def _pairs(attrs: AttrMap | str) -> list[tuple[str, str, Callable[[Any], Any] | None]]:
    if isinstance(attrs, str):
        return [(attrs, attrs, None)]
    pairs: list[tuple[str, str, Callable[[Any], Any] | None]] = []
    for src_attr, target in attrs.items():
        if isinstance(target, str):
            pairs.append((src_attr, target, None))
        elif isinstance(target, tuple) and len(target) == 2 and callable(target[1]):
            pairs.append((src_attr, str(target[0]), target[1]))
        else:
            raise ConfigError(
                f"attrs[{src_attr!r}]={target!r} must be a destination attr name or "
                "(name, transform)"
            )
    if not pairs:
        raise ConfigError("attrs={} names no attribute to wire")
    return pairs


def resolve(world: mosaik.World, refs: Any) -> list[Any]:
    """The entities ``refs`` names: one entity or full id, or a sequence of them."""
    if isinstance(refs, str) or not isinstance(refs, Iterable):
        return [entity(world, refs)]
    return [entity(world, ref) for ref in refs]


def wire(
    world: mosaik.World,
    src: Any,
    dest: Any,
    attrs: AttrMap | str,
    *,
    time_shifted: bool = False,
    initial: Mapping[str, Any] | None = None,
) -> int:
    """Connect ``src`` to ``dest`` attribute by attribute; returns the number of connections.

    Parameters
    ----------
    src, dest
        An entity, a full id ``"Sim-0.eid"``, or equally long sequences of them (paired in
        order).
    attrs
        ``{src_attr: dest_attr}`` or ``{src_attr: (dest_attr, transform)}``, or one attr name
        that both sides share. A transform is a :class:`Transform` or any callable on one value.
    time_shifted
        Deliver the values one step late (for flows against a step's data flow, such as a
        bus voltage going back to a unit).
    initial
        With ``time_shifted``: each src attr's value for the first step, as the source would
        send it (the transform applies to it); None is delivered as None.
    """
    srcs, dests = resolve(world, src), resolve(world, dest)
    if len(srcs) != len(dests):
        raise ConfigError(f"{len(srcs)} sources but {len(dests)} destinations: pair them 1:1")
    pairs = _pairs(attrs)
    initial = dict(initial or {})
    if not time_shifted and initial:
        raise ConfigError("initial values are only for time_shifted=True connections")
    extra = sorted(set(initial) - {src_attr for src_attr, _, _ in pairs})
    if extra:
        raise ConfigError(f"initial has {extra}, not wired here; wired: {[a for a, _, _ in pairs]}")
    for s, d in zip(srcs, dests, strict=True):  # every name first: no half-wired world
        for src_attr, dest_attr, fn in pairs:
            check_attr(world, s, src_attr, "output")
            check_attr(world, d, dest_attr, "input")
            if fn is None:  # a transform converts: the units may differ
                check_units(world, s, src_attr, d, dest_attr)
            if time_shifted and src_attr not in initial:
                raise ConfigError(
                    f"initial[{src_attr!r}] is missing: a time-shifted connection needs the "
                    "value for the first step"
                )
    count = 0
    for s, d in zip(srcs, dests, strict=True):
        for src_attr, dest_attr, fn in pairs:
            options: dict[str, Any] = {}
            if time_shifted:
                value = initial[src_attr]
                pulled = _pulled(world, s, src_attr)
                if value is None and pulled:
                    value, fn = _NONE, _NoneFirst(fn)
                elif fn is not None and not pulled:
                    value = fn(value)  # mosaik transforms initial data of pulled connections only
                options.update(time_shifted=True, initial_data={src_attr: value})
            if fn is not None:
                label = f"{s.full_id}.{src_attr} -> {d.full_id}.{dest_attr}"
                options["transform"] = _Labelled(fn, label)
            try:
                world.connect(s, d, (src_attr, dest_attr), **options)
            except ScenarioError as err:
                raise ConfigError(f"wire {s.full_id} -> {d.full_id}: {err}") from None
            count += 1
    return count


def _pulled(world: mosaik.World, ent: Any, attr: str) -> bool:
    """Whether mosaik pulls this output from its cache (then it transforms initial data)."""
    use_cache = getattr(getattr(world, "_async_world", world), "use_cache", True)
    return bool(use_cache and ent.is_persistent(attr))


# --- coupling ------------------------------------------------------------------------------


def check_config(name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """A sim config entry checked: one starter key, known options, something that can start."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"config of {name!r}={config!r} must be a dict such as {{'cmd': ...}}")
    keys = [k for k in STARTER_KEYS if k in config]
    unknown_keys = [k for k in config if k not in STARTER_KEYS + OPTIONAL_KEYS]
    if len(keys) != 1 or unknown_keys:
        raise ConfigError(
            f"config of {name!r}={dict(config)!r} needs exactly one of "
            f"{', '.join(STARTER_KEYS)} (options: {', '.join(OPTIONAL_KEYS)})"
        )
    key = keys[0]
    value = config[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}={value!r} of {name!r} must be a non-empty string")
    if key == "python":
        _check_import(name, value)
    elif key == "cmd":
        program = shlex.split(value.replace("%(python)s", sys.executable))[0]
        if shutil.which(program) is None:
            raise ConfigError(f"cmd={value!r} of {name!r}: program {program!r} is not on PATH")
    else:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ConfigError(f"connect={value!r} of {name!r} must look like HOST:PORT")
    return dict(config)


def _check_import(name: str, target: str) -> None:
    module, sep, cls = target.partition(":")
    if not sep or not module or not cls:
        raise ConfigError(f"python={target!r} of {name!r} must look like 'package.module:Class'")
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        top = module.split(".")[0]
        hint = INSTALL_HINTS.get(top, "install the package that provides it")
        raise ConfigError(f"python={target!r} of {name!r}: no module {module!r}; {hint}")
    if not hasattr(importlib.import_module(module), cls):
        raise ConfigError(f"python={target!r} of {name!r}: module {module!r} has no {cls!r}")


def couple(
    world: mosaik.World,
    name: str,
    config: Mapping[str, Any],
    *,
    timeout_s: float | None = None,
    **sim_params: Any,
) -> Any:
    """Start a mosaik-API simulator by its sim config entry; returns its model factory.

    ``config`` is mosaik's: ``{"python": "pkg.mod:Class"}`` (in this process),
    ``{"cmd": "%(python)s -m pkg %(addr)s"}`` (its own process; also any program, e.g.
    ``"node sim.js %(addr)s"``) or ``{"connect": "host:port"}`` (already running, e.g. started
    with ``--remote``), with mosaik's options ``cwd``, ``env`` and ``api_version``.
    ``sim_params`` go to the simulator's ``init``. ``timeout_s`` bounds each of its step and
    get_data answers (default: the run's, :data:`DEFAULT_STEP_TIMEOUT_S`).
    """
    entry = check_config(name, config)
    if name in world.sim_config:
        raise ConfigError(f"name={name!r} is taken; taken: {', '.join(sorted(world.sim_config))}")
    timeouts = timeouts_of(world)
    if timeout_s is not None:
        timeouts = Timeouts(timeout_s, timeouts.build_s, timeouts.connect_wait_s)
    world.sim_config[name] = GuardedStarter(entry, timeouts, tracked_of(world))
    how = next(f"{k}={entry[k]!r}" for k in STARTER_KEYS if k in entry)
    try:
        return world.start(name, **sim_params)
    except RemoteException as err:
        raise ConfigError(f"{name} ({how}) refused init: {remote_text(err)}") from None
    except (ScenarioError, SystemExit, MosaikSimulationError) as err:
        raise ConfigError(f"{name} ({how}) could not be started: {err}") from None
