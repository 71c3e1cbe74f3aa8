"""Microgrid islanding: ride through an upstream outage on a grid-forming battery.

States and what the controller does in each (decided from step t's measurements, applied from
t + step_s, as every default controller)::

    connected --(upstream voltage < vm_lost_pu)--> islanded: open the PCC switch
    islanded: shed loads (lowest priority first) while the battery cannot cover the island
              without going below its reserve; restore them (highest first) when it can,
              after each has been off for ``min_off_s``;
              trip generators when the battery cannot take their surplus, and restore them
    islanded --(upstream back and |dV|, |d angle| across the PCC within limits)--> connected:
              close the PCC switch, restore every load and generator

The grid simulator makes the grid-forming battery the island's slack by itself as soon as the
island has no external grid; this controller keeps that island alive. It sees:

- ``upstream`` (an ``ExtGrid``) ``vm_pu``: the upstream source voltage, 0 while it is gone;
- ``island_bus`` and ``upstream_bus``: ``vm_pu`` and ``va_degree`` on both sides of the PCC,
  for synchronising (``pcc_shift_degree``: the phase shift of the transformer between them);
- ``battery_grid`` (the battery's grid element) ``p_mw``: what the island draws from it,
  storage sign; ``battery`` (the unit) ``soc_frac``;
- each of ``loads`` (grid loads, highest priority first) ``p_mw`` + ``p_unserved_mw``: its
  demand whether or not it is served; each of ``generators`` (grid sgens) ``p_mw``.

The shedding estimate is persistence: the island needs next step what it needed this step;
the battery's SoC is taken after this step's island power, which it books only next step.
Efficiency losses are left out of the estimate (a few per cent of the energy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controllers.base import Controller, Measurements, Point, SetPoints
from cosim.errors import ConfigError

SECONDS_PER_HOUR = 3600.0


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
    e_battery_mwh : float
        Usable capacity of the battery [MWh] (to turn SoC into energy).
    loads : list of str
        Sheddable grid loads, highest priority first (the last is shed first).
    generators : list of str
        Grid sgens that may be tripped when the battery cannot take their surplus.
    p_battery_max_mw : float
        Battery discharge and charge limit [MW].
    reserve_soc_frac : float
        SoC the battery keeps for later in the outage [0..1].
    vm_lost_pu, vm_back_pu : float
        Upstream voltage below which it is gone, and above which it is back [pu].
    sync_dvm_pu, sync_dva_degree : float
        Largest voltage and angle difference across the PCC to close it [pu, degree].
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
    e_battery_mwh: float
    loads: list[str] = field(default_factory=list)
    generators: list[str] = field(default_factory=list)
    p_battery_max_mw: float = float("inf")
    reserve_soc_frac: float = 0.2
    vm_lost_pu: float = 0.5
    vm_back_pu: float = 0.9
    sync_dvm_pu: float = 0.05
    sync_dva_degree: float = 10.0
    pcc_shift_degree: float = 0.0
    margin_frac: float = 0.1
    min_off_s: int = 3600
    step_s: int = 900

    reports = ("islanded", "switching_operations", "loads_shed", "generators_tripped")

    def __post_init__(self) -> None:
        if not self.e_battery_mwh > 0:
            raise ConfigError(f"e_battery_mwh={self.e_battery_mwh!r} must be > 0")
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

    def observes(self) -> list[Point]:
        points = [(self.upstream, "vm_pu"), (self.battery_grid, "p_mw"), (self.battery, "soc_frac")]
        points += [
            (b, a) for b in (self.island_bus, self.upstream_bus) for a in ("vm_pu", "va_degree")
        ]
        points += [(load, a) for load in self.loads for a in ("p_mw", "p_unserved_mw")]
        return points + [(g, "p_mw") for g in self.generators]

    def sets(self) -> dict[Point, Any]:
        points: dict[Point, Any] = {(self.pcc_switch, "closed"): True}
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
        if upstream_pu >= self.vm_back_pu and self._in_sync(seen):
            self._islanded = False
            self._switch(out, self.pcc_switch, "closed", True)
            for entity in [*self._shed, *self._tripped]:
                self._switch(out, entity, "in_service", True)
            self._shed, self._tripped = [], []
            return out
        self._balance(t_s, seen, out)
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
        dvm = abs(island["vm_pu"] - upstream["vm_pu"])
        dva = island["va_degree"] - (upstream["va_degree"] - self.pcc_shift_degree)
        dva = (dva + 180.0) % 360.0 - 180.0
        return dvm <= self.sync_dvm_pu and abs(dva) <= self.sync_dva_degree

    def _balance(self, t_s: int, seen: Measurements, out: SetPoints) -> None:
        """Shed or restore one step's worth: keep the battery within power and reserve."""
        dt_h = self.step_s / SECONDS_PER_HOUR
        need_mw = -(seen[self.battery_grid]["p_mw"] or 0.0)  # > 0: the island draws
        soc = seen[self.battery]["soc_frac"]
        # the battery books this step's island power next step: count it already
        e_mwh = (soc if soc is not None else 0.0) * self.e_battery_mwh - need_mw * dt_h
        e_above_mwh = e_mwh - self.reserve_soc_frac * self.e_battery_mwh
        p_out_max = max(0.0, min(self.p_battery_max_mw, e_above_mwh / dt_h))
        p_in_max = max(0.0, min(self.p_battery_max_mw, (self.e_battery_mwh - e_mwh) / dt_h))
        demand = {load: _demand(seen[load]) for load in self.loads}
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
