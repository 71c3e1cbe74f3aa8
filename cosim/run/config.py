"""Scenario configuration: the base Config every scenario extends, and typed ``--set`` overrides."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from cosim.core.errors import ConfigError, unknown
from cosim.core.simapi import DEFAULT_STEP_S, field_docs, unit_of

C = TypeVar("C", bound="RunConfig")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Fields every scenario has. A scenario's Config subclasses this (frozen dataclass).

    Attributes
    ----------
    steps : int
        Number of steps to simulate [-].
    step_s : int
        Step size [s]; one mosaik tick is one second.
    start : str
        Date and time of t_s = 0, ISO format; goes into the manifest.
    seed : int
        Seed of every random generator of the run; same seed, same results.
    """

    steps: int = 96
    step_s: int = DEFAULT_STEP_S
    start: str = "2016-01-01 00:00:00"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "step_s"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed={self.seed!r} must be an integer >= 0 (numpy's seeds)")
        try:
            datetime.fromisoformat(self.start)
        except (TypeError, ValueError):
            raise ConfigError(
                f"start={self.start!r} must be an ISO date and time, e.g. '2016-01-01 00:00:00'"
            ) from None

    @property
    def until_s(self) -> int:
        """End of the run [s], exclusive."""
        return self.steps * self.step_s


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of every init field of a Config dataclass."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def type_name(tp: Any) -> str:
    """A field type as a reader writes it: ``int``, ``float | None``, ``one of: stop, continue``."""
    origin = get_origin(tp)
    if origin is Literal:
        return "one of: " + ", ".join(map(str, get_args(tp)))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "None"
    if origin is tuple:
        return f"tuple of {type_name(get_args(tp)[0]) if get_args(tp) else 'str'}"
    return str(getattr(tp, "__name__", tp))


def describe(cls: type) -> list[list[str]]:
    """``[name, type, default, unit, description]`` of every Config field, from the fields and
    the numpydoc ``Attributes`` of the class and its bases (``cosim config``)."""
    docs = field_docs(cls)
    kinds = field_types(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.init:
            unit, doc = docs.get(f.name, ("-", ""))
            kind = type_name(kinds[f.name])
            rows.append([f.name, kind, repr(f.default), unit_of(f.name, kind, unit), doc])
    return rows


def parse_value(field: str, text: str, tp: Any) -> Any:
    """``text`` converted to the field's type; ConfigError names the field and the type."""
    origin = get_origin(tp)
    if origin is Literal:
        allowed = get_args(tp)
        for option in allowed:
            if str(option) == text:
                return option
        raise ConfigError(f"{field}={text!r} is not allowed; choose one of {list(allowed)}")
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if type(None) in get_args(tp) and text.lower() in ("none", ""):
            return None
        errors = []
        for option in options:
            try:
                return parse_value(field, text, option)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{field}={text!r}: " + "; ".join(errors))
    if tp is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{field}={text!r} must be a boolean (true/false)")
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            raise ConfigError(
                f"{field}={text!r} must be {'an integer' if tp is int else 'a number'}"
            ) from None
    if tp in (str, Path):
        return tp(text)
    if origin is tuple:
        item = get_args(tp)[0] if get_args(tp) else str
        return tuple(
            parse_value(field, part.strip(), item) for part in text.split(",") if part.strip()
        )
    raise ConfigError(f"{field} has type {tp!r}, which cannot be set from the command line")


def parse_overrides(cls: type, pairs: Iterable[str]) -> dict[str, Any]:
    """``["steps=10", ...]`` as typed values for ``cls``; an unknown key lists the known ones."""
    types_by_field = field_types(cls)
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {pair!r} must look like KEY=VALUE")
        if key not in types_by_field:
            raise unknown("--set key", key, list(types_by_field))
        values[key] = parse_value(key, text.strip(), types_by_field[key])
    return values


def make_config(cls: type[C], overrides: Iterable[str] = (), **values: Any) -> C:
    """An instance of ``cls`` from keyword values and ``KEY=VALUE`` overrides (which win)."""
    if not (dataclasses.is_dataclass(cls) and issubclass(cls, RunConfig)):
        raise ConfigError(f"Config {cls!r} must be a frozen dataclass subclassing cosim RunConfig")
    known = field_types(cls)
    for key in values:
        if key not in known:
            raise unknown("config field", key, list(known))
    merged = {**values, **parse_overrides(cls, overrides)}
    try:
        return cls(**merged)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{cls.__qualname__}: {err}") from None


def as_dict(cfg: RunConfig) -> dict[str, Any]:
    """Every Config value as JSON-safe Python data (for the manifest)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return {f.name: plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
