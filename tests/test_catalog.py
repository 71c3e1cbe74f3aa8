"""Declarations of create params, their use by mosaik's meta, the CLI and the docs.

declaration (dataclass + its docstring, or Param) -> model meta "schema" -> cosim sims, docs
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cosim import cli
from cosim.builtin import catalog
from cosim.core.simapi import params_of
from simulators.battery.model import BatteryParams

DOCS = Path(__file__).resolve().parents[1] / "docs" / "simulators.md"


def test_docs_generated_part_is_in_step() -> None:
    text = DOCS.read_text()
    assert catalog.docs_with_reference(text) == text, (
        "docs/simulators.md is stale; regenerate with "
        "cosim.builtin.catalog.docs_with_reference(text) (see its module docstring)"
    )


def test_params_read_from_the_declaration() -> None:
    by_name = {p.name: p for p in params_of(BatteryParams)}
    assert set(by_name) == {f for f in BatteryParams.__dataclass_fields__}
    assert by_name["e_max_mwh"].required and by_name["e_max_mwh"].unit == "MWh"
    assert by_name["self_discharge_per_day_frac"].unit == "1/day"  # not the interval [0, 1)
    assert by_name["eta_charge"].default == 0.95 and by_name["eta_charge"].unit == "-"


def test_undocumented_field_is_refused() -> None:
    @dataclass(frozen=True)
    class P:
        """Parameters
        ----------
        a_mw : float
            Documented [MW].
        """

        a_mw: float = 1.0
        b_mw: float = 2.0

    with pytest.raises(ValueError, match=r"P\.b_mw has no entry"):
        params_of(P)


@pytest.mark.parametrize("name", ["PV", "Battery", "EV", "CHP", "FlexLoad", "Grid", "Profiles"])
def test_every_create_param_is_declared(name: str) -> None:
    for model, desc in catalog.meta_of(name)["models"].items():
        declared = [p["name"] for p in desc["schema"]["params"]]
        assert declared == list(desc["params"]), model


def test_cli_sims(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sims"]) == 0
    assert "Battery" in capsys.readouterr().out
    assert cli.main(["sims", "Battery"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "e_max_mwh" in x)
    assert line.split()[:4] == ["e_max_mwh", "float", "MWh", "required"]
    assert cli.main(["sims", "Batery"]) == 2
    assert "known: Battery" in capsys.readouterr().err


def test_cli_config_aligned_with_units_and_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "grid_profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    column = lines[0].index("description")
    by_field = {line.split()[0]: line for line in lines[1:]}
    assert by_field["step_s"][column:].startswith("Step size")
    assert by_field["step_s"].split()[:4] == ["step_s", "int", "900", "s"]
    assert "one of: stop, continue" in by_field["on_diverge"]


def _grid_rows(out: str) -> dict[str, list[str]]:
    """``{name: [source, buses]}`` of the listing lines ("name  source  buses")."""
    return {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if len(line.split()) == 3 and line.split()[1] in ("simbench", "pandapower")
    }


def test_cli_grids_lists_every_grid_with_its_buses(capsys: pytest.CaptureFixture[str]) -> None:
    import pandapower.networks as pn

    assert cli.main(["grids"]) == 0
    out = capsys.readouterr().out
    rows = _grid_rows(out)
    assert rows["1-LV-rural1--0-sw"] == ["simbench", "15"]  # len(get_simbench_net(code).bus)
    buses = len(pn.create_cigre_network_lv().bus)  # pandapower directly
    assert rows["create_cigre_network_lv"] == ["pandapower", str(buses)]
    assert len(rows) > 246  # every SimBench code and the pandapower.networks functions
    lines = [line for line in out.splitlines() if line.split()[:1] and line.split()[0] in rows]
    assert len({line.index(rows[line.split()[0]][0]) for line in lines}) == 1  # aligned
    assert cli.main(["grids", "create_cigre_network_lv"]) == 0
    assert capsys.readouterr().out.startswith(f"create_cigre_network_lv: {buses} buses, ")
