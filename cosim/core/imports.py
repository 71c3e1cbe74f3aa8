"""Loading a Python file as a module: a leaf module, usable from every layer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from cosim.core.errors import ConfigError

FILE_MODULE_PREFIX = "cosim_scenario_"


def load_file(path: Path, fresh: bool = True) -> ModuleType:
    """Import the ``.py`` file at ``path`` as ``cosim_scenario_<stem>``; ``fresh=False`` reuses
    the module if this file is already loaded."""
    path = path.resolve()
    module_name = f"{FILE_MODULE_PREFIX}{path.stem}"
    loaded = sys.modules.get(module_name)
    if not fresh and loaded is not None and loaded.__file__ == str(path):
        return loaded
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:  # the user's file: where, in one line (no traceback)
        del sys.modules[module_name]
        where = f"{err.filename or path}:{err.lineno}" + (f":{err.offset}" if err.offset else "")
        raise ConfigError(f"{where}: {type(err).__name__}: {err.msg}") from None
    return module
