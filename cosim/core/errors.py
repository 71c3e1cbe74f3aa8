"""The cosim exception tree. A leaf module: it imports nothing from the project.

Every message names the field, the value and what is allowed, so that the CLI can print it
as it is and exit without a traceback.
"""

from __future__ import annotations


class CosimError(Exception):
    """Base of every error cosim raises on purpose."""


class ConfigError(CosimError, ValueError):
    """Bad input: a scenario, parameter, file or name that cannot be used (CLI exit code 2)."""


class SimulationError(CosimError, RuntimeError):
    """The co-simulation itself failed while running (CLI exit code 1)."""


def unknown(field: str, value: object, known: list[str] | tuple[str, ...]) -> ConfigError:
    """A ConfigError for a name that is not one of ``known``, listing what is allowed."""
    shown = ", ".join(sorted(map(str, known))) or "(none)"
    return ConfigError(f"{field}={value!r} is unknown; known: {shown}")
