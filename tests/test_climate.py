"""The typical year every weather-dependent unit shares (``simulators.climate``) and the PV
yield it gives at the default site.

No mosaik wiring: the PV chain (``simulators.pv.chunks.AvailablePower``) is called directly, as
the PV simulator calls it, for a whole year at 15 min.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest

from cosim.core.errors import ConfigError
from simulators import climate
from simulators.pv import model
from simulators.pv.chunks import AvailablePower
from simulators.pv.sim import PVSim

START = pd.Timestamp("2016-01-01 00:00", tz="Etc/GMT-1")  # the neighbourhood's clock
STEPS = 365 * 96


def year_kwh_per_kwp(weather: str) -> pd.Series:
    """AC energy of 1 kWp with the default Params at the default site, per 15 min [kWh]."""
    fleet = model.Fleet([model.Params(p_dc_peak_mw=0.001)])
    power = AvailablePower(fleet, START, 900, STEPS, weather, 20.0, 1.0, "perez")
    p_kw = np.array([power.at(k * 900).p_available_mw[0] * 1000.0 for k in range(STEPS)])
    assert power.chunks_computed == 11  # 24 steps, then doubling: 24 * (2**11 - 1) >= STEPS
    times = START + pd.to_timedelta(np.arange(STEPS) * 900, unit="s")
    return pd.Series(p_kw * 0.25, index=times)


@pytest.fixture(scope="module")
def typical() -> pd.Series:
    return year_kwh_per_kwp("typical")


@pytest.fixture(scope="module")
def clear() -> pd.Series:
    return year_kwh_per_kwp("clear_sky")


def test_default_yield_is_that_of_german_rooftop_pv(typical: pd.Series, clear: pd.Series):
    # te Heesen, Herbort, Rumpler, Solar Energy 194 (2019) 128-135: 23,944 German rooftop
    # systems 2012-2018, annual specific yield 816 (Baltic coast 2017) to 1049 kWh/kWp
    # (Bavaria 2018); Fraunhofer ISE, "Recent Facts about Photovoltaics in Germany": about
    # 900-1000 kWh/kWp in Germany. Clear sky every day gives about 1593 kWh/kWp.
    assert 900 < typical.sum() < 1100
    assert clear.sum() == pytest.approx(1593, abs=5)
    # clear sky overstates winter most (Central European winters are the cloudiest season):
    # December and January below a third of their clear-sky energy, May to August above half
    share = typical.resample("MS").sum() / clear.resample("MS").sum()
    assert (share.iloc[[0, 11]] < 1 / 3).all() and (share.iloc[4:8] > 0.5).all()


def test_days_vary_as_weather_does(typical: pd.Series, clear: pd.Series):
    daily = typical.resample("D").sum()
    ratio = daily / clear.resample("D").sum()
    # dull days (below 30 % of a clear day) and clear ones (above 80 %) both occur in every
    # season; a day differs from the next by more than a clear sky's day-to-day change
    for months in ((12, 1, 2), (6, 7, 8)):
        season = ratio[ratio.index.month.isin(months)]
        assert (season < 0.3).sum() >= 5 and (season > 0.8).sum() >= 5
    assert daily.diff().abs().mean() > 10 * clear.resample("D").sum().diff().abs().mean()


def test_clear_sky_index_reproduces_the_annual_irradiation():
    # the table is scaled so that Berlin's GHI over the year is the DWD German mean of
    # 1055 kWh/m² (simulators/data/clear_sky_index.py)
    times = pd.date_range("2015-01-01", periods=8760 * 4, freq="15min", tz="UTC")
    site = model.DEFAULT_SITE
    location = pvlib.location.Location(
        site["latitude_deg"], site["longitude_deg"], altitude=site["altitude_m"]
    )
    ghi = climate.clear_sky_index_at(times) * location.get_clearsky(times)["ghi"].to_numpy()
    assert ghi.sum() / 4 / 1000 == pytest.approx(1055, rel=0.01)
    index = climate.clear_sky_index()
    assert index.shape == (8760,) and index.min() >= 0 and index.max() <= 1.2


def test_temperature_daily_mean_is_what_the_chp_reads():
    times = pd.date_range("2015-01-01", periods=365 * 96, freq="15min", tz="UTC")
    temp = climate.air_temperature_c(times).reshape(365, 96)
    # the diurnal cycle averages to 0 over a day: the CHP's heat demand reads the daily means
    np.testing.assert_allclose(temp.mean(axis=1), climate.daily_temperature_c(), atol=1e-9)
    # DWD normals 1991-2020: year 9.3 °C, January about 0.9 °C, July about 18.3 °C
    assert temp.mean() == pytest.approx(9.3, abs=1e-9)
    jan, jul = temp[:31].mean(), temp[181:212].mean()
    assert jan == pytest.approx(0.9, abs=0.6) and jul == pytest.approx(18.3, abs=0.6)
    # diurnal range: DTR_WINTER_K on the coldest day (15 January), DTR_SUMMER_K half a year on;
    # the maximum at 14:00 UTC
    assert np.ptp(temp[15]) == pytest.approx(climate.DTR_WINTER_K, rel=0.01)
    assert int(np.argmax(temp[197])) == 14 * 4


def test_time_zone_and_leap_year_mapping():
    utc = pd.DatetimeIndex(["2015-03-01 12:00"], tz="UTC")
    cet = pd.DatetimeIndex(["2015-03-01 13:00"], tz="Etc/GMT-1")
    assert climate.hours_of_year(utc) == climate.hours_of_year(cet) == (31 + 28) * 24 + 12
    # the 366th day of a leap year repeats the first
    leap = pd.DatetimeIndex(["2016-12-31 06:00"], tz="UTC")
    assert climate.hours_of_year(leap) == 6


def test_pv_sim_weather_names(tmp_path):
    sim = PVSim()
    sim.init("PV-0", weather="")
    assert sim._settings["weather"] == "typical"
    sim.init("PV-0", weather="clear_sky")
    assert sim._settings["weather"] == "clear_sky"
    with pytest.raises(ConfigError, match="weather file 'cloudy'"):
        sim.init("PV-0", weather="cloudy")


def test_shipped_clear_sky_index_is_what_its_generator_makes():
    from simulators.data import clear_sky_index

    made = clear_sky_index.clear_sky_index()
    np.testing.assert_allclose(climate.clear_sky_index(), made, atol=1e-4)
