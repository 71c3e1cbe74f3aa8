"""AC power flow of a pandapower net, stepped fast: the physics behind the grid simulator.

Pure and mosaik-free. Signs are pandapower's, per element type: load and storage ``p_mw > 0``
consume, sgen and gen ``p_mw > 0`` inject, ext_grid ``p_mw > 0`` imports from the upstream
grid; Q follows P's convention of the same element. [MW, Mvar, pu, degree]

Fast path: while the topology holds, :meth:`GridModel.solve` is pandapower's recycled
Newton-Raphson (``recycle`` + ``only_v_results``, warm-started), which fills no result table;
results are computed here from the voltages with pandapower's own ``pfsoln`` and formulas, so
``net.res_*`` is *not* maintained. After a real change of ``closed`` or ``in_service``, a new
element or a failed step, the next solve runs a full ``runpp(init="auto")`` (recycling would
silently return the old results with ``converged=True``).

Islands: each full solve first finds the islands (:mod:`simulators.grid.islands`). A switch
with a loss-of-mains relay (:meth:`GridModel.add_relay`) opens in the solve in which its island
loses every external grid, so no energy crosses it from then on; it closes again by itself only
onto a dead island (see :func:`islands.loss_of_mains`). An island without an external grid is
held by its in-service grid-forming units (storage or sgen added with ``grid_forming=True``):
the first one's ``ext_grid``, at 1.0 pu and at the angle its bus had before (a slack ``gen``
cannot keep an angle), balances the island; the others give their P-f droop share
(:mod:`simulators.grid.forming`), found by re-solving until the shares hold. What a unit gives
beyond its own set power is its ``p_slack_mw``; the unit books it one step later, and during
that step the power it reports is that booking, not a new injection, so the flow counts it as 0.
Over a run the unit's energy thus equals the grid's, exactly; its SoC lags by one step while it
holds an island.

Ratings: each forming unit gives at most what it can (its ``p_available_*`` inputs, which the
unit computes for the step that books this one, and its apparent-power rating ``sn_mva``). A
unit whose share lies outside trips within the step: its island is solved again without it and,
with no forming unit left, is de-energised (collapse). A tripped unit tries a black start in
every later step: it holds its island again from the first step whose demand fits within its
limits (after the controller shed load, the PV came up, or the upstream grid came back).
Islands with no source are de-energised: their loads report ``p_unserved_mw``.

Frequency: a held island runs at its droop frequency (``f_hz`` of its buses), and its angles
drift against the upstream grid's by the slip of each step (``dt_s``); supplied buses are at
``forming.F_NOMINAL_HZ``, de-energised ones at 0.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandapower as pp
from pandapower.auxiliary import LoadflowNotConverged, pandapowerNet
from pandapower.pf.run_newton_raphson_pf import ppci_to_pfsoln
from pandapower.pypower.idx_brch import F_BUS, PF, PT, QF, QT, T_BUS
from pandapower.pypower.idx_bus import BASE_KV, VA, VM
from pandapower.pypower.idx_gen import PG, QG
from scipy.sparse.linalg import MatrixRankWarning

from cosim.core.errors import ConfigError, SimulationError, unknown
from cosim.core.synchronism import wrap_degree
from simulators.grid import forming
from simulators.grid.holders import LIMIT_COLUMNS, Holders

INJECTIONS: tuple[str, ...] = ("load", "sgen", "storage")
"""Element types :meth:`GridModel.add_element` creates."""
ELEMENTS: tuple[str, ...] = ("bus", "line", "trafo", "switch", *INJECTIONS, "gen", "ext_grid")
POWER_COLUMNS = {**dict.fromkeys(INJECTIONS, ("p_mw", "q_mvar")), "gen": ("p_mw",)}
TOPOLOGY_COLUMNS: tuple[str, ...] = ("closed", "in_service")
RESULTS: dict[str, tuple[str, ...]] = {
    "bus": ("vm_pu", "va_degree", "islanded", "f_hz"),
    "line": ("loading_percent", "p_from_mw", "q_from_mvar", "i_ka", "pl_mw"),
    "trafo": ("loading_percent", "p_hv_mw", "q_hv_mvar", "pl_mw"),
    "switch": ("closed",),
    "ext_grid": ("p_mw", "q_mvar", "vm_pu"),
    "load": ("p_mw", "q_mvar", "p_unserved_mw"),
    "sgen": ("p_mw", "q_mvar", "p_slack_mw", "tripped"),
    "storage": ("p_mw", "q_mvar", "p_slack_mw", "tripped"),
    "gen": ("p_mw", "q_mvar"),
}
FORMING: tuple[str, ...] = ("storage", "sgen")
"""Element types that can be grid-forming (an island's slack)."""

TOLERANCE_MVA: tuple[float, float] = (1e-11, 1e-8)
"""Bounds of the Newton-Raphson stop criterion (pandapower's ``tolerance_mva``). The default
1e-8 leaves up to 2e-8 pu in vm_pu (CIGRE LV), so the fast path tightens it to ``FLOOR_MARGIN``
times the mismatch's rounding floor, eps * max|Ybus| (4e-12 on 1-MV-rural, 2e-9 on 1-EHV)."""
FLOOR_MARGIN = 100.0
SQRT3 = np.sqrt(3.0)
_CREATE = {"load": pp.create_load, "sgen": pp.create_sgen, "storage": pp.create_storage}
_CREATE_MANY = {"load": pp.create_loads, "sgen": pp.create_sgens, "storage": pp.create_storages}
_DEFAULTS = {"storage": {"max_e_mwh": np.nan}}  # the battery simulator owns the energy


class GridModel:
    """One pandapower net, solved step by step, on the fast path while its topology holds.

    Parameters
    ----------
    net
        Taken over: pass a copy to keep yours, and change it only through this object. The
        first full power flow, and numba's compilation with it, runs here.

    Notes
    -----
    A power flow that does not converge is a result, not an exception: :meth:`solve` returns
    False and every flow result is NaN until the next converged step. Buses with no path to a
    slack are de-energised: they report ``vm_pu = va_degree = 0``, and their lines, loads and
    sgens 0. With no slack in service at all, the whole grid is de-energised (converged).
    """

    _rows: dict[str, tuple[np.ndarray, np.ndarray]]  # element -> (ppci row, row is energised)
    _ft_bus: np.ndarray
    _pfsoln_options: dict[str, Any]

    def __init__(self, net: pandapowerNet) -> None:
        self._net = net
        self._positions: dict[str, np.ndarray] = {}
        for element in POWER_COLUMNS:
            self._as_float(element)
        self._dirty, self._converged, self._blackout = True, False, False
        self._fast_kw: dict[str, Any] = {}
        self._holders = Holders(net)
        self.dt_s = 900.0  # step length, for the phase slip of islands [s]
        if self.solve():
            self.solve()  # one fast step too: compiles what the per-step path needs

    @property
    def net(self) -> pandapowerNet:
        """The pandapower net (inputs are current; its ``res_*`` tables are not)."""
        return self._net

    @property
    def converged(self) -> bool:
        """Whether the last :meth:`solve` converged."""
        return self._converged

    @property
    def islanded(self) -> bool:
        """A grid-forming unit holds an island in the last solve."""
        return bool(self._holders.holding) and self._converged

    @property
    def f_hz(self) -> float:
        """Frequency of the energised island farthest from nominal; 0 if none is energised [Hz]."""
        if not self._converged or self._blackout:
            return 0.0 if self._converged else np.nan
        return float(
            max(
                self._holders.f_hz,
                key=lambda f: abs(f - forming.F_NOMINAL_HZ),
                default=forming.F_NOMINAL_HZ,
            )
        )

    def add_element(
        self,
        element: str,
        bus: int,
        grid_forming: bool = False,
        droop_frac: float = forming.DEFAULT_DROOP_FRAC,
        **values: Any,
    ) -> int:
        """Create a load, sgen or storage at an existing bus; return its pandapower index.

        ``values`` are keyword arguments of ``pp.create_<element>``; ``p_mw`` defaults to 0,
        ``sn_mva`` is the apparent-power rating. A ``grid_forming`` storage or sgen holds its
        island when the island has no external grid, with P-f droop ``droop_frac`` (see the
        module docstring); until its ``LIMIT_COLUMNS`` are written it may give up to
        ``sn_mva`` each way (a storage; an sgen from 0), or anything without a rating.
        """
        if element not in _CREATE:
            raise unknown("element", element, INJECTIONS)
        if grid_forming and element not in FORMING:
            raise ConfigError(f"grid_forming=True needs a storage or sgen, not a {element}")
        if not 0 < droop_frac <= 1:
            raise ConfigError(f"droop_frac={droop_frac!r} must be in (0, 1] (0.05: 5 % droop)")
        if "sn_mva" in values and not values["sn_mva"] > 0:
            raise ConfigError(f"sn_mva={values['sn_mva']!r} must be > 0 [MVA]")
        buses = self._net.bus.index
        if not isinstance(bus, int | np.integer) or bus not in buses:
            raise ConfigError(
                f"bus={bus!r} is not a bus of this net; it has {len(buses)} buses "
                f"with indices {buses.min()}..{buses.max()}"
            )
        create = _CREATE[element]
        known = [p for p in inspect.signature(create).parameters if p not in ("net", "bus")]
        known.remove("kwargs")
        for key in values:
            if key not in known:
                raise unknown(f"{element} parameter", key, known)
        idx = int(
            create(self._net, int(bus), **{"p_mw": 0.0, **_DEFAULTS.get(element, {}), **values})
        )
        self._as_float(element)
        self._positions.pop(element, None)
        if grid_forming:
            _compile_newton(self._net)
            name = f"slack of grid-forming {element} {idx}"
            source = pp.create_ext_grid(self._net, int(bus), in_service=False, name=name)
            self._holders.add(element, idx, int(source), droop_frac)
            self._positions.pop("ext_grid", None)
        self._dirty = True
        return idx

    def add_elements(self, element: str, buses: np.ndarray, **values: Any) -> np.ndarray:
        """Create many loads, sgens or storages at once (none grid-forming), as one
        ``pp.create_<element>s`` call: as :meth:`add_element` for each, in order, at a
        fraction of the cost; ``values`` scalar or one per element. Their indices."""
        if element not in _CREATE_MANY:
            raise unknown("element", element, INJECTIONS)
        buses = np.asarray(buses, dtype=np.int64)
        if (bad := ~np.isin(buses, self._net.bus.index)).any():
            index = self._net.bus.index
            raise ConfigError(
                f"bus={int(buses[bad][0])!r} is not a bus of this net; it has {len(index)} "
                f"buses with indices {index.min()}..{index.max()}"
            )
        if "sn_mva" in values and (np.asarray(values["sn_mva"], dtype=float) <= 0).any():
            raise ConfigError(f"sn_mva={values['sn_mva']!r} must be > 0 [MVA]")
        given = {"p_mw": 0.0, **_DEFAULTS.get(element, {}), **values}
        idx = _CREATE_MANY[element](self._net, buses, **given)
        self._as_float(element)
        self._positions.pop(element, None)
        self._dirty = True
        return np.asarray(idx, dtype=np.int64)

    def add_relay(self, switch: int) -> None:
        """Give ``switch`` a loss-of-mains relay: it opens in the solve in which its island loses
        every external grid, and closes again by itself only onto a dead island (a live one
        needs a synchroniser: a ``closed`` input). A ``closed=False`` input takes it over."""
        self._holders.add_relay(switch)
        self._dirty = True

    def set_values(self, element: str, column: str, idx: np.ndarray, values: np.ndarray) -> None:
        """Write ``values`` into ``net[element][column]`` at the pandapower indices ``idx``.

        ``p_mw``/``q_mvar`` of load, sgen, storage (gen: ``p_mw``) and the ``LIMIT_COLUMNS``
        stay on the fast path; a real change of ``closed`` (switch) or ``in_service`` makes the
        next solve a full one. A switch its relay opened stays open until ``closed`` is False.
        """
        table = self._table(element)
        allowed = (
            POWER_COLUMNS.get(element, ())
            + LIMIT_COLUMNS.get(element, ())
            + tuple(c for c in TOPOLOGY_COLUMNS if c in table.columns)
        )
        if column not in allowed:
            raise unknown(f"{element} column", column, allowed)
        idx = np.asarray(idx, dtype=np.int64)
        pos = self._position(element, idx)
        values = np.broadcast_to(np.asarray(values), pos.shape)
        if element == "switch":
            values = self._holders.command(idx, values)
        if column in TOPOLOGY_COLUMNS:
            state = table[column].to_numpy(dtype=bool, copy=True)
            new = values.astype(bool)
            if (state[pos] != new).any():  # the same value again is no topology change
                state[pos] = new
                table[column] = state
                self._dirty = True
            return
        new_mw = values.astype(np.float64)
        limit = column in LIMIT_COLUMNS.get(element, ())  # a limit may be infinite
        if not (ok := ~np.isnan(new_mw) if limit else np.isfinite(new_mw)).all():
            bad = idx[~ok].tolist()
            raise SimulationError(f"{element} {column} at idx={bad} is not finite")
        column_mw = table[column].to_numpy()
        if column_mw.dtype == np.float64 and column_mw.flags.writeable:
            column_mw[pos] = new_mw  # a view into the table: ~7 us instead of ~100 us
        else:  # pandas copy-on-write: replace the column
            column_mw = column_mw.astype(np.float64)
            column_mw[pos] = new_mw
            table[column] = column_mw

    def solve(self) -> bool:
        """One AC power flow; return whether it converged (results are NaN if not).

        With grid-forming units: re-solved until their droop shares hold, and again without
        any unit whose share lies outside its limits (it trips; see the module docstring)."""
        holders = self._holders
        holders.zero_bookings()
        own_mw = holders.own_power()
        holders.tripped = np.zeros(len(holders.units), dtype=bool)  # this step's trips
        for _ in range(len(holders.units) + 1):
            holders.restore_own(own_mw)
            if not self._flow():
                return self._fail()
            over = holders.hold(own_mw, self._sources, self._resolve)
            if not over.any():
                break
            holders.tripped |= over
            self._dirty = True  # solve again without the tripped units
        self._dirty |= bool(holders.tripped.any())  # they try a black start next step
        holders.slip(self.dt_s)
        self._converged = True
        holders.close_step(own_mw)
        return True

    def _flow(self) -> bool:
        """One power flow: full after a change, else recycled; results extracted."""
        rebuilt = self._dirty
        if rebuilt:
            if self._holders.units or self._holders.relays:
                self._holders.assign(self._bus_angles())
            self._blackout = not self._has_slack()
            if not self._blackout and not self._full_solve():
                return False
            self._dirty = False
        elif not self._blackout and not self._fast_solve():
            return False
        self._extract(rebuilt)
        return True

    def _fast_solve(self) -> bool:
        with _quiet_divergence():  # recycled: runs with net._options of the full call
            pp.runpp(self._net, **self._fast_kw)
        return bool(self._net._ppc["success"])

    def _resolve(self) -> None:
        """Solve again on the fast path (droop shares changed) and extract the results."""
        if not self._fast_solve():
            raise SimulationError("droop sharing: the island's power flow diverged")
        self._extract(False)

    def _sources(self) -> tuple[np.ndarray, np.ndarray]:
        """P and Q of every ext_grid in the last flow, by row [MW, Mvar]."""
        rows = self._rows["ext_grid"]
        return _take(self._p_gen_mw, *rows), _take(self._q_gen_mvar, *rows)

    def result(self, element: str, attr: str) -> np.ndarray:
        """``attr`` of every ``element``, aligned with ``net[element].index``."""
        table = self._table(element)
        if attr in TOPOLOGY_COLUMNS and attr in table.columns:
            return table[attr].to_numpy(dtype=bool, copy=True)
        known = RESULTS[element] + (("in_service",) if "in_service" in table.columns else ())
        if attr not in known:
            raise unknown(f"{element} result", attr, known)
        if not self._converged:
            return np.full(len(table), np.nan)
        holders = self._holders
        if element == "bus" and attr == "islanded":
            return holders.bus_held_now()
        if element == "bus" and attr == "f_hz":
            return holders.bus_f_hz(self.result("bus", "vm_pu") > 0)
        if element == "bus" and attr == "va_degree":
            va = _take(self._va_degree, *self._rows["bus"])
            held = holders.bus_held_now() & self._rows["bus"][1]  # others: pandapower's angle
            return np.where(held, wrap_degree(va + holders.bus_drift()), va)
        if element == "bus":
            return _take(self._vm_pu, *self._rows["bus"])
        if attr == "tripped":
            units = np.flatnonzero(holders.tripped).tolist()
            return holders.per_element(element, np.ones(len(holders.units), bool), units, False)
        if element == "ext_grid" and attr == "vm_pu":  # the upstream voltage, 0 when it is gone
            return np.where(self._rows[element][1], table["vm_pu"].to_numpy(dtype=float), 0.0)
        if element in ("ext_grid", "gen"):
            return _take(
                self._p_gen_mw if attr == "p_mw" else self._q_gen_mvar, *self._rows[element]
            )
        if element in ("line", "trafo"):
            return self._branch_result(element, attr)
        return self._injection(element, attr)

    # --- internals -----------------------------------------------------------------------

    def _table(self, element: str) -> Any:
        if element not in ELEMENTS:
            raise unknown("element", element, ELEMENTS)
        return self._net[element]

    def _as_float(self, element: str) -> None:
        for column in POWER_COLUMNS[element]:
            self._net[element][column] = self._net[element][column].astype(np.float64)

    def _position(self, element: str, idx: np.ndarray) -> np.ndarray:
        """Row positions of pandapower indices (a lookup array: get_indexer costs ~70 us)."""
        if (lookup := self._positions.get(element)) is None:
            index = self._net[element].index.to_numpy(dtype=np.int64)
            lookup = self._positions[element] = np.full(index.max(initial=-1) + 2, -1)
            lookup[index] = np.arange(len(index))
        pos = lookup[np.where((idx >= 0) & (idx < len(lookup)), idx, -1)]  # [-1] is -1
        if (pos < 0).any():
            raise ConfigError(
                f"{element} idx={idx[pos < 0].tolist()} not in net.{element}; it "
                f"has {len(self._net[element])} rows"
            )
        return pos

    def _fail(self) -> bool:
        self._dirty, self._converged = True, False  # the recycled start point is spoiled
        self._holders.booking = []  # no slack power was reported: nothing to book
        return False

    def _bus_angles(self) -> dict[int, float]:
        """va_degree of every energised bus in the last converged solve."""
        if not self._converged or not hasattr(self, "_rows"):
            return {}
        va, vm = self.result("bus", "va_degree"), self.result("bus", "vm_pu")
        index = self._net.bus.index.to_numpy()
        return {int(b): float(a) for b, a, m in zip(index, va, vm, strict=True) if m > 0}

    def _has_slack(self) -> bool:
        net = self._net
        slack = net.ext_grid.loc[net.ext_grid.in_service, "bus"].to_numpy()
        if "slack" in net.gen:
            slack = np.r_[slack, net.gen.loc[net.gen.in_service & net.gen.slack, "bus"]]
        return bool(np.isin(slack, net.bus.index[net.bus.in_service]).any())

    def _full_solve(self) -> bool:
        """Rebuild pandapower's internal model, solve, then tighten the stop criterion."""
        net = self._net
        gen = bool(len(net.gen))  # a gen's p_mw reaches the recycled solver only with gen=True
        recycle = {"bus_pq": True, "trafo": False, "gen": gen}
        self._fast_kw = {"recycle": recycle, "only_v_results": True}
        for polish in (True, False):  # the second round only if tightening ever fails
            net._ppc = None
            try:  # the full call must carry the fast path's keywords: later calls reuse them
                with _quiet_divergence():
                    pp.runpp(net, init="auto", **self._fast_kw)
            except LoadflowNotConverged:
                return False
            y_max_pu = float(np.abs(net._ppc["internal"]["Ybus"].data).max(initial=0.0))
            tight_mva = np.clip(FLOOR_MARGIN * np.finfo(float).eps * y_max_pu, *TOLERANCE_MVA)
            if not polish or tight_mva >= net._options["tolerance_mva"]:
                return True
            net._options["tolerance_mva"] = float(tight_mva)
            with _quiet_divergence():  # from the solution just found: 0 or 1 iteration
                pp.runpp(net, **self._fast_kw)
            if net._ppc["success"]:
                return True
        return True

    def _extract(self, rebuilt: bool) -> None:
        """Bus, branch and slack results from the solved voltages, as pandapower computes them."""
        if rebuilt:
            self._index()
        if self._blackout:  # every row is off: every result is 0
            self._vm_pu = self._va_degree = self._p_gen_mw = self._q_gen_mvar = np.zeros(0)
            self._p_ft_mw = self._q_ft_mvar = self._s_ft_mva = self._i_ft_ka = np.zeros((0, 2))
            return
        internal = self._net._ppc["internal"]
        ppci = {"bus": internal["bus"], "gen": internal["gen"], "internal": internal}
        bus, gen, branch = ppci_to_pfsoln(ppci, self._pfsoln_options)  # fills gen and branch
        self._vm_pu, self._va_degree = bus[:, VM], bus[:, VA]
        self._p_gen_mw, self._q_gen_mvar = gen[:, PG], gen[:, QG]
        self._p_ft_mw, self._q_ft_mvar = branch[:, [PF, PT]].real, branch[:, [QF, QT]].real
        self._s_ft_mva = np.sqrt(self._p_ft_mw**2 + self._q_ft_mvar**2)
        vm_ft_kv = bus[self._ft_bus, VM] * bus[self._ft_bus, BASE_KV]
        self._i_ft_ka = self._s_ft_mva / vm_ft_kv / SQRT3  # results_branch._get_branch_flows

    def _index(self) -> None:
        """Ratings, and rows of each element in the solver's arrays; per full power flow."""
        net = self._net
        self._line_i_max_ka = (net.line.max_i_ka * net.line.df * net.line.parallel).to_numpy()
        self._trafo_sn_mva = net.trafo.sn_mva.to_numpy()[:, None]
        self._trafo_vn_kv = net.trafo[["vn_hv_kv", "vn_lv_kv"]].to_numpy(dtype=np.float64)
        self._trafo_derating = (net.trafo.parallel * net.trafo.df).to_numpy()
        if self._blackout:
            off = {e: (np.zeros(len(net[e]), int), np.zeros(len(net[e]), bool)) for e in ELEMENTS}
            self._rows = off
            return
        internal, lookups = net._ppc["internal"], net._pd2ppc_lookups
        ppc_bus = lookups["bus"][net.bus.index.to_numpy()]
        on = ppc_bus < internal["bus"].shape[0]  # the ppc is sorted: energised buses first
        self._rows = {"bus": (np.where(on, ppc_bus, 0), on)}
        for element in ("line", "trafo"):
            f, t = lookups["branch"].get(element, (0, 0))
            self._rows[element] = _ppci_rows(np.arange(f, t), internal["branch_is"])
        for element in ("ext_grid", "gen"):
            in_service = net._is_elements[element]
            ppc_gen = np.zeros(len(net[element]), dtype=np.int64)
            ppc_gen[in_service] = lookups[element][net[element].index.to_numpy()[in_service]]
            rows, on = _ppci_rows(ppc_gen, internal["gen_is"])
            self._rows[element] = (rows, on & in_service)
        for element in INJECTIONS:
            on = net._is_elements[element].astype(bool)
            self._rows[element] = (np.zeros(len(on), np.int64), on)
        self._ft_bus = internal["branch"][:, [F_BUS, T_BUS]].real.astype(np.int64)
        self._pfsoln_options = {**net._options, "only_v_results": False}

    def _branch_result(self, element: str, attr: str) -> np.ndarray:
        rows, on = self._rows[element]
        if attr in ("p_from_mw", "p_hv_mw"):
            return _take(self._p_ft_mw[:, 0], rows, on)
        if attr in ("q_from_mvar", "q_hv_mvar"):
            return _take(self._q_ft_mvar[:, 0], rows, on)
        if attr == "pl_mw":  # active losses: what enters at both ends
            return _take(self._p_ft_mw.sum(axis=1), rows, on)
        i_ft_ka = np.zeros((len(rows), 2))
        i_ft_ka[on] = self._i_ft_ka[rows[on]]
        if element == "line":  # results_branch._get_line_results
            i_ka = i_ft_ka.max(axis=1)
            if attr == "i_ka":
                return i_ka
            i_max_ka = self._line_i_max_ka
            loading = np.full(len(rows), np.inf)
            np.divide(i_ka, i_max_ka, out=loading, where=i_max_ka != 0)
            return loading * 100.0
        sn_mva = self._trafo_sn_mva  # results_branch._get_trafo_results
        if self._net.get("_options", {}).get("trafo_loading") == "power":  # none: never run
            s_ft_mva = np.zeros((len(rows), 2))
            s_ft_mva[on] = self._s_ft_mva[rows[on]]
            loading = (s_ft_mva / sn_mva * 100.0).max(axis=1)
        else:  # "current", the default: currents at the trafo's rated voltages
            loading = (i_ft_ka * self._trafo_vn_kv * SQRT3 / sn_mva * 100.0).max(axis=1)
        return loading / self._trafo_derating

    def _injection(self, element: str, attr: str) -> np.ndarray:
        """Power actually drawn (load, storage) or injected (sgen): 0 if off or de-energised;
        a grid-forming unit's includes what it gives as its island's slack."""
        table, on = self._net[element], self._rows[element][1]
        if attr == "p_unserved_mw":  # demand of loads that are off or de-energised
            demand = table["p_mw"].to_numpy() * table["scaling"].to_numpy()
            return np.where(on, 0.0, np.maximum(demand, 0.0))
        holders = self._holders
        if attr == "p_slack_mw":
            return holders.p_slack(element)
        column = "p_mw" if attr == "p_mw" else "q_mvar"
        base = table[column].to_numpy() * table["scaling"].to_numpy() * on
        if holders.holding and element in FORMING:  # the reference units' source
            base = base + holders.slack_power(element, column, self._sources())
        if element != "load" or not self._net.get("_options", {}).get("voltage_depend_loads"):
            return base
        kind = column[0]  # results_bus.write_voltage_dependend_load_results
        z = table[f"const_z_{kind}_percent"].to_numpy() / 100.0
        i = table[f"const_i_{kind}_percent"].to_numpy() / 100.0
        bus_pos = self._position("bus", table["bus"].to_numpy(dtype=np.int64))
        vm_pu = _take(self._vm_pu, self._rows["bus"][0][bus_pos], self._rows["bus"][1][bus_pos])
        return base * (1.0 - z - i + i * vm_pu + z * vm_pu**2)


_NEWTON_COMPILED = False


def _compile_newton(net: pandapowerNet) -> None:
    """Compile pandapower's own Newton-Raphson (numba, about 1.7 s) once per process, at build.

    lightsim2grid solves while the grid has one slack; an island held by a grid-forming unit
    next to a live upstream grid has two, and pandapower then falls back to its own solver,
    whose first call would otherwise compile in the middle of the run."""
    global _NEWTON_COMPILED
    if not _NEWTON_COMPILED:
        with _quiet_divergence():
            pp.runpp(copy.deepcopy(net), lightsim2grid=False)
        _NEWTON_COMPILED = True


@contextlib.contextmanager
def _quiet_divergence() -> Iterator[None]:
    """A diverging Newton-Raphson warns (singular Jacobian, NaN): here that is converged=False."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        warnings.simplefilter("ignore", MatrixRankWarning)
        yield


def _ppci_rows(ppc_rows: np.ndarray, in_ppci: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows in the ppci (in-service part) of ppc rows, and whether they are in it."""
    if len(ppc_rows) == 0:
        return ppc_rows.astype(np.int64), np.zeros(0, dtype=bool)
    on = in_ppci[ppc_rows]
    return np.where(on, (np.cumsum(in_ppci) - 1)[ppc_rows], 0), on


def _take(values: np.ndarray, rows: np.ndarray, on: np.ndarray) -> np.ndarray:
    """``values[rows]`` where ``on``, 0 elsewhere."""
    out = np.zeros(len(rows))
    out[on] = values[rows[on]]
    return out
