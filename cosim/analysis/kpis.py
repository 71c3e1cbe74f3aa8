"""Key performance indicators of a run, computed from its results folder only.

Every KPI is computed only when the run recorded the data it needs; nothing is estimated.
Powers are the mean over each step, so energy = sum of p over steps x step duration.
Signs are pandapower's (``cosim.analysis.balance``): ext_grid ``p_mw > 0`` imports, sgen ``> 0``
injects, load and storage ``> 0`` consume. The energy KPIs are those of
:func:`cosim.analysis.balance.balance_of`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cosim.analysis import economics, resilience_kpis, vpp_kpis
from cosim.analysis.balance import balance_of, grid_sum, unit_sum
from cosim.analysis.kpi_catalogue import CATALOGUE
from cosim.analysis.market_kpis import market_kpis
from cosim.analysis.results import energised, load, read_manifest, select
from cosim.core.errors import ConfigError
from cosim.core.timeseries import SUFFIXES, T_COLUMN, numeric, read_frame, time_step
from cosim.core.units import SECONDS_PER_HOUR

KPIS_JSON = "kpis.json"
KPIS_CSV = "kpis.csv"
COLUMNS = ("group", "name", "value", "unit", "at", "definition")
HEADLINE = (
    "partial",
    "import_mwh",
    "export_mwh",
    "peak_import_mw",
    "import_limit_mw",
    "import_over_limit_h",
    "ev_delayed_mwh",
    "flex_shifted_mwh",
    "flex_curtailed_mwh",
    "self_consumption_percent",
    "self_sufficiency_percent",
    "voltage_violation_h",
    "overload_h",
    "nonconverged_steps",
    "cost_net_billing_eur",
    "market_traded_mwh",
    "market_curtailed_mwh",
    "market_price_mean_eur_per_mwh",
    "market_self_sufficiency_percent",
    "market_bill_net_metering_eur",
    "market_bill_net_billing_eur",
    "market_bill_local_eur",
    "co2_kg",
    "energy_not_served_mwh",
    "outage_h_max",
    "islanded_h",
    "island_vm_min_pu",
    "island_vm_max_pu",
    "switching_operations",
    "grid_forming_soc_min_frac",
    "limit_violated_steps",
    "island_collapsed_h",
    "island_f_min_hz",
    "island_f_max_hz",
)
"""Names of the KPIs printed after a run, in this order."""


@dataclass(frozen=True)
class Kpi:
    """One indicator: its value with unit, the group it belongs to and how it is defined."""

    group: str  # "run", "energy", "grid", "units", "resilience", "money", "carbon"
    name: str  # snake_case with the unit last, e.g. "import_mwh", "peak_import_mw"
    value: float
    unit: str  # "MWh", "MW", "%", "h", "-", "EUR", "kg"...
    definition: str  # one sentence, shown in the report and the docs
    at: str | None = None  # where or when, if the KPI is an extreme (entity, date and time)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))  # numpy scalars -> float


@dataclass(frozen=True)
class Settings:
    """Limits, tariffs and emission factors the KPIs are computed with.

    Attributes
    ----------
    v_min_pu, v_max_pu : float
        Voltage band [p.u.]. Default 0.9..1.1: EN 50160 (Un +- 10 %).
    loading_max_percent : float
        Line/trafo loading limit [%].
    import_eur_per_mwh, export_eur_per_mwh : float or str
        Price of imported energy and credit for exported energy [EUR/MWh]: a number, or a
        CSV/Parquet file with an optional ``t_s`` column [s] and one value column (row k holds
        from ``t_s = k * step`` on; without ``t_s`` one row per step of the run).
        Defaults 300 / 80: assumption, about a German household tariff and feed-in credit.
    demand_charge_eur_per_mw : float
        Charge on the peak import [EUR/MW]; 0: no demand charge.
    grid_co2_kg_per_mwh : float or str
        CO2 of imported energy [kg/MWh], a number or a file as for prices. Default 380: German
        electricity mix 2023 (UBA, Climate Change 13/2024, "Entwicklung der spezifischen
        Treibhausgas-Emissionen des deutschen Strommix 1990-2023").
    fuel_co2_kg_per_mwh : float
        CO2 per CHP and boiler fuel energy, LHV [kg/MWh], used when the CHP's own
        ``co2_kg_per_h`` is not recorded. Default 201.6 for natural gas, as the CHP simulator:
        0.056 t/GJ x 3.6 GJ/MWh (UBA Climate Change 27/2016).
    grid_forming : tuple of str
        Battery ids that form an island grid (besides those recording ``grid_forming`` True).
    limit_tolerance_percent : float
        A step's import counts as over a controller's import limit when above it by more than
        this [%]. Default 1: room for the error of the controller's loss estimate.
    costs : str
        CSV or JSON file of cost and finance inputs over the defaults of
        :class:`cosim.analysis.economics.Costs` (KPI group ``economics``); "": the defaults.
    """

    v_min_pu: float = 0.9
    v_max_pu: float = 1.1
    loading_max_percent: float = 100.0
    import_eur_per_mwh: float | str = 300.0
    export_eur_per_mwh: float | str = 80.0
    demand_charge_eur_per_mw: float = 0.0
    grid_co2_kg_per_mwh: float | str = 380.0
    fuel_co2_kg_per_mwh: float = 201.6
    grid_forming: tuple[str, ...] = ()
    limit_tolerance_percent: float = 1.0
    costs: str = ""

    def __post_init__(self) -> None:
        economics.read_costs(self.costs)  # a ConfigError now, not after the other KPIs
        for name, value in asdict(self).items():
            if name == "costs":  # checked by read_costs above
                continue
            if isinstance(value, str) and Path(value).suffix.lower() not in SUFFIXES:
                raise ConfigError(
                    f"{name}={value!r} must be a number or a {'/'.join(SUFFIXES)} file"
                )
            if isinstance(value, str) and not Path(value).is_file():
                raise ConfigError(f"{name}={value!r}: no such file")
            if isinstance(value, float | int) and not math.isfinite(value):
                raise ConfigError(f"{name}={value!r} must be a finite number")
        if not 0 < self.v_min_pu < self.v_max_pu:
            raise ConfigError(
                f"v_min_pu={self.v_min_pu!r}, v_max_pu={self.v_max_pu!r}: need 0 < min < max"
            )
        for name in (
            "loading_max_percent",
            "demand_charge_eur_per_mw",
            "fuel_co2_kg_per_mwh",
            "limit_tolerance_percent",
        ):
            if (value := getattr(self, name)) < 0:
                raise ConfigError(f"{name}={value!r} must be >= 0")


class _Run:
    """A run's recorded data with what the KPI functions need to find columns and times."""

    def __init__(self, folder: str | Path, settings: Settings) -> None:
        self.data = load(folder)
        self.manifest = read_manifest(folder)
        self.settings = settings
        self.step_s = int(self.manifest["step_s"])
        self.step_h = self.step_s / SECONDS_PER_HOUR
        self.start = pd.Timestamp(self.manifest["start"])
        self.t_s = self.data.index.to_numpy(dtype=np.int64)

    def cols(self, kind: str, attr: str, prefix: str = "") -> pd.DataFrame:
        """``attr`` of the simulator type ``kind`` (``Grid``, ``PV``...) whose ids start with
        ``prefix`` after the simulator id; columns named by full entity id."""
        return select(self.data, attr, kind, prefix)

    def kpi(self, name: str, value: float, at: str | None = None, **fmt: object) -> Kpi:
        """KPI ``name`` of the catalogue; ``fmt`` and the settings fill its definition."""
        group, unit, definition = CATALOGUE[name]
        return Kpi(group, name, value, unit, definition.format(**asdict(self.settings), **fmt), at)

    def mwh(self, frame: pd.DataFrame | pd.Series) -> float:
        """Energy of powers [MW] summed over steps and columns [MWh]."""
        return float(np.nansum(frame.to_numpy()) * self.step_h)

    def at(self, t_s: float, entity: str | None = None) -> str:
        when = f"{self.start + pd.Timedelta(seconds=float(t_s)):%Y-%m-%d %H:%M}"
        return when if entity is None else f"{entity}, {when}"

    def extreme(self, frame: pd.DataFrame, which: str) -> tuple[float, str]:
        """Smallest or largest value of ``frame`` and where (entity, time) it was."""
        values = frame.to_numpy(dtype=np.float64)
        flat = np.nanargmin(values) if which == "min" else np.nanargmax(values)
        row, col = np.unravel_index(flat, values.shape)
        return float(values[row, col]), self.at(self.t_s[row], str(frame.columns[int(col)]))

    def series(self, name: str) -> np.ndarray:
        """Setting ``name`` (a number or a time-series file) at every recorded step."""
        value = getattr(self.settings, name)
        if not isinstance(value, str):
            return np.full(len(self.t_s), float(value))
        where = f"{name}={value!r}: "
        frame = read_frame(Path(value), where)
        columns = [c for c in frame.columns if c != T_COLUMN]
        if len(columns) != 1:
            raise ConfigError(f"{where}needs one value column besides {T_COLUMN!r}, has {columns}")
        step_s = time_step(frame, None, where, default_step_s=self.step_s)
        rows = self.t_s // step_s
        if len(rows) and rows.max() >= len(frame):
            raise ConfigError(
                f"{where}covers {len(frame) * step_s} s, the run needs {self.t_s.max() + 1} s"
            )
        return numeric(frame, columns[0], where)[rows]


DEFAULT_SETTINGS = Settings()


def compute(folder: str | Path, settings: Settings = DEFAULT_SETTINGS) -> list[Kpi]:
    """Every KPI of ``CATALOGUE`` the results in ``folder`` allow, in catalogue order.

    A failed run's KPIs cover the steps it finished (KPI ``partial`` is 1).
    """
    run = _Run(folder, settings)
    kpis = _physical(run)
    kpis += _economics(run, {k.name: k.value for k in kpis})
    order = {name: i for i, name in enumerate(CATALOGUE)}
    return sorted(kpis, key=lambda k: order[k.name])


def design_inputs(
    folder: str | Path, settings: Settings = DEFAULT_SETTINGS
) -> tuple[list[Kpi], economics.Flows | None, dict[str, float] | None]:
    """A run as a design: its KPIs but economics, its :class:`~cosim.analysis.economics.Flows`
    and its installed capacity (None where the run lacks what they need), for several periods."""
    run = _Run(folder, settings)
    kpis = _physical(run)
    found = {k.name: k.value for k in kpis}
    return kpis, economics.period_flows(run, found), economics.capacities(run)


def _physical(run: _Run) -> list[Kpi]:
    """Every KPI group but economics."""
    return [
        k
        for group in (
            _run_kpis,
            _energy,
            _grid,
            _units,
            _control,
            vpp_kpis.kpis,
            resilience_kpis.kpis,
            _money,
            market_kpis,
        )
        for k in group(run)
    ]


def _run_kpis(r: _Run) -> list[Kpi]:
    done, requested = len(r.t_s), int(r.manifest.get("steps", len(r.t_s)))
    status = r.manifest.get("status")
    return [
        r.kpi("steps_done", done, requested=requested),
        r.kpi("duration_h", done * r.step_h),
        r.kpi("partial", status != "completed" or done < requested, status=status),
    ]


def _energy(r: _Run) -> list[Kpi]:
    d, b = r.data, balance_of(r.data, r.step_s, r.manifest.get("kinds"))
    present = {  # recorded, with a value in at least one step (none if no power flow converged)
        name: r.cols(kind, attr, prefix).notna().any().any()
        for name, kind, attr, prefix in (
            ("slack", "Grid", "p_mw", "ext_grid_"),
            ("sgen", "Grid", "p_mw", "sgen_"),
            ("load", "Grid", "p_mw", "load_"),
            ("losses", "Grid", "pl_mw", ""),
            ("pv", "PV", "p_mw", ""),
            ("chp", "CHP", "p_mw", ""),
        )
    }
    k = []
    for name, value, needs in (
        ("import_mwh", b.import_mwh, "slack"),
        ("export_mwh", b.export_mwh, "slack"),
        ("pv_generation_mwh", b.pv_mwh, "pv"),
        ("chp_generation_mwh", b.chp_mwh, "chp"),
        ("other_generation_mwh", b.other_generation_mwh, "sgen"),
        ("generation_mwh", b.generation_mwh, "sgen"),
        ("consumption_mwh", b.consumption_mwh, "load"),
        ("grid_losses_mwh", b.grid_losses_mwh, "losses"),
    ):
        if present[needs]:
            k.append(r.kpi(name, value))
    if not present["slack"]:
        return k
    slack = grid_sum(d, "ext_grid_", "p_mw").to_numpy()
    for name, p in (("peak_import_mw", slack), ("peak_export_mw", -slack)):
        i = int(np.argmax(p))
        k.append(r.kpi(name, max(p[i], 0.0), r.at(r.t_s[i]) if p[i] > 0 else None))
    if present["sgen"]:  # generation not exported in its step
        gen = grid_sum(d, "sgen_", "p_mw").to_numpy()
        used = np.clip(gen - (-slack).clip(0), 0, gen.clip(0)).sum()
        if gen.sum() > 0:
            k.append(r.kpi("self_consumption_percent", 100 * used / gen.sum()))
    if present["load"]:  # demand not imported in its step
        demand = (grid_sum(d, "load_", "p_mw") + unit_sum(d, "EV")).to_numpy()
        covered = np.clip(demand - slack.clip(0), 0, demand.clip(0)).sum()
        if demand.sum() > 0:
            k.append(r.kpi("self_sufficiency_percent", 100 * covered / demand.sum()))
    return k


def _grid(r: _Run) -> list[Kpi]:
    s, k = r.settings, []
    vm = energised(r.cols("Grid", "vm_pu", "bus_"))
    if vm.notna().any().any():
        out = (vm < s.v_min_pu) | (vm > s.v_max_pu)
        k += [
            r.kpi("voltage_violation_h", out.any(axis=1).sum() * r.step_h),
            r.kpi("voltage_violation_bus_steps", out.sum().sum()),
            r.kpi("voltage_violation_buses", out.any(axis=0).sum()),
            r.kpi("v_min_pu", *r.extreme(vm, "min")),
            r.kpi("v_max_pu", *r.extreme(vm, "max")),
        ]
    loading = r.cols("Grid", "loading_percent")
    if loading.notna().any().any():
        over = loading > s.loading_max_percent
        k += [
            r.kpi("overload_h", over.any(axis=1).sum() * r.step_h),
            r.kpi("overloaded_branches", over.any(axis=0).sum()),
            r.kpi("max_loading_percent", *r.extreme(loading, "max")),
        ]
    converged = r.cols("Grid", "converged")
    if not converged.empty:
        k.append(r.kpi("nonconverged_steps", (converged == 0).any(axis=1).sum()))
    return k


def _units(r: _Run) -> list[Kpi]:
    k = []
    p_bat = r.cols("Battery", "p_mw")
    if not p_bat.empty:
        k.append(r.kpi("battery_throughput_mwh", r.mwh(p_bat.abs())))
        e, soc = r.cols("Battery", "e_mwh"), r.cols("Battery", "soc_frac")
        capacity = (e / soc.where(soc > 1e-9)).median().reindex(p_bat.columns)
        if capacity.notna().all() and capacity.sum() > 0:
            cycles = (p_bat.abs().sum() * r.step_h / 2 / capacity).sort_values()
            k += [
                r.kpi("battery_capacity_mwh", capacity.sum()),
                r.kpi("battery_cycles", r.mwh(p_bat.abs()) / 2 / capacity.sum()),
                r.kpi("battery_cycles_max", cycles.iloc[-1], str(cycles.index[-1])),
            ]
    k += _chp(r)
    for name, kind, attr, energy in (
        ("battery_losses_mwh", "Battery", "p_loss_mw", "sum"),
        ("ev_charged_mwh", "EV", "p_mw", "charged"),
        ("ev_unmet_mwh", "EV", "e_unmet_mwh", "last"),
        ("pv_curtailed_mwh", "PV", "p_curtailed_mw", "sum"),
        ("flex_reduced_mwh", "FlexLoad", "p_reduced_mw", "sum"),
    ):
        frame = r.cols(kind, attr)
        if frame.empty:
            continue
        if energy == "last":  # a cumulative energy: its last value [MWh]
            k.append(r.kpi(name, frame.ffill().iloc[-1].sum()))
        else:
            k.append(r.kpi(name, r.mwh(frame.clip(lower=0) if energy == "charged" else frame)))
    curtailed = r.mwh(r.cols("PV", "p_curtailed_mw"))
    available = r.mwh(r.cols("PV", "p_available_mw"))
    if not r.cols("PV", "p_curtailed_mw").empty and available > 0:
        k.append(r.kpi("pv_curtailment_percent", 100 * curtailed / available))
    return k


def _chp(r: _Run) -> list[Kpi]:
    p = r.cols("CHP", "p_mw")
    if p.empty:
        return []
    on = p.fillna(0).to_numpy() > 0
    starts = r.cols("CHP", "starts")
    if starts.empty:  # off -> on transitions; every unit starts off (simulators.chp)
        n_starts = (on & ~np.vstack([np.zeros_like(on[:1]), on[:-1]])).sum()
    else:
        n_starts = starts.ffill().iloc[-1].sum()
    k = [r.kpi("chp_running_h", on.sum() * r.step_h), r.kpi("chp_starts", n_starts)]
    demand = r.mwh(r.cols("CHP", "p_heat_demand_mw"))
    for name, attr in (
        ("chp_heat_coverage_percent", "p_th_mw"),
        ("boiler_heat_share_percent", "p_boiler_th_mw"),
    ):
        heat = r.cols("CHP", attr)
        if not heat.empty and demand > 0:
            k.append(r.kpi(name, 100 * r.mwh(heat) / demand))
    return k


def _control(r: _Run) -> list[Kpi]:
    """What a demand-response or peak-shaving controller did, from its recorded reports."""
    k = []
    limit = r.cols("Controller", "import_limit_mw").max(axis=1).ffill().to_numpy()
    slack = r.cols("Grid", "p_mw", "ext_grid_")
    if np.isfinite(limit).any() and not slack.empty:
        excess = slack.sum(axis=1).to_numpy() - limit
        over = excess > limit * r.settings.limit_tolerance_percent / 100
        i = int(np.nanargmax(excess))
        k += [
            r.kpi("import_limit_mw", np.nanmax(limit)),
            r.kpi("import_over_limit_h", over.sum() * r.step_h),
            r.kpi("import_over_limit_max_mw", max(excess[i], 0.0), r.at(r.t_s[i])),
        ]
    for name, attr in (
        ("limit_unreachable_steps", "limit_unreachable_steps"),
        ("ev_delayed_mwh", "e_ev_delayed_mwh"),
        ("flex_shifted_mwh", "e_shifted_mwh"),
        ("flex_recovered_mwh", "e_recovered_mwh"),
        ("flex_curtailed_mwh", "e_curtailed_mwh"),
    ):
        frame = r.cols("Controller", attr)
        if not frame.empty:  # cumulative: the last value
            k.append(r.kpi(name, frame.ffill().iloc[-1].sum()))
    return k


def _money(r: _Run) -> list[Kpi]:
    """Money and carbon: both price the exchange with the upstream grid."""
    s, k = r.settings, []
    fuel_co2 = _fuel_co2_kg(r)
    if fuel_co2 is not None:
        k.append(r.kpi("chp_fuel_co2_kg", fuel_co2))
    if not r.cols("Grid", "p_mw", "ext_grid_").notna().any().any():
        return k
    slack = grid_sum(r.data, "ext_grid_", "p_mw").to_numpy()
    imp, exp = slack.clip(0) * r.step_h, (-slack).clip(0) * r.step_h  # per step [MWh]
    price_in, price_out = r.series("import_eur_per_mwh"), r.series("export_eur_per_mwh")
    net = imp.sum() - exp.sum()
    k += [
        r.kpi(
            "cost_net_metering_eur",
            max(net, 0) * price_in.mean() - max(-net, 0) * price_out.mean(),
        ),
        r.kpi("cost_net_billing_eur", imp @ price_in - exp @ price_out),
    ]
    if s.demand_charge_eur_per_mw > 0:
        k.append(r.kpi("demand_charge_eur", slack.max(initial=0.0) * s.demand_charge_eur_per_mw))
    grid_co2 = imp @ r.series("grid_co2_kg_per_mwh")
    k += [r.kpi("grid_co2_kg", grid_co2), r.kpi("co2_kg", grid_co2 + (fuel_co2 or 0.0))]
    return k


def _fuel_co2_kg(r: _Run) -> float | None:
    """CHP and boiler CO2 [kg]: recorded ``co2_kg_per_h``, else fuel x factor; None: neither."""
    co2 = r.cols("CHP", "co2_kg_per_h")
    if not co2.empty:
        return r.mwh(co2)  # kg/h x h
    fuel = r.cols("CHP", "p_fuel_mw")
    return None if fuel.empty else r.mwh(fuel) * r.settings.fuel_co2_kg_per_mwh


def _economics(r: _Run, found: dict[str, float]) -> list[Kpi]:
    """NPC, LCOE, payback and project CO2 of the run's design, its period scaled to a year."""
    period, capacity = economics.period_flows(r, found), economics.capacities(r)
    if period is None or capacity is None or period.duration_h <= 0:
        return []
    costs = economics.read_costs(r.settings.costs)
    year = economics.to_year([(period, economics.HOURS_PER_YEAR)])
    values = economics.evaluate(year, capacity, costs, r.settings.demand_charge_eur_per_mw)
    fmt = economics.definitions(costs)
    scale = economics.HOURS_PER_YEAR / period.duration_h
    return [
        r.kpi("year_scale", scale, duration_h=f"{period.duration_h:g}"),
        *(r.kpi(name, value, **fmt) for name, value in values.items()),
    ]


def headline(kpis: list[Kpi]) -> list[Kpi]:
    """The handful of KPIs printed after a run (``HEADLINE``, those present; ``partial`` only
    when the run did not complete)."""
    by_name = {k.name: k for k in kpis}
    chosen = [by_name[n] for n in HEADLINE if n in by_name]
    return [k for k in chosen if k.name != "partial" or k.value]


def to_frame(kpis: list[Kpi]) -> pd.DataFrame:
    """The KPIs as a table with columns group, name, value, unit, at, definition."""
    return pd.DataFrame([asdict(k) for k in kpis], columns=list(COLUMNS))


def write(kpis: list[Kpi], folder: str | Path) -> None:
    """Write ``kpis.json`` (a list of KPI records) and ``kpis.csv`` into ``folder``."""
    folder = Path(folder)
    (folder / KPIS_JSON).write_text(json.dumps([asdict(k) for k in kpis], indent=1) + "\n")
    to_frame(kpis).to_csv(folder / KPIS_CSV, index=False)


def read(folder: str | Path) -> list[Kpi]:
    """The KPIs ``write`` left in ``folder``."""
    path = Path(folder) / KPIS_JSON
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} does not exist: write the KPIs first")
    return [Kpi(**record) for record in json.loads(path.read_text())]
