"""A pandapower JSON net, checked before pandapower reads it: no code from data.

pandapower's ``from_json`` imports the module named in any ``{"_module": ..., "_class": ...}``
object before its own allow-list check, so a grid file could run code. Here the file is parsed
with :mod:`json` alone (no object hooks), every tagged object at any depth (also inside the
JSON strings that hold DataFrames) must name a type of ``ALLOWED``, and only then does
pandapower decode the same text.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandapower as pp
from pandapower.auxiliary import pandapowerNet

from cosim.core.errors import ConfigError

NET = ("pandapower.auxiliary", "pandapowerNet")
_NUMPY_SCALARS = (
    *(f"{kind}{bits}" for kind in ("int", "uint") for bits in (8, 16, 32, 64)),
    *(f"float{bits}" for bits in (16, 32, 64)),
    "complex64",
    "complex128",
    "bool",
    "bool_",
    "str_",
)
# (module, class) pairs pandapower's own to_json writes for what a net holds. Nets saved from
# SimBench and pandapower.networks use only the net, DataFrame and numpy.int64; the others
# are the remaining types pandapower's serializer writes for tables, indices and scalars.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        NET,
        ("pandas.core.frame", "DataFrame"),
        ("pandas", "DataFrame"),
        ("pandas.core.series", "Series"),
        ("pandas", "Series"),
        ("pandas", "Index"),
        ("pandas", "RangeIndex"),
        ("numpy", "array"),
        *(("numpy", name) for name in _NUMPY_SCALARS),
        *(("builtins", name) for name in ("complex", "tuple", "set", "frozenset")),
    }
)
_TABLES = {"pandas.core.frame", "pandas.core.series", "pandas"}  # _object is JSON text
TAGS = ("_module", "_class")


def read_net(path: Path, field: str = "grid") -> pandapowerNet:
    """The net in the pandapower JSON file ``path``, checked by :func:`check` first.

    Raises ConfigError naming ``field``, the file and what is wrong with it.
    """
    where = f"{field}={str(path)!r}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: cannot be read ({err})") from err
    if not text.strip():
        raise ConfigError(f"{where}: the file is empty; need a net saved by pandapower.to_json")
    check(_parse(text, where, "the file"), where)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            net = pp.from_json_string(text, convert=True)
    except (ValueError, KeyError, TypeError, AttributeError, UserWarning) as err:
        raise ConfigError(f"{where}: not a pandapower net ({type(err).__name__}: {err})") from err
    if len(net.bus) == 0:
        raise ConfigError(f"{where}: the net has no buses (table 'bus' is missing or empty)")
    return net


def check(doc: Any, where: str) -> None:
    """Raise ConfigError unless ``doc`` (parsed JSON) is a tagged pandapowerNet whose every
    tagged object names a type of ``ALLOWED``."""
    if not (isinstance(doc, dict) and (doc.get("_module"), doc.get("_class")) == NET):
        shown = f"object with keys {sorted(doc)[:5]}" if isinstance(doc, dict) else "value"
        raise ConfigError(
            f"{where}: not a pandapower net (a JSON {shown}); need a file saved by "
            "pandapower.to_json, whose top level has _module 'pandapower.auxiliary' and "
            "_class 'pandapowerNet'"
        )
    for path, module, cls in _tagged(doc, where):
        if (module, cls) not in ALLOWED:
            raise ConfigError(
                f"{where}: {path} names _module={module!r}, _class={cls!r}, which is not "
                "allowed in a grid file (only pandapower's net, pandas tables and numpy/builtin "
                "values are; cosim does not load pandapower controllers or other objects)"
            )


def _tagged(node: Any, where: str) -> Iterator[tuple[str, Any, Any]]:
    """(key path, _module, _class) of every tagged object in ``node``, depth first."""
    stack = [(node, "$")]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            if any(tag in item for tag in TAGS):
                module, cls = item.get("_module"), item.get("_class")
                yield at, module, cls
                inner = item.get("_object")
                if isinstance(inner, str) and module in _TABLES:
                    if inner.lstrip()[:1] not in ("{", "["):  # pandapower would open a path
                        raise ConfigError(f"{where}: {at}._object must be a table as JSON text")
                    if _may_hold_tags(inner):
                        stack.append((_parse(inner, where, f"{at}._object"), f"{at}._object"))
                    continue
            stack.extend((value, f"{at}.{key}") for key, value in item.items())
        elif isinstance(item, list):
            stack.extend((value, f"{at}[{i}]") for i, value in enumerate(item))
        elif isinstance(item, str) and item.lstrip()[:1] in ("{", "[") and _may_hold_tags(item):
            try:
                stack.append((json.loads(item), at))
            except ValueError:
                continue  # not JSON: pandapower reads it as a plain string too


def _may_hold_tags(text: str) -> bool:
    """Whether JSON ``text`` can hold a tagged object: it names a tag, or has a ``\\u`` escape
    that could spell one. Most tables hold neither, and need no walk through every cell."""
    return "\\u" in text or any(tag in text for tag in TAGS)


def _parse(text: str, where: str, what: str) -> Any:
    """``text`` parsed by :mod:`json` alone; ConfigError with line and column if it is not
    JSON (a table's ``_object`` that is not JSON text, such as a file name, is refused)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{where}: {what} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None
