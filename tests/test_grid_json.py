"""Grid JSON files: checked before pandapower reads them, so no file runs code; bad files are
one line and exit 2; a net without an ext_grid is de-energised, not an internal error."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandapower as pp
import pandapower.control as control
import pandapower.networks as pn
import pytest
from pandapower.toolbox import nets_equal

from cosim.cli import EXIT_BAD_INPUT, main
from cosim.core.errors import ConfigError
from simulators.grid import netjson
from simulators.grid.sim import GridSim

PLANTED = "cosim_planted_mod"  # a module that leaves a marker file when it is imported


def _saved(net: pp.pandapowerNet, path: Path) -> Path:
    pp.to_json(net, str(path))
    return path


def _edited(tmp_path: Path, name: str, edit) -> Path:
    """example_simple saved by pandapower, its JSON changed by ``edit(doc)``."""
    doc = json.loads(_saved(pn.example_simple(), tmp_path / "base.json").read_text())
    edit(doc)
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _plant(folder: Path) -> Path:
    """``cosim_planted_mod.py`` in ``folder``: importing it writes ``folder/MARKER``."""
    (folder / f"{PLANTED}.py").write_text(
        "import pathlib\n"
        "pathlib.Path(__file__).with_name('MARKER').write_text('ran')\n"
        "class DataFrame:\n    pass\n"
    )
    return folder / "MARKER"


def _planted_net(tmp_path: Path) -> Path:
    def edit(doc):
        doc["_object"]["bus"]["_module"] = PLANTED

    return _edited(tmp_path, "planted.json", edit)


def _run_grid(path: Path, tmp_path: Path, *extra: str) -> int:
    return main(
        ["run", "grid_profiles", "--set", f"grid={path}", "--out", str(tmp_path / "out"), *extra]
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "invalid.json",
            '{"_module": "pandapower.auxiliary", "bus": ',
            "the file is not valid JSON (Expecting value at line 1 column 44)",
        ),
        ("empty.json", "", "the file is empty"),
        ("list.json", "[1, 2, 3]", "not a pandapower net (a JSON value)"),
        ("dict.json", '{"name": "x"}', "not a pandapower net (a JSON object with keys ['name']"),
    ],
)
def test_corrupt_empty_or_non_net_json_is_one_line_and_exit_2(
    tmp_path, capsys, name, content, message
):
    path = tmp_path / name
    path.write_text(content)
    assert _run_grid(path, tmp_path) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"cosim: error: grid={str(path)!r}: {message}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_net_without_buses_is_one_line_and_exit_2(tmp_path, capsys):
    def edit(doc):
        for table in ("bus", "line", "load", "ext_grid"):
            del doc["_object"][table]

    path = _edited(tmp_path, "missing.json", edit)
    assert _run_grid(path, tmp_path) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "the net has no buses (table 'bus' is missing or empty)" in err
    assert "Traceback" not in err


def test_pandapower_alone_would_run_the_planted_module(tmp_path):
    """The danger the check guards against: pandapower.from_json imports the named module."""
    marker = _plant(tmp_path)
    path = _planted_net(tmp_path)
    code = (
        f"import pandapower as pp\ntry:\n    pp.from_json({str(path)!r})\n"
        + "except Exception:\n    pass"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, timeout=120, check=True)
    assert marker.read_text() == "ran"


@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "processes"])
def test_a_planted_module_is_refused_and_never_imported(tmp_path, capsys, monkeypatch, processes):
    marker = _plant(tmp_path)
    path = _planted_net(tmp_path)
    monkeypatch.chdir(tmp_path)  # a simulator process has its working directory on sys.path
    monkeypatch.syspath_prepend(str(tmp_path))  # and so does this one
    assert _run_grid(path, tmp_path, *(["--processes"] if processes else [])) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"$._object.bus names _module={PLANTED!r}, _class='DataFrame'" in err
    assert str(path) in err and "Traceback" not in err
    assert not marker.exists() and PLANTED not in sys.modules


def test_tags_inside_tables_escaped_keys_and_file_names_are_refused(tmp_path):
    net = pn.example_simple()
    control.ConstControl(net, "load", "p_mw", 0)  # an object in a table's cell
    doc = json.loads(_saved(net, tmp_path / "ctrl.json").read_text())
    where = r"\$\._object\.controller\._object\.data\[0\]\[0\] names _module="
    with pytest.raises(ConfigError, match=where + r"'pandapower\.control\.controller\.const_"):
        netjson.check(doc, "grid")
    doc = json.loads(_saved(pn.example_simple(), tmp_path / "plain.json").read_text())
    table = '{"columns": ["x"], "index": [0], "data": [[{"_module": "%s", "_class": "f"}]]}'
    doc["_object"]["bus"]["_object"] = table % PLANTED  # a cell pandapower decodes
    with pytest.raises(ConfigError, match=rf"_object\.bus\._object\.data\[0\]\[0\] .*{PLANTED}"):
        netjson.check(doc, "grid")
    escaped = table.replace('"_module"', '"\\u005fmodule"').replace('"_class"', '"\\u005fclass"')
    assert "_module" not in escaped
    assert json.loads(escaped % PLANTED)["data"][0][0]["_module"] == PLANTED
    doc["_object"]["bus"]["_object"] = escaped % PLANTED  # keys spelled with JSON escapes
    with pytest.raises(ConfigError, match=rf"_object\.bus\._object\.data\[0\]\[0\] .*{PLANTED}"):
        netjson.check(doc, "grid")
    outer = {"_module": "pandapower.auxiliary", "_class": "pandapowerNet"}
    with pytest.raises(ConfigError, match=rf"\$\._object\._object\.bus\._object.*{PLANTED}"):
        netjson.check({**outer, "_object": json.dumps(doc)}, "grid")  # a net as JSON text
    doc["_object"]["bus"]["_object"] = str(tmp_path / "other.json")  # pandas would open it
    with pytest.raises(ConfigError, match=r"\$\._object\.bus\._object must be a table as JSON"):
        netjson.check(doc, "grid")


@pytest.mark.parametrize(
    "make",
    [pn.example_simple, pn.create_cigre_network_lv, pn.create_cigre_network_mv, pn.case9],
    ids=lambda f: f.__name__,
)
def test_nets_saved_by_pandapower_load_as_pandapower_loads_them(tmp_path, make):
    path = _saved(make(), tmp_path / "net.json")
    assert nets_equal(netjson.read_net(path), pp.from_json(str(path)))


def test_a_net_without_ext_grid_is_de_energised(tmp_path):
    net = pn.create_cigre_network_lv()
    net.ext_grid.drop(net.ext_grid.index, inplace=True)
    sim = GridSim()
    sim.init("Grid-0", time_resolution=1.0, step_s=900)
    sim.create(1, "Grid", grid=str(_saved(net, tmp_path / "noext.json")))
    sim.step(0, {}, 900)
    loads = [f"load_{i}" for i in net.load.index]
    out = sim.get_data(
        {"grid": ["converged"], **{f"bus_{i}": ["vm_pu"] for i in net.bus.index}}
        | {eid: ["p_mw", "p_unserved_mw"] for eid in loads}
        | {f"trafo_{i}": ["loading_percent"] for i in net.trafo.index}
    )
    assert out["grid"]["converged"] is True  # docs: no slack at all, converged, de-energised
    assert all(out[f"bus_{i}"]["vm_pu"] == 0.0 for i in net.bus.index)
    assert all(out[f"trafo_{i}"]["loading_percent"] == 0.0 for i in net.trafo.index)
    demand_mw = (net.load.p_mw * net.load.scaling).to_numpy()  # the net's own demand
    np.testing.assert_array_equal([out[e]["p_unserved_mw"] for e in loads], demand_mw)
    assert [out[e]["p_mw"] for e in loads] == [0.0] * len(loads)
