"""Where a grid comes from: a pandapower JSON file, a SimBench code or pandapower.networks."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pandapower.networks as pn
from pandapower.auxiliary import pandapowerNet

from cosim.core.errors import ConfigError
from simulators import simbench_nets
from simulators.grid import netjson

_FORMS = (
    "allowed: a pandapower JSON file (path ending in .json); a SimBench code, e.g. "
    "'1-LV-rural1--0-sw', '1-MV-rural--0-sw'; or a pandapower.networks function as `name` or "
    "`name(key=literal, ...)`, e.g. 'create_cigre_network_lv', 'mv_oberrhein', "
    "\"create_cigre_network_mv(with_der='all')\""
)


def load_net(source: str) -> pandapowerNet:
    """A pandapower net from a JSON path, a SimBench code or a pandapower.networks function.

    Raises ConfigError naming the field ``grid``, the value and the allowed forms.
    """
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"grid={source!r} is not a grid; {_FORMS}")
    text = source.strip()
    if text.endswith(".json"):
        path = Path(text)
        if not path.is_file():
            raise ConfigError(f"grid={source!r}: no such file {str(path.resolve())!r}")
        return netjson.read_net(path)
    call = _parse_call(text)
    if call is not None:
        name, args, kwargs = call
        func = None if name.startswith("_") else getattr(pn, name, None)
        if not inspect.isfunction(func) or not func.__module__.startswith(pn.__name__):
            raise ConfigError(f"grid={source!r}: {name!r} is not in pandapower.networks; {_FORMS}")
        try:
            return func(*args, **kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            raise ConfigError(f"grid={source!r}: pandapower.networks.{name} failed: {exc}") from exc
    if text in simbench_nets.codes():
        return simbench_nets.simbench_net(text, profiles=False)
    raise ConfigError(f"grid={source!r} is not a grid; {_FORMS}")


def check_source(source: str, field: str = "grid") -> None:
    """A ConfigError unless ``source`` names a grid :func:`load_net` can load; loads nothing.

    For checking a scenario's Config before anything is built.
    """
    text = source.strip() if isinstance(source, str) else ""
    if text.endswith(".json"):
        if not Path(text).is_file():
            raise ConfigError(f"{field}={source!r}: no such file {str(Path(text).resolve())!r}")
        return
    if text in simbench_nets.codes():
        return
    call = _parse_call(text) if text else None
    if call is not None:
        func = None if call[0].startswith("_") else getattr(pn, call[0], None)
        if inspect.isfunction(func) and func.__module__.startswith(pn.__name__):
            return
    raise ConfigError(f"{field}={source!r} is not a grid; {_FORMS}")


def _parse_call(text: str) -> tuple[str, list[Any], dict[str, Any]] | None:
    """``name`` or ``name(literal, key=literal)`` parsed with ast (no eval); None otherwise."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Name):
        return node.id, [], {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    if any(kw.arg is None for kw in node.keywords):
        raise ConfigError(f"grid={text!r}: ** arguments are not allowed; {_FORMS}")
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {str(kw.arg): ast.literal_eval(kw.value) for kw in node.keywords}
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ConfigError(f"grid={text!r}: arguments must be Python literals ({exc})") from exc
    return node.func.id, args, kwargs
