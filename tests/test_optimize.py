"""``cosim optimize``: ranges, objectives, periods, the best design, resuming, bad input.

The studies run ``tests/data/sizing_tiny.py`` in this process (``--workers 0``)::

    PV-0.pv_0 --p_mw, q_mvar--> Grid-0.sgen (bus 3);  Battery-0.battery_0 --p_mw--> Grid-0.storage

CIGRE LV's own loads take every PV kWh and the battery stays idle, so the cheapest design of
``pv_kw`` in {0, 20, 40} and ``battery_kwh`` in {0, 10} is the most PV and no battery: each
PV kWp replaces about 6.5 kWh of import on the clear 21 June simulated (17.16 MWh
import without PV, 16.90 MWh with 40 kWp) at 300 EUR/MWh; the battery only costs.
"""

import json
from pathlib import Path

import pandas as pd
import pytest
from optuna.distributions import FloatDistribution

from cosim.cli import EXIT_BAD_INPUT, main
from cosim.core.errors import ConfigError
from cosim.run.scenario import load_scenario
from cosim.study import design_space as space
from cosim.study import optimize as opt
from cosim.study.optimize_report import best, trial_table

SCRIPT = str(Path(__file__).parent / "data" / "sizing_tiny.py")
RANGES = ["--range", "pv_kw=0:40:20", "--range", "battery_kwh=0:10:10"]


def _cli(out: Path, trials: int) -> int:
    return main(["optimize", SCRIPT, *RANGES, "--trials", str(trials), "--workers", "0",
                 "--out", str(out)])  # fmt: skip


def _started(out: Path) -> dict[str, str]:
    return {
        str(m.parent.relative_to(out)): json.loads(m.read_text())["started_at"]
        for m in out.glob("designs/*/*/manifest.json")
    }


def test_study_finds_the_best_design_and_resumes_where_it_stopped(tmp_path, capsys):
    out = tmp_path / "study"
    assert _cli(out, 3) == 0
    first = _started(out)
    assert len(first) == 3  # three designs, one run ("run" period) each
    # a trial left running, as by a killed process: redone on resume
    study = opt._open(out, opt.Study(**json.loads((out / opt.STUDY_JSON).read_text())), 0)
    orphan = study.ask({"pv_kw": FloatDistribution(0, 40, step=20),
                        "battery_kwh": FloatDistribution(0, 10, step=10)})  # fmt: skip
    capsys.readouterr()
    assert _cli(out, 6) == 0
    printed = capsys.readouterr().out
    again = _started(out)
    assert len(again) == 6 and {k: again[k] for k in first} == first  # nothing ran twice
    table = pd.read_parquet(out / "summary.parquet")
    pd.testing.assert_frame_equal(
        table, pd.read_csv(out / "summary.csv"), check_dtype=False, check_exact=False
    )
    assert table.loc[orphan.number, "state"] == "fail"  # interrupted, its design asked again
    ran = table[(table["state"] == "complete") & ~table["cached"]]
    assert sorted(zip(ran["pv_kw"], ran["battery_kwh"], strict=True)) == [
        (pv, bat) for pv in (0.0, 20.0, 40.0) for bat in (0.0, 10.0)
    ]
    assert table["feasible"][table["state"] == "complete"].all()
    top = pd.read_csv(out / "best.csv")
    assert (top["pv_kw"].item(), top["battery_kwh"].item()) == (40.0, 0.0)
    assert top["npc_eur"].item() == ran["npc_eur"].min()
    assert "pv_kw=40.0,battery_kwh=0.0" in printed
    # the NPC falls with PV and rises with the battery, as the scenario's physics says
    npc = ran.set_index(["pv_kw", "battery_kwh"])["npc_eur"]
    assert npc[0.0, 0.0] > npc[20.0, 0.0] > npc[40.0, 0.0]
    assert npc[40.0, 10.0] > npc[40.0, 0.0]
    page = (out / "report.html").read_text()
    link = "designs/pv_kw=40.0,battery_kwh=0.0/run/report.html"
    assert f'href="{link}"' in page and (out / link).is_file()
    assert page.count("<img") == 3  # NPC by trial, against pv_kw, against battery_kwh


def test_pareto_front_keeps_feasible_nondominated_designs():
    table = pd.DataFrame(
        {
            "design": ["a", "b", "c", "d", "e"],
            "npc_eur": [1.0, 2.0, 3.0, 2.5, 0.5],
            "co2_project_kg": [3.0, 2.0, 1.0, 2.5, 0.1],
            "feasible": [True, True, True, True, False],  # e dominates all but breaks a limit
        }
    )
    front = best(table, ["npc_eur", "co2_project_kg"])
    assert front["design"].tolist() == ["a", "b", "c"]  # d is dominated by b
    assert best(table, ["npc_eur"])["design"].tolist() == ["a"]


def test_seasons_are_four_weighted_periods():
    cfg = load_scenario("neighbourhood").config_class(step_s=900)
    found = space.periods("seasons:2", cfg)
    assert [p.start for p in found] == [
        "2016-01-15 00:00:00", "2016-04-15 00:00:00", "2016-07-15 00:00:00", "2016-10-15 00:00:00"
    ]  # fmt: skip
    assert {p.steps for p in found} == {192} and sum(p.hours for p in found) == 8760
    assert space.periods("run", cfg)[0].hours == 8760
    with pytest.raises(ConfigError, match="'seasons:0' must be 'run' or 'seasons:DAYS'"):
        space.periods("seasons:0", cfg)


def test_a_design_breaking_a_grid_limit_is_infeasible_to_optuna_and_the_table():
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    ranges = space.parse_ranges(load_scenario(SCRIPT).config_class, ["pv_kw=0:40:20"])
    for npc_eur, violation_h in ((1.0, 2.0), (2.0, 0.0)):  # the cheaper one leaves the band
        trial = study.ask({"pv_kw": FloatDistribution(0, 40, step=20)})
        limits = {"voltage_violation_h": violation_h, "overload_h": 0.0}
        result = {"kpis": {"npc_eur": npc_eur}, "wall_s": 1.0, "status": "completed"}
        opt._tell(study, trial, {**result, "constraints": {**limits, "energy_not_served_mwh": -1}},
                  ["npc_eur"])  # fmt: skip
    assert study.best_trial.number == 1  # optuna ranks the feasible one first
    table = trial_table(study, ranges, ["npc_eur"])
    assert table["feasible"].tolist() == [False, True]
    assert best(table, ["npc_eur"])["npc_eur"].item() == 2.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "pv_kw=20:20"], "--range pv_kw=20:20 is empty; use --set pv_kw=VALUE"),
        (["--range", "pv_kw=40:0"], "--range pv_kw: LOW=40 > HIGH=0; give LOW <= HIGH"),
        (["--range", "pv_kw=0:40", "--objective", "npc"], "--objective KPI='npc' is unknown"),
        (["--range", "pv_kw=0:40", "--objective", "import_mwh"], "KPI='import_mwh' is unknown"),
        (["--range", "pv_kwp=0:40"], "--range key='pv_kwp' is unknown; known: "),
        (["--range", "pv_kw=0:40:15"], "--range pv_kw: HIGH - LOW = 40 is no multiple of STEP"),
        (["--range", "pv_kw=0"], "--range 'pv_kw=0' must look like KEY=LOW:HIGH"),
        (["--range", "start=0:1"], "--range start: the field is <class 'str'>, a range needs"),
        (["--range", "pv_kw=0:40", "--set", "pv_kw=3"], "pv_kw is both set (pv_kw=3.0) and"),
        (["--range", "pv_kw=0:40", "--set", "stepz=3"], "--set key='stepz' is unknown; known:"),
        (["--range", "pv_kw=0:40", "--trials", "0"], "trials=0 must be a positive integer"),
        (["--range", "pv_kw=0:40", "--periods", "weeks"], "periods='weeks' must be 'run' or"),
        (["--range", "pv_kw=0:40", "--costs", "c.txt"], "costs='c.txt' must be a .csv/.json"),
        ([], "nothing to optimize: give --range KEY=LOW:HIGH[:STEP]"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_runs(args, message, capsys, tmp_path):
    out = tmp_path / "study"
    code = main(["optimize", SCRIPT, *args, "--workers", "0", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert len(err.splitlines()) == 1 and err.startswith("cosim: error: ")
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_a_folder_holds_one_study(tmp_path, capsys):
    out = tmp_path / "study"
    out.mkdir()
    (out / opt.STUDY_JSON).write_text(json.dumps({"scenario": "other"}))
    assert main(["optimize", SCRIPT, "--range", "pv_kw=0:40", "--out", str(out)]) == 2
    assert "holds a study with scenario='other'" in capsys.readouterr().err


def test_a_size_that_is_none_by_default_takes_a_range():
    # neighbourhood's pv_p_peak_mw is float | None (None: sized per household demand): a range
    # gives it fixed values; a text field still refuses one
    cls = load_scenario("neighbourhood").config_class
    ranges = space.parse_ranges(cls, ["pv_p_peak_mw=0.004:0.012:0.002", "chp_count=0:2"])
    assert (ranges["pv_p_peak_mw"].integer, ranges["chp_count"].integer) == (False, True)
    assert ranges["pv_p_peak_mw"].snap(0.0061) == 0.006
    with pytest.raises(ConfigError, match="--range grid: the field is <class 'str'>"):
        space.parse_ranges(cls, ["grid=1:2"])
