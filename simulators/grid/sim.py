"""mosaik adapter of the pandapower grid: entities, inputs and outputs; no physics.

One ``Grid`` entity per simulator (its full id is e.g. ``Grid-0.grid``). Its children are the
net's elements, named ``<element>_<pandapower index>`` (``bus_12``, ``line_3``, ``load_7``,
``sgen_2``, ``switch_4``, ``trafo_0``, ``ext_grid_0``...), with the pandapower name in
``extra_info``. ``Load``, ``Sgen`` and ``Storage`` entities can also be created at a bus after
the grid, for DERs that a scenario adds (``grid_forming``, ``sn_mva`` and ``droop_frac`` make one
an island's forming unit). The extra method ``add_relay(switch)`` gives a switch a loss-of-mains
relay before the run.

Fleets (:mod:`cosim.core.fleet`): with ``Grid(fleets=True)`` the children are one fleet entity
per element table instead (eid ``bus``, ``line``, ``load``..., type ``BusFleet``...), whose
attributes are arrays in table order and whose ``extra_info["units"]`` names the elements as
above; ``LoadFleet``, ``SgenFleet`` and ``StorageFleet`` create many elements at once (eid
``<element>_fleet_<j>``). The extra method ``route(eid, src, positions)`` routes a source's
array to a fleet's units.

Signs are pandapower's per element: load and storage ``p_mw > 0`` consume, sgen, gen and
ext_grid ``p_mw > 0`` inject (ext_grid: into the net, i.e. import from upstream).
"""

from __future__ import annotations

from typing import Any

import mosaik_api_v3
import numpy as np
from mosaik_api_v3.types import CreateResult, InputData, Meta, OutputData, OutputRequest

from cosim.core import fleet
from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.simapi import (
    DEFAULT_STEP_S,
    Attr,
    Param,
    check_time_resolution,
    combine,
    model_meta,
    parse_params,
    positive_int,
    sim_meta,
)
from simulators.grid import fleets, forming, model, nets, pgm

P_MW = Attr("p_mw", "MW", "active power; sign of the pandapower element type")
Q_MVAR = Attr("q_mvar", "Mvar", "reactive power; sign follows p_mw of the same element")
VM_PU = Attr("vm_pu", "pu", "voltage magnitude; 0 when de-energised")
VA_DEGREE = Attr("va_degree", "deg", "voltage angle; 0 when de-energised")
LOADING_PERCENT = Attr("loading_percent", "%", "branch loading against its thermal limit")
PL_MW = Attr("pl_mw", "MW", "branch active power losses")
CLOSED = Attr("closed", "-", "switch state, input and output (True = closed)")
IN_SERVICE = Attr("in_service", "-", "element in service, input and output")
CONVERGED = Attr("converged", "-", "the power flow of this step converged")
ISLANDED = Attr("islanded", "-", "a grid-forming unit holds an island this step")
ISLANDED_BUS = Attr("islanded", "-", "the bus is in an island a grid-forming unit holds")
P_UNSERVED_MW = Attr("p_unserved_mw", "MW", "demand of a load that is off or de-energised")
P_SLACK_MW = Attr(
    "p_slack_mw",
    "MW",
    "power a grid-forming unit gives as its island's slack beyond its own, element's sign; "
    "NaN when it holds no island. Feed it back one step late: the unit books it then",
)
VM_SOURCE_PU = Attr("vm_pu", "pu", "voltage of the upstream source; 0 when out of service")
F_HZ_BUS = Attr("f_hz", "Hz", "frequency of the bus's island (droop); 0 when de-energised")
F_HZ_GRID = Attr("f_hz", "Hz", "frequency of the energised island farthest from nominal")
TRIPPED = Attr("tripped", "-", "the grid-forming unit tripped this step: its island needed more")
F_SET_HZ = Attr("f_set_hz", "Hz", "input: no-load frequency of a grid-forming unit's droop")
P_AVAILABLE_CHARGE_MW = Attr(
    "p_available_charge_mw", "MW", "input: the most a grid-forming storage can charge (> 0)"
)
P_AVAILABLE_DISCHARGE_MW = Attr(
    "p_available_discharge_mw", "MW", "input: the most a grid-forming storage can discharge"
)
P_AVAILABLE_MW = Attr("p_available_mw", "MW", "input: the most a grid-forming sgen can inject")
P_MIN_MW = Attr("p_min_mw", "MW", "input: the least a grid-forming sgen can inject")

# entity type -> (pandapower element, exchanged attributes); inputs are the subset in INPUTS
ENTITY_TYPES: dict[str, tuple[str, tuple[Attr, ...]]] = {
    "Bus": ("bus", (VM_PU, VA_DEGREE, ISLANDED_BUS, F_HZ_BUS, IN_SERVICE)),
    "Line": ("line", (LOADING_PERCENT, PL_MW, IN_SERVICE)),
    "Trafo": ("trafo", (LOADING_PERCENT, PL_MW, IN_SERVICE)),
    "Switch": ("switch", (CLOSED,)),
    "Load": ("load", (P_MW, Q_MVAR, P_UNSERVED_MW, IN_SERVICE)),
    "Sgen": (
        "sgen",
        (P_MW, Q_MVAR, P_SLACK_MW, TRIPPED, P_AVAILABLE_MW, P_MIN_MW, F_SET_HZ, IN_SERVICE),
    ),
    "Storage": (
        "storage",
        (
            P_MW,
            Q_MVAR,
            P_SLACK_MW,
            TRIPPED,
            P_AVAILABLE_CHARGE_MW,
            P_AVAILABLE_DISCHARGE_MW,
            F_SET_HZ,
            IN_SERVICE,
        ),
    ),
    "Gen": ("gen", (P_MW, Q_MVAR, IN_SERVICE)),
    "ExtGrid": ("ext_grid", (P_MW, Q_MVAR, VM_SOURCE_PU, IN_SERVICE)),
}
TYPE_OF_ELEMENT = {element: etype for etype, (element, _) in ENTITY_TYPES.items()}
INPUTS: dict[str, frozenset[str]] = {
    "load": frozenset({"p_mw", "q_mvar", "in_service"}),
    "sgen": frozenset({"p_mw", "q_mvar", "in_service", *model.LIMIT_COLUMNS["sgen"]}),
    "storage": frozenset({"p_mw", "q_mvar", "in_service", *model.LIMIT_COLUMNS["storage"]}),
    "gen": frozenset({"p_mw", "in_service"}),
    "switch": frozenset({"closed"}),
}
POWER_INPUTS = frozenset({"p_mw", "q_mvar"})  # summed over sources; a state has one source
LIMIT_INPUTS = frozenset(c for columns in model.LIMIT_COLUMNS.values() for c in columns)
STATE_INPUTS = frozenset({"in_service"})  # settable on every other element
CREATABLE = ("Load", "Sgen", "Storage")
GRID_PARAM = Param(
    "grid", "str", "-", None, "pandapower.networks name, SimBench code or .json file", True
)
ENGINES: dict[str, type[model.GridModel]] = {
    "pandapower": model.GridModel,
    "power-grid-model": pgm.PgmGridModel,
}
"""Power-flow engines by name; pandapower is the default and the reference."""
ENGINE_PARAM = Param(
    "engine",
    "str",
    "-",
    "pandapower",
    "power-flow engine: 'pandapower' or 'power-grid-model' (faster; no gen, islands, relays)",
)
ELEMENT_PARAMS = (
    Param("bus", "int", "-", None, "index of the bus the new element connects to", True),
    Param("p_mw", "float", "MW", 0.0, "active power until an input arrives; element's sign"),
    Param("q_mvar", "float", "Mvar", 0.0, "reactive power until an input arrives"),
    Param("name", "str | None", "-", None, "the element's name in the net"),
    Param("grid_forming", "bool", "-", False, "the unit behind it may hold an island as slack"),
    Param("sn_mva", "float | None", "MVA", None, "a grid-forming unit's apparent power rating"),
    Param(
        "droop_frac",
        "float",
        "-",
        forming.DEFAULT_DROOP_FRAC,
        "a grid-forming unit's P-f droop: frequency change at rated power, per unit of 50 Hz",
    ),
)
ELEMENT_DEFAULTS: dict[str, Any] = {p.name: p.default for p in ELEMENT_PARAMS}
FLEETS_PARAM = Param(
    "fleets", "bool", "-", False, "children: one fleet entity per element table, not per element"
)
FLEET_PARAMS = (
    Param(
        "buses", "list[int]", "-", None, "indices of the buses the new elements connect to", True
    ),
    Param("names", "list[str] | None", "-", None, "the elements' names in the net"),
    Param("n_units", "int | None", "-", None, "number of elements; the length of buses"),
    *(p for p in ELEMENT_PARAMS if p.name not in ("bus", "name")),
)
FLEET_DEFAULTS: dict[str, Any] = {p.name: p.default for p in FLEET_PARAMS}
ON_DIVERGE = ("stop", "continue")
GRID_EID = "grid"


META: Meta = sim_meta(  # type: ignore[assignment]
    {
        "Grid": model_meta(
            [CONVERGED, ISLANDED, F_HZ_GRID], params=[GRID_PARAM, ENGINE_PARAM, FLEETS_PARAM]
        ),
        **{
            etype: model_meta(
                attrs,
                params=ELEMENT_PARAMS if etype in CREATABLE else (),
                public=etype in CREATABLE,
                inputs=[
                    a for a in attrs if a.name in INPUTS.get(ENTITY_TYPES[etype][0], STATE_INPUTS)
                ],
                outputs=attrs,  # inputs are outputs too: the element's state and result power
            )
            for etype, (_, attrs) in ENTITY_TYPES.items()
        },
        **{
            etype + fleet.FLEET: model_meta(
                attrs,
                params=FLEET_PARAMS if etype in CREATABLE else (),
                public=etype in CREATABLE,
                inputs=[
                    a for a in attrs if a.name in INPUTS.get(ENTITY_TYPES[etype][0], STATE_INPUTS)
                ],
                outputs=attrs,
            )
            for etype, (_, attrs) in ENTITY_TYPES.items()
        },
    }
)
META["extra_methods"] = ["add_relay", "route"]


def entity_id(element: str, index: int) -> str:
    """The entity id of a pandapower element: ``<element>_<index>``."""
    return f"{element}_{index}"


class GridSim(mosaik_api_v3.Simulator):
    """The pandapower grid as a mosaik simulator: one AC power flow per step."""

    def __init__(self) -> None:
        super().__init__(META)
        self.grid: model.GridModel | None = None
        self.step_s = 0
        self.on_diverge = "stop"
        # eid -> (element, pandapower index, row position in net[element])
        self._where: dict[str, tuple[str, int, int]] = {}
        self._results: dict[tuple[str, str], list[Any]] = {}  # this step's, by row position
        self._converged = True
        self._fleets = fleets.GridFleets(INPUTS, STATE_INPUTS, POWER_INPUTS)

    def init(self, sid: str, time_resolution: float = 1.0, **sim_params: Any) -> Meta:
        """Sim params: ``step_s`` [s] (900), ``on_diverge`` (``stop`` or ``continue``), ``start``
        (the scenario's start; the grid does not depend on it)."""
        params = parse_params(
            sim_params, {"step_s": DEFAULT_STEP_S, "on_diverge": "stop", "start": None}, "grid sim"
        )
        step_s, on_diverge = params["step_s"], params["on_diverge"]
        check_time_resolution(time_resolution)
        step_s = positive_int("step_s", step_s)
        if on_diverge not in ON_DIVERGE:
            raise unknown("on_diverge", on_diverge, ON_DIVERGE)
        self.step_s, self.on_diverge = step_s, on_diverge
        return self.meta

    def add_relay(self, switch: str) -> None:
        """Give the switch entity ``switch`` (``"switch_8"`` or a full id) a loss-of-mains
        relay (see ``GridModel.add_relay``); call before the run."""
        if self.grid is None:
            raise ConfigError("add_relay before the Grid entity: no grid loaded yet")
        eid = switch.rsplit(".", 1)[-1]
        if eid in self._where and self._where[eid][0] == "switch":
            self.grid.add_relay(self._where[eid][1])
        elif (idx := self._fleets.unit_index(eid, "switch", self.grid.net)) is not None:
            self.grid.add_relay(idx)
        else:
            raise ConfigError(f"add_relay: {switch!r} is not a switch entity of this grid")

    def route(self, eid: str, src: str, positions: list[int]) -> None:
        """Unit ``k`` of fleet ``eid`` takes position ``positions[k]`` of the arrays that
        ``src`` (full id) sends, ``-1`` nothing; call before the run."""
        self._fleets.route(eid, src, positions)

    def create(self, num: int, model: str, **model_params: Any) -> list[CreateResult]:
        if model == "Grid":
            defaults = {"grid": None, "engine": ENGINE_PARAM.default, "fleets": False}
            params = parse_params(model_params, defaults, "Grid")
            return [self._create_grid(num, params["grid"], params["engine"], params["fleets"])]
        if self.grid is None:
            raise ConfigError(f"create {model} after the Grid entity: no grid loaded yet")
        if model.endswith(fleet.FLEET) and model[: -len(fleet.FLEET)] in CREATABLE:
            return [self._create_fleet(model, model_params) for _ in range(num)]
        element = ENTITY_TYPES[model][0]
        params = parse_params(model_params, ELEMENT_DEFAULTS, model)
        return [self._create_element(element, **params) for _ in range(num)]

    def _create_grid(self, num: int, grid: str, engine: str, fleets: bool = False) -> CreateResult:
        if num != 1 or self.grid is not None:
            raise ConfigError(f"num={num!r}: one Grid entity per grid simulator")
        if not isinstance(fleets, bool):
            raise ConfigError(f"Grid param fleets={fleets!r} must be True or False")
        if engine not in ENGINES:
            raise unknown("engine", engine, tuple(ENGINES))
        self.grid = ENGINES[engine](nets.load_net(grid))
        self.grid.dt_s = float(self.step_s)
        if fleets:
            return {"eid": GRID_EID, "type": "Grid", "rel": [], "children": self._table_fleets()}
        children = []
        for element in model.ELEMENTS:
            table = self.grid.net[element]
            names = table["name"] if "name" in table else [None] * len(table)
            for position, (idx, name) in enumerate(zip(table.index, names, strict=True)):
                children.append(self._entity(element, int(idx), position, name))
        return {"eid": GRID_EID, "type": "Grid", "rel": [], "children": children}

    def _table_fleets(self) -> list[CreateResult]:
        """One fleet entity per element table that has rows, over all its rows."""
        assert self.grid is not None
        children: list[CreateResult] = []
        for element in model.ELEMENTS:
            rows = slice(0, len(self.grid.net[element]))
            if rows.stop:
                children.append(self._fleet_entity(element, element, rows))
        return children

    def _create_fleet(self, model_name: str, model_params: dict[str, Any]) -> CreateResult:
        """A ``<Type>Fleet``: its elements created as ``<Type>`` creates them one by one."""
        assert self.grid is not None
        element = ENTITY_TYPES[model_name[: -len(fleet.FLEET)]][0]
        params = parse_params(model_params, FLEET_DEFAULTS, model_name)
        if params["names"] is None:
            params.pop("names")
        n, shared, per_unit = fleet.split_params(params, model_name)
        for key in ("buses", "names"):
            if key in shared:
                none = " or None" if key == "names" else ""
                raise ConfigError(f"{model_name} param {key}={shared[key]!r} must be a list{none}")
        first = len(self.grid.net[element])
        if np.any(per_unit.get("grid_forming", shared["grid_forming"])):  # each holds islands
            for j in range(n):
                unit = {**shared, **{k: v[j] for k, v in per_unit.items()}}
                unit["bus"], unit["name"] = unit.pop("buses"), unit.pop("names", None)
                self._add_element(element, **unit)
        else:  # one pandapower call for all: as one by one, without its per-call cost
            self._add_elements(element, n, shared, per_unit)
        rows = slice(first, len(self.grid.net[element]))
        return self._fleet_entity(self._fleets.next_eid(element), element, rows)

    def _add_elements(
        self, element: str, n: int, shared: dict[str, Any], per_unit: dict[str, list[Any]]
    ) -> None:
        """Add ``n`` non-forming elements at once: each param shared or one per element."""
        assert self.grid is not None

        def column(name: str) -> np.ndarray:  # None: no value (NaN)
            value = per_unit.get(name, shared.get(name))
            values = value if isinstance(value, list) else [value] * n
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

        droop = column("droop_frac")
        if (bad := ~((droop > 0) & (droop <= 1))).any():
            raise ConfigError(f"droop_frac={droop[bad][0]!r} must be in (0, 1]")
        values: dict[str, Any] = {"p_mw": column("p_mw"), "q_mvar": column("q_mvar")}
        values["name"] = per_unit.get("names", [None] * n)
        if not np.isnan(sn_mva := column("sn_mva")).all():
            values["sn_mva"] = sn_mva
        self.grid.add_elements(element, np.asarray(per_unit["buses"], dtype=np.int64), **values)

    def _fleet_entity(self, eid: str, element: str, rows: slice) -> CreateResult:
        assert self.grid is not None
        self._fleets.add(eid, element, rows)
        info = fleets.table_info(self.grid.net, element, rows)
        return {
            "eid": eid,
            "type": TYPE_OF_ELEMENT[element] + fleet.FLEET,
            "rel": [],
            "extra_info": info,
        }

    def _create_element(self, element: str, **params: Any) -> CreateResult:
        idx, position = self._add_element(element, **params)
        return self._entity(element, idx, position, params.get("name"))

    def _add_element(
        self,
        element: str,
        bus: int,
        p_mw: float = 0.0,
        q_mvar: float = 0.0,
        name: str | None = None,
        grid_forming: bool = False,
        sn_mva: float | None = None,
        droop_frac: float = forming.DEFAULT_DROOP_FRAC,
    ) -> tuple[int, int]:
        """Add an element to the net: its pandapower index and row position."""
        assert self.grid is not None
        rating = {} if sn_mva is None else {"sn_mva": float(sn_mva)}
        idx = self.grid.add_element(
            element,
            bus,
            grid_forming=bool(grid_forming),
            droop_frac=float(droop_frac),
            p_mw=p_mw,
            q_mvar=q_mvar,
            name=name,
            **rating,
        )
        position = int(self.grid.net[element].index.get_loc(idx))  # appended: others stay
        return idx, position

    def _entity(self, element: str, idx: int, position: int, name: object) -> CreateResult:
        eid = entity_id(element, idx)
        self._where[eid] = (element, idx, position)
        info: dict[str, Any] = {
            "name": None if name is None or name != name else str(name),
            "index": idx,
        }
        assert self.grid is not None
        table = self.grid.net[element]
        row = table.loc[idx]
        if element == "switch":
            info.update(bus=int(row["bus"]), element=int(row["element"]), et=str(row["et"]))
        elif "bus" in table.columns:  # the bus an element hangs on
            info["bus"] = int(row["bus"])
        if element == "trafo":
            info.update(
                hv_bus=int(row["hv_bus"]),
                lv_bus=int(row["lv_bus"]),
                shift_degree=float(row["shift_degree"]),
            )
        if element in ("load", "sgen", "storage"):
            info["p_rated_mw"] = float(row["p_mw"])  # the net's own value, before any input
        return {"eid": eid, "type": TYPE_OF_ELEMENT[element], "rel": [], "extra_info": info}

    def step(self, time: int, inputs: InputData, max_advance: int) -> int:
        assert self.grid is not None
        if self._fleets.element_of:
            inputs, of_fleets = self._fleets.split(inputs)
            self._apply(inputs, self._fleets.writes(of_fleets, self.grid.net))
        else:
            self._apply(inputs)
        self._converged = self.grid.solve()
        if not self._converged and self.on_diverge == "stop":
            raise SimulationError(
                f"power flow did not converge at t_s={time}; set on_diverge='continue' to "
                "record the step as converged=False and go on"
            )
        self._results.clear()
        self._fleets.clear()
        return time + self.step_s

    def _apply(self, inputs: InputData, of_fleets: fleets.Writes | None = None) -> None:
        """Write this step's inputs into the net, grouped per (element, column): one
        ``set_values`` call each, with what the fleets' inputs set (``of_fleets``)."""
        assert self.grid is not None
        grouped: dict[tuple[str, str], tuple[list[int], list[float]]] = {}  # (indices, values)
        for eid, attrs in inputs.items():
            element, idx, _ = self._where[eid]
            allowed = INPUTS.get(element, STATE_INPUTS)
            for attr, sources in attrs.items():
                if attr not in allowed:
                    raise ConfigError(
                        f"input {attr!r} of {eid!r} is not settable; settable for {element}: "
                        f"{sorted(allowed)}"
                    )
                power = attr in POWER_INPUTS
                number = power or attr in LIMIT_INPUTS
                if len(sources) == 1:  # the common case: what combine gives, without the call
                    (value,) = sources.values()
                else:
                    value = combine(sources, "sum" if power else "one", eid, attr)
                if value is None:
                    continue
                if (group := grouped.get((element, attr))) is None:
                    group = grouped[element, attr] = ([], [])
                group[0].append(idx)
                group[1].append(float(value) if number else bool(value))
        writes = dict(of_fleets or {})
        for key, (indices, values) in grouped.items():
            at, to = np.array(indices, dtype=np.int64), np.array(values, dtype=np.float64)
            if key in writes:
                at, to = np.r_[writes[key][0], at], np.r_[writes[key][1], to]
            writes[key] = (at, to)
        for (element, column), (at, to) in writes.items():
            self.grid.set_values(element, column, at, to)

    def get_data(self, outputs: OutputRequest) -> OutputData:
        assert self.grid is not None
        data: OutputData = {}
        if self._fleets.element_of:
            of_fleets = {e: a for e, a in outputs.items() if e in self._fleets.element_of}
            data.update(self._fleets.output_data(of_fleets, self.grid))
            outputs = {e: a for e, a in outputs.items() if e not in of_fleets}
        results = self._results
        for eid, attrs in outputs.items():
            if eid == GRID_EID:
                state = {
                    "converged": self._converged,
                    "islanded": self.grid.islanded,
                    "f_hz": self.grid.f_hz,
                }
                data[eid] = {attr: state[attr] for attr in attrs}
                continue
            element, _, position = self._where[eid]
            values = {}
            for attr in attrs:
                if (column := results.get((element, attr))) is None:  # once per step
                    column = self.grid.result(element, attr).tolist()  # plain Python: JSON-safe
                    results[element, attr] = column
                values[attr] = column[position]
            data[eid] = values
        return data
