"""Printed numbers and counts, and the one reader of ``"Sim-0.eid"`` result columns."""

from __future__ import annotations

import pandas as pd

from cosim.analysis.results import select, split_id
from cosim.core.text import count, number


def test_number_drops_float_noise_and_exponents() -> None:
    assert number(-1.388e-17) == "0"  # residue of a sum of powers, not a value
    assert number(12510.3) == "12510"
    assert number(1.251e4) == "12510"
    assert number(0.01234) == "0.01234"
    assert number(1.2e-5) == "1.2e-05"  # a real small value keeps its digits
    assert number(float("nan")) == "nan"


def test_count_is_singular_for_one() -> None:
    assert count(1, "battery", "batteries") == "1 battery"
    assert count(3, "battery", "batteries") == "3 batteries"
    assert count(0, "EV") == "0 EVs"


def test_select_reads_sim_type_and_entity() -> None:
    assert split_id("Grid-0.bus_3") == ("Grid", "bus_3")
    assert split_id("RemoteController0-1.ctrl") == ("RemoteController0", "ctrl")
    assert split_id("Ext-Sim-0.house.1") == ("Ext-Sim", "house.1")
    columns = pd.MultiIndex.from_tuples(
        [("Grid-0.load_1", "p_mw"), ("Grid-0.sgen_1", "p_mw"), ("PV-0.pv_0", "p_mw"),
         ("Grid-0.load_2", "q_mvar")]
    )  # fmt: skip
    data = pd.DataFrame([[1.0, 2.0, 3.0, 4.0]], columns=columns)
    assert list(select(data, "p_mw", "Grid", "load_").columns) == ["Grid-0.load_1"]
    assert list(select(data, "p_mw", "PV").columns) == ["PV-0.pv_0"]
    assert list(select(data, "p_mw").columns) == ["Grid-0.load_1", "Grid-0.sgen_1", "PV-0.pv_0"]


def test_start_iso_is_cet_when_naive() -> None:
    from cosim.run.config import RunConfig
    from cosim.run.scenario import Builder

    def start_iso(start: str) -> str:
        return Builder(None, RunConfig(start=start), None).start_iso

    assert start_iso("2016-01-01 00:00:00") == "2016-01-01T00:00:00+01:00"
    assert start_iso("2016-07-01T12:00:00+02:00") == "2016-07-01T12:00:00+02:00"  # as given
