"""pandapower's own time-series loop: the reference for validation and benchmarks.

It runs the same profile table through ``pandapower.timeseries.run_timeseries`` (ConstControl
and DFData), so a cosim run can be compared with it value by value and time by time.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cosim.core.errors import ConfigError, SimulationError
from simulators.profiles.model import Table, check_against_net, entity_id

LOGGED: tuple[tuple[str, str, str], ...] = (
    ("res_bus", "vm_pu", "bus"),
    ("res_bus", "va_degree", "bus"),
    ("res_line", "loading_percent", "line"),
    ("res_ext_grid", "p_mw", "ext_grid"),
)
"""(result table, column, element) logged by the reference run."""


def run_pandapower_timeseries(
    net: Any,
    table: Table,
    steps: int,
    step_s: int,
    *,
    tolerance_mva: float = 1e-8,
    logged: Sequence[tuple[str, str, str]] = LOGGED,
    offset_s: int = 0,
    wraps: bool = False,
) -> pd.DataFrame:
    """Run ``steps`` power flows of ``table`` with pandapower's time-series loop.

    Works on a deep copy of ``net``. Step k applies the row at table time ``offset_s + k *
    step_s`` (``offset_s``: the run's start in the table, as the Profiles simulator takes it
    from ``start``; ``wraps``: a typical year, whose first row follows its last) with the same
    zero-order hold as ``ProfileTable.row_at``, through one ``ConstControl`` per (element, attr)
    with a ``DFData`` source, then runs
    ``pandapower.timeseries.run_timeseries(net, time_steps=range(steps), verbose=False,
    check_controllers=False, tolerance_mva=tolerance_mva)`` with an ``OutputWriter`` (no
    files) and pandapower's loggers raised to ERROR during the run.

    Power-flow options that run_timeseries uses (pandapower 3.5): one ``runpp(net,
    recycle=R, only_v_results=False, tolerance_mva=tolerance_mva)`` per step, all other options
    at runpp's defaults (``algorithm="nr"``, ``calculate_voltage_angles=True``,
    ``init="auto"``, ``max_iteration="auto"``, ``trafo_model="t"``,
    ``voltage_depend_loads=True``, ``check_connectivity=True``, ``lightsim2grid="auto"``; on
    SimBench LV/MV nets these resolve to ``init_vm_pu`` = the ext_grid's vm_pu,
    ``init_va_degree="dc"``, ``max_iteration=10``, ``voltage_depend_loads=False`` and
    ``lightsim2grid=True``).
    ``R = {"bus_pq": True, "gen": G, "trafo": False, "batch_read": False,
    "only_v_results": False}``, ``G`` True only if the table drives gen p_mw (logging
    ``res_ext_grid`` rules out pandapower's batch read of results). The first step is a full
    ``runpp`` (``net._ppc`` is reset first); later steps take the recycled path
    (``pandapower.powerflow._recycled_powerflow``): the stored options and Ybus, bus P/Q
    updated from the elements, Newton-Raphson started from the previous step's voltages
    (``init="results"``) and full result tables. So step k equals a plain ``runpp(net,
    init="results")`` chained on one net exactly, and a fresh ``runpp`` per step only within
    the solver tolerance (3e-9 pu on 1-LV-rural1--0-sw at the default 1e-8 MVA).

    Parameters
    ----------
    net : pandapowerNet
        The grid; not modified. It must have no pandapower controllers of its own.
    table : Table
        Absolute set points [MW, Mvar] in pandapower's signs.
    steps : int
        Number of power flows, >= 1.
    step_s : int
        Time between power flows [s].
    tolerance_mva : float
        Newton-Raphson mismatch tolerance [MVA]; the first step's value is kept by the rest.
    logged : sequence of (result table, column, element)
        What the OutputWriter logs; default :data:`LOGGED`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``t_s`` (0, step_s, ...) [s], columns (entity, attr): ``("bus_12",
        "vm_pu")`` [pu], ``("bus_12", "va_degree")`` [deg], ``("line_3", "loading_percent")``
        [%], ``("ext_grid_0", "p_mw")`` [MW, > 0 imports into the net].
    """
    from pandapower.auxiliary import NetCalculationNotConverged
    from pandapower.control import ConstControl
    from pandapower.powerflow import LoadflowNotConverged
    from pandapower.timeseries import DFData, OutputWriter, run_timeseries

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps={steps!r} must be an int >= 1")
    if not tolerance_mva > 0:
        raise ConfigError(f"tolerance_mva={tolerance_mva!r} must be > 0 [MVA]")
    if not wraps:
        table.check_covers(steps, step_s, offset_s)
    check_against_net(table, net)
    if "controller" in net and len(net.controller):
        raise ConfigError(
            f"the net has {len(net.controller)} pandapower controllers; the "
            "reference applies only the profile table: remove them first"
        )

    class Source(DFData):  # type: ignore[misc]
        """DFData that remembers the step it was last asked for, to name a failing step."""

        step = 0

        def get_time_step_value(self, time_step: int, *args: Any, **kwargs: Any) -> Any:
            Source.step = time_step
            return super().get_time_step_value(time_step, *args, **kwargs)

    net = copy.deepcopy(net)
    t_s = offset_s + np.arange(steps, dtype=np.int64) * step_s
    if wraps:
        t_s %= table.duration_s
    rows = table.rows_at(t_s)
    for (element, attr), (indices, positions) in table.groups().items():
        frame = pd.DataFrame(rows[:, positions], index=range(steps), columns=indices)
        ConstControl(
            net,
            element=element,
            variable=attr,
            element_index=indices,
            profile_name=indices,
            data_source=Source(frame),
        )
    writer = OutputWriter(
        net,
        time_steps=range(steps),
        output_path=None,
        log_variables=[(tab, col) for tab, col, _ in logged],
    )
    with _quiet("pandapower"):
        try:
            run_timeseries(
                net,
                time_steps=range(steps),
                verbose=False,
                check_controllers=False,
                tolerance_mva=tolerance_mva,
            )
        except (LoadflowNotConverged, NetCalculationNotConverged) as err:
            raise SimulationError(
                f"pandapower's power flow did not converge at t_s={t_s[Source.step]} "
                f"(step {Source.step} of {steps})"
            ) from err
    columns: list[tuple[str, str]] = []
    blocks = []
    for tab, col, element in logged:
        out = writer.output[f"{tab}.{col}"]
        columns += [(entity_id(element, int(i)), col) for i in out.columns]
        blocks.append(out.to_numpy(dtype=np.float64))
    return pd.DataFrame(
        np.hstack(blocks),
        index=pd.Index(t_s, name="t_s"),
        columns=pd.MultiIndex.from_tuples(columns, names=["entity", "attr"]),
    )


@contextlib.contextmanager
def _quiet(prefix: str) -> Iterator[None]:
    """Raise every logger under ``prefix`` to ERROR for the block, then restore its level."""
    names = [prefix] + [n for n in logging.root.manager.loggerDict if n.startswith(prefix + ".")]
    loggers = [logging.getLogger(n) for n in names]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)
