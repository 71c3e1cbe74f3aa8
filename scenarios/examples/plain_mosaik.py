"""cosim's simulators in a plain mosaik scenario: no cosim helpers, only mosaik's own API.

cosim's simulators are ordinary mosaik-API simulators: name them in a mosaik sim config by
class (in this process) or by command (each its own process, ``python -m simulators.<type>``)
and use them like any other. Here: the CIGRE LV grid with a PV system (clear sky, Berlin) at
one bus, and mosaik's own ``OutputSimulator`` collecting what they produce.

Wiring::

    PV-0.pv_0           --p_mw, q_mvar--> Grid-0.sgen_<new>.p_mw, q_mvar    (same step)
    PV-0.pv_0 p_mw, q_mvar; Grid-0.bus_<bus> vm_pu; Grid-0.ext_grid_0 p_mw --> Output-0

Run: ``python -m scenarios.examples.plain_mosaik [--steps N] [--processes]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import mosaik

STEP_S = 900
START = "2016-06-01 10:00:00"
SIMULATORS = {"Grid": "simulators.grid", "PV": "simulators.pv"}
CLASSES = {"Grid": "simulators.grid.sim:GridSim", "PV": "simulators.pv.sim:PVSim"}


def sim_config(processes: bool) -> dict[str, dict[str, str]]:
    """mosaik's sim config: cosim's simulators by class, or each as its own process."""
    config = {
        name: {"cmd": f"%(python)s -m {package} %(addr)s"}
        if processes
        else {"python": CLASSES[name]}
        for name, package in SIMULATORS.items()
    }
    config["Output"] = {"python": "mosaik.basic_simulators.output_simulator:OutputSimulator"}
    return config


def run(steps: int = 4, processes: bool = False, bus: int = 19, p_peak_mw: float = 0.02) -> Any:
    """Run ``steps`` steps; returns what the output collected: ``{t_s: {attr: {src: value}}}``."""
    with mosaik.World(sim_config(processes), skip_greetings=True) as world:  # type: ignore[arg-type]
        grid_sim = world.start("Grid", step_s=STEP_S, start=START)
        grid = grid_sim.Grid(grid="create_cigre_network_lv")
        sgen = grid_sim.Sgen(bus=bus, name="pv")  # a new sgen at the bus, fed by the PV system
        pv = world.start("PV", step_s=STEP_S, start=START).PV(p_dc_peak_mw=p_peak_mw)
        output_sim = world.start("Output")
        output = output_sim.Dict()
        world.connect(pv, sgen, "p_mw", "q_mvar")
        world.connect(pv, output, "p_mw", "q_mvar")
        children = {e.eid: e for e in grid.children}
        world.connect(children[f"bus_{bus}"], output, "vm_pu")
        world.connect(children["ext_grid_0"], output, "p_mw")
        world.run(until=steps * STEP_S, print_progress=False)
        return output_sim.get_dict(output.eid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--processes", action="store_true")
    args = parser.parse_args()
    for t_s, values in run(args.steps, args.processes).items():
        print(t_s, values)


if __name__ == "__main__":
    main()
