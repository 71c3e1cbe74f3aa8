"""Config fields and typed ``--set`` overrides."""

import json
from dataclasses import dataclass
from typing import Literal

import pytest

from cosim.core.errors import ConfigError
from cosim.run.config import RunConfig, as_dict, make_config, parse_overrides


@dataclass(frozen=True)
class Example(RunConfig):
    grid: str = "g"
    share_frac: float = 0.5
    enabled: bool = False
    mode: Literal["stop", "continue"] = "stop"
    limit_mw: float | None = None
    buses: tuple[int, ...] = ()


def test_overrides_are_typed():
    cfg = make_config(
        Example,
        [
            "steps=4",
            "share_frac=0.25",
            "enabled=true",
            "mode=continue",
            "limit_mw=1.5",
            "buses=1, 2,3",
            "grid=a=b",
        ],
    )
    assert (cfg.steps, cfg.share_frac, cfg.enabled, cfg.mode) == (4, 0.25, True, "continue")
    assert cfg.limit_mw == 1.5 and cfg.buses == (1, 2, 3)
    assert cfg.grid == "a=b"  # only the first '=' splits
    assert make_config(Example, ["limit_mw=none"]).limit_mw is None


def test_keyword_values_and_overrides_merge_overrides_win():
    cfg = make_config(Example, ["steps=3"], steps=10, grid="x")
    assert (cfg.steps, cfg.grid) == (3, "x")


def test_unknown_key_lists_known_fields():
    with pytest.raises(ConfigError, match=r"stepz.*known: .*steps"):
        parse_overrides(Example, ["stepz=3"])


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("steps=ten", "steps='ten' must be an integer"),
        ("share_frac=half", "share_frac='half' must be a number"),
        ("enabled=maybe", "enabled='maybe' must be a boolean"),
        ("mode=pause", r"mode='pause' is not allowed; choose one of \['stop', 'continue'\]"),
        ("steps", "must look like KEY=VALUE"),
    ],
)
def test_wrong_values_name_field_value_and_allowed(pair, match):
    with pytest.raises(ConfigError, match=match):
        make_config(Example, [pair])


@pytest.mark.parametrize(
    ("pair", "match"),
    [
        ("steps=0", "steps=0 must be a positive integer"),
        ("step_s=-900", "step_s=-900 must be a positive integer"),
        ("start=yesterday", "start='yesterday' must be an ISO date"),
    ],
)
def test_run_config_validates(pair, match):
    with pytest.raises(ConfigError, match=match):
        make_config(Example, [pair])


def test_as_dict_is_json_safe():
    cfg = make_config(Example, ["buses=4,5"])
    d = as_dict(cfg)
    assert d["buses"] == [4, 5] and d["step_s"] == 900 and d["mode"] == "stop"
    assert json.loads(json.dumps(d)) == d
    assert cfg.until_s == 96 * 900
