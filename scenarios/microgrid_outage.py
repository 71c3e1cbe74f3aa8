"""A feeder rides through an upstream outage as a microgrid on its battery.

The SimBench LV feeder keeps its houses (loads) and rooftop PV (sgens) on their SimBench
profiles; a community battery at the feeder's busbar is grid-forming and a heat-led CHP
stands at one house. From ``outage_start_h`` for ``outage_h`` hours the upstream grid is gone
(scenario data through the Events simulator). Wiring (same step unless marked)::

    Profiles-0.<load|sgen>_<i> --p_mw, q_mvar-->            Grid-0.<load|sgen>_<i>
    Events-0.events_0          --value as in_service-->     Grid-0.ext_grid_0   (the outage)
    Battery-0.battery_0        --p_mw, p_available_charge_mw, p_available_discharge_mw-->
                                                            Grid-0.storage_<new> (grid-forming)
    Grid-0.storage_<new>       --p_slack_mw (one step late)--> Battery-0.battery_0
    CHP-0.chp_0                --p_mw, q_mvar-->            Grid-0.sgen_<new>
    Grid, Battery  --measurements--> Controller-0.ctrl (islanding)
    Controller-0.ctrl --closed, in_service, f_set_hz (one step late)-->
                                         PCC switch, loads, PV sgens, Grid-0.storage_<new>

The PCC has a loss-of-mains relay (``pcc_relay``): it opens in the step the upstream grid is
lost, and closes by itself only onto a dead feeder. The battery gives at most its rating and
what its SoC window allows; an island that needs more collapses (every load unserved) until it
fits again. With ``controller=""`` nobody sheds load or synchronises: the battery holds the
island until it can no longer, and the feeder is reconnected only once it is dark. With
``battery_grid_forming=False`` the feeder blacks out for the outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controllers.registry import find
from cosim.core.errors import ConfigError
from cosim.run.config import RunConfig
from cosim.run.scenario import Builder
from simulators.simbench_nets import check_code

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class Config(RunConfig):
    """microgrid_outage parameters [MW, MWh, h].

    Attributes
    ----------
    grid : str
        SimBench LV code; its trafo's LV circuit breaker is the point of common coupling.
    outage_start_h, outage_h : float
        Start of the upstream outage after ``start`` and its length [h].
    battery_e_mwh, battery_p_mw : float
        Usable capacity [MWh] and power limit [MW] of the community battery.
    battery_soc_init_frac, reserve_soc_frac : float
        Its state of charge at the start, and the reserve the controller keeps [0..1].
    battery_grid_forming : bool
        The battery can hold an island (else the feeder blacks out in an outage).
    chp_p_el_mw : float
        Electrical rating of the heat-led CHP [MW]; 0: none.
    controller : str
        ``"islanding"`` (default), another controller name, or ``""`` for none.
    pcc_relay : bool
        The PCC has a loss-of-mains relay (opens within the step the upstream grid is lost).
    """

    start: str = "2016-01-15 00:00:00"
    grid: str = "1-LV-rural1--0-sw"
    outage_start_h: float = 16.0
    outage_h: float = 4.0
    battery_e_mwh: float = 0.1
    battery_p_mw: float = 0.06
    # Half charged, with a 10 kW CHP: on this evening the island needs the battery and, near
    # its reserve, load shedding (0.9 and 20 kW ride through without shedding a load).
    battery_soc_init_frac: float = 0.5
    reserve_soc_frac: float = 0.2
    battery_grid_forming: bool = True
    chp_p_el_mw: float = 0.01
    controller: str = "islanding"
    pcc_relay: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("outage_h", "battery_e_mwh", "battery_p_mw"):
            if not (value := getattr(self, name)) > 0:
                raise ConfigError(f"{name}={value!r} must be > 0")
        if self.outage_start_h < 0:
            raise ConfigError(f"outage_start_h={self.outage_start_h!r} must be >= 0")
        for name in ("battery_soc_init_frac", "reserve_soc_frac"):
            if not 0.0 <= (value := getattr(self, name)) <= 1.0:
                raise ConfigError(f"{name}={value!r} must be in [0, 1]")
        if self.chp_p_el_mw < 0:
            raise ConfigError(f"chp_p_el_mw={self.chp_p_el_mw!r} must be >= 0")
        check_code(self.grid)  # checked before anything is built
        if self.controller:
            find(self.controller)

    def outage_s(self) -> tuple[int, int]:
        """Start and end of the outage [s after start], on step boundaries."""
        t1 = round(self.outage_start_h * SECONDS_PER_HOUR / self.step_s) * self.step_s
        return t1, t1 + round(self.outage_h * SECONDS_PER_HOUR / self.step_s) * self.step_s


def build(b: Builder, cfg: Config) -> None:
    grid_sim = b.start("Grid")
    grid = grid_sim.Grid(grid=cfg.grid)
    elements = {e.eid: e for e in grid.children}
    net_info = _pcc(elements)
    if cfg.pcc_relay:
        grid_sim.add_relay(net_info["switch"])
    profiles = b.start("Profiles").Profiles(source=f"simbench:{cfg.grid}")
    for series in profiles.children:
        b.connect(series, elements[series.eid], *series.extra_info["attrs"])

    t1, t2 = cfg.outage_s()
    events = b.start("Events").Events(initial=True, changes=[[t1, False], [t2, True]])
    b.connect(events, elements["ext_grid_0"], ("value", "in_service"))

    battery = b.start("Battery").Battery(
        e_max_mwh=cfg.battery_e_mwh,
        p_charge_max_mw=cfg.battery_p_mw,
        p_discharge_max_mw=cfg.battery_p_mw,
        soc_init_frac=cfg.battery_soc_init_frac,
        grid_forming=cfg.battery_grid_forming,
    )
    [battery_grid] = b.attach(
        grid_sim,
        [battery],
        "storage",
        [net_info["island_bus"]],
        attrs=("p_mw",),
        grid_forming=cfg.battery_grid_forming,
        sn_mva=cfg.battery_p_mw,  # the inverter is rated for the battery's power
    )
    added = [battery_grid]
    chp = []
    if cfg.chp_p_el_mw > 0:
        chp = [b.start("CHP").CHP(p_el_max_mw=cfg.chp_p_el_mw)]
        house = min((e for e in grid.children if e.type == "Load"), key=lambda e: e.eid)
        added += b.attach(grid_sim, chp, "sgen", [house.extra_info["bus"]])

    loads = sorted(  # priority: the larger the rated demand, the higher (small ones shed first)
        (e for e in grid.children if e.type == "Load"),
        key=lambda e: (-e.extra_info["p_rated_mw"], e.extra_info["index"]),
    )
    pv = [e for e in grid.children if e.type == "Sgen"]
    b.declare(_rooftop_pv(cfg.grid, pv), "pv")  # the balance counts them as PV, not "other"
    ctrl = None
    if cfg.controller:
        ctrl = b.control(
            cfg.controller,
            {
                "pcc_switch": elements[net_info["switch"]].full_id,
                "upstream": elements["ext_grid_0"].full_id,
                "island_bus": elements[f"bus_{net_info['island_bus']}"].full_id,
                "upstream_bus": elements[f"bus_{net_info['upstream_bus']}"].full_id,
                "pcc_shift_degree": net_info["shift_degree"],
                "battery": battery.full_id,
                "battery_grid": battery_grid.full_id,
                "reserve_soc_frac": cfg.reserve_soc_frac,
                "loads": [load.full_id for load in loads],
                "generators": [g.full_id for g in pv],
            },
        )
    _record(b, grid, battery, chp, added, ctrl)


def _rooftop_pv(grid: str, sgens: list) -> list:
    """The sgens whose SimBench ``type`` is PV (rural LV grids: all of them)."""
    from simulators.simbench_nets import simbench_net

    kinds = simbench_net(grid).sgen["type"]
    return [e for e in sgens if str(kinds.loc[e.extra_info["index"]]).upper().startswith("PV")]


def _pcc(elements: dict[str, Any]) -> dict[str, Any]:
    """The PCC: the circuit breaker of the (only) transformer on its LV side."""
    trafos = [e for e in elements.values() if e.type == "Trafo"]
    if len(trafos) != 1:
        raise ConfigError(f"microgrid_outage needs a grid with one transformer, not {len(trafos)}")
    info = trafos[0].extra_info
    for e in elements.values():
        where = e.extra_info
        at_trafo = e.type == "Switch" and where["et"] == "t" and where["element"] == info["index"]
        if at_trafo and where["bus"] == info["lv_bus"]:
            return {
                "switch": e.eid,
                "island_bus": info["lv_bus"],
                "upstream_bus": info["hv_bus"],
                "shift_degree": info["shift_degree"],
            }
    raise ConfigError("microgrid_outage needs a switch at the transformer's LV side (the PCC)")


def _record(b: Builder, grid: Any, battery: Any, chp: list, added: list, ctrl: Any) -> None:
    by_type: dict[str, list] = {}
    for e in [*grid.children, *added]:
        by_type.setdefault(e.type, []).append(e)
    b.record(by_type["Bus"], "vm_pu", "va_degree", "islanded", "f_hz")
    b.record(by_type["Line"] + by_type["Trafo"], "loading_percent", "pl_mw")
    b.record(by_type["ExtGrid"], "p_mw", "q_mvar", "vm_pu", "in_service")
    b.record(by_type["Load"], "p_mw", "p_unserved_mw", "in_service")
    b.record(by_type["Sgen"] + by_type["Storage"], "p_mw", "in_service")
    b.record([e for e in added if e.type == "Storage"], "tripped")
    b.record(by_type["Switch"], "closed")
    b.record([grid], "converged", "islanded", "f_hz")
    b.record([battery], "p_mw", "soc_frac", "e_mwh", "p_loss_mw", "limit_violated", "grid_forming")
    b.record(chp, "p_mw", "p_th_mw", "p_fuel_mw", "e_tank_mwh")
    if ctrl is not None:
        b.record([ctrl], "islanded", "switching_operations", "loads_shed", "generators_tripped")


def main() -> None:
    from cosim.cli import main_for

    main_for(__file__)


if __name__ == "__main__":
    main()
