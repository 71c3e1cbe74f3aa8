"""The catalogue of KPIs: name, group, unit and definition of each, in report order."""

from __future__ import annotations

import re

_TABLE = """
## run
steps_done [-] Steps with results, of {requested} requested.
duration_h [h] Simulated time the results cover.
partial [-] 1 if the run did not complete (status {status!r}): KPIs cover the steps done.
## energy
import_mwh [MWh] Energy drawn from the upstream grid.
export_mwh [MWh] Energy fed into the upstream grid.
peak_import_mw [MW] Largest import power of a step (step mean).
peak_export_mw [MW] Largest export power of a step (step mean).
pv_generation_mwh [MWh] Electricity the PV units fed in.
chp_generation_mwh [MWh] Electricity the CHP units fed in.
other_generation_mwh [MWh] Generation of grid sgens no PV or CHP unit drives.
generation_mwh [MWh] Generation of all sgens in the grid.
consumption_mwh [MWh] Energy taken by the grid's loads (EVs not included).
grid_losses_mwh [MWh] Active power losses of lines and trafos.
self_consumption_percent [%] Share of local generation not exported in the same step.
self_sufficiency_percent [%] Share of load and EV demand not covered by the same step's import.
## grid
voltage_violation_h [h] Time with at least one energised bus outside {v_min_pu}..{v_max_pu} p.u.
voltage_violation_bus_steps [-] Bus-steps with a voltage outside {v_min_pu}..{v_max_pu} p.u.,
    summed over buses.
voltage_violation_buses [-] Buses with a voltage outside {v_min_pu}..{v_max_pu} p.u. in at
    least one step.
v_min_pu [p.u.] Lowest voltage of an energised bus.
v_max_pu [p.u.] Highest bus voltage.
overload_h [h] Time with at least one line or trafo loaded above {loading_max_percent} %.
overloaded_branches [-] Lines and trafos loaded above {loading_max_percent} % in at least one step.
max_loading_percent [%] Highest loading of a line or trafo.
nonconverged_steps [-] Steps whose power flow did not converge.
## units
battery_throughput_mwh [MWh] Energy charged plus discharged by all batteries, at the grid
    terminals.
battery_capacity_mwh [MWh] Usable capacity of all batteries, e_mwh / soc_frac.
battery_cycles [-] Full-equivalent cycles of the fleet: throughput / 2 / capacity.
battery_cycles_max [-] Full-equivalent cycles of the most cycled battery.
battery_losses_mwh [MWh] Conversion and self-discharge losses of all batteries.
chp_running_h [h] Hours with electrical output, summed over CHP units.
chp_starts [-] Off-to-on switches of all CHP units.
chp_heat_coverage_percent [%] Heat of the CHP units over the heat demand they serve.
boiler_heat_share_percent [%] Heat of the backup boilers over the heat demand.
ev_charged_mwh [MWh] Energy delivered to EVs by their chargers.
ev_unmet_mwh [MWh] Energy EVs lacked to their target at departure, all sessions.
pv_curtailed_mwh [MWh] PV energy available but not fed in.
pv_curtailment_percent [%] Curtailed share of the available PV energy.
flex_reduced_mwh [MWh] Demand the flexible loads reduced on request.
## control
import_limit_mw [MW] Import limit of the demand-response or peak-shaving controller.
import_over_limit_h [h] Time with the import more than {limit_tolerance_percent} % above the
    controller's import limit.
import_over_limit_max_mw [MW] Largest excess of a step's import over the controller's limit.
limit_unreachable_steps [-] Steps in which all flexibility together could not keep the predicted
    import under the limit.
ev_delayed_mwh [MWh] EV charging the controller deferred: below charging at full power while
    plugged in.
flex_shifted_mwh [MWh] Demand the controller shifted into the backlog of flexible loads.
flex_recovered_mwh [MWh] Shifted demand the controller let the flexible loads recover.
flex_curtailed_mwh [MWh] Demand the controller curtailed (lost).
## vpp
vpp_request_h [h] Time the virtual power plant's schedule held a request.
vpp_tracking_rmse_mw [MW] Root mean square of delivered minus requested power over the steps
    with a request.
vpp_within_tolerance_percent [%] Share of the steps with a request in which the delivered power
    was within {frac:g} % of the request, or {floor_kw:g} kW, whichever is larger.
vpp_requested_mwh [MWh] Energy requested, the size of every request summed over time.
vpp_delivered_mwh [MWh] Energy delivered in the direction of each request (against it counts
    negative).
vpp_shortfall_mwh [MWh] Requested energy outside the fleet's flexibility envelope.
vpp_grid_limited_mwh [MWh] Energy inside the envelope the plant held back to keep the grid in
    its limits.
vpp_revenue_eur [EUR] Delivered energy (injection; absorption counts negative) at the day-ahead
    price of the run.
vpp_voltage_violation_bus_steps [-] Bus-steps outside the plant's band {v_min:g}..{v_max:g} p.u.
vpp_overload_branch_steps [-] Line- and trafo-steps loaded above the plant's limit {limit:g} %.
## resilience
energy_not_served_mwh [MWh] Demand that could not be supplied.
outage_h_max [h] Longest time any one load went unserved, summed over the run.
outage_h_mean [h] Unserved time per load, averaged over the loads that were cut at all.
loads_cut [-] Loads that went unserved at some step.
islanded_h [h] Time a grid-forming unit held an island.
island_vm_min_pu [pu] Lowest energised bus voltage while islanded.
island_vm_max_pu [pu] Highest bus voltage while islanded.
switching_operations [-] Switch openings and closings plus changes of in_service, recorded.
grid_forming_soc_min_frac [-] Lowest state of charge of a grid-forming battery.
limit_violated_steps [-] Steps in which any unit (battery, CHP) reported power beyond its own
    limits (limit_violated).
island_collapsed_h [h] Time a grid-forming unit was tripped: its island needed more than it
    could give and went dark.
island_f_min_hz [Hz] Lowest frequency of a bus in a held island (P-f droop).
island_f_max_hz [Hz] Highest frequency of a bus in a held island (P-f droop).
## money
cost_net_metering_eur [EUR] Energy cost with import and export netted over the run: net import at
    the mean import price, or net export credited at the mean export price.
cost_net_billing_eur [EUR] Energy cost with each step's import at its import price and its export
    credited at its export price.
demand_charge_eur [EUR] Peak import power times {demand_charge_eur_per_mw} EUR/MW.
## market
market_participants [-] Metered participants of the local market.
market_traded_mwh [MWh] Energy traded in the local market.
market_offered_mwh [MWh] Energy the participants exported and offered, before the grid rule.
market_curtailed_mwh [MWh] Offered energy the grid rule (voltage or loading limit) removed from
    the market; it went to the grid at the feed-in credit.
market_curtailed_percent [%] Curtailed share of the offered energy.
market_price_mean_eur_per_mwh [EUR/MWh] Clearing price weighted by the traded energy.
market_price_min_eur_per_mwh [EUR/MWh] Lowest clearing price of an interval with trades.
market_price_max_eur_per_mwh [EUR/MWh] Highest clearing price of an interval with trades.
market_self_sufficiency_percent [%] Share of the participants' import covered by their
    neighbours' sales.
market_bill_net_metering_eur [EUR] Participants' bills summed, each with import and export netted
    over the run (net import at the mean retail price, net export at the mean feed-in credit).
market_bill_net_billing_eur [EUR] Participants' bills summed, each step's import at retail and
    export at the feed-in credit.
market_bill_local_eur [EUR] Participants' bills summed with the local market: trades at their
    prices, the rest as net billing.
market_bill_increase_max_eur [EUR] Largest increase of one participant's bill from net billing to
    the local market (at most 0 when every limit price lies between the tariffs).
## carbon
chp_fuel_co2_kg [kg] CO2 of the fuel burnt by CHP units and backup boilers.
grid_co2_kg [kg] CO2 of the imported energy.
co2_kg [kg] CO2 of the imported energy and of CHP and boiler fuel.
## economics
year_scale [-] Factor that scales the {duration_h} h simulated to a year of 8760 h: every
    annual flow below is the run's times this factor (peak powers are not scaled).
capital_eur [EUR] Initial capital cost of the PV, battery and CHP capacity installed.
battery_life_years [a] Battery life: the shorter of the calendar life and the cycle life over
    the annual full-equivalent cycles.
replacement_eur [EUR] Present value of the replacements within the {project_years} years.
salvage_eur [EUR] Present value of the remaining life at the project's end (HOMER's linear
    salvage value, on the replacement cost).
om_eur_per_year [EUR/a] Fixed operation and maintenance cost per year.
fuel_eur_per_year [EUR/a] CHP and boiler fuel cost per year.
grid_eur_per_year [EUR/a] Grid energy cost (net billing) and demand charge per year.
npc_eur [EUR] Net present cost over {project_years} years at a real discount rate of
    {real_discount_percent} %: capital, replacements, O&M, fuel and grid costs, less salvage.
annualized_cost_eur [EUR/a] Net present cost times the capital recovery factor.
lcoe_eur_per_mwh [EUR/MWh] Levelized cost of energy: annualized cost over the electricity served
    to loads and EVs plus export.
payback_years [a] Simple payback: capital over the yearly saving against buying all electricity
    from the grid and heat from a gas boiler (inf: no saving).
co2_project_kg [kg] CO2 of the imported energy and of fuel over the {project_years} years.
"""
"""Every KPI ``compute`` may return, in order, by group: ``name [unit] definition``, where
``{field}`` is filled from the Settings and the run; an indented line continues a definition."""


def _catalogue(table: str) -> dict[str, tuple[str, str, str]]:
    """``_TABLE`` as name -> (group, unit, definition)."""
    rows: dict[str, tuple[str, str, str]] = {}
    group, name = "", ""
    for line in table.strip().splitlines():
        if line.startswith("## "):
            group = line[3:]
        elif line.startswith(" "):
            g, unit, text = rows[name]
            rows[name] = (g, unit, f"{text} {line.strip()}")
        else:
            name, unit, text = re.fullmatch(r"(\w+) \[(.*?)\] (.*)", line).groups()  # type: ignore[union-attr]
            rows[name] = (group, unit, text)
    return rows


CATALOGUE = _catalogue(_TABLE)
"""name -> (group, unit, definition) of every KPI, in the order ``compute`` returns them."""
