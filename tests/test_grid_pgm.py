"""The power-grid-model engine against the pandapower GridModel on the same net and inputs.

Wiring: a ``GridModel`` (pandapower, itself checked against ``pp.runpp`` in
test_grid_model.py) and a ``PgmGridModel``, each on a deep copy of the same net, get the same
inputs; after each solve every result is compared::

    inputs ─┬─► GridModel.set_values    ─► solve() ─► result() ─┐
            └─► PgmGridModel.set_values ─► solve() ─► result() ─┴─► assert equal

Tolerance: both engines solve the same admittance matrix (the pgm model is built from
pandapower's internal one), pandapower to its polished stop criterion (~1e-11 MVA) and
power-grid-model to 1e-10 pu voltage steps (quadratic convergence: the last step leaves far
less); measured on these grids, the differences are below 1e-12 pu in vm_pu and 1e-9 % in
loading_percent (2e-11 pu and 1e-8 % on the 5,479-bus 1-MVLV-rural-all-0-sw). So ``ATOL``
is far tighter than the 1e-6 pu that ``cosim validate`` allows against ``run_timeseries``, and
still orders of magnitude above what is measured.
"""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest

from cosim import cli
from cosim.builtin import validate
from cosim.core.errors import ConfigError
from simulators.grid.model import GridModel
from simulators.grid.nets import load_net
from simulators.grid.pgm import PgmGridModel
from simulators.grid.sim import GridSim

ATOL = {"vm_pu": 1e-9, "va_degree": 1e-7, "loading_percent": 1e-6}  # MW, Mvar, kA: 1e-9
COMPARED = {
    "bus": ("vm_pu", "va_degree", "f_hz"),
    "line": ("loading_percent", "p_from_mw", "q_from_mvar", "i_ka", "pl_mw"),
    "trafo": ("loading_percent", "p_hv_mw", "q_hv_mvar", "pl_mw"),
    "ext_grid": ("p_mw", "q_mvar", "vm_pu"),
    "load": ("p_mw", "q_mvar", "p_unserved_mw"),
    "sgen": ("p_mw", "q_mvar"),
    "storage": ("p_mw", "q_mvar"),
}
# source -> (a closed switch, a line): taking either out de-energises part of the grid
GRIDS = {  # found with GridModel: buses at vm_pu = 0 after switch / after line
    "1-LV-rural1--0-sw": (0, 12),  # 1 / 1 bus
    "1-MV-rural--0-sw": (6, 92),  # 12 / 1 buses
    "create_cigre_network_lv": (0, 36),  # 19 / 1 buses
}


class Pair:
    """A pandapower GridModel and a PgmGridModel fed the same inputs."""

    def __init__(self, net: pp.pandapowerNet) -> None:
        self.models = (GridModel(copy.deepcopy(net)), PgmGridModel(copy.deepcopy(net)))
        self.net = net
        self.rng = np.random.default_rng(3)

    def set(self, element: str, column: str, idx: object, values: object) -> None:
        for model in self.models:
            model.set_values(element, column, np.atleast_1d(idx), np.atleast_1d(values))

    def vary(self) -> None:
        """New random p and q for every load and sgen (0..1.5 times the net's values)."""
        for element in ("load", "sgen"):
            table = self.models[0].net[element]
            for column in ("p_mw", "q_mvar"):
                scale = self.rng.uniform(0.0, 1.5, len(table))
                self.set(element, column, table.index, self.net[element][column] * scale)

    def step(self) -> None:
        ref, pgm = self.models
        assert ref.solve() and pgm.solve()
        assert pgm.converged and not pgm.islanded and pgm.f_hz == ref.f_hz
        for element, attrs in COMPARED.items():
            for attr in attrs:
                np.testing.assert_allclose(
                    pgm.result(element, attr),
                    ref.result(element, attr),
                    rtol=0,
                    atol=ATOL.get(attr, 1e-9),
                    err_msg=f"{element}.{attr}",
                )


@pytest.fixture(scope="module")
def nets() -> dict[str, pp.pandapowerNet]:
    return {source: load_net(source) for source in GRIDS}


@pytest.mark.parametrize("source", list(GRIDS))
def test_changed_injections_match_pandapower(nets: dict, source: str) -> None:
    pair = Pair(nets[source])
    pair.step()
    for _ in range(3):
        pair.vary()
        pair.step()


@pytest.mark.parametrize("source", list(GRIDS))
def test_switch_and_line_changes_rebuild_and_match(nets: dict, source: str) -> None:
    pair, (switch, line) = Pair(nets[source]), GRIDS[source]
    pgm = pair.models[1]
    pair.vary()
    pair.step()
    for element, column, idx in (("switch", "closed", switch), ("line", "in_service", line)):
        pair.set(element, column, idx, False)
        pair.step()  # a rebuilt model: nothing stale
        assert (pgm.result("bus", "vm_pu") == 0).any()  # the part without source is dark
        pair.vary()
        pair.step()
        pair.set(element, column, idx, True)
        pair.step()
        assert (pgm.result("bus", "vm_pu") > 0.9).all()


def test_added_storage_and_sgen_match(nets: dict) -> None:
    pair = Pair(nets["1-LV-rural1--0-sw"])
    bus = int(pair.net.bus.index[-1])
    for model in pair.models:
        assert model.add_element("storage", bus, p_mw=0.02, q_mvar=0.0) == 0
        model.add_element("sgen", bus, p_mw=0.01, sn_mva=0.02)
    pair.step()
    pair.set("storage", "p_mw", 0, -0.015)  # discharging
    pair.step()


def test_divergence_is_a_result_and_the_model_recovers(nets: dict) -> None:
    pgm = PgmGridModel(copy.deepcopy(nets["create_cigre_network_lv"]))
    load = int(pgm.net.load.index[0])
    pgm.set_values("load", "p_mw", np.array([load]), np.array([1e4]))
    assert not pgm.solve() and not pgm.converged
    assert np.isnan(pgm.result("bus", "vm_pu")).all()
    pgm.set_values("load", "p_mw", np.array([load]), np.array([0.1]))
    assert pgm.solve() and (pgm.result("bus", "vm_pu") > 0.9).all()


def _with(maker: str) -> pp.pandapowerNet:
    net = load_net("create_cigre_network_lv")
    if maker == "gen":
        pp.create_gen(net, 5, p_mw=0.01, vm_pu=1.0)
    elif maker == "trafo3w":
        pp.create_bus(net, 0.4)
        pp.create_transformer3w(net, 0, 1, len(net.bus) - 1, "63/25/38 MVA 110/20/10 kV")
    elif maker == "zip":
        net.load["const_z_p_percent"] = 50.0
    return net


@pytest.mark.parametrize(
    ("maker", "match"),
    [
        ("gen", r"1 gen element\(s\).*use engine='pandapower'"),
        ("trafo3w", r"1 trafo3w element\(s\).*use engine='pandapower'"),
        ("zip", r"const_z_p_percent != 0: voltage-dependent.*use engine='pandapower'"),
    ],
)
def test_unsupported_elements_are_refused_at_build(maker: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PgmGridModel(_with(maker))


def test_islands_held_by_units_and_relays_are_refused(nets: dict) -> None:
    pgm = PgmGridModel(copy.deepcopy(nets["create_cigre_network_lv"]))
    with pytest.raises(ConfigError, match=r"grid_forming=True.*use engine='pandapower'"):
        pgm.add_element("storage", 5, grid_forming=True, sn_mva=0.1)
    with pytest.raises(ConfigError, match=r"loss-of-mains.*use engine='pandapower'"):
        pgm.add_relay(0)


def test_grid_simulator_picks_the_engine_and_refuses_an_unknown_one() -> None:
    sim = GridSim()
    sim.init("Grid-0", time_resolution=1.0, step_s=900)
    sim.create(1, "Grid", grid="create_cigre_network_lv", engine="power-grid-model")
    assert isinstance(sim.grid, PgmGridModel)
    sim = GridSim()
    sim.init("Grid-0", time_resolution=1.0, step_s=900)
    with pytest.raises(ConfigError, match="engine='pp' is unknown; known: pandapower, power-gr"):
        sim.create(1, "Grid", grid="create_cigre_network_lv", engine="pp")


def test_validate_passes_with_the_pgm_engine() -> None:
    report = validate.compare("1-LV-rural1--0-sw", steps=4, engine="power-grid-model")
    assert report.engine == "power-grid-model" and report.ok, validate.render(report)
    assert report.compared["vm_pu"] == 15  # every bus of the grid


def test_validate_cli_refuses_an_unknown_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", "--engine", "lightsim", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "engine='lightsim'" in err and "power-grid-model" in err
