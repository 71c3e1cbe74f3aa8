"""Fleet entities of the grid simulator: many elements of one table as one mosaik entity.

A fleet covers consecutive rows of one element table (``net[element]``): the whole table
(``Grid(fleets=True)``: eid ``bus``, ``line``, ``sgen``...) or the rows a ``LoadFleet``,
``SgenFleet`` or ``StorageFleet`` appended (eid ``<element>_fleet_<j>``). Array position
``k`` of a table's :class:`cosim.core.fleet.Positions` is row ``k`` of that table, so one
step writes each input column with one ``GridModel.set_values`` call and reads each result
column once, with no Python loop over elements. mosaik glue only; no physics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cosim.core import fleet
from cosim.core.errors import ConfigError
from simulators.grid import model

InputData = Mapping[str, Mapping[str, Mapping[str, Any]]]
Writes = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]
"""(element, column) -> (pandapower indices, values): what one step writes into the net."""


def table_info(net: Any, element: str, rows: slice) -> dict[str, Any]:
    """``extra_info`` of a fleet over ``rows`` of ``net[element]``: its ``units`` and, as
    lists in the same order, what a single element's ``extra_info`` holds."""
    table = net[element].iloc[rows]
    index = table.index.to_numpy(dtype=np.int64).tolist()
    names = table["name"].tolist() if "name" in table else [None] * len(table)
    info: dict[str, Any] = {
        fleet.UNITS: [f"{element}_{idx}" for idx in index],
        "name": [None if n is None or n != n else str(n) for n in names],
        "index": index,
    }
    if "bus" in table.columns:  # the bus an element hangs on
        info["bus"] = table["bus"].to_numpy(dtype=np.int64).tolist()
    if element == "switch":
        info["element"] = table["element"].to_numpy(dtype=np.int64).tolist()
        info["et"] = table["et"].astype(str).tolist()
    if element == "trafo":
        info["hv_bus"] = table["hv_bus"].to_numpy(dtype=np.int64).tolist()
        info["lv_bus"] = table["lv_bus"].to_numpy(dtype=np.int64).tolist()
        info["shift_degree"] = table["shift_degree"].to_numpy(dtype=np.float64).tolist()
    if element in model.INJECTIONS:
        info["p_rated_mw"] = table["p_mw"].to_numpy(dtype=np.float64).tolist()
    return info


class GridFleets:
    """Where each fleet entity of a grid sits (rows of its table), its routes, its inputs
    gathered as arrays and its outputs as array slices.

    Parameters
    ----------
    inputs
        element -> the input attrs it takes (an element not in it: ``default``).
    default
        The input attrs of every other element.
    summed
        Inputs whose sources are summed; every other input has one source.
    """

    def __init__(
        self,
        inputs: Mapping[str, frozenset[str]],
        default: frozenset[str],
        summed: frozenset[str],
    ) -> None:
        self._inputs, self._default, self._summed = inputs, default, summed
        self.where: dict[str, fleet.Positions] = {}  # element -> positions = table rows
        self.element_of: dict[str, str] = {}  # fleet eid -> element
        self._created: dict[str, int] = {}  # element -> fleets created by a <Type>Fleet model
        self._arrays: dict[str, dict[str, np.ndarray]] = {}  # element -> this step's results

    def add(self, eid: str, element: str, rows: slice) -> None:
        """A fleet ``eid`` over ``rows`` of ``net[element]`` (rows after every other fleet's)."""
        where = self.where.setdefault(element, fleet.Positions())
        if rows.start < where.n:
            raise ConfigError(f"fleet {eid!r}: rows from {rows.start} overlap another fleet")
        where.n = rows.start  # rows of single elements in between are no fleet's
        where.add_fleet(eid, rows.stop - rows.start)
        self.element_of[eid] = element

    def next_eid(self, element: str) -> str:
        """The eid of the next fleet a ``<Type>Fleet`` model creates: ``<element>_fleet_<j>``."""
        j = self._created.get(element, 0)
        self._created[element] = j + 1
        return f"{element}_fleet_{j}"

    def route(self, eid: str, src: str, positions: Sequence[int]) -> None:
        """Unit ``k`` of fleet ``eid`` takes position ``positions[k]`` of what ``src`` (full
        id) sends; ``-1``: nothing (see :meth:`cosim.core.fleet.Positions.route`)."""
        element = self.element_of.get(eid.rsplit(".", 1)[-1])
        if element is None:
            raise ConfigError(
                f"route: {eid!r} is not a fleet entity of this grid; fleets: "
                f"{', '.join(self.element_of) or '(none)'}"
            )
        self.where[element].route(eid.rsplit(".", 1)[-1], src, positions)

    def unit_index(self, eid: str, element: str, net: Any) -> int | None:
        """The pandapower index of unit ``eid`` (``switch_8``) of a fleet of ``element``s."""
        kind, _, idx = eid.rpartition("_")
        where = self.where.get(element)
        if kind != element or not idx.isdigit() or where is None:
            return None
        row = int(net[element].index.get_indexer([int(idx)])[0])
        spans = [s for s in where.of.values() if isinstance(s, slice)]
        return int(idx) if row >= 0 and any(s.start <= row < s.stop for s in spans) else None

    def split(self, inputs: InputData) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """mosaik's inputs split into those of single elements and, per element table, those
        of its fleets."""
        singles: dict[str, Any] = {}
        fleets: dict[str, dict[str, Any]] = {}
        for eid, attrs in inputs.items():
            element = self.element_of.get(eid)
            if element is None:
                singles[eid] = attrs
            else:
                fleets.setdefault(element, {})[eid] = attrs
        return singles, fleets

    def writes(self, fleets: Mapping[str, InputData], net: Any) -> Writes:
        """Per (element, column), the pandapower indices and values the fleets' inputs set
        this step (a unit with no value, NaN, keeps its own)."""
        out: Writes = {}
        for element, inputs in fleets.items():
            allowed = self._inputs.get(element, self._default)
            how = {a: "sum" if a in self._summed else "one" for a in allowed}
            gathered = fleet.gather(
                inputs, self.where[element], dict.fromkeys(allowed, np.nan), how=how
            )
            index = net[element].index.to_numpy(dtype=np.int64)
            for column, (values, given) in gathered.items():
                if given.any():
                    rows = np.flatnonzero(given)
                    out[element, column] = (index[rows], values[rows])
        return out

    def clear(self) -> None:
        """Forget the last step's results."""
        self._arrays.clear()

    def output_data(
        self, request: Mapping[str, Sequence[str]], grid: model.GridModel
    ) -> dict[str, dict[str, Any]]:
        """get_data of fleet entities: each result column computed once per step, sliced."""
        by_element: dict[str, dict[str, Sequence[str]]] = {}
        for eid, attrs in request.items():
            by_element.setdefault(self.element_of[eid], {})[eid] = attrs
        data: dict[str, dict[str, Any]] = {}
        for element, part in by_element.items():
            arrays = self._arrays.setdefault(element, {})

            def array_of(attr: str, element: str = element) -> np.ndarray:
                return grid.result(element, attr)

            data.update(fleet.output_data(part, self.where[element], arrays, array_of, {}))
        return data
