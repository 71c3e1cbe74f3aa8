"""Profile tables, their files, the SimBench source and the mosaik adapter.

Wiring of the mosaik tests::

    Profiles-0.load_3 --p_mw, q_mvar--> Output.Dict-0   (mosaik's basic OutputSimulator)
    Profiles-0.sgen_0 --p_mw---------->

once with the profiles simulator in-process, once as ``python -m simulators.profiles``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mosaik
import numpy as np
import pandas as pd
import pytest
import simbench

from cosim.core.errors import ConfigError, SimulationError
from simulators.profiles import model
from simulators.profiles.model import ProfileTable, check_against_net, read_profile_file
from simulators.profiles.sim import ProfilesSim
from simulators.profiles.source import load_profiles

ROOT = Path(__file__).resolve().parents[1]
CODE = "1-LV-rural1--0-sw"

# Hand-made profile: rows at 0, 900, 1800 s, each held for 900 s.
CSV = """t_s,load_3,load_3.q_mvar,sgen_0
0,0.010,0.002,0.000
900,0.020,0.004,0.005
1800,0.030,-0.001,0.007
"""
ROWS = np.array([[0.010, 0.002, 0.000], [0.020, 0.004, 0.005], [0.030, -0.001, 0.007]])
COLUMNS = (("load", 3, "p_mw"), ("load", 3, "q_mvar"), ("sgen", 0, "p_mw"))


@pytest.fixture(scope="module")
def net() -> Any:
    """1-LV-rural1--0-sw, loaded once per process (model.simbench_net caches it)."""
    return model.simbench_net(CODE)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "profile.csv"
    path.write_text(CSV)
    return path


def write(tmp_path: Path, text: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the table --------------------------------------------------------------------------------


def test_csv_with_t_s_column_holds_each_row_for_its_step(csv_file: Path) -> None:
    table = read_profile_file(csv_file)
    assert table.columns == COLUMNS
    assert table.step_s == 900 and table.n_rows == 3 and table.duration_s == 2700
    np.testing.assert_array_equal(table.values, ROWS)
    # zero-order hold: t in [900 k, 900 (k + 1)) gives row k
    for t_s, k in [(0, 0), (899, 0), (900, 1), (1799, 1), (1800, 2), (2699, 2)]:
        np.testing.assert_array_equal(table.row_at(t_s), ROWS[k])
    np.testing.assert_array_equal(table.rows_at(np.array([0, 450, 900, 2000])), ROWS[[0, 0, 1, 2]])
    with pytest.raises(SimulationError, match=r"t_s=2700 .*0\.\.2699"):
        table.row_at(2700)
    with pytest.raises(SimulationError, match="t_s=-1"):
        table.row_at(-1)


def test_parquet_without_t_s_takes_step_s_argument(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pd.DataFrame(ROWS, columns=["load_3", "load_3.q_mvar", "sgen_0.p_mw"]).to_parquet(path)
    table = read_profile_file(path, step_s=60)
    assert table.columns == COLUMNS and table.step_s == 60 and table.duration_s == 180
    np.testing.assert_array_equal(table.row_at(61), ROWS[1])
    with pytest.raises(ConfigError, match="step_s"):
        read_profile_file(path)


def test_t_s_column_gives_step_s(tmp_path: Path) -> None:
    table = read_profile_file(write(tmp_path, "t_s,gen_1\n0,1.5\n60,2.5\n120,3.5\n"))
    assert table.step_s == 60 and table.columns == (("gen", 1, "p_mw"),)
    assert table.row_at(119)[0] == 2.5
    assert read_profile_file(write(tmp_path, "t_s,gen_1\n0,1.5\n60,2.5\n"), step_s=60).step_s == 60


def test_check_covers_compares_run_and_table_durations(csv_file: Path) -> None:
    table = read_profile_file(csv_file)  # 3 rows x 900 s = 2700 s
    table.check_covers(3, 900)
    table.check_covers(45, 60)
    with pytest.raises(ConfigError, match=r"steps=4 .*step_s=900 .*2700 s"):
        table.check_covers(4, 900)
    with pytest.raises(ConfigError, match=r"steps=46 .*step_s=60"):
        table.check_covers(46, 60)


def test_table_is_read_only_and_validated() -> None:
    table = ProfileTable(COLUMNS, ROWS, 900)
    with pytest.raises(ValueError, match="read-only"):
        table.values[0, 0] = 1.0
    assert ROWS.flags.writeable  # the caller's array is copied, not frozen
    with pytest.raises(ConfigError, match="step_s"):
        ProfileTable(COLUMNS, ROWS, 0)
    with pytest.raises(ConfigError, match="shape"):
        ProfileTable(COLUMNS[:2], ROWS, 900)
    with pytest.raises(ConfigError, match="more than once"):
        ProfileTable((COLUMNS[0],) * 3, ROWS, 900)


def test_entity_id_and_grouping() -> None:
    table = ProfileTable(COLUMNS, ROWS, 900)
    assert model.entity_id("ext_grid", 0) == "ext_grid_0"
    assert table.entity_attrs() == {"load_3": {"p_mw": 0, "q_mvar": 1}, "sgen_0": {"p_mw": 2}}
    assert table.groups() == {
        ("load", "p_mw"): ([3], [0]),
        ("load", "q_mvar"): ([3], [1]),
        ("sgen", "p_mw"): ([0], [2]),
    }


# --- file errors: each names the file or column, the value and what is allowed ---------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("t_s,foo\n0,1\n", "column 'foo' is not <element>_<index>"),
        ("t_s,load3\n0,1\n", "column 'load3'"),
        ("t_s,bus_3\n0,1\n", "element type 'bus' is unknown; known: gen, load, sgen, storage"),
        ("t_s,load_3.vm_pu\n0,1\n", "attr 'vm_pu' is unknown for load; known: p_mw, q_mvar"),
        ("t_s,load_3\n0,1\n900,abc\n", "column 'load_3' row 1: value 'abc'"),
        ("t_s,load_3\n0,1\n900,\n", "column 'load_3' row 1: value nan"),
        ("t_s,load_3\n0,1\n900,inf\n", "column 'load_3' row 1"),
        ("t_s,load_3\n0,1\n900,2\n1900,3\n", "'t_s' must rise uniformly.*t_s=1900"),
        ("t_s,load_3\n0,1\n0,2\n", "'t_s' must rise uniformly"),
        ("t_s,load_3\n60,1\n120,2\n", "'t_s' starts at 60"),
        ("t_s,load_3\n0,1\nx,2\n", "column 't_s' row 1: value 'x'"),
        ("t_s,load_3,load_3.p_mw\n0,1,1\n", r"\['load_3', 'load_3.p_mw'\] name the same"),
        ("t_s,load_3,load_3\n0,1,1\n", r"\['load_3'\] appear more than once"),
        ("t_s\n0\n", "no element columns"),
        ("t_s,load_3\n", "has no rows"),
        ("load_3\n1\n", "no 't_s' column or only one row, so step_s"),
    ],
)
def test_bad_file_raises_config_error(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        read_profile_file(path)
    assert str(path) in str(info.value)


def test_bad_path_or_step(tmp_path: Path, csv_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.csv.*does not exist"):
        read_profile_file(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match=r"suffix '\.txt' is unknown; known: \.csv"):
        read_profile_file(write(tmp_path, CSV, "p.txt"))
    with pytest.raises(ConfigError, match="gives step 900 s but step_s=60"):
        read_profile_file(csv_file, step_s=60)


def test_check_against_net_names_missing_elements(net: Any) -> None:
    ok = ProfileTable((("load", 12, "p_mw"), ("sgen", 3, "p_mw")), np.zeros((1, 2)), 900)
    check_against_net(ok, net)
    bad = ProfileTable((("load", 13, "p_mw"), ("storage", 0, "p_mw")), np.zeros((1, 2)), 900)
    with pytest.raises(
        ConfigError,
        match=r"load_13.p_mw: the net has 13 loads, indices 0\.\.12"
        r".*storage_0.p_mw: the net has no storage",
    ):
        check_against_net(bad, net)


# --- SimBench ---------------------------------------------------------------------------------


def test_simbench_profiles_equal_get_absolute_values(net: Any) -> None:
    table = model.simbench_profiles(net)
    expected = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    assert table.step_s == 900 and table.n_rows == 35136  # 2016: 366 days x 96
    groups = table.groups()
    given = {key for key, frame in expected.items() if frame.shape[1]}
    assert set(groups) == given == {("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw")}
    for key, (indices, positions) in groups.items():
        assert indices == sorted(expected[key].columns)
        np.testing.assert_array_equal(table.values[:, positions], expected[key][indices].to_numpy())
    assert table.values.dtype == np.float64


def test_unknown_simbench_code() -> None:
    with pytest.raises(
        ConfigError,
        match=r"source='1-LV-rural9--0-sw' is not a SimBench code; close ones: .*1-LV-rural1",
    ):
        load_profiles("simbench:1-LV-rural9--0-sw")


# --- the adapter, stepped directly ------------------------------------------------------------


def test_adapter_returns_table_values_at_the_right_times(csv_file: Path) -> None:
    sim = ProfilesSim()
    meta = sim.init("Profiles-0", time_resolution=1.0, step_s=600)
    assert meta["models"]["Profiles"]["params"] == ["source", "profile_step_s", "origin", "fleets"]
    assert meta["models"]["Element"]["attrs"] == ["p_mw", "q_mvar"]
    created = sim.create(1, "Profiles", source=str(csv_file))
    assert created == [
        {
            "eid": "profiles",
            "type": "Profiles",
            "rel": [],
            "children": [
                {
                    "eid": "load_3",
                    "type": "Element",
                    "rel": [],
                    "extra_info": {"attrs": ["p_mw", "q_mvar"]},
                },
                {"eid": "sgen_0", "type": "Element", "rel": [], "extra_info": {"attrs": ["p_mw"]}},
            ],
        }
    ]
    assert sim.entity_attrs == {"load_3": ("p_mw", "q_mvar"), "sgen_0": ("p_mw",)}
    request = {"load_3": ["p_mw", "q_mvar"], "sgen_0": ["p_mw"]}
    for t_s, k in [(0, 0), (600, 0), (1200, 1), (1800, 2), (2400, 2)]:
        assert sim.step(t_s, {}, 10**9) == t_s + 600
        data = sim.get_data(request)
        assert data == {
            "load_3": {"p_mw": ROWS[k, 0], "q_mvar": ROWS[k, 1]},
            "sgen_0": {"p_mw": ROWS[k, 2]},
        }
        assert type(data["load_3"]["p_mw"]) is float
    with pytest.raises(SimulationError, match="t_s=3000"):
        sim.step(3000, {}, 10**9)
    with pytest.raises(SimulationError, match="'sgen_0' has no profile for attr 'q_mvar'"):
        sim.get_data({"sgen_0": ["q_mvar"]})
    with pytest.raises(SimulationError, match="'load_9' has no outputs"):
        sim.get_data({"load_9": ["p_mw"]})


def test_adapter_plays_simbench_profiles(net: Any) -> None:
    sim = ProfilesSim()
    sim.init("Profiles-0", time_resolution=1.0, step_s=900)
    created = sim.create(1, "Profiles", source=f"simbench:{CODE}")
    children = [c["eid"] for c in created[0]["children"]]
    assert children == [f"load_{i}" for i in range(13)] + [f"sgen_{i}" for i in range(4)]
    expected = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    for k in (0, 1, 95):
        sim.step(900 * k, {}, 10**9)
        data = sim.get_data({"load_7": ["p_mw", "q_mvar"], "sgen_2": ["p_mw"]})
        assert data == {
            "load_7": {
                "p_mw": expected["load", "p_mw"].at[k, 7],
                "q_mvar": expected["load", "q_mvar"].at[k, 7],
            },
            "sgen_2": {"p_mw": expected["sgen", "p_mw"].at[k, 2]},
        }


@pytest.mark.parametrize(
    ("start", "row"),
    [
        ("2016-01-15 00:00:00", 14 * 96),  # 14 days after the first row, 96 rows a day
        ("2016-07-01 12:00:00", (31 + 29 + 31 + 30 + 31 + 30) * 96 + 48),  # 2016 is a leap year
        ("2019-07-01 12:00:00", (31 + 29 + 31 + 30 + 31 + 30) * 96 + 48),  # a typical year
        ("2016-07-01 13:00:00+02:00", (31 + 29 + 31 + 30 + 31 + 30) * 96 + 48),  # CEST given
        ("2016-12-31 23:45:00", 35135),  # the last row
    ],
)
def test_start_picks_the_simbench_row_of_its_date_and_time(net: Any, start: str, row: int) -> None:
    sim = ProfilesSim()
    sim.init("Profiles-0", time_resolution=1.0, step_s=900, start=start)
    sim.create(1, "Profiles", source=f"simbench:{CODE}")
    expected = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    sim.step(0, {}, 10**9)
    assert sim.get_data({"load_7": ["p_mw"]}) == {
        "load_7": {"p_mw": expected["load", "p_mw"].at[row, 7]}
    }
    moment = pd.Timestamp(start)
    cet = moment.tz_localize("Etc/GMT-1") if moment.tz is None else moment.tz_convert("Etc/GMT-1")
    moment = cet.replace(year=2016)
    label = moment.tz_convert("Europe/Berlin").strftime("%d.%m.%Y %H:%M")
    assert net.profiles["load"]["time"].iloc[row] == label  # SimBench's label: German wall time
    sim.step(900, {}, 10**9)  # the row after; after the last, the first (a typical year)
    after = expected["load", "p_mw"].at[(row + 1) % 35136, 7]
    assert sim.get_data({"load_7": ["p_mw"]})["load_7"]["p_mw"] == after


def test_a_file_plays_from_its_origin_or_from_start(csv_file: Path) -> None:
    def first_row(origin: str | None, start: str = "2016-01-01 00:30:00") -> float:
        sim = ProfilesSim()
        sim.init("Profiles-0", time_resolution=1.0, step_s=900, start=start)
        params = {} if origin is None else {"origin": origin}
        sim.create(1, "Profiles", source=str(csv_file), **params)
        sim.step(0, {}, 10**9)
        return sim.get_data({"load_3": ["p_mw"]})["load_3"]["p_mw"]

    assert first_row(None) == ROWS[0, 0]  # no origin: row 0 plays at start
    assert first_row("2016-01-01 00:00:00") == ROWS[2, 0]  # 1800 s after the first row
    assert first_row("2016-01-01 00:15:00") == ROWS[1, 0]
    with pytest.raises(
        ConfigError,
        match=r"start=2016-01-01 00:30:00 must be at or after origin=2016-01-01 01:00:00",
    ):
        first_row("2016-01-01 01:00:00")
    with pytest.raises(
        ConfigError,
        match=r"start=2016-01-01 00:45:00 is past the end of the profile table \(3 rows x 900 s",
    ):
        first_row("2016-01-01 00:00:00", start="2016-01-01 00:45:00")
    with pytest.raises(ConfigError, match="origin='noon' is not an ISO date and time"):
        first_row("noon")
    sim = ProfilesSim()
    sim.init("Profiles-0", time_resolution=1.0, step_s=900, start="2016-01-01 00:30:00")
    sim.create(1, "Profiles", source=str(csv_file), origin="2016-01-01 00:00:00")
    sim.step(0, {}, 10**9)
    with pytest.raises(SimulationError, match=r"t_s=900: the profile table ends 900 s after sta"):
        sim.step(900, {}, 10**9)  # a file does not wrap around


def test_simbench_profiles_take_no_origin() -> None:
    sim = ProfilesSim()
    sim.init("Profiles-0", time_resolution=1.0)
    with pytest.raises(
        ConfigError, match="SimBench profiles begin on 2016-01-01 00:00 CET; leave origin unset"
    ):
        sim.create(1, "Profiles", source=f"simbench:{CODE}", origin="2016-01-01")


@pytest.mark.parametrize(
    ("init", "match"),
    [
        ({"time_resolution": 0.5}, "time_resolution=0.5"),
        ({"step_s": 0}, "step_s=0 must be a positive int"),
        ({"step_s": 900.0}, "step_s=900.0 must be a positive int"),
        ({"step": 900}, "sim param='step' is unknown; known: start, step_s"),
    ],
)
def test_adapter_init_errors(init: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ProfilesSim().init("Profiles-0", **init)


def test_adapter_create_errors(csv_file: Path) -> None:
    sim = ProfilesSim()
    sim.init("Profiles-0")
    with pytest.raises(SimulationError, match="before create"):
        sim.step(0, {}, 0)
    with pytest.raises(ConfigError, match="num=2"):
        sim.create(2, "Profiles", source=str(csv_file))
    with pytest.raises(ConfigError, match="model='Element' is unknown; known: Profiles"):
        sim.create(1, "Element", source=str(csv_file))
    with pytest.raises(
        ConfigError, match="param='src' is unknown; known: fleets, origin, profile_step_s, source"
    ):
        sim.create(1, "Profiles", src=str(csv_file))
    with pytest.raises(ConfigError, match="'source' is required"):
        sim.create(1, "Profiles")
    with pytest.raises(ConfigError, match="profile_step_s=-5"):
        sim.create(1, "Profiles", source=str(csv_file), profile_step_s=-5)
    with pytest.raises(ConfigError, match="profile_step_s=60: SimBench"):
        sim.create(1, "Profiles", source=f"simbench:{CODE}", profile_step_s=60)
    sim.create(1, "Profiles", source=str(csv_file))
    with pytest.raises(SimulationError, match="before the first step"):
        sim.get_data({"load_3": ["p_mw"]})
    with pytest.raises(ConfigError, match="already plays a table"):
        sim.create(1, "Profiles", source=str(csv_file))


# --- mosaik: in-process and as its own process give the same values --------------------------


def run_world(starter: dict[str, Any], source: Path, until: int) -> dict[int, Any]:
    """Run Profiles (step 450 s) -> OutputSimulator until ``until``; the collected inputs."""
    world = mosaik.World(
        {"Profiles": starter, "Output": {"python": "mosaik.basic_simulators:OutputSimulator"}},
        skip_greetings=True,
        configure_logging=False,
    )
    profiles = world.start("Profiles", step_s=450).Profiles(source=str(source))
    output_sim = world.start("Output")
    sink = output_sim.Dict()
    for element in profiles.children:  # load_3: p_mw, q_mvar; sgen_0: p_mw
        world.connect(element, sink, *element.extra_info["attrs"])
    world.run(until=until, print_progress=False, shutdown=False)
    collected = output_sim.get_dict(sink.eid)
    world.shutdown()
    return collected


def test_standalone_process_equals_in_process(csv_file: Path) -> None:
    in_process = run_world({"python": "simulators.profiles.sim:ProfilesSim"}, csv_file, 2700)
    own_process = run_world(
        {"cmd": "%(python)s -m simulators.profiles %(addr)s", "cwd": str(ROOT)}, csv_file, 2700
    )
    assert own_process == in_process
    assert sorted(in_process) == [0, 450, 900, 1350, 1800, 2250]
    for t_s, inputs in in_process.items():
        k = t_s // 900
        assert inputs == {
            "p_mw": {"Profiles-0.load_3": ROWS[k, 0], "Profiles-0.sgen_0": ROWS[k, 2]},
            "q_mvar": {"Profiles-0.load_3": ROWS[k, 1]},
        }
