"""What every mosaik adapter in cosim shares: attribute declarations, meta, inputs, outputs.

A leaf module (it imports only ``cosim.core.errors``), so ``simulators/`` and
``controllers/`` may use it without reaching up into the framework.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from cosim.core.errors import ConfigError, SimulationError, unknown

API_VERSION = "3.0"


@dataclass(frozen=True)
class Attr:
    """One exchanged attribute: its name ends with its unit."""

    name: str
    unit: str
    doc: str


@dataclass(frozen=True)
class Param:
    """One create (or sim) parameter: name, type, unit, default and a one-line description."""

    name: str
    type: str
    unit: str
    default: Any
    doc: str
    required: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form, as it travels in the mosaik meta."""
        default = self.default if _json_scalar(self.default) else repr(self.default)
        return {**dataclasses.asdict(self), "default": default}


def _json_scalar(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


_DOC_ENTRY = re.compile(r"^(\w[\w, ]*?) : (.+)$")
_BRACKET = re.compile(r"\[([^\[\]]+)\]")


UNIT_SUFFIXES = {
    "mw": "MW", "mvar": "Mvar", "mwh": "MWh", "kw": "kW", "kwh": "kWh", "s": "s", "h": "h",
    "pu": "pu", "frac": "-", "percent": "%", "deg": "deg", "degree": "deg", "km": "km",
    "m": "m", "c": "°C", "kg": "kg", "eur": "EUR",
}  # fmt: skip
"""The unit a name's last part stands for (the naming rule of ARCHITECTURE.md)."""


def _units_in(text: str, n: int) -> list[str]:
    """The ``[unit]`` of each of ``n`` names in a description; ``-`` where none is given.

    A bracket that holds a range or interval (``[0, 1)``, ``[0..1]``) is no unit; a shared
    description gives each name its own bracket, or one bracket listing them, else none.
    """
    found = []
    for inner in _BRACKET.findall(text):
        parts = [p.strip() for p in inner.split(",")]
        try:
            [float(p) for p in parts]  # an interval such as [0, 1]: not a unit
        except ValueError:
            if ".." not in inner:
                found.append(parts)
    if not found:
        return ["-"] * n
    if len(found[0]) == n:
        return found[0]
    if len(found) == n:
        return [", ".join(f) for f in found]
    return [", ".join(found[0]) if n == 1 else "-"] * n


def unit_of(name: str, type_text: str, documented: str) -> str:
    """The unit of a field: ``-`` for text and flags, else the unit its name ends with (not
    for a ratio ``..._per_...``), else the documented one."""
    if not any(t in type_text for t in ("float", "int")):
        return "-"
    if "_per_" in name:  # a ratio: both sides named by a unit (eur_per_mwh: EUR/MWh)
        top, bottom = name.rsplit("_per_", 1)
        units = UNIT_SUFFIXES.get(top.rsplit("_", 1)[-1]), UNIT_SUFFIXES.get(bottom)
        return f"{units[0]}/{units[1]}" if None not in units and "-" not in units else documented
    if "_" not in name:
        return documented
    return UNIT_SUFFIXES.get(name.rsplit("_", 1)[-1], documented)


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<!e\.g)(?<!i\.e)(?<=[a-z0-9)\]`]\.)\s|;\s", text.strip(), maxsplit=1)[0]
    return sentence.rstrip(".")


def _doc_entries(cls: type) -> dict[str, tuple[list[str], str]]:
    """name -> (the names documented with it, their description) from a numpydoc docstring."""
    entries: dict[str, tuple[list[str], str]] = {}
    names: list[str] = []
    texts: list[str] = []

    def close() -> None:
        for name in names:
            entries[name] = (names, " ".join(texts))

    for line in inspect.cleandoc(cls.__doc__ or "").splitlines():
        match = _DOC_ENTRY.match(line)
        if match:
            close()
            names, texts = [n.strip() for n in match.group(1).split(",")], []
        elif names and line.startswith("    "):
            texts.append(line.strip())
        elif names and line.strip():
            close()
            names = []
    close()
    return entries


def field_docs(cls: type) -> dict[str, tuple[str, str]]:
    """name -> (unit, one-line description) of each field documented in the numpydoc
    docstrings of ``cls`` and its bases (a subclass's entry wins)."""
    docs: dict[str, tuple[str, str]] = {}
    for klass in reversed(cls.__mro__):
        for name, (group, text) in _doc_entries(klass).items():
            docs[name] = (_units_in(text, len(group))[group.index(name)], _first_sentence(text))
    return docs


def params_of(cls: type) -> tuple[Param, ...]:
    """The :class:`Param` of every field of a parameter dataclass, read from the class itself.

    Type and default come from the field; unit (the first ``[...]`` that is not an interval)
    and the one-line description (the first sentence) from the field's entry in the
    numpydoc ``Parameters`` section of the class docstring. A field without an entry is a
    ValueError: every parameter is documented where it is declared.
    """
    docs = field_docs(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name not in docs:
            raise ValueError(f"{cls.__qualname__}.{f.name} has no entry in the docstring")
        unit, doc = docs[f.name]
        unit = unit_of(f.name, str(f.type), unit)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        default = None if required else f.default
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        out.append(Param(f.name, str(f.type), unit, default, doc, required))
    return tuple(out)


def model_meta(
    attrs: Iterable[Attr],
    *,
    params: Iterable[str | Param] = (),
    public: bool = True,
    any_inputs: bool = False,
    inputs: Iterable[Attr] = (),
    outputs: Iterable[Attr] | None = None,
) -> dict[str, Any]:
    """The mosaik meta of one model, built from its attribute and parameter declarations.

    Besides mosaik's keys, ``schema`` holds each declared :class:`Param` (type, unit,
    default, description) and each attribute (unit, description, role) for ``cosim sims`` and
    the docs. Role: ``input`` for ``inputs``, ``output`` for the others, ``input, output`` for
    an input that ``outputs`` (default: none of the inputs) holds too.
    """
    attrs = list(attrs)
    params = list(params)
    input_names = {a.name for a in inputs}
    both = input_names & {a.name for a in (outputs or ())}

    def role(name: str) -> str:
        if name in both:
            return "input, output"
        return "input" if name in input_names else "output"

    return {
        "public": public,
        "params": [p.name if isinstance(p, Param) else p for p in params],
        "attrs": [a.name for a in attrs],
        "any_inputs": any_inputs,
        "schema": {
            "params": [p.as_dict() for p in params if isinstance(p, Param)],
            "attrs": [
                {
                    "name": a.name,
                    "unit": a.unit,
                    "doc": a.doc,
                    "role": role(a.name),
                }
                for a in attrs
            ],
        },
    }


def sim_meta(models: Mapping[str, dict[str, Any]], *, kind: str = "time-based") -> dict[str, Any]:
    """The mosaik meta of a simulator with the given models."""
    return {"api_version": API_VERSION, "type": kind, "models": dict(models)}


def parse_params(
    given: Mapping[str, Any], defaults: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """``defaults`` updated with ``given``; a key not in ``defaults`` is a ConfigError listing them.

    Lets adapters keep mosaik's ``init(sid, time_resolution, **sim_params)`` and
    ``create(num, model, **model_params)`` signatures and still refuse a misspelled parameter.
    """
    for key in given:
        if key not in defaults:
            raise unknown(f"{what} parameter", key, list(defaults))
    return {**defaults, **given}


# --- init ----------------------------------------------------------------------------------

DEFAULT_STEP_S = 900
"""Default stepping interval of every cosim simulator [s]."""
DEFAULT_START = "2016-01-01 00:00:00"
"""Default ISO date and time of ``t_s = 0``."""
SIM_PARAMS = ("step_s", "start")
"""The sim params every cosim simulator takes."""


def check_time_resolution(time_resolution: float) -> None:
    """A ConfigError unless one mosaik tick is one second, as cosim assumes."""
    if time_resolution != 1.0:
        raise ConfigError(f"time_resolution={time_resolution!r} must be 1.0 (1 tick = 1 s)")


def positive_int(field: str, value: object, unit: str = "[s]") -> int:
    """``value`` if it is a positive int (not a bool), else a ConfigError naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{field}={value!r} must be a positive int {unit}".rstrip())
    return value


def iso_datetime(field: str, value: object) -> datetime:
    """``value`` (text or datetime) as a datetime, else a ConfigError naming ``field``."""
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as err:
        raise ConfigError(
            f"{field}={value!r} is not an ISO date and time, e.g. {DEFAULT_START!r}: {err}"
        ) from None


def check_init(
    time_resolution: float, sim_params: Mapping[str, Any], known: Sequence[str] = SIM_PARAMS
) -> tuple[int, datetime]:
    """Check the common sim params of an adapter's ``init``: ``(step_s, start)``.

    One tick must be 1 s, every key of ``sim_params`` one of ``known`` (``step_s`` and
    ``start`` and the adapter's own), ``step_s`` a positive int [s] (default 900) and
    ``start`` an ISO date and time (default :data:`DEFAULT_START`).
    """
    check_time_resolution(time_resolution)
    for key in sim_params:
        if key not in known:
            raise unknown("sim param", key, tuple(known))
    step_s = positive_int("step_s", sim_params.get("step_s", DEFAULT_STEP_S))
    start = iso_datetime("start", sim_params.get("start", DEFAULT_START))
    return step_s, start


def check_num(num: object) -> int:
    """The ``num`` of a ``create`` call if it is a positive int, else a ConfigError."""
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"num={num!r} must be a positive int")
    return num


# --- inputs --------------------------------------------------------------------------------

REDUCTIONS = ("sum", "min", "all", "one")
"""How the sources of one input make its value: summed, the lowest, all true, exactly one."""


def combine(sources: Mapping[str, Any], how: str, eid: str, attr: str) -> Any:
    """The value of input ``attr`` of ``eid`` from its ``{source: value}``; None if absent.

    A source that sends None counts as absent. ``how`` is one of :data:`REDUCTIONS`; with
    ``"one"``, several sources are a ConfigError.
    """
    if how == "one":
        if len(sources) > 1:
            raise ConfigError(
                f"input {attr!r} of {eid!r} has several sources {sorted(sources)}; one is allowed"
            )
        return next(iter(sources.values()), None)
    values = [v for v in sources.values() if v is not None]
    if not values:
        return None
    if how == "sum":
        return sum(values[1:], values[0])
    if how == "min":
        return min(values)
    if how == "all":
        return all(bool(v) for v in values)
    raise ValueError(f"how={how!r} is unknown; known: {', '.join(REDUCTIONS)}")


def gather(
    inputs: Mapping[str, Mapping[str, Mapping[str, Any]]],
    positions: Mapping[str, int],
    n: int,
    defaults: Mapping[str, Any],
    *,
    how: Mapping[str, str] | None = None,
    error: type[Exception] = ConfigError,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """mosaik's inputs as arrays over ``n`` entities: ``{attr: (values, given)}``.

    Parameters
    ----------
    inputs
        mosaik's ``{eid: {attr: {source: value}}}``.
    positions
        Entity id -> position in the arrays; another id is a SimulationError.
    n
        Number of entities.
    defaults
        Every input attr and its value where it is not given: a scalar or an array (n,). An
        attr not in it is an ``error`` (ConfigError unless the adapter says otherwise).
    how
        attr -> one of :data:`REDUCTIONS` (see :func:`combine`); default ``"sum"``. Values of
        an ``"all"`` input are bools, all others float64.

    Returns
    -------
    dict
        For every attr of ``defaults``: its values and whether a source gave one (bool).
    """
    how = how or {}
    lists: dict[str, tuple[list[Any], list[bool], str]] = {}
    for eid, attrs in inputs.items():
        pos = positions.get(eid)
        if pos is None:
            raise SimulationError(f"input for unknown entity {eid!r}")
        for attr, sources in attrs.items():
            entry = lists.get(attr)
            if entry is None:
                if attr not in defaults:
                    raise error(
                        f"input {attr!r} of {eid!r} is unknown; inputs: {', '.join(defaults)}"
                    )
                default = defaults[attr]
                start = default.tolist() if isinstance(default, np.ndarray) else [default] * n
                entry = lists[attr] = (start, [False] * n, how.get(attr, "sum"))
            if entry[2] == "sum":  # the common case inline: it runs per entity and attr
                total = None
                for value in sources.values():
                    if value is not None:
                        total = value if total is None else total + value
            else:
                total = combine(sources, entry[2], eid, attr)
            if total is not None:
                entry[0][pos], entry[1][pos] = total, True
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        for attr, default in defaults.items():
            dtype = bool if how.get(attr) == "all" else np.float64
            entry = lists.get(attr)
            if entry is None:
                out[attr] = (np.full(n, default, dtype=dtype), np.zeros(n, dtype=bool))
            else:
                out[attr] = (np.array(entry[0], dtype=dtype), np.array(entry[1], dtype=bool))
    except (TypeError, ValueError) as err:
        raise SimulationError(f"inputs must be numbers: {err}") from None
    return out


def check_inputs(
    attr: str, values: np.ndarray, bad: np.ndarray, eids: Sequence[str], allowed: str
) -> None:
    """A SimulationError naming the first entity where ``bad`` holds, its value and ``allowed``."""
    if bad.any():
        k = int(np.argmax(bad))
        raise SimulationError(f"{eids[k]}: {attr}={values[k].item()!r} must be {allowed}")


# --- outputs -------------------------------------------------------------------------------


def output_data(
    outputs: Mapping[str, Iterable[str]],
    positions: Mapping[str, int],
    columns: dict[str, list[Any]],
    column: Callable[[str], list[Any]],
) -> dict[str, dict[str, Any]]:
    """mosaik's get_data answer from per-attr lists over all entities, made on demand.

    ``columns`` caches this step's lists (clear it after each step); ``column(attr)`` makes
    the list of one attr (plain Python values: ``array.tolist()``) or raises for a non-output.
    """
    data: dict[str, dict[str, Any]] = {}
    for eid, attrs in outputs.items():
        pos = positions.get(eid)
        if pos is None:
            raise SimulationError(f"get_data for unknown entity {eid!r}")
        values = {}
        for attr in attrs:
            values_of = columns.get(attr)
            if values_of is None:
                values_of = columns[attr] = column(attr)
            values[attr] = values_of[pos]
        data[eid] = values
    return data


def not_an_output(attr: str, model: str, outputs: Iterable[Attr]) -> SimulationError:
    """The error for a get_data request of ``attr``, which ``model`` does not output."""
    return SimulationError(
        f"attr {attr!r} is not an output of {model}; outputs: {', '.join(a.name for a in outputs)}"
    )


def array_column(
    arrays: Mapping[str, np.ndarray], attr: str, model: str, outputs: Iterable[Attr]
) -> list[Any]:
    """``arrays[attr]`` as a list of plain Python values, or :func:`not_an_output`."""
    array = arrays.get(attr)
    if array is None:
        raise not_an_output(attr, model, outputs)
    return array.tolist()
