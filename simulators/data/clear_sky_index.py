"""The typical year's clear-sky index shipped as ``clear_sky_index.csv`` (``simulators.climate``).

Made from SimBench's PV profiles of 2016 [1]_ (15-minute feed-in, normalised), so cloudy days
are the days on which the SimBench grids' own PV is low. Their time labels are read as UTC:
the energy-weighted mean hour of their feed-in is 11.3 h in January and in June, Berlin's solar
noon is 11.1 h UTC (12.1 h CET), and the clear-sky model's mean hour is 12.2 h in CET labels.

1. the mean of the net's normalised PV profiles, ``p_sb``, and the clear-sky AC power of the
   PV simulator's default system (``simulators.pv.model.Params``, 30° south, Berlin) at the
   same times, ``p_clear``, both summed to hours;
2. each hour's ratio ``p_sb / p_clear``, where the clear hour gives at least ``MIN_HOUR_FRAC``
   of that day's largest clear hour, else the day's ratio (dawn and dusk ratios are noise);
3. 29 February dropped (a 365-day year);
4. each hour with the sun up (step 2) at least ``K_MIN``: SimBench has 16 days without any PV
   feed-in (snow on the modules or missing data, not darkness: an overcast sky still gives
   diffuse light);
5. one factor for the whole year, chosen so that ``sum(k * GHI_clear)`` (Ineichen at Berlin,
   hourly) is ``GHI_ANNUAL_KWH_PER_M2`` [2]_, each hour capped at ``K_MAX``. The factor puts
   the level right (SimBench normalises its profiles to a peak of about 0.6); the profiles give
   the pattern of days, hours and seasons.

Run ``python simulators/data/clear_sky_index.py`` to write the file again; a test checks that
the shipped file is what this module makes.

References
----------
.. [1] S. Meinecke et al., "SimBench - A Benchmark Dataset of Electric Power Systems to Compare
   Innovative Solutions Based on Power Flow Analysis", Energies 13(12), 3290, 2020.
.. [2] Deutscher Wetterdienst, "Globalstrahlung in der Bundesrepublik Deutschland", annual sum
   of the global radiation, area mean 1981-2010: 1055 kWh/m².
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pvlib

from simulators import climate
from simulators.pv import model
from simulators.simbench_nets import simbench_net

GRID = "1-LV-rural1--0-sw"
"""The SimBench net whose PV profiles are used (every SimBench net shares the profiles)."""
GHI_ANNUAL_KWH_PER_M2 = 1055.0
MIN_HOUR_FRAC = 0.1
K_MIN = 0.1
"""Floor of a daylight hour's clear-sky index before scaling [-] (an assumption)."""
K_MAX = 1.2
"""Cap of an hourly clear-sky index: cloud enhancement lifts hourly GHI a little above clear."""
STEP_H = 0.25


def simbench_pv_per_unit() -> pd.Series:
    """Mean of the net's normalised PV profiles, indexed by UTC time [-]."""
    profiles = simbench_net(GRID).profiles["renewables"]
    pv = profiles[[c for c in profiles.columns if c.startswith("PV")]].mean(axis=1)
    times = pd.date_range("2016-01-01", periods=len(pv), freq="15min", tz="UTC")
    return pd.Series(pv.to_numpy(dtype=np.float64), index=times)


def clear_pv_per_unit(times: pd.DatetimeIndex) -> np.ndarray:
    """Clear-sky AC power of the default PV system per unit of DC peak [-]."""
    fleet = model.Fleet([model.Params(p_dc_peak_mw=1.0)])
    n = len(times)
    out = model.simulate(fleet, times, np.full(n, 20.0), np.full(n, 1.0), None, "perez")
    return out.p_available_mw[:, 0]


def clear_sky_index() -> np.ndarray:
    """The 8760 hourly clear-sky indices of the typical year (module docstring) [-]."""
    sb = simbench_pv_per_unit()
    frame = pd.DataFrame({"sb": sb, "clear": clear_pv_per_unit(sb.index)}, index=sb.index)
    frame = frame[~((frame.index.month == 2) & (frame.index.day == 29))]
    hourly = frame.resample("h").sum().dropna()
    hourly = hourly[~((hourly.index.month == 2) & (hourly.index.day == 29))]
    day = hourly.index.normalize()
    daily = hourly.groupby(day).transform("sum")
    day_max = hourly["clear"].groupby(day).transform("max")
    day_ratio = (daily["sb"] / daily["clear"]).to_numpy()
    hour_ok = (hourly["clear"] >= MIN_HOUR_FRAC * day_max).to_numpy()
    ratio = np.where(
        hour_ok, hourly["sb"].to_numpy() / np.where(hour_ok, hourly["clear"], 1.0), day_ratio
    )
    ratio = np.where(hour_ok, np.maximum(ratio, K_MIN), ratio)
    assert ratio.shape == (climate.HOURS_PER_YEAR,)
    site = model.DEFAULT_SITE
    location = pvlib.location.Location(
        site["latitude_deg"], site["longitude_deg"], altitude=site["altitude_m"]
    )
    ghi_clear = location.get_clearsky(frame.index)["ghi"].resample("h").mean().dropna()
    ghi_clear = ghi_clear[~((ghi_clear.index.month == 2) & (ghi_clear.index.day == 29))]
    ghi_kwh = ghi_clear.to_numpy() / 1000.0  # one hour: mean W/m² -> kWh/m²

    def annual(scale: float) -> float:
        return float(np.sum(np.minimum(scale * ratio, K_MAX) * ghi_kwh))

    low, high = 0.0, 10.0
    for _ in range(100):  # bisection: annual() rises with the scale
        mid = (low + high) / 2
        low, high = (mid, high) if annual(mid) < GHI_ANNUAL_KWH_PER_M2 else (low, mid)
    return np.round(np.minimum(high * ratio, K_MAX), 4)


def main() -> None:
    path = Path(climate.CLEAR_SKY_INDEX_FILE)
    pd.DataFrame({climate.CLEAR_SKY_INDEX: clear_sky_index()}).to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
