"""The bus count of every grid ``cosim grids`` lists, shipped as ``grid_sizes.csv``.

SimBench codes are counted from SimBench's CSV data with simbench's own selection, without
building a net (``simbench.get_simbench_net`` takes seconds to minutes per code):

1. the code's subnets (``get_relevant_subnets``) and, with them, its rows of ``Node.csv`` and
   ``Switch.csv`` (``_extract_csv_table_by_subnet``, as ``get_extracted_csv_data`` does);
2. ``csv_data2pp`` drops every auxiliary node that touches exactly one switch (the switch
   becomes a line or trafo switch, ``create_branch_switches``); an auxiliary node at several
   switches stays a bus (``_ensure_single_switch_at_aux_node_and_copy_vm_setp``);
3. a ``no_sw`` code fuses the buses joined by bus-bus switches (``generate_no_sw_variant``):
   one bus per connected group.

``pandapower.networks`` grids are built once each and counted; a function that needs
arguments gets no row. Run ``python simulators/data/grid_sizes.py`` to write the file again
(3 min on a busy 2-core machine, 1 min of it the SimBench codes); a test checks that the shipped
rows are what this module counts.
"""

from __future__ import annotations

import csv
import inspect
import sys
import warnings
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

SIZES_FILE = Path(__file__).with_suffix(".csv")
SIMBENCH, PANDAPOWER = "simbench", "pandapower"
VERSIONS_PREFIX = "# made by simulators/data/grid_sizes.py with "


def versions_line() -> str:
    """The first line of the file: the package versions the counts were made with."""
    return VERSIONS_PREFIX + ", ".join(
        f"{pkg} {metadata.version(pkg)}" for pkg in (SIMBENCH, PANDAPOWER)
    )


Tables = dict[str, tuple[pd.DataFrame, pd.DataFrame]]
"""``{"Node": (table, subnet parts), "Switch": ...}`` of one scenario's complete data."""


def _scenario_tables(scenario: str) -> tuple[Tables, set[int]]:
    """Node and Switch tables of a scenario's complete data, and its bus-bus switches."""
    from simbench.converter import read_csv_data
    from simbench.networks.extract_simbench_grids_from_csv import (
        complete_data_path,
        get_bus_bus_switch_indices_from_csv,
    )

    path = complete_data_path(scenario)
    tables = {name: read_csv_data(path, ";", tablename=name) for name in ("Node", "Switch")}
    bus_bus = set(get_bus_bus_switch_indices_from_csv(tables["Switch"], tables["Node"]))
    return {k: (t, t.subnet.str.split("_", expand=True)) for k, t in tables.items()}, bus_bus


def _rows_near(table: pd.DataFrame, parts: pd.DataFrame, subnets: set[str]) -> pd.DataFrame:
    """The rows whose subnet names one of ``subnets`` before or after its first ``_``: every
    row simbench's extraction can keep. Rows 0 and 1 (its level lookup reads them) and one
    ``a_b`` row naming none (so the split has a second column) stay too; it drops those.
    Splitting only these, not the whole table, made 5 codes 7x faster (one run)."""
    keep = parts[0].isin(subnets) | parts[1].isin(subnets) | table.index.isin([0, 1])
    keep.iloc[int(np.argmax(parts[1].notna() & ~keep))] = True
    return table[keep]


def _buses(nodes: pd.DataFrame, switches: pd.DataFrame, keep_switches: bool) -> int:
    """Buses of the net converted from these Node and Switch rows (steps 2 and 3 above)."""
    ends = pd.concat([switches.nodeA, switches.nodeB], ignore_index=True).value_counts()
    aux = nodes.id[nodes.type == "auxiliary"]
    dropped = set(aux[aux.map(ends).fillna(0) == 1])
    ids = nodes.id[~nodes.id.isin(dropped)].reset_index(drop=True)
    if keep_switches:
        return len(ids)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    bus_bus = switches[~switches.nodeA.isin(dropped) & ~switches.nodeB.isin(dropped)]
    index = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    a = bus_bus.nodeA.map(index).dropna().astype(int)
    b = bus_bus.nodeB.map(index).dropna().astype(int)
    a, b = a[a.index.isin(b.index)], b[b.index.isin(a.index)]
    graph = coo_matrix((np.ones(len(a)), (a.to_numpy(), b.to_numpy())), shape=(len(ids),) * 2)
    n_groups, _ = connected_components(graph, directed=False)
    return int(n_groups)


def simbench_buses(codes: Iterable[str]) -> Iterator[tuple[str, int]]:
    """``(code, buses)`` for each SimBench code, equal to ``len(get_simbench_net(code).bus)``."""
    from simbench.networks.extract_simbench_grids_from_csv import (
        _extract_csv_table_by_subnet,
        complete_data_path,
        get_relevant_subnets,
    )
    from simbench.networks.simbench_code import get_simbench_code_and_parameters

    tables: dict[str, tuple[Tables, set[int]]] = {}
    for code in codes:
        _, params = get_simbench_code_and_parameters(code)
        scenario, keep_switches = params[5], params[6]
        if scenario not in tables:
            tables[scenario] = _scenario_tables(scenario)
        (nodes, node_parts), (switches, switch_parts) = tables[scenario][0].values()
        subnets = get_relevant_subnets(params, complete_data_path(scenario))
        if "complete_data" not in subnets[0]:
            hv = [subnets[0]] if isinstance(subnets[0], str) else subnets[0]
            names = {*hv, *subnets[1]}
            nodes = _rows_near(nodes, node_parts, names)
            switches = _rows_near(switches, switch_parts, names)
        nodes_of = _extract_csv_table_by_subnet(nodes, "Node", subnets)
        switches_of = _extract_csv_table_by_subnet(switches, "Switch", subnets, tables[scenario][1])
        yield code, _buses(nodes_of, switches_of, keep_switches)


def network_names() -> list[str]:
    """The grid functions of ``pandapower.networks`` (the ``grid`` param takes each name)."""
    import pandapower.networks as pn

    return sorted(
        name
        for name, func in vars(pn).items()
        if inspect.isfunction(func)
        and not name.startswith("_")
        and func.__module__.startswith(pn.__name__)
    )


def network_buses(names: Iterable[str]) -> Iterator[tuple[str, int]]:
    """``(name, buses)`` of each ``pandapower.networks`` grid that builds without arguments."""
    import pandapower.networks as pn

    for name in names:
        try:
            with warnings.catch_warnings():  # a library's chatter while building is no error here
                warnings.simplefilter("ignore")
                net = getattr(pn, name)()
        except TypeError:  # a function that needs arguments
            continue
        yield name, len(net.bus)


def rows() -> Iterator[tuple[str, str, int]]:
    """``(source, name, buses)`` of every SimBench code and countable network."""
    import simbench

    for code, buses in simbench_buses(simbench.collect_all_simbench_codes()):
        yield SIMBENCH, code, buses
    for name, buses in network_buses(network_names()):
        yield PANDAPOWER, name, buses


def read(path: Path = SIZES_FILE) -> dict[str, tuple[str, int]]:
    """The shipped table: ``{name: (source, buses)}`` in file order."""
    with path.open(newline="") as file:
        lines = [line for line in file if not line.startswith("#")]
    return {r["name"]: (r["source"], int(r["buses"])) for r in csv.DictReader(lines)}


def write(path: Path = SIZES_FILE) -> None:
    with path.open("w", newline="") as file:
        file.write(versions_line() + "\n")
        out = csv.writer(file, lineterminator="\n")
        out.writerow(["source", "name", "buses"])
        for row in rows():
            out.writerow(row)
            print(*row, file=sys.stderr)


if __name__ == "__main__":
    write()
