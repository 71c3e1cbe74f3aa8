"""The shipped bus counts (``simulators/data/grid_sizes.csv``) against their generator and the
nets themselves."""

import inspect

import pandapower.networks as pn
import simbench

from simulators.data import grid_sizes

SHIPPED = grid_sizes.read()


def _of(source: str) -> list[str]:
    return [name for name, (src, _) in SHIPPED.items() if src == source]


def test_the_table_names_the_versions_it_was_made_with() -> None:
    # a newer simbench or pandapower need not change a count (the counts are checked against
    # the generator below); the table says what it was made with
    first_line = grid_sizes.SIZES_FILE.read_text().splitlines()[0]
    assert first_line.startswith(grid_sizes.VERSIONS_PREFIX)
    assert "simbench " in first_line and "pandapower " in first_line


def test_the_table_holds_every_simbench_code_and_every_network_that_builds_bare() -> None:
    assert _of("simbench") == list(simbench.collect_all_simbench_codes())
    names = grid_sizes.network_names()
    assert set(_of("pandapower")) <= set(names)
    for left_out in set(names) - set(_of("pandapower")):  # only those that need arguments
        params = inspect.signature(getattr(pn, left_out)).parameters.values()
        assert any(p.default is inspect.Parameter.empty for p in params), left_out


def test_shipped_counts_are_what_the_generator_counts() -> None:
    codes = ["1-LV-rural1--0-sw", "1-LV-urban6--0-no_sw", "1-MV-rural--0-no_sw"]
    codes += ["1-MVLV-rural-all-0-sw", "1-HV-urban--0-no_sw"]
    assert dict(grid_sizes.simbench_buses(codes)) == {c: SHIPPED[c][1] for c in codes}
    names = ["create_cigre_network_lv", "case9", "example_simple"]
    assert dict(grid_sizes.network_buses(names)) == {n: SHIPPED[n][1] for n in names}


def test_a_count_is_the_bus_table_of_simbenchs_net() -> None:
    # no_sw: auxiliary nodes dropped and bus-bus switches fused (97 buses with switches)
    net = simbench.get_simbench_net("1-MV-rural--0-no_sw")
    assert len(net.bus) == SHIPPED["1-MV-rural--0-no_sw"][1] == 95
