"""A building heated by a heat pump, as an FMI 2.0 co-simulation FMU (built with pythonfmu).

Build: ``pythonfmu build -f scenarios/examples/heated_building_fmu.py -d DIR`` gives
``DIR/HeatedBuilding.fmu``; ``scenarios/examples/fmu_building.py`` builds it when needed.

Model: one thermal zone as a single resistance and capacitance (the "Ti" model of Bacher and
Madsen, *Identifying suitable models for the heat dynamics of buildings*, Energy and Buildings
43 (2011) 1511-1522), integrated with explicit Euler over each communication step::

    t_room += dt_h / c_th * (p_th - (t_room - t_out) / r_th)

heated by a heat pump with a constant COP: on at its rated electrical power while the room is
below the set point, off otherwise. A grid operator may block it (as German distribution
operators may for controllable heat pumps, EnWG section 14a): while the voltage at its bus is
below ``vm_min_pu`` it stays off. Electrical power uses load sign (> 0 consumes).

This file is the FMU's source and imports only pythonfmu.
"""

from pythonfmu import Fmi2Causality, Fmi2Slave, Fmi2Variability, Real

SECONDS_PER_HOUR = 3600.0


PARAMETERS = {  # name: (default, unit and meaning)
    "c_th_kwh_per_k": (10.0, "thermal capacity of the building [kWh/K]"),
    "r_th_k_per_kw": (5.0, "thermal resistance to the outside [K/kW]"),
    "cop": (3.0, "coefficient of performance of the heat pump [-]"),
    "p_el_rated_kw": (3.0, "electrical power of the heat pump when on [kW]"),
    "t_set_c": (21.0, "room temperature set point [°C]"),
    "t_room_start_c": (20.0, "room temperature at t = 0 [°C]"),
    "vm_min_pu": (0.0, "below this bus voltage the heat pump is blocked [p.u.]"),
}
INPUTS = {
    "t_out_c": (0.0, "outdoor temperature [°C]"),
    "vm_pu": (1.0, "voltage at the heat pump's bus [p.u.]"),
}
OUTPUTS = {
    "t_room_c": "room temperature at the end of the step [°C]",
    "p_el_kw": "electrical power of the heat pump over the step, load sign [kW]",
    "p_th_kw": "heat delivered over the step [kW]",
}


def step_room(
    t_room_c: float,
    t_out_c: float,
    p_th_kw: float,
    dt_s: float,
    c_th_kwh_per_k: float,
    r_th_k_per_kw: float,
) -> float:
    """Room temperature after ``dt_s`` with heat ``p_th_kw`` [°C] (explicit Euler, 1R1C)."""
    loss_kw = (t_room_c - t_out_c) / r_th_k_per_kw
    return t_room_c + dt_s / SECONDS_PER_HOUR / c_th_kwh_per_k * (p_th_kw - loss_kw)


class HeatedBuilding(Fmi2Slave):
    """Room temperature of a heat-pump-heated building; the heat pump's electrical power."""

    author = "cosim"
    description = "1R1C building heated by an on/off heat pump that the grid can block"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for name, (default, doc) in PARAMETERS.items():
            setattr(self, name, default)
            self.register_variable(
                Real(
                    name,
                    causality=Fmi2Causality.parameter,
                    variability=Fmi2Variability.fixed,
                    description=doc,
                )
            )
        for name, (default, doc) in INPUTS.items():
            setattr(self, name, default)
            self.register_variable(Real(name, causality=Fmi2Causality.input, description=doc))
        self.t_room_c = self.p_el_kw = self.p_th_kw = 0.0
        for name, doc in OUTPUTS.items():
            self.register_variable(Real(name, causality=Fmi2Causality.output, description=doc))

    def exit_initialization_mode(self):
        self.t_room_c = self.t_room_start_c

    def do_step(self, current_time, step_size):
        on = self.t_room_c < self.t_set_c and self.vm_pu >= self.vm_min_pu
        self.p_el_kw = self.p_el_rated_kw if on else 0.0
        self.p_th_kw = self.cop * self.p_el_kw
        self.t_room_c = step_room(
            self.t_room_c,
            self.t_out_c,
            self.p_th_kw,
            step_size,
            self.c_th_kwh_per_k,
            self.r_th_k_per_kw,
        )
        return True
