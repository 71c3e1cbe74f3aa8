"""Life-cycle economics of a design: net present cost, LCOE, simple payback, project CO2.

The formulas are HOMER Pro's (HOMER Pro 3.x user manual, homerenergy.com/products/pro/docs):

- "Real Discount Rate": ``i = (i' - f) / (1 + f)``, nominal rate ``i'``, inflation ``f``.
- "Capital Recovery Factor": ``CRF(i, N) = i (1 + i)^N / ((1 + i)^N - 1)`` (``npf.pmt``).
- "Net Present Cost": ``NPC = C_ann,tot / CRF(i, R_proj)``; here the same sum written as present
  values: capital at year 0, each replacement at the year it happens, every annual cost (O&M,
  fuel, grid energy and demand charges) over ``R_proj`` years, salvage at ``R_proj``. Discounting
  the replacements year by year equals HOMER's ``C_rep f_rep SFF(i, R_comp)`` annualisation.
- "Salvage Value": ``S = C_rep R_rem / R_comp`` with ``R_rem = R_comp - (R_proj - R_rep)`` and
  ``R_rep = R_comp INT(R_proj / R_comp)``.
- "Levelized Cost of Energy": ``COE = C_ann,tot / E_served`` with ``C_ann,tot = NPC CRF(i, N)``
  and ``E_served`` the electricity served to loads (houses and EVs) plus the grid sales.
- Battery life (HOMER "Storage Life"): the shorter of the calendar life and the lifetime
  throughput over the annual throughput; here in full-equivalent cycles,
  ``cycles = throughput / 2 / capacity`` (cosim's ``battery_cycles`` KPI).

Every annual flow comes from a simulated period scaled to a year (:func:`to_year`): a run of
``d`` hours is multiplied by ``8760 / d``; several representative periods by the hours each
stands for. Peak powers are not scaled: the period's peak stands for the year's.
Nothing here reads a results folder: ``cosim.analysis.kpis`` turns a run into :class:`Flows`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy_financial as npf
import pandas as pd

from cosim.analysis.balance import grid_sum, unit_sum
from cosim.core.errors import ConfigError, unknown
from cosim.core.units import KW_PER_MW

HOURS_PER_YEAR = 8760.0
COST_SUFFIXES = (".csv", ".json")
UNITS = ("pv", "battery", "chp")
"""Unit types with a cost; each sized by ``installed`` capacity (pv_mw, battery_mwh, chp_mw)."""
CAPACITY_KEYS = {"pv": "pv_mw", "battery": "battery_mwh", "chp": "chp_mw"}


@dataclass(frozen=True)
class Costs:
    """Cost and finance inputs; every default with its source. Prices in EUR of 2024, net of VAT.

    Per unit type ``pv`` [kWp], ``battery`` [kWh usable], ``chp`` [kW electrical]:
    ``<type>_capital_eur_per_kw[h]`` (initial), ``<type>_replacement_eur_per_kw[h]`` (at each
    replacement), ``<type>_om_eur_per_kw[h]_year`` (fixed O&M), ``<type>_life_years``.

    - PV 1,500 EUR/kWp: the middle of 1,000-2,000 EUR/kWp for small rooftop systems, Fraunhofer
      ISE, "Stromgestehungskosten Erneuerbare Energien", July 2024 (investment costs). O&M
      1.5 % of the capital a year (22.5 EUR/kWp/a; assumption in the range of the fixed O&M
      that study uses). Life 25 a: the usual module performance warranty (assumption).
    - Home battery 750 EUR/kWh: the middle of 500-1,000 EUR/kWh for PV home storage,
      Fraunhofer ISE July 2024. O&M 10 EUR/kWh/a (assumption, about 1.3 % of the capital).
      Calendar life 15 a and 6,000 full cycles: typical of LFP home storage warranties and
      datasheets (assumption); replacement cost = capital cost (HOMER's default).
    - Micro-CHP 2,500 EUR/kW: ASUE, "BHKW-Kennzahlen 2023", specific investment of gas CHP units
      around 20 kW electrical. O&M 100 EUR/kW/a (assumption: about 2.5 ct/kWh at 4,000
      full-load hours, the order of the maintenance costs ASUE gives for that size). Life 15 a
      (VDI 2067 Part 1, CHP units).
    - Gas 120 EUR/MWh: BDEW "Gaspreisanalyse" 2024, household price without VAT, rounded.
    - Reference boiler efficiency 0.9 (LHV, condensing boiler; assumption), for the heat the CHP
      fleet serves when the reference (no DER) buys gas for a boiler instead.
    - Nominal discount rate 8 %, inflation 2 %, project life 25 a: HOMER Pro's defaults
      ("Economics" inputs).
    """

    pv_capital_eur_per_kw: float = 1500.0
    pv_replacement_eur_per_kw: float = 1500.0
    pv_om_eur_per_kw_year: float = 22.5
    pv_life_years: float = 25.0
    battery_capital_eur_per_kwh: float = 750.0
    battery_replacement_eur_per_kwh: float = 750.0
    battery_om_eur_per_kwh_year: float = 10.0
    battery_life_years: float = 15.0
    battery_life_cycles: float = 6000.0
    chp_capital_eur_per_kw: float = 2500.0
    chp_replacement_eur_per_kw: float = 2500.0
    chp_om_eur_per_kw_year: float = 100.0
    chp_life_years: float = 15.0
    fuel_eur_per_mwh: float = 120.0
    boiler_efficiency_frac: float = 0.9
    discount_nominal_frac: float = 0.08
    inflation_frac: float = 0.02
    project_years: float = 25.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"costs {f.name}={value!r} must be a number")
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"costs {f.name}={value!r} must be a finite number >= 0")
            object.__setattr__(self, f.name, float(value))
        for name in ("pv_life_years", "battery_life_years", "chp_life_years", "project_years"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"costs {name}={getattr(self, name)!r} must be > 0")
        if not 0 < self.boiler_efficiency_frac <= 1:
            raise ConfigError(
                f"costs boiler_efficiency_frac={self.boiler_efficiency_frac!r} must be in (0, 1]"
            )
        if self.battery_life_cycles <= 0:
            raise ConfigError(f"costs battery_life_cycles={self.battery_life_cycles!r} must be > 0")

    @property
    def real_discount_frac(self) -> float:
        return real_discount_rate(self.discount_nominal_frac, self.inflation_frac)


def read_costs(path: str | Path = "") -> Costs:
    """The default :class:`Costs`, with the values of a CSV (columns ``key``, ``value``; more
    columns such as unit and source are allowed) or JSON (an object) file over them."""
    if not path:
        return Costs()
    path = Path(path)
    where = f"costs={str(path)!r}"
    if path.suffix.lower() not in COST_SUFFIXES:
        raise ConfigError(f"{where} must be a {'/'.join(COST_SUFFIXES)} file")
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    if path.suffix.lower() == ".json":
        try:
            given = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ConfigError(f"{where}: {err}") from None
        if not isinstance(given, dict):
            raise ConfigError(f"{where} must hold a JSON object of key: value")
    else:
        table = pd.read_csv(path, comment="#", skipinitialspace=True)
        if not {"key", "value"} <= set(table.columns):
            raise ConfigError(f"{where} needs columns key and value, has {list(table.columns)}")
        given = dict(zip(table["key"].astype(str).str.strip(), table["value"], strict=True))
    known = [f.name for f in fields(Costs)]
    for key in given:
        if key not in known:
            raise unknown(f"{where}: key", key, known)
    values = {}
    for key, value in given.items():
        try:
            values[key] = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {key}={value!r} must be a number") from None
    return dataclasses.replace(Costs(), **values)


def real_discount_rate(nominal_frac: float, inflation_frac: float) -> float:
    """HOMER "Real Discount Rate": ``(i' - f) / (1 + f)`` [-]."""
    return (nominal_frac - inflation_frac) / (1.0 + inflation_frac)


def crf(rate_frac: float, years: float) -> float:
    """HOMER "Capital Recovery Factor" ``i (1+i)^N / ((1+i)^N - 1)``; ``1/N`` at ``i = 0``."""
    return float(npf.pmt(rate_frac, years, -1.0))


def discount(rate_frac: float, years: float) -> float:
    """Present value of 1 EUR paid ``years`` from now (single payment discount factor)."""
    return float((1.0 + rate_frac) ** -years)


def replacement_years(life_years: float, project_years: float) -> list[float]:
    """Years of the replacements: every ``life_years`` up to and including the project's end
    (HOMER: ``R_rep = R_comp INT(R_proj / R_comp)``; one at the end is salvaged in full)."""
    count = math.floor(project_years / life_years + 1e-9)
    return [k * life_years for k in range(1, count + 1)]


def salvage_frac(life_years: float, project_years: float) -> float:
    """HOMER "Salvage Value" as a share of the replacement cost: ``R_rem / R_comp``."""
    r_rep = life_years * math.floor(project_years / life_years + 1e-9)
    return (life_years - (project_years - r_rep)) / life_years


@dataclass(frozen=True)
class Flows:
    """What the economics needs from a simulated period (or a year after :func:`to_year`).

    Energies [MWh], money [EUR] and CO2 [kg] over ``duration_h``; peaks [MW] of the period.
    The reference is the same demand with no DER: every load and EV and the same grid losses
    (where recorded) from the grid, heat from a gas boiler.
    """

    duration_h: float
    served_mwh: float  # electricity to loads and EVs plus export
    energy_cost_eur: float  # net billing: imports at their price minus export credit
    peak_import_mw: float
    battery_throughput_mwh: float  # charged plus discharged
    fuel_mwh: float  # CHP and boiler fuel, LHV
    co2_kg: float  # imported energy and fuel
    reference_cost_eur: float  # the demand bought from the grid at its import price
    reference_peak_mw: float
    heat_mwh: float  # heat demand the CHP fleet serves (reference: a boiler)


def to_year(periods: Sequence[tuple[Flows, float]]) -> Flows:
    """One year of flows from ``(period, hours it stands for)`` pairs; the hours must sum to
    8760. Energies, money and CO2 are scaled by hours / period duration; peaks are the largest."""
    hours = sum(h for _, h in periods)
    if not periods or not math.isclose(hours, HOURS_PER_YEAR, rel_tol=1e-9):
        raise ConfigError(f"representative periods stand for {hours} h; they must cover 8760 h")
    peaks = ("peak_import_mw", "reference_peak_mw")
    out: dict[str, float] = {"duration_h": HOURS_PER_YEAR}
    for f in fields(Flows):
        if f.name == "duration_h":
            continue
        values = [
            getattr(p, f.name) * (1.0 if f.name in peaks else h / p.duration_h) for p, h in periods
        ]
        out[f.name] = max(values) if f.name in peaks else sum(values)
    return Flows(**out)


def evaluate(
    year: Flows, capacity: Mapping[str, float], costs: Costs, demand_charge_eur_per_mw: float
) -> dict[str, float]:
    """Economic KPIs of one year of ``year`` flows and installed ``capacity`` (``pv_mw``,
    ``battery_mwh``, ``chp_mw``; missing: none). Values by KPI name (``kpi_catalogue``)."""
    i, n = costs.real_discount_frac, costs.project_years
    size = {u: capacity.get(CAPACITY_KEYS[u], 0.0) * KW_PER_MW for u in UNITS}  # kW / kWh
    cycles_year = (
        year.battery_throughput_mwh / 2 / capacity["battery_mwh"] if size["battery"] else 0
    )
    life = {
        "pv": costs.pv_life_years,
        "battery": min(
            costs.battery_life_years,
            costs.battery_life_cycles / cycles_year if cycles_year > 0 else math.inf,
        ),
        "chp": costs.chp_life_years,
    }
    capital = replacement = salvage = om = 0.0
    for u in UNITS:
        c = dataclasses.asdict(costs)
        per = "kwh" if u == "battery" else "kw"
        capital += size[u] * c[f"{u}_capital_eur_per_{per}"]
        c_rep = size[u] * c[f"{u}_replacement_eur_per_{per}"]
        replacement += sum(c_rep * discount(i, y) for y in replacement_years(life[u], n))
        salvage += c_rep * salvage_frac(life[u], n) * discount(i, n)
        om += size[u] * c[f"{u}_om_eur_per_{per}_year"]
    fuel = year.fuel_mwh * costs.fuel_eur_per_mwh
    grid = year.energy_cost_eur + year.peak_import_mw * demand_charge_eur_per_mw
    annuity = float(npf.pv(i, n, -1.0))  # present value of 1 EUR a year for n years = 1 / CRF
    npc = capital + replacement - salvage + (om + fuel + grid) * annuity
    annualized = npc * crf(i, n)
    reference = (
        year.reference_cost_eur
        + year.reference_peak_mw * demand_charge_eur_per_mw
        + year.heat_mwh / costs.boiler_efficiency_frac * costs.fuel_eur_per_mwh
    )
    savings = reference - (om + fuel + grid)
    return {
        "capital_eur": capital,
        "battery_life_years": life["battery"],
        "replacement_eur": replacement,
        "salvage_eur": salvage,
        "om_eur_per_year": om,
        "fuel_eur_per_year": fuel,
        "grid_eur_per_year": grid,
        "npc_eur": npc,
        "annualized_cost_eur": annualized,
        "lcoe_eur_per_mwh": annualized / year.served_mwh if year.served_mwh > 0 else math.nan,
        "payback_years": capital / savings if savings > 0 else math.inf,
        "co2_project_kg": year.co2_kg * n,
    }


class RunData(Protocol):
    """What :func:`period_flows` reads of a run (``cosim.analysis.kpis``' run view)."""

    data: pd.DataFrame
    step_h: float
    t_s: np.ndarray
    manifest: dict[str, Any]

    def cols(self, kind: str, attr: str, prefix: str = "") -> pd.DataFrame: ...

    def series(self, name: str) -> np.ndarray: ...

    def mwh(self, frame: pd.DataFrame | pd.Series) -> float: ...


def capacities(r: RunData) -> dict[str, float] | None:
    """Installed capacity per unit type from the manifest (``Builder.installed``); a battery
    fleet's from its recorded ``e_mwh / soc_frac`` when not declared. None: PV or CHP units
    ran whose capacity the scenario did not declare (no economics then)."""
    given = {k: float(v) for k, v in r.manifest.get("installed", {}).items()}
    for kind, key in (("PV", "pv_mw"), ("CHP", "chp_mw")):
        if key not in given and not r.cols(kind, "p_mw").empty:
            return None
    if "battery_mwh" not in given and not r.cols("Battery", "p_mw").empty:
        e, soc = r.cols("Battery", "e_mwh"), r.cols("Battery", "soc_frac")
        measured = (e / soc.where(soc > 1e-9)).median()
        if measured.isna().any():
            return None
        given["battery_mwh"] = float(measured.sum())
    return given


def period_flows(r: RunData, found: Mapping[str, float]) -> Flows | None:
    """The :class:`Flows` of a run; ``found``: its other KPIs by name. None without a slack."""
    if "cost_net_billing_eur" not in found:
        return None
    demand = (grid_sum(r.data, "load_", "p_mw") + unit_sum(r.data, "EV")).to_numpy().clip(0)
    demand_mwh = demand * r.step_h
    losses_mw = r.cols("Grid", "pl_mw").sum(axis=1).to_numpy()  # the reference has them too
    return Flows(
        duration_h=len(r.t_s) * r.step_h,
        served_mwh=float(demand_mwh.sum()) + found["export_mwh"],
        energy_cost_eur=found["cost_net_billing_eur"],
        peak_import_mw=found["peak_import_mw"],
        battery_throughput_mwh=found.get("battery_throughput_mwh", 0.0),
        fuel_mwh=r.mwh(r.cols("CHP", "p_fuel_mw")),
        co2_kg=found["co2_kg"],
        reference_cost_eur=float(
            (demand_mwh + losses_mw * r.step_h) @ r.series("import_eur_per_mwh")
        ),
        reference_peak_mw=float((demand + losses_mw).max(initial=0.0)),
        heat_mwh=r.mwh(r.cols("CHP", "p_heat_demand_mw")),
    )


def definitions(costs: Costs) -> dict[str, Any]:
    """Values the economics definitions in the catalogue are filled with."""
    return {
        "project_years": f"{costs.project_years:g}",
        "real_discount_percent": f"{100 * costs.real_discount_frac:.2f}",
    }
