"""The co-simulation equals pandapower's own ``run_timeseries`` over a day of SimBench profiles.

Wiring: grid_profiles (Profiles -> Grid -> Recorder) against
``cosim.builtin.reference.run_pandapower_timeseries`` (ConstControl + run_timeseries) on the same
net.
"""

import pytest

from cosim.builtin import validate
from cosim.cli import EXIT_OK, main


@pytest.mark.parametrize("grid", ["1-LV-rural1--0-sw", "1-MV-rural--0-sw"])
def test_96_steps_equal_run_timeseries(grid):
    report = validate.compare(grid, steps=96)
    assert report.ok, validate.render(report)
    assert report.max_abs_diff["vm_pu"] < 1e-8
    assert report.compared["vm_pu"] > 10 and report.compared["loading_percent"] > 10


@pytest.mark.parametrize("start", ["2016-07-01 12:00:00", "2019-12-31 23:00:00"])
def test_another_start_equals_run_timeseries_from_the_same_row(start):
    """``start`` picks the profile row on both sides (1 July 12:00 CET is row 17,520); a run
    over New Year goes on with the first row, on both sides."""
    report = validate.compare("1-LV-rural1--0-sw", steps=8, start=start)
    assert report.ok, validate.render(report)
    assert report.max_abs_diff["vm_pu"] < 1e-8


def test_validate_command_prints_every_quantity(capsys):
    assert main(["validate", "--grid", "1-LV-rural1--0-sw", "--steps", "4"]) == EXIT_OK
    out = capsys.readouterr().out
    for attr in ("vm_pu", "va_degree", "loading_percent", "p_mw"):
        assert attr in out
    assert out.rstrip().endswith("PASS")
