"""Microgrid islanding: ride through an upstream outage on a grid-forming battery.

States and what the controller does in each (decided from step t's measurements, applied from
t + step_s, as every default controller)::

    connected --(upstream voltage < vm_lost_pu)--> islanded: open the PCC switch
    islanded: shed loads (lowest priority first) while the battery cannot cover the island
              without going below its reserve; restore them (highest first) when it can,
              after each has been off for ``min_off_s``;
              trip generators when the battery cannot take their surplus, and restore them;
              secondary frequency control: move the battery's droop set point ``f_set_hz``
              by the island's deviation from nominal (and, once the upstream grid is back, by
              the phase still to close, spread over a step)
    islanded --(upstream back, |df| and |dV| across the PCC within limits, and the phase,
              slipping at df, within the angle limit at some instant of the next step)-->
              connected: close the PCC switch (a synchroniser closing at phase
              coincidence), restore every load and generator

The grid opens the PCC in the step the upstream grid is lost when the switch has a loss-of-mains
relay (``GridSim.add_relay``); this controller's opening then only confirms it. The grid makes
the grid-forming battery the island's slack by itself; this controller keeps that island
alive. If the island collapsed (the battery tripped: the island needed more than it could
give), every load in it is unserved; the controller sheds until what is left fits, and the
battery black-starts the island in the step after. It sees:

- ``upstream`` (an ``ExtGrid``) ``vm_pu``: the upstream source voltage, 0 while it is gone;
- ``island_bus`` and ``upstream_bus``: ``vm_pu``, ``va_degree`` and ``f_hz`` on both sides of
  the PCC, for synchronising (``pcc_shift_degree``: the phase shift of the transformer);
- ``battery_grid`` (the battery's grid element) ``p_mw``: what the island draws from it,
  storage sign, and ``tripped``; ``battery`` (the unit) ``soc_frac``, ``e_max_mwh`` and
  ``p_available_charge_mw``/``p_available_discharge_mw`` (its own limits: one owner per fact);
- each of ``loads`` (grid loads, highest priority first) ``p_mw`` + ``p_unserved_mw``: its
  demand whether or not it is served; each of ``generators`` (grid sgens) ``p_mw``.

The shedding estimate is persistence: the island needs next step what it needed this step;
the battery's SoC is taken after this step's island power, which it books only next step.
Efficiency losses are left out of the estimate (a few per cent of the energy). The
synchronisation limits default to IEEE 1547-2018 Table 39 for DER up to 500 kVA
(:mod:`cosim.core.synchronism`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controllers.base import Controller, Measurements, Point, SetPoints
from cosim.core.errors import ConfigError
from cosim.core.synchronism import F_NOMINAL_HZ, SyncLimits, in_sync, limits_for, wrap_degree
from cosim.core.units import SECONDS_PER_HOUR

SMALL_DER = limits_for(0.0)


@dataclass
class Islanding(Controller):
    """Island on an upstream outage, shed and restore by priority, resynchronise.

    Parameters
    ----------
    pcc_switch : str
        Full id of the switch at the point of common coupling (``"Grid-0.switch_8"``).
    upstream : str
        Full id of the external grid (its ``vm_pu`` is the upstream voltage).
    island_bus, upstream_bus : str
        Full ids of the buses either side of the PCC.
    battery, battery_grid : str
        Full ids of the grid-forming battery unit and of its grid element.
    loads : list of str
        Sheddable grid loads, highest priority first (the last is shed first).
    generators : list of str
        Grid sgens that may be tripped when the battery cannot take their surplus.
    reserve_soc_frac : float
        SoC the battery keeps for later in the outage [0..1].
    vm_lost_pu, vm_back_pu : float
        Upstream voltage below which it is gone, and above which it is back [pu].
    sync_df_hz, sync_dvm_pu, sync_dva_degree : float
        Largest frequency, voltage and angle difference across the PCC to close it [Hz, pu,
        degree]; default IEEE 1547-2018 Table 39, DER of 0-500 kVA: 0.3 Hz, 0.10 pu, 20 deg.
    pcc_shift_degree : float
        Phase shift from the upstream bus to the island bus (a Dyn5 transformer: 150) [degree].
    margin_frac : float
        Headroom kept when restoring a load, against flapping [0..1].
    min_off_s : int
        A shed load stays off at least this long before it is restored in the island, against
        switching it every step near the reserve [s]; resynchronising restores every load.
    """

    pcc_switch: str
    upstream: str
    island_bus: str
    upstream_bus: str
    battery: str
    battery_grid: str
    loads: list[str] = field(default_factory=list)
    generators: list[str] = field(default_factory=list)
    reserve_soc_frac: float = 0.2
    vm_lost_pu: float = 0.5
    vm_back_pu: float = 0.9
    sync_df_hz: float = SMALL_DER.df_hz
    sync_dvm_pu: float = SMALL_DER.dvm_pu
    sync_dva_degree: float = SMALL_DER.dva_degree
    pcc_shift_degree: float = 0.0
    margin_frac: float = 0.1
    min_off_s: int = 3600
    step_s: int = 900

    reports = ("islanded", "switching_operations", "loads_shed", "generators_tripped")

    def __post_init__(self) -> None:
        for name in ("sync_df_hz", "sync_dvm_pu", "sync_dva_degree"):
            if not (value := getattr(self, name)) > 0:
                raise ConfigError(f"{name}={value!r} must be > 0")
        if not 0.0 <= self.reserve_soc_frac < 1.0:
            raise ConfigError(f"reserve_soc_frac={self.reserve_soc_frac!r} must be in [0, 1)")
        if not 0.0 <= self.margin_frac < 1.0:
            raise ConfigError(f"margin_frac={self.margin_frac!r} must be in [0, 1)")
        if isinstance(self.min_off_s, bool) or not (
            isinstance(self.min_off_s, int) and self.min_off_s >= 0
        ):
            raise ConfigError(f"min_off_s={self.min_off_s!r} must be an int >= 0 [s]")
        if not self.vm_lost_pu < self.vm_back_pu:
            raise ConfigError(
                f"vm_lost_pu={self.vm_lost_pu!r} must be below vm_back_pu={self.vm_back_pu!r}"
            )
        self._islanded = False
        self._shed: list[str] = []  # in shedding order
        self._shed_at_s: dict[str, int] = {}  # when each shed load went off
        self._tripped: list[str] = []
        self._operations = 0
        self._f_set_hz = F_NOMINAL_HZ
        self._limits = SyncLimits(self.sync_df_hz, self.sync_dvm_pu, self.sync_dva_degree)

    def observes(self) -> list[Point]:
        points = [(self.upstream, "vm_pu"), (self.battery_grid, "p_mw")]
        points += [(self.battery_grid, "tripped")]
        points += [
            (self.battery, a)
            for a in ("soc_frac", "e_max_mwh", "p_available_charge_mw", "p_available_discharge_mw")
        ]
        points += [
            (b, a)
            for b in (self.island_bus, self.upstream_bus)
            for a in ("vm_pu", "va_degree", "f_hz")
        ]
        points += [(load, a) for load in self.loads for a in ("p_mw", "p_unserved_mw")]
        return points + [(g, "p_mw") for g in self.generators]

    def sets(self) -> dict[Point, Any]:
        points: dict[Point, Any] = {(self.pcc_switch, "closed"): True}
        points[self.battery_grid, "f_set_hz"] = F_NOMINAL_HZ
        points.update({(e, "in_service"): True for e in [*self.loads, *self.generators]})
        return points

    def decide(self, t_s: int, seen: Measurements) -> SetPoints:
        upstream_pu = seen[self.upstream]["vm_pu"] or 0.0
        out: SetPoints = {}
        if not self._islanded:
            if upstream_pu < self.vm_lost_pu:
                self._islanded = True
                self._switch(out, self.pcc_switch, "closed", False)
            return out
        back = upstream_pu >= self.vm_back_pu
        if back and self._in_sync(seen):
            self._islanded = False
            self._switch(out, self.pcc_switch, "closed", True)
            for entity in [*self._shed, *self._tripped]:
                self._switch(out, entity, "in_service", True)
            self._shed, self._tripped = [], []
            self._f_set_hz = F_NOMINAL_HZ
            out[self.battery_grid] = {**out.get(self.battery_grid, {}), "f_set_hz": F_NOMINAL_HZ}
            return out
        self._balance(t_s, seen, out)
        self._secondary_control(seen, back, out)
        return out

    def report(self) -> dict[str, Any]:
        return {
            "islanded": self._islanded,
            "switching_operations": self._operations,
            "loads_shed": len(self._shed),
            "generators_tripped": len(self._tripped),
        }

    # --- internals -----------------------------------------------------------------------

    def _in_sync(self, seen: Measurements) -> bool:
        island, upstream = seen[self.island_bus], seen[self.upstream_bus]
        if not island["vm_pu"] or not upstream["vm_pu"]:  # a dead side: nothing to match
            return not island["vm_pu"]
        return in_sync(
            island["f_hz"] - upstream["f_hz"],
            island["vm_pu"] - upstream["vm_pu"],
            self._angle_apart(seen),
            self._limits,
            self.step_s,
        )

    def _angle_apart(self, seen: Measurements) -> float:
        """Island angle minus the upstream angle seen through the PCC's transformer [deg]."""
        island, upstream = seen[self.island_bus], seen[self.upstream_bus]
        return wrap_degree(island["va_degree"] - (upstream["va_degree"] - self.pcc_shift_degree))

    def _secondary_control(self, seen: Measurements, back: bool, out: SetPoints) -> None:
        """Move the battery's no-load frequency so the island returns to nominal; with the
        upstream grid back, also steer the phase towards it over the next step."""
        f_hz = seen[self.island_bus]["f_hz"]
        if not f_hz:  # the island is dark: nothing to correct
            return
        f_set = self._f_set_hz + F_NOMINAL_HZ - f_hz
        upstream = seen[self.upstream_bus]
        if back and upstream["vm_pu"]:
            f_set -= self._angle_apart(seen) / (360.0 * self.step_s)
        self._f_set_hz = float(f_set)
        out.setdefault(self.battery_grid, {})["f_set_hz"] = self._f_set_hz

    def _balance(self, t_s: int, seen: Measurements, out: SetPoints) -> None:
        """Shed or restore one step's worth: keep the battery within power and reserve; after
        a collapse, shed until the dark island's demand fits for a black start."""
        dt_h = self.step_s / SECONDS_PER_HOUR
        demand = {load: _demand(seen[load]) for load in self.loads}
        battery = seen[self.battery]
        e_max_mwh = battery["e_max_mwh"]
        drawn_mw = -(seen[self.battery_grid]["p_mw"] or 0.0)  # > 0: the island draws
        if seen[self.battery_grid]["tripped"]:  # everything still on must be carried again
            need_mw = sum(demand[load] for load in self.loads if load not in self._shed)
        else:
            need_mw = drawn_mw
        soc = battery["soc_frac"]
        # the battery books this step's island power next step: count it already
        e_mwh = (soc if soc is not None else 0.0) * e_max_mwh - drawn_mw * dt_h
        e_above_mwh = e_mwh - self.reserve_soc_frac * e_max_mwh
        p_out_max = max(0.0, min(battery["p_available_discharge_mw"], e_above_mwh / dt_h))
        p_in_max = max(0.0, min(battery["p_available_charge_mw"], (e_max_mwh - e_mwh) / dt_h))
        for load in reversed(self.loads):  # lowest priority first
            if need_mw <= p_out_max:
                break
            if load not in self._shed and demand[load] > 0:
                self._shed.append(load)
                self._shed_at_s[load] = t_s
                self._switch(out, load, "in_service", False)
                need_mw -= demand[load]
        for gen in self.generators:
            if -need_mw <= p_in_max:
                break
            p_gen = seen[gen]["p_mw"] or 0.0
            if gen not in self._tripped and p_gen > 0:
                self._tripped.append(gen)
                self._switch(out, gen, "in_service", False)
                need_mw += p_gen
        headroom = (1.0 - self.margin_frac) * p_out_max
        while (
            self._shed
            and need_mw + demand[self._shed[-1]] <= headroom
            and t_s - self._shed_at_s[self._shed[-1]] >= self.min_off_s
        ):
            load = self._shed.pop()
            self._switch(out, load, "in_service", True)
            need_mw += demand[load]
        if self._tripped and need_mw > 0 and not out:
            gen = self._tripped.pop()  # a deficit: generation is welcome again
            self._switch(out, gen, "in_service", True)

    def _switch(self, out: SetPoints, entity: str, attr: str, value: bool) -> None:
        out.setdefault(entity, {})[attr] = value
        self._operations += 1


def _demand(load: Any) -> float:
    """A load's demand whether served or not [MW]."""
    return float((load["p_mw"] or 0.0) + (load["p_unserved_mw"] or 0.0))
