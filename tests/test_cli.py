"""The command line: exit codes, one-line messages for bad input, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cosim.cli import EXIT_BAD_INPUT, EXIT_OK, main
from simulators.simbench_nets import simbench_net

DATA = Path(__file__).parent / "data"


def test_list_shows_builtin_scenarios(capsys):
    assert main(["list"]) == EXIT_OK
    assert "grid_profiles" in capsys.readouterr().out


def test_config_shows_fields_and_defaults(capsys):
    assert main(["config", "grid_profiles"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "grid" in out and "'1-LV-rural1--0-sw'" in out and "step_s" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "nosuch"],
            "scenario='nosuch' is unknown; known: custom_controller, grid_profiles, "
            "local_market, microgrid",
        ),
        (["run", "no/such/file.py"], "scenario='no/such/file.py': no such file"),
        (["run", "--set", "stepz=3"], "--set key='stepz' is unknown; known: "),
        (["run", "--set", "steps=ten"], "steps='ten' must be an integer"),
        (["run", "--set", "steps=-1"], "steps=-1 must be a positive integer"),
        (
            ["run", "grid_profiles", "--set", "on_diverge=maybe"],
            "on_diverge='maybe' is not allowed",
        ),
        (["run", "--set", "grid=1-LV-nowhere--0-sw"], "grid='1-LV-nowhere--0-sw'"),
        (["run", "--set", "grid=create_cigre_network_lv"], "neighbourhood needs one"),
        (["run", "--set", "controller=nosuch"], "controller='nosuch' is unknown; known: "),
        (
            ["run", "--set", "controller=peak_shaving", "--set", 'controller_options={"x": 1}'],
            "PeakShaving option='x' is unknown",
        ),
        (["run", "grid_profiles", "--set", "grid=nosuch_net"], "grid='nosuch_net' is not a grid"),
        (
            ["run", "grid_profiles", "--set", "profiles=/no/such/profile.csv"],
            "profiles='/no/such/profile.csv': no such file",
        ),
        (
            ["run", str(DATA / "sgen_at_bus.py"), "--set", "bus=9999"],
            "bus=9999 is not a bus of this net",
        ),
        (["validate", "--grid", "not-a-code"], "grid='not-a-code' is not a SimBench code"),
        (["run", "--step-timeout-s", "0"], "--step-timeout-s='0' must be a positive number"),
        (["run", "--step-timeout-s", "soon"], "--step-timeout-s='soon' must be a positive"),
        (["run", "--step-timeout-s", "inf"], "--step-timeout-s='inf' must be a positive"),
        (["run", "--set", "seed=-1"], "seed=-1 must be an integer >= 0"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args, message, capsys, tmp_path):
    code = main([*args, "--out", str(tmp_path / "out")] if args[0] == "run" else args)
    err = capsys.readouterr().err
    assert code == EXIT_BAD_INPUT, err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # checked before anything is written


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "cosim.cli", "run", "--set", "steps=x"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert bad.returncode == EXIT_BAD_INPUT
    assert bad.stderr.strip() == "cosim: error: steps='x' must be an integer"


def test_report_and_compare_commands(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "grid_profiles", "--set", "steps=4", "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out)  # quiet, but says where the results are
    assert main(["report", str(out), "--set", "v_min_pu=0.95"]) == EXIT_OK
    assert (out / "report.html").is_file() and (out / "kpis.json").is_file()
    csv = tmp_path / "cmp.csv"
    assert main(["compare", str(out), str(out), "--csv", str(csv)]) == EXIT_OK
    assert f"\na: {out}\nb: {out}\n" in capsys.readouterr().out
    table = csv.read_text().splitlines()
    assert table[0].startswith("name,unit,a,b,diff") and len(table) > 10
    assert main(["report", str(out), "--set", "v_min_pu=low"]) == EXIT_BAD_INPUT
    assert "v_min_pu='low'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing")]) == EXIT_BAD_INPUT


def test_report_with_bad_settings_or_manifest_is_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "grid_profiles", "--set", "steps=2", "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out)]) == EXIT_OK
    written = {n: (out / n).read_bytes() for n in ("kpis.json", "kpis.csv", "report.html")}
    short = tmp_path / "short.csv"
    short.write_text("price\n100\n")  # one 15-min row, the run has two steps
    for setting, message in (
        (f"import_eur_per_mwh={tmp_path / 'none.csv'}", "none.csv': no such file"),
        (f"import_eur_per_mwh={short}", "covers 900 s, the run needs 901 s"),
    ):
        capsys.readouterr()
        assert main(["report", str(out), "--set", setting]) == EXIT_BAD_INPUT
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
        assert {n: (out / n).read_bytes() for n in written} == written  # the last report's
    (out / "manifest.json").write_text('{"status": "compl')
    assert main(["report", str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{str(out / 'manifest.json')!r} cannot be read as a manifest" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Config = 3\ndef build(b, cfg):\n    pass\n", "Config must subclass cosim.run.config"),
        ("import math\n\ndef build(b, cfg)\n    pass\n", "bad.py:3:18: SyntaxError: expected ':'"),
    ],
    ids=["config-not-a-class", "syntax-error"],
)
def test_a_broken_scenario_file_is_one_line_and_exit_2(tmp_path, capsys, source, message):
    script = tmp_path / "bad.py"
    script.write_text(source)
    assert main(["run", str(script), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_run_without_a_converged_step_is_summarised_and_reported(tmp_path, capsys):
    net = simbench_net("1-LV-rural1--0-sw")
    profile = tmp_path / "profile.csv"  # 10 MW per load behind a 0.16 MVA trafo: diverges
    pd.DataFrame({f"load_{i}": [10.0, 10.0] for i in net.load.index}).to_csv(profile, index=False)
    out = tmp_path / "run"
    args = ["--set", "steps=2", "--set", f"profiles={profile}", "--set", "on_diverge=continue"]
    assert main(["run", "grid_profiles", *args, "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr()
    assert "bus voltage min / max      none: no power flow converged" in printed.out
    assert "power flows not converged  2 of 2" in printed.out
    assert "grid import" not in printed.out and "Traceback" not in printed.err
    assert main(["report", str(out)]) == EXIT_OK
    assert "No power flow converged" in (out / "report.html").read_text()
    kpis = {k["name"]: k["value"] for k in json.loads((out / "kpis.json").read_text())}
    assert kpis["nonconverged_steps"] == 2 and "v_min_pu" not in kpis
    assert "import_mwh" not in kpis  # NaN is not 0 MWh
