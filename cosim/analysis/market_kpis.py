"""KPIs of a local energy market, from the reports of the ``local_market`` controller.

The controller (``controllers.market``) records per step the clearing price, the traded,
offered and curtailed power, the tariffs, and per participant ``<name>:p_net_mw`` (metered net
power, load sign), ``<name>:p_bought_mw``, ``<name>:p_sold_mw`` and ``<name>:local_eur``. Each
participant's bill is computed three ways (> 0: it pays):

- **net metering**: import and export netted over the run; a net import at the mean retail
  price, a net export credited at the mean feed-in credit (as ``cost_net_metering_eur``);
- **net billing**: each step's import at retail, its export credited at feed-in;
- **local market**: local purchases and sales at their clearing prices, the rest of each
  step's import and export with the grid as under net billing (:func:`settle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cosim.analysis.results import split_id

CONTROLLER_SIM = "Controller"
PRICE = "price_eur_per_mwh"


@dataclass(frozen=True)
class Bills:
    """Energy bills per participant [EUR] (> 0: pays), of the same shape as the energies."""

    net_billing_eur: np.ndarray  # import at retail, export credited at feed-in
    market_eur: np.ndarray  # local trades at their prices, the rest with the grid as above


def settle(
    net_mwh: np.ndarray, bought_mwh: np.ndarray, sold_mwh: np.ndarray, paid_eur: np.ndarray,
    received_eur: np.ndarray, retail_eur_per_mwh: Any, feed_in_eur_per_mwh: Any,
) -> Bills:  # fmt: skip
    """Bills from each participant's metered net energy ``net_mwh`` (> 0: imported) and its
    local trades; energy not traded locally goes to the grid at the retail price (import) and
    the feed-in credit (export). Arrays broadcast (e.g. steps x participants, tariffs per step
    as a column). A participant trades on its own side only: bought <= import, sold <= export.
    """
    imp, exp = np.maximum(net_mwh, 0.0), np.maximum(-net_mwh, 0.0)
    if np.any(bought_mwh > imp + 1e-12) or np.any(sold_mwh > exp + 1e-12):
        raise ValueError("settle: a participant traded more than its metered import or export")
    billing = imp * retail_eur_per_mwh - exp * feed_in_eur_per_mwh
    grid = (imp - bought_mwh) * retail_eur_per_mwh - (exp - sold_mwh) * feed_in_eur_per_mwh
    return Bills(billing, grid + paid_eur - received_eur)


def market_entity(data: pd.DataFrame) -> str | None:
    """The full id of the (first) local market controller in a results frame, or None."""
    for entity, attr in data.columns:
        if attr == PRICE and split_id(entity)[0] == CONTROLLER_SIM:
            return str(entity)
    return None


def participant_table(data: pd.DataFrame, step_h: float) -> pd.DataFrame | None:
    """Per participant: import, export, bought and sold [MWh] and the bill under net metering,
    net billing and the market [EUR]; None without a market in ``data``."""
    entity = market_entity(data)
    if entity is None:
        return None
    own = data[entity]

    def per(attr: str) -> pd.DataFrame:
        cols = [c for c in own.columns if c.endswith(f":{attr}")]
        frame = own[cols].astype(np.float64).fillna(0.0)
        frame.columns = pd.Index([c.rpartition(":")[0] for c in cols], name="participant")
        return frame

    net = per("p_net_mw") * step_h
    names = net.columns
    bought, sold = per("p_bought_mw")[names] * step_h, per("p_sold_mw")[names] * step_h
    local = per("local_eur")[names].to_numpy()
    retail = own["retail_eur_per_mwh"].astype(np.float64).to_numpy()[:, None]
    feed_in = own["feed_in_eur_per_mwh"].astype(np.float64).to_numpy()[:, None]
    bills = settle(
        net.to_numpy(), bought.to_numpy(), sold.to_numpy(), np.maximum(local, 0.0),
        np.maximum(-local, 0.0), retail, feed_in,
    )  # fmt: skip
    imp, exp = net.clip(lower=0).sum(), (-net).clip(lower=0).sum()
    netted = imp - exp
    metering = netted.clip(lower=0) * retail.mean() - (-netted).clip(lower=0) * feed_in.mean()
    return pd.DataFrame(
        {
            "import_mwh": imp,
            "export_mwh": exp,
            "bought_mwh": bought.sum(),
            "sold_mwh": sold.sum(),
            "bill_net_metering_eur": metering,
            "bill_net_billing_eur": bills.net_billing_eur.sum(axis=0),
            "bill_market_eur": bills.market_eur.sum(axis=0),
        },
        index=names,
    )


def market_kpis(r: Any) -> list[Any]:
    """The ``market`` KPIs of a run (``cosim.analysis.kpis._Run``); none without a market."""
    table = participant_table(r.data, r.step_h)
    entity = market_entity(r.data)
    if table is None or entity is None:
        return []
    own = r.data[entity]
    traded = own["p_traded_mw"].astype(np.float64).fillna(0.0)
    price = own[PRICE].astype(np.float64)
    traded_mwh, offered_mwh = r.mwh(traded), r.mwh(own["p_offered_mw"].astype(np.float64))
    curtailed_mwh = r.mwh(own["p_curtailed_mw"].astype(np.float64))
    increase = table["bill_market_eur"] - table["bill_net_billing_eur"]
    worst = str(increase.idxmax())
    k = [
        r.kpi("market_participants", len(table)),
        r.kpi("market_traded_mwh", traded_mwh),
        r.kpi("market_offered_mwh", offered_mwh),
        r.kpi("market_curtailed_mwh", curtailed_mwh),
        r.kpi("market_curtailed_percent", 100 * curtailed_mwh / offered_mwh if offered_mwh else 0),
    ]
    if traded_mwh > 0:
        mean = float(np.nansum(price * traded) / traded.sum())
        k.append(r.kpi("market_price_mean_eur_per_mwh", mean))
        k.append(r.kpi("market_price_min_eur_per_mwh", *_extreme(r, price, "min")))
        k.append(r.kpi("market_price_max_eur_per_mwh", *_extreme(r, price, "max")))
    imported = float(table["import_mwh"].sum())
    k += [
        r.kpi("market_self_sufficiency_percent", 100 * traded_mwh / imported if imported else 0),
        r.kpi("market_bill_net_metering_eur", table["bill_net_metering_eur"].sum()),
        r.kpi("market_bill_net_billing_eur", table["bill_net_billing_eur"].sum()),
        r.kpi("market_bill_local_eur", table["bill_market_eur"].sum()),
        r.kpi("market_bill_increase_max_eur", float(increase.max()), worst),
    ]
    return k


def _extreme(r: Any, price: pd.Series, which: str) -> tuple[float, str]:
    values = price.to_numpy()
    pos = int(np.nanargmin(values) if which == "min" else np.nanargmax(values))
    return float(values[pos]), r.at(r.t_s[pos])
