"""The grid's AC power flow solved by power-grid-model: the optional faster engine.

Pure and mosaik-free; the same contract and signs as :class:`simulators.grid.model.GridModel`
(load and storage ``p_mw > 0`` consume, sgen ``p_mw > 0`` injects, ext_grid ``p_mw > 0``
imports from the upstream grid) [MW, Mvar, pu, degree]. pandapower stays the reference.

How: after every topology change (a new element, ``closed`` or ``in_service`` changed) the
net goes through one full pandapower power flow, as in ``GridModel``, and a
``power_grid_model.PowerGridModel`` is built from pandapower's own internal model of it (the
in-service, energised part, bus-bus switches fused): one ``node`` per bus (``u_rated`` its base
voltage), one ``generic_branch`` per line or transformer with pandapower's per-unit series
impedance, charging admittance, off-nominal ratio and phase shift (the same pi model as
pandapower's ``makeYbus``: line ``parallel``/``df``/``c``/``g``, transformer taps, ``shift``
and the ``"t"`` model, all as pandapower computes them), one ``source`` per ext_grid and one
``sym_load`` per bus for the sum of its loads, storages and sgens. Each step updates only those
sums (``PowerGridModel.update``) and runs power-grid-model's Newton-Raphson; every result is
taken from its output. So the two engines solve the same admittance matrix, and differ only by
the solvers' stop criteria and the ext_grid, which power-grid-model models as a voltage source
behind ``SOURCE_SK_VA`` (pandapower: an ideal slack).

Refused at build with a ``ConfigError`` (use ``engine='pandapower'``): gen and every element
table other than bus, line, trafo, switch, load, sgen, storage, ext_grid (power-grid-model has no
voltage-controlled bus, no three-winding transformer element); voltage-dependent (ZIP) loads;
grid-forming units and loss-of-mains relays (islands held by a unit). Islands without an
ext_grid are de-energised exactly as in ``GridModel``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pandapower.auxiliary import pandapowerNet
from pandapower.pypower.idx_brch import (
    BR_B,
    BR_B_ASYM,
    BR_G,
    BR_G_ASYM,
    BR_R,
    BR_R_ASYM,
    BR_X,
    BR_X_ASYM,
    F_BUS,
    SHIFT,
    T_BUS,
    TAP,
)
from pandapower.pypower.idx_bus import BASE_KV, BS, GS, VA
from pandapower.pypower.idx_gen import GEN_BUS, VG
from power_grid_model import (
    CalculationMethod,
    ComponentAttributeFilterOptions,
    ComponentType,
    DatasetType,
    LoadGenType,
    PowerGridModel,
    initialize_array,
)
from power_grid_model.errors import PowerGridError

from cosim.core.errors import ConfigError, SimulationError
from simulators.grid import forming
from simulators.grid.model import INJECTIONS, GridModel

SUPPORTED: tuple[str, ...] = ("bus", "line", "trafo", "switch", *INJECTIONS, "ext_grid")
"""pandapower element tables this engine converts; rows in any other are refused."""
IGNORED: tuple[str, ...] = ("controller", "measurement")
"""Tables with an ``in_service`` column that hold no element of the power flow."""
ERROR_TOLERANCE_PU = 1e-10
"""power-grid-model's Newton-Raphson stops when no bus voltage moves more than this [pu]."""
MAX_ITERATIONS = 20
SOURCE_SK_VA = 1e40
"""Short-circuit power of the ext_grid's source [VA]: its internal impedance, 1e-34 pu on
1 MVA, moves the slack voltage by ~1e-34 pu per MVA drawn, i.e. an ideal slack in double
precision (power-grid-model's default 1e10 VA would move it by 1e-4 pu per MVA)."""
SIGN = {"load": 1.0, "storage": 1.0, "sgen": -1.0}
"""Consumption sign of each injection element (pandapower's signs)."""
USE_PANDAPOWER = "use engine='pandapower'"
_MEGA = 1e6


class PgmGridModel(GridModel):
    """A pandapower net solved by power-grid-model; the interface of :class:`GridModel`.

    Parameters
    ----------
    net
        Taken over, as by ``GridModel``. ConfigError for what the engine cannot represent.
    """

    _pgm: PowerGridModel
    _out: dict[Any, Any]  # component -> attribute -> array (columnar output)

    def __init__(self, net: pandapowerNet) -> None:
        check_net(net)
        super().__init__(net)

    def add_element(
        self,
        element: str,
        bus: int,
        grid_forming: bool = False,
        droop_frac: float = forming.DEFAULT_DROOP_FRAC,
        **values: Any,
    ) -> int:
        """As ``GridModel.add_element``; ``grid_forming=True`` and ZIP loads are refused."""
        if grid_forming:
            raise ConfigError(
                f"grid_forming=True ({element} at bus {bus}): the power-grid-model engine "
                f"holds no islands; {USE_PANDAPOWER}"
            )
        zip_columns = [k for k in values if k.startswith(("const_z", "const_i")) and values[k]]
        if zip_columns:
            raise ConfigError(f"{element} {zip_columns}: voltage-dependent; {USE_PANDAPOWER}")
        return super().add_element(element, bus, droop_frac=droop_frac, **values)

    def add_relay(self, switch: int) -> None:
        raise ConfigError(
            f"add_relay(switch={switch!r}): the power-grid-model engine has no loss-of-mains "
            f"relays; {USE_PANDAPOWER}"
        )

    # --- the solver ----------------------------------------------------------------------

    def _full_solve(self) -> bool:
        """pandapower's full power flow builds its internal model; rebuild ours from it."""
        if not super()._full_solve():
            return False
        self._build()
        return self._fast_solve()

    def _fast_solve(self) -> bool:
        """This step's bus injections into the model, then power-grid-model's Newton-Raphson."""
        p_w, q_var = self._bus_injections()
        update = initialize_array(DatasetType.update, ComponentType.sym_load, len(p_w))
        update["id"] = self._load_ids
        update["p_specified"], update["q_specified"] = p_w, q_var
        self._pgm.update(update_data={ComponentType.sym_load: update})
        try:
            self._out = self._pgm.calculate_power_flow(
                symmetric=True,
                error_tolerance=ERROR_TOLERANCE_PU,
                max_iterations=MAX_ITERATIONS,
                calculation_method=CalculationMethod.newton_raphson,
                output_component_types=_OUTPUTS,
            )
        except PowerGridError:  # diverged (IterationDiverge) or singular: converged=False
            return False
        return True

    def _bus_injections(self) -> tuple[np.ndarray, np.ndarray]:
        """Consumption of every bus of the model from its loads, storages and sgens [W, var]."""
        net, n_bus = self._net, len(self._load_ids)
        p_w, q_var = np.zeros(n_bus), np.zeros(n_bus)
        for element, (rows, on) in self._at_bus.items():
            table = net[element]
            scale = SIGN[element] * _MEGA * table["scaling"].to_numpy()[on]
            p_w += np.bincount(rows, table["p_mw"].to_numpy()[on] * scale, n_bus)
            q_var += np.bincount(rows, table["q_mvar"].to_numpy()[on] * scale, n_bus)
        return p_w, q_var

    def _build(self) -> None:
        """A new PowerGridModel from pandapower's internal (ppci) model of the net."""
        check_net(self._net)
        net, internal = self._net, self._net._ppc["internal"]
        bus, branch, gen = internal["bus"], internal["branch"], internal["gen"]
        if np.any(branch[:, [BR_R_ASYM, BR_X_ASYM]]):
            raise SimulationError("a branch with asymmetric series impedance: not convertible")
        base_mva = float(internal["baseMVA"])
        n_bus, n_branch, n_gen = len(bus), len(branch), len(gen)
        u_rated_v = bus[:, BASE_KV] * 1e3
        node = initialize_array(DatasetType.input, ComponentType.node, n_bus)
        node["id"], node["u_rated"] = np.arange(n_bus), u_rated_v
        ids = iter(range(n_bus, 2**31))
        z_base_ohm = (bus[branch[:, T_BUS].real.astype(int), BASE_KV] ** 2 / base_mva).real
        gb = initialize_array(DatasetType.input, ComponentType.generic_branch, n_branch)
        gb["id"] = [next(ids) for _ in range(n_branch)]
        gb["from_node"] = branch[:, F_BUS].real.astype(int)
        gb["to_node"] = branch[:, T_BUS].real.astype(int)
        gb["from_status"] = gb["to_status"] = 1
        gb["r1"] = branch[:, BR_R].real * z_base_ohm  # per unit of the "to" bus, as pandapower's
        gb["x1"] = branch[:, BR_X].real * z_base_ohm
        gb["g1"] = branch[:, BR_G].real / z_base_ohm
        gb["b1"] = branch[:, BR_B].real / z_base_ohm
        tap = branch[:, TAP].real
        gb["k"] = np.where(tap == 0, 1.0, tap)
        gb["theta"] = np.deg2rad(branch[:, SHIFT].real)
        source = initialize_array(DatasetType.input, ComponentType.source, n_gen)
        source["id"] = [next(ids) for _ in range(n_gen)]
        gen_bus = gen[:, GEN_BUS].real.astype(int)
        source["node"], source["status"] = gen_bus, 1
        source["u_ref"] = gen[:, VG].real
        source["u_ref_angle"] = np.deg2rad(bus[gen_bus, VA].real)  # the slack keeps its angle
        source["sk"], source["rx_ratio"] = SOURCE_SK_VA, 0.0
        load = initialize_array(DatasetType.input, ComponentType.sym_load, n_bus)
        load["id"] = self._load_ids = np.array([next(ids) for _ in range(n_bus)])
        load["node"], load["status"] = np.arange(n_bus), 1
        load["type"] = LoadGenType.const_power
        load["p_specified"] = load["q_specified"] = 0.0
        # shunts: the buses' own (none from the supported elements) and the asymmetric part of
        # a "t"-model transformer whose leakage is not split half and half (Ytt += asym / 2)
        to_bus = gb["to_node"]
        shunt_y = np.zeros(n_bus, dtype=complex)  # [S]
        shunt_y += (bus[:, GS].real + 1j * bus[:, BS].real) / bus[:, BASE_KV].real ** 2
        asym = (branch[:, BR_G_ASYM].real + 1j * branch[:, BR_B_ASYM].real) / 2 / z_base_ohm
        np.add.at(shunt_y, to_bus, asym)
        at = np.flatnonzero(shunt_y)
        shunt = initialize_array(DatasetType.input, ComponentType.shunt, len(at))
        shunt["id"] = [next(ids) for _ in range(len(at))]
        shunt["node"], shunt["status"] = at, 1
        shunt["g1"], shunt["b1"] = shunt_y[at].real, shunt_y[at].imag
        shunt["g0"], shunt["b0"] = shunt["g1"], shunt["b1"]
        self._pgm = PowerGridModel(
            {
                ComponentType.node: node,
                ComponentType.generic_branch: gb,
                ComponentType.source: source,
                ComponentType.sym_load: load,
                ComponentType.shunt: shunt,
            }
        )
        lookup = net._pd2ppc_lookups["bus"]
        self._at_bus = {}  # element -> (model bus of each energised in-service row, those rows)
        for element in INJECTIONS:
            table = net[element]
            ppc_bus = lookup[table["bus"].to_numpy(dtype=np.int64)]
            on = net._is_elements[element].astype(bool) & (ppc_bus < n_bus)
            self._at_bus[element] = (ppc_bus[on], on)

    def _extract(self, rebuilt: bool) -> None:
        """Bus, branch and slack results from power-grid-model's output, in pandapower's units."""
        if self._blackout:
            super()._extract(rebuilt)
            return
        if rebuilt:
            self._index()
        node = self._out[ComponentType.node]
        branch = self._out[ComponentType.generic_branch]
        source = self._out[ComponentType.source]
        self._vm_pu, self._va_degree = node["u_pu"], np.rad2deg(node["u_angle"])
        self._p_gen_mw, self._q_gen_mvar = source["p"] / _MEGA, source["q"] / _MEGA
        self._p_ft_mw = np.column_stack([branch["p_from"], branch["p_to"]]) / _MEGA
        self._q_ft_mvar = np.column_stack([branch["q_from"], branch["q_to"]]) / _MEGA
        self._s_ft_mva = np.column_stack([branch["s_from"], branch["s_to"]]) / _MEGA
        self._i_ft_ka = np.column_stack([branch["i_from"], branch["i_to"]]) / 1e3


_OUTPUTS: dict[ComponentType, set[str] | list[str] | ComponentAttributeFilterOptions | None] = {
    ComponentType.node: ["u_pu", "u_angle"],
    ComponentType.generic_branch: [
        "p_from",
        "q_from",
        "i_from",
        "s_from",
        "p_to",
        "q_to",
        "i_to",
        "s_to",
    ],
    ComponentType.source: ["p", "q"],
}


def check_net(net: pandapowerNet) -> None:
    """ConfigError naming the first element the power-grid-model engine cannot represent."""
    for name in list(net):
        table = net[name]
        if name.startswith(("res_", "_")) or name in SUPPORTED + IGNORED:
            continue
        if hasattr(table, "columns") and "in_service" in table.columns and len(table):
            raise ConfigError(
                f"net has {len(table)} {name} element(s): the power-grid-model engine converts "
                f"only {', '.join(SUPPORTED)}; {USE_PANDAPOWER}"
            )
    for kind in ("p", "q"):
        for model in ("z", "i"):
            column = f"const_{model}_{kind}_percent"
            if column in net.load and (bad := net.load.index[net.load[column] != 0]).size:
                raise ConfigError(
                    f"load {bad.tolist()[:5]} {column} != 0: voltage-dependent loads are not "
                    f"converted; {USE_PANDAPOWER}"
                )
