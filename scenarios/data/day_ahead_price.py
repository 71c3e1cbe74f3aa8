"""The synthetic day-ahead price profile shipped as ``day_ahead_price_2016.csv``.

Hourly prices [EUR/MWh] for the 366 days of 2016, t_s = 0 at 2016-01-01 00:00 in the scenario's
local time (CET without daylight saving, as the SimBench profiles). Synthetic, not market data:
a stylised shape with the features of the German/Austrian day-ahead auction (EPEX Spot) of
2016 [1]_:

- an annual mean of 29 EUR/MWh (the 2016 base average was about 29 EUR/MWh [1]_);
- higher prices in winter than in summer (+-12 % around the mean);
- a night trough around 03-04 h, a morning peak around 08 h, an evening peak around 18 h in
  winter and 20 h in summer, and a midday dip in summer from solar generation;
- Saturdays 15 %, Sundays and public holidays 22 % below weekdays, with a flatter shape;
- seeded AR(1) noise (sigma 2.5 EUR/MWh, lag-1 correlation 0.8), so that equal hours differ.

Run ``python scenarios/data/day_ahead_price.py`` to write the file again; a test checks that
the shipped file is what this module makes.

References
----------
.. [1] Fraunhofer ISE, Energy-Charts, "Day-ahead auction prices, Germany/Austria, 2016"
   (hourly averages by hour of day and month), https://energy-charts.info
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FILE = Path(__file__).with_name("day_ahead_price_2016.csv")
MEAN_EUR_PER_MWH = 29.0
SEED = 2016
# weekday shape relative to the daily mean, hours 0..23: mid-January and mid-July (stylised)
WINTER = np.array(
    [0.92, 0.86, 0.82, 0.79, 0.80, 0.86, 0.98, 1.10, 1.15, 1.12, 1.08, 1.06,
     1.02, 0.99, 0.98, 1.01, 1.08, 1.22, 1.26, 1.18, 1.06, 0.98, 0.95, 0.88]
)  # fmt: skip
SUMMER = np.array(
    [0.95, 0.88, 0.84, 0.82, 0.83, 0.88, 0.98, 1.08, 1.12, 1.08, 1.02, 0.97,
     0.92, 0.88, 0.88, 0.92, 0.98, 1.06, 1.12, 1.18, 1.22, 1.15, 1.05, 0.98]
)  # fmt: skip
HOLIDAYS_2016 = ("01-01", "03-25", "03-28", "05-05", "05-16", "10-03", "12-25", "12-26")
"""German nation-wide public holidays of 2016 (month-day), priced like Sundays."""


def prices_eur_per_mwh(year: int = 2016) -> pd.DataFrame:
    """The hourly profile of ``year``: columns ``t_s`` [s] and ``price_0`` [EUR/MWh]."""
    hours = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", inclusive="left")
    doy = hours.dayofyear.to_numpy()
    winter_frac = (1 + np.cos(2 * np.pi * (doy - 15) / 366)) / 2  # 1 mid-January, 0 mid-July
    shape = winter_frac * WINTER[hours.hour] + (1 - winter_frac) * SUMMER[hours.hour]
    holiday = np.isin(hours.strftime("%m-%d"), HOLIDAYS_2016)
    sunday = (hours.dayofweek.to_numpy() == 6) | holiday
    saturday = (hours.dayofweek.to_numpy() == 5) & ~holiday
    flatten = np.where(sunday | saturday, 0.6, 1.0)  # weekend shapes: 60 % of the swing
    level = np.where(sunday, 0.78, np.where(saturday, 0.85, 1.0))
    season = 1 + 0.12 * (2 * winter_frac - 1)
    price = season * level * (1 + flatten * (shape - 1))
    price *= MEAN_EUR_PER_MWH / price.mean()
    rng = np.random.default_rng(SEED)
    noise = np.zeros(len(price))
    shocks = rng.normal(0.0, 2.5 * np.sqrt(1 - 0.8**2), len(price))
    for k in range(1, len(price)):
        noise[k] = 0.8 * noise[k - 1] + shocks[k]
    t_s = np.arange(len(price)) * 3600
    return pd.DataFrame({"t_s": t_s, "price_0": np.round(price + noise, 2)})


def main() -> None:
    prices_eur_per_mwh().to_csv(FILE, index=False, lineterminator="\n")
    print(f"wrote {FILE}")


if __name__ == "__main__":
    main()
