"""The grid-forming units of a net and the islands they hold: limits, droop, slip, relays.

Works on the pandapower net only; :class:`simulators.grid.model.GridModel` runs the power flows
and calls these steps around them (its module docstring states the rules). Signs: a unit's
own columns in its element's sign (storage: > 0 charges); shares and limits in injection sign.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from pandapower.auxiliary import pandapowerNet

from cosim.core.errors import ConfigError
from simulators.grid import forming, islands

LIMIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "storage": ("p_available_charge_mw", "p_available_discharge_mw", "f_set_hz"),
    "sgen": ("p_available_mw", "p_min_mw", "f_set_hz"),
}
"""What a grid-forming unit can give this step [MW, storage or sgen sign as named; > 0] and
its droop's no-load frequency [Hz]; written as inputs, kept in the element's table."""
SHARE_ITERATIONS = 20
"""Most re-solves per step to settle the droop shares of an island's forming units."""

Sources = tuple[np.ndarray, np.ndarray]  # P [MW] and Q [Mvar] of every ext_grid, by row


class Holders:
    """The grid-forming units of ``net`` (each with an ``ext_grid`` of its own that stands in
    for it as its island's slack) and the loss-of-mains relays of its switches."""

    def __init__(self, net: pandapowerNet) -> None:
        self.net = net
        self.units: list[tuple[str, int, int]] = []  # (element, index, its ext_grid index)
        self.droop: list[float] = []
        self.groups: list[list[int]] = []  # units per held island, reference first
        self.holding: list[int] = []  # units that hold an island now
        self.booking: list[int] = []  # ... that held one last step: their input is a booking
        self.bus_held = np.zeros(len(net.bus), dtype=bool)  # in an island a unit holds
        self.group_buses: list[np.ndarray] = []  # bus mask of each held island
        self.f_hz: list[float] = []  # frequency of each held island
        self.va_drift = np.zeros(len(net.bus))  # slip since the island's last rebuild [deg]
        self.extra_mw = np.zeros(0)  # per unit: given beyond its own, element sign
        self.tripped = np.zeros(0, dtype=bool)  # per unit, this step
        self.relays: list[int] = []
        self.latched: set[int] = set()  # relay switches their relay opened

    def add(self, element: str, idx: int, source: int, droop_frac: float) -> None:
        """A new forming unit; until its inputs come it may give +-``sn_mva`` (an sgen from
        0 up), or anything without a rating."""
        self.units.append((element, idx, source))
        self.droop.append(float(droop_frac))
        self.extra_mw = np.zeros(len(self.units))
        self.tripped = np.zeros(len(self.units), dtype=bool)
        table = self.net[element]
        rated = float(table.at[idx, "sn_mva"]) if "sn_mva" in table else np.nan
        p_max = rated if np.isfinite(rated) else np.inf
        for column in LIMIT_COLUMNS[element]:
            if column not in table:
                table[column] = np.nan
        table.loc[table["f_set_hz"].isna(), "f_set_hz"] = forming.F_NOMINAL_HZ
        first, second = LIMIT_COLUMNS[element][:2]
        table.loc[idx, [first, second]] = [p_max, p_max if element == "storage" else 0.0]

    def add_relay(self, switch: int) -> None:
        """A loss-of-mains relay on ``switch`` (see :func:`islands.loss_of_mains`)."""
        if switch not in self.net.switch.index:
            raise ConfigError(f"switch={switch!r} is not a switch of this net")
        if switch not in self.relays:
            self.relays.append(int(switch))

    def command(self, idx: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """The ``closed`` states to write for switch commands: a switch its relay opened stays
        open until a command opens it too (the operator takes over)."""
        closed = closed.astype(bool)
        if not self.latched:
            return closed
        self.latched -= {s for s, c in zip(idx.tolist(), closed.tolist(), strict=True) if not c}
        return np.where(np.isin(idx, list(self.latched)), False, closed)

    # --- each step --------------------------------------------------------------------------

    def zero_bookings(self) -> None:
        """The units that held an island last step now report that step's booked energy as
        their power: it does not flow again."""
        for k in self.booking:
            element, idx, _ = self.units[k]
            table = self.net[element]
            table.at[idx, "p_mw"] = table.at[idx, "q_mvar"] = 0.0

    def own_power(self) -> np.ndarray:
        """Each unit's own set power (booked units: 0), its element's column [MW]."""
        return np.array([float(self.net[e].at[i, "p_mw"]) for e, i, _ in self.units])

    def restore_own(self, own_mw: np.ndarray) -> None:
        """Undo the droop shares written into the columns of non-reference units; a unit
        tripped in this step gives nothing, not even its own set power."""
        for k in {*self.holding, *np.flatnonzero(self.tripped).tolist()}:
            element, idx, _ = self.units[k]
            table = self.net[element]
            table.at[idx, "p_mw"] = 0.0 if self.tripped[k] else own_mw[k]
            if self.tripped[k]:
                table.at[idx, "q_mvar"] = 0.0

    def close_step(self, own_mw: np.ndarray) -> None:
        """What each unit books next step: a holding unit what it gave beyond its own power;
        a tripped unit its own set power back (it reported it, but gave nothing)."""
        given_back = [k for k in np.flatnonzero(self.tripped).tolist() if own_mw[k] != 0]
        self.extra_mw[given_back] = -own_mw[given_back]
        self.booking = self.holding + given_back

    def assign(self, va_before: dict[int, float]) -> None:
        """Act the relays, then give every island without an external grid its forming units
        (those not tripped in this step), the first as its slack at the angle its bus had
        (``va_before``, bus -> degree): resynchronising stays possible."""
        net = self.net
        sources = [source for _, _, source in self.units]
        net.ext_grid.loc[sources, "in_service"] = False
        labels = islands.bus_islands(net)
        if self.relays:
            live = np.zeros(len(labels), dtype=bool)
            live[: len(self.bus_held)] = self.bus_held[: len(labels)]
            trip, reclose = islands.loss_of_mains(
                net, labels, self.relays, self.latched, sources, live
            )
            if trip or reclose:
                net.switch.loc[trip, "closed"] = False
                net.switch.loc[reclose, "closed"] = True
                self.latched = (self.latched | set(trip)) - set(reclose)
                labels = islands.bus_islands(net)
        candidates = [
            (int(net[e].at[i, "bus"]), bool(net[e].at[i, "in_service"]) and not self.tripped[k])
            for k, (e, i, _) in enumerate(self.units)
        ]
        self.groups = islands.forming_groups(net, labels, candidates, sources)
        self.holding = [k for group in self.groups for k in group]
        bus_pos = [net.bus.index.get_loc(bus) for bus, _ in candidates]
        self.group_buses = [labels == labels[bus_pos[g[0]]] for g in self.groups]
        self.bus_held = np.zeros(len(labels), dtype=bool)
        for buses in self.group_buses:
            self.bus_held |= buses
        self.va_drift = np.zeros(len(labels))
        for group in self.groups:
            source = sources[group[0]]
            bus = int(net.ext_grid.at[source, "bus"])
            net.ext_grid.loc[source, ["in_service", "vm_pu", "va_degree"]] = [
                True,
                1.0,
                va_before.get(bus, 0.0),
            ]

    def hold(
        self, own_mw: np.ndarray, sources: Callable[[], Sources], resolve: Callable[[], None]
    ) -> np.ndarray:
        """Settle the droop shares of each held island (``resolve`` runs the power flow again,
        ``sources`` gives the ext_grids' result), find its frequency, and return which units
        are outside their limits (they trip)."""
        over = np.zeros(len(self.units), dtype=bool)
        self.extra_mw = np.zeros(len(self.units))
        self.f_hz = []
        sign = np.array([-1.0 if e == "storage" else 1.0 for e, _, _ in self.units])
        for group in self.groups:
            g = np.array(group)
            weight = forming.weights_mw(self._column(g, "sn_mva"), np.array(self.droop)[g])
            f_set = self._column(g, "f_set_hz")
            for _ in range(SHARE_ITERATIONS):
                p_mw, q_mvar = self._given(g, sign, sources())
                share = forming.shares_mw(float(p_mw.sum()), weight, f_set)
                if len(g) == 1 or np.abs(share - p_mw).max() < forming.TOLERANCE_MW:
                    break
                for k, p_k in zip(g[1:], share[1:], strict=True):  # the reference balances
                    element, idx, _ = self.units[k]
                    self.net[element].at[idx, "p_mw"] = sign[k] * p_k
                resolve()
            self.extra_mw[g] = sign[g] * p_mw - own_mw[g]
            self.f_hz.append(forming.frequency_hz(float(p_mw.sum()), weight, f_set))
            p_min, p_max = self._limits(g)
            rating = self._column(g, "sn_mva")
            over[g] = forming.outside_limits(p_mw, q_mvar, p_min, p_max, rating)
        return over

    def slip(self, dt_s: float) -> None:
        """Advance each held island's phase by its slip over ``dt_s`` [s]."""
        for buses, f_hz in zip(self.group_buses, self.f_hz, strict=True):
            self.va_drift[buses] += forming.slip_degree(f_hz, dt_s)

    # --- results ----------------------------------------------------------------------------

    def p_slack(self, element: str) -> np.ndarray:
        """What each unit of ``element`` books next step, element sign; NaN: nothing."""
        return self.per_element(element, self.extra_mw, self.booking, np.nan)

    def bus_held_now(self) -> np.ndarray:
        """Buses in a held island (buses added since the last rebuild: not held)."""
        held = np.zeros(len(self.net.bus), dtype=bool)
        held[: len(self.bus_held)] = self.bus_held
        return held

    def bus_f_hz(self, energised: np.ndarray) -> np.ndarray:
        """Frequency of every bus: nominal if energised, its island's if held, else 0 [Hz]."""
        f_hz = np.where(energised, forming.F_NOMINAL_HZ, 0.0)
        for buses, f_island in zip(self.group_buses, self.f_hz, strict=True):
            f_hz[: len(buses)][buses] = f_island
        return f_hz

    def bus_drift(self) -> np.ndarray:
        """Phase each bus has slipped since its island's last rebuild [degree]."""
        drift = np.zeros(len(self.net.bus))
        drift[: len(self.va_drift)] = self.va_drift[: len(drift)]
        return drift

    def per_element(
        self, element: str, values: np.ndarray, units: list[int], other: float
    ) -> np.ndarray:
        """``values[k]`` of the ``units`` of ``element`` at their rows, ``other`` elsewhere."""
        out = np.full(len(self.net[element]), other, dtype=np.asarray(values).dtype)
        for k in units:
            e, idx, _ = self.units[k]
            if e == element:
                out[self.net[e].index.get_loc(idx)] = values[k]
        return out

    def slack_power(self, element: str, column: str, sources: Sources) -> np.ndarray:
        """What the reference units of ``element`` give through their ext_grid, in the
        element's sign (storage: > 0 charges); 0 for the rest."""
        if not self.groups:
            return np.zeros(len(self.net[element]))
        source_power = sources[0 if column == "p_mw" else 1]
        sign = -1.0 if element == "storage" else 1.0  # ext_grid > 0 injects, as sgen
        rows = self.net.ext_grid.index.get_indexer([g for _, _, g in self.units])
        return self.per_element(
            element, sign * source_power[rows], [g[0] for g in self.groups], 0.0
        )

    # --- internals --------------------------------------------------------------------------

    def _given(self, g: np.ndarray, sign: np.ndarray, sources: Sources) -> Sources:
        """P and Q each unit of a held island gives, injection sign [MW, Mvar]."""
        p_mw, q_mvar = np.zeros(len(g)), np.zeros(len(g))
        for j, k in enumerate(g):
            element, idx, source = self.units[k]
            table = self.net[element]
            scaling = sign[k] * table.at[idx, "scaling"]
            p_mw[j] = scaling * table.at[idx, "p_mw"]
            q_mvar[j] = scaling * table.at[idx, "q_mvar"]
            if j == 0:
                src = self.net.ext_grid.index.get_loc(source)
                p_mw[j] += sources[0][src]
                q_mvar[j] += sources[1][src]
        return p_mw, q_mvar

    def _column(self, g: np.ndarray, column: str) -> np.ndarray:
        return np.array(
            [float(self.net[e].at[i, column]) for e, i, _ in (self.units[k] for k in g)]
        )

    def _limits(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Least and most each unit can give this step, injection sign [MW]."""
        p_min, p_max = np.zeros(len(g)), np.zeros(len(g))
        for j, k in enumerate(g):
            element, idx, _ = self.units[k]
            at = self.net[element].at
            if element == "storage":
                p_min[j] = -at[idx, "p_available_charge_mw"]
                p_max[j] = at[idx, "p_available_discharge_mw"]
            else:
                p_min[j], p_max[j] = at[idx, "p_min_mw"], at[idx, "p_available_mw"]
        return p_min, p_max
