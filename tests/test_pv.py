"""The PV simulator: pvlib chain, curtailment, reactive power, weather files, mosaik adapter.

Wiring of the mosaik test (``cosim.run.testing.run_simulator``)::

    Series-0.series_k --p_max_mw, vm_pu--> Under.pv_k --all outputs--> Collector

once with the PV simulator in-process, once as ``python -m simulators.pv``.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pvlib.modelchain import ModelChain
from pvlib.pvsystem import PVSystem, pvwatts_losses

from cosim.core.errors import ConfigError, SimulationError
from cosim.run.testing import run_simulator
from simulators.pv import model
from simulators.pv.model import Fleet, Params
from simulators.pv.sim import PVSim
from simulators.pv.weather import read_weather

BERLIN = {"latitude_deg": 52.52, "longitude_deg": 13.40, "altitude_m": 34.0}
TAN_PHI_095 = math.sqrt(1 - 0.95**2) / 0.95  # sqrt(0.0975) / 0.95 = 0.312250 / 0.95 = 0.328684
OUTPUTS = ["p_mw", "q_mvar", "p_available_mw", "p_curtailed_mw", "poa_w_per_m2", "temp_cell_c"]


def solstice(step_s: int, n: int, hour: float = 0.0) -> pd.DatetimeIndex:
    """``n`` times ``step_s`` apart from 2016-06-21 ``hour`` UTC."""
    start = pd.Timestamp("2016-06-21", tz="UTC") + pd.Timedelta(hours=hour)
    return start + pd.to_timedelta(np.arange(n) * step_s, unit="s")


def make_sim(**init: Any) -> PVSim:
    sim = PVSim()
    sim.init("PV-0", **{"step_s": 900, "start": "2016-06-21 00:00:00", **init})
    return sim


# --- DC and AC power: hand calculation and pvlib called directly ------------------------------


def test_stc_ac_power_equals_hand_calculation_and_pvlib() -> None:
    fleet = Fleet([Params(p_dc_peak_mw=1.0, p_ac_max_mw=0.96)])  # inverter DC limit 1.0 MW
    # p_dc = 1000/1000 * 1.0 MW * (1 - 0.004 * (25 - 25)) = 1.0 MW; less 14 %: 0.86 MW.
    # PVWatts inverter, zeta = 0.86 / 1.0: eta = 0.96 / 0.9637 * (-0.0162 * 0.86 - 0.0059 / 0.86
    #   + 0.9858) = 0.996161 * (-0.013932 - 0.006860 + 0.9858) = 0.996161 * 0.965008 = 0.961303
    # p_ac = 0.961303 * 0.86 MW = 0.826720 MW
    p_ac = model.ac_power(np.array([1000.0]), np.array([25.0]), fleet)
    assert p_ac[0] == pytest.approx(0.826720, abs=1e-6)
    direct = pvlib.inverter.pvwatts(
        pvlib.pvsystem.pvwatts_dc(1000.0, 25.0, 1.0, -0.004) * (1 - 0.14), 0.96 / 0.96, 0.96
    )
    assert p_ac[0] == direct


def test_ac_power_at_other_conditions_equals_pvlib() -> None:
    units = [Params(0.5), Params(2.0, p_ac_max_mw=1.5, gamma_pdc_per_c=-0.0035, eta_inv_nom=0.98)]
    fleet = Fleet(units)
    # 800 W/m², 45 °C: p_dc = 0.8 * 0.5 MW * (1 - 0.004 * 20) = 0.4 * 0.92 = 0.368 MW
    assert pvlib.pvsystem.pvwatts_dc(800.0, 45.0, 0.5, -0.004) == pytest.approx(0.368)
    poa = np.array([[800.0, 800.0], [0.0, 0.0], [1200.0, 300.0]])
    temp = np.array([[45.0, 45.0], [10.0, 10.0], [70.0, 15.0]])
    p_ac = model.ac_power(poa, temp, fleet)
    for k, u in enumerate(units):
        assert u.p_ac_max_mw is not None
        dc = pvlib.pvsystem.pvwatts_dc(poa[:, k], temp[:, k], u.p_dc_peak_mw, u.gamma_pdc_per_c)
        ac = pvlib.inverter.pvwatts(dc * 0.86, u.p_ac_max_mw / u.eta_inv_nom, u.eta_inv_nom)
        np.testing.assert_allclose(p_ac[:, k], ac, rtol=1e-15)
    assert p_ac[1].tolist() == [0.0, 0.0]  # dark


def test_inverter_clips_at_p_ac_max() -> None:
    fleet = Fleet([Params(1.0, p_ac_max_mw=0.5, losses_frac=0.0), Params(1.0)])
    poa = np.linspace(0.0, 1400.0, 57)[:, None]
    p_ac = model.ac_power(poa, np.full_like(poa, 25.0), fleet)
    assert p_ac[-1, 0] == 0.5 and p_ac[:, 0].max() == 0.5  # clipped from 400 W/m² or so on
    assert (p_ac[:, 0] == 0.5).sum() > 30
    assert fleet.p_ac_max_mw[1] == pytest.approx(1.0 / 1.1)  # default: DC/AC ratio 1.1
    assert p_ac[:, 1].max() == pytest.approx(1.0 / 1.1)


def test_chain_equals_pvlib_modelchain() -> None:
    """Our vectorised chain against pvlib's ModelChain with the same models and parameters."""
    times = solstice(900, 96)
    location = pvlib.location.Location(52.52, 13.40, altitude=34.0)
    temp, wind = np.linspace(5, 30, 96), np.linspace(0, 6, 96)
    sun = location.get_solarposition(times, temperature=temp)  # refraction at the air temp.
    sky = location.get_clearsky(times, solar_position=sun)
    weather = pd.DataFrame(
        {"ghi": sky.ghi, "dni": sky.dni, "dhi": sky.dhi, "temp_air": temp, "wind_speed": wind}
    )
    unit = Params(1.0, tilt_deg=25, azimuth_deg=200, **BERLIN)
    system = PVSystem(
        surface_tilt=25,
        surface_azimuth=200,
        albedo=0.25,
        module_parameters={"pdc0": 1.0, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": 1.0 / 1.1 / 0.96, "eta_inv_nom": 0.96},
        temperature_model_parameters={"u0": 25.0, "u1": 6.84},
        # PVWatts loss breakdown: 14 % in one item, so that the total is our losses_frac 0.14
        losses_parameters=dict.fromkeys(inspect.signature(pvwatts_losses).parameters, 0.0)
        | {"soiling": 14.0},
    )
    chain = ModelChain(
        system,
        location,
        transposition_model="perez",
        aoi_model="no_loss",
        spectral_model="no_loss",
        temperature_model="faiman",
        dc_model="pvwatts",
        ac_model="pvwatts",
        losses_model="pvwatts",
    )
    chain.run_model(weather)
    irradiance = {"ghi_w_per_m2": sky.ghi, "dni_w_per_m2": sky.dni, "dhi_w_per_m2": sky.dhi}
    ours = model.simulate(
        Fleet([unit]), times, temp, wind, {k: v.to_numpy() for k, v in irradiance.items()}
    )
    np.testing.assert_allclose(ours.p_available_mw[:, 0], chain.results.ac, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        ours.poa_w_per_m2[:, 0], chain.results.total_irrad.poa_global, rtol=1e-12
    )
    np.testing.assert_allclose(ours.temp_cell_c[:, 0], chain.results.cell_temperature, rtol=1e-12)
    # without irradiance: the same Ineichen clear sky, computed inside
    clear = model.simulate(Fleet([unit]), times, temp, wind, None)
    np.testing.assert_allclose(clear.p_available_mw, ours.p_available_mw, rtol=1e-12, atol=1e-15)


def test_clear_sky_noon_versus_night() -> None:
    times = solstice(3600, 24)  # UTC; solar noon in Berlin (13.4 °E) is about 11:06 UTC
    fleet = Fleet([Params(1.0, **BERLIN), Params(1.0, azimuth_deg=90, **BERLIN)])
    out = model.simulate(fleet, times, np.full(24, 20.0), np.ones(24), None)
    south, east = out.p_available_mw[:, 0], out.p_available_mw[:, 1]
    assert int(np.argmax(south)) == 11 and south[11] > 0.7  # of 0.909 MW AC
    assert int(np.argmax(east)) < 11  # an east roof peaks in the morning
    night = [0, 1, 21, 22, 23]
    assert south[night].tolist() == [0.0] * 5 and out.poa_w_per_m2[night].max() == 0.0
    assert out.temp_cell_c[night].tolist() == [[20.0, 20.0]] * 5  # cell at air temperature
    assert out.temp_cell_c[11, 0] > 40.0


def test_distinct_planes_share_irradiance() -> None:
    """Units with the same location and orientation get identical columns; all finite."""
    a, b = Params(0.01, tilt_deg=10), Params(0.02, tilt_deg=40, azimuth_deg=250)
    fleet = Fleet([a, b, a, b, Params(0.01, latitude_deg=-33.9, longitude_deg=18.4)])
    out = model.simulate(fleet, solstice(900, 96), np.full(96, 20.0), np.ones(96), None)
    np.testing.assert_array_equal(out.poa_w_per_m2[:, 0], out.poa_w_per_m2[:, 2])
    np.testing.assert_array_equal(out.poa_w_per_m2[:, 1], out.poa_w_per_m2[:, 3])
    assert not np.array_equal(out.poa_w_per_m2[:, 0], out.poa_w_per_m2[:, 1])
    assert len(fleet.sites) == 2


def test_perez_without_diffuse_light_gives_no_nan() -> None:
    """Perez divides by DHI: at DHI = 0 the sky diffuse part is 0, not NaN."""
    times = solstice(3600, 2, hour=11.0)  # the sun is up
    fleet = Fleet([Params(1.0, **BERLIN)])
    dark = {"ghi_w_per_m2": np.zeros(2), "dni_w_per_m2": np.zeros(2), "dhi_w_per_m2": np.zeros(2)}
    out = model.simulate(fleet, times, np.full(2, 20.0), np.ones(2), dark)
    assert out.poa_w_per_m2.tolist() == [[0.0], [0.0]] and out.p_available_mw.max() == 0.0
    beam = {**dark, "ghi_w_per_m2": np.full(2, 500.0), "dni_w_per_m2": np.full(2, 600.0)}
    poa = model.plane_of_array(fleet, times, beam)
    sun = pvlib.solarposition.get_solarposition(times, 52.52, 13.40, altitude=34.0)
    aoi = pvlib.irradiance.aoi(30, 180, sun["apparent_zenith"], sun["azimuth"])
    ground = pvlib.irradiance.get_ground_diffuse(30, 500.0, 0.25)
    np.testing.assert_allclose(poa[:, 0], 600 * np.cos(np.radians(aoi)) + ground, rtol=1e-12)


@pytest.mark.parametrize("transposition", model.TRANSPOSITIONS)
def test_a_year_of_clear_sky_is_finite_and_bounded(transposition: str) -> None:
    """Polar night and day, the southern hemisphere, every model: no warning, no NaN."""
    units = [
        Params(1.0, **BERLIN),
        Params(1.0, tilt_deg=90, azimuth_deg=0, latitude_deg=78.2, longitude_deg=15.6),
        Params(1.0, tilt_deg=0, latitude_deg=-33.9, longitude_deg=18.4),
    ]
    fleet = Fleet(units)
    times = pd.Timestamp("2016-01-01", tz="UTC") + pd.to_timedelta(np.arange(8784) * 3600, unit="s")
    out = model.simulate(fleet, times, np.full(8784, 20.0), np.ones(8784), None, transposition)
    assert np.isfinite(out.p_available_mw).all() and np.isfinite(out.temp_cell_c).all()
    assert (out.p_available_mw >= 0).all() and (out.p_available_mw <= fleet.p_ac_max_mw).all()
    yearly_mwh = out.p_available_mw[:, 0].sum()  # hourly steps: MW summed = MWh
    assert 1300 < yearly_mwh < 1900  # per MW DC, every hour clear (Berlin, 30° south)


# --- curtailment and reactive power -----------------------------------------------------------


def test_curtailment_and_cos_phi_by_hand() -> None:
    units = [
        Params(1.0, cos_phi=0.95),  # underexcited (default): absorbs Q
        Params(1.0, cos_phi=0.95, excitation="over"),
        Params(1.0),  # cos phi 1: no Q
    ]
    fleet = Fleet(units)
    p_available = np.array([0.8, 0.8, 0.8])
    p, q, curtailed = model.dispatch(p_available, np.array([0.5, np.inf, -1.0]), np.ones(3), fleet)
    assert p.tolist() == [0.5, 0.8, 0.0]  # set point, none, a negative set point means 0
    assert curtailed.tolist() == [0.8 - 0.5, 0.0, 0.8]
    # Q = P tan(acos 0.95) = P * 0.328684: 0.5 * 0.328684 = 0.164342, 0.8 * 0.328684 = 0.262947
    assert q[0] == pytest.approx(-0.164342, abs=1e-6)
    assert q[1] == pytest.approx(+0.262947, abs=1e-6)
    assert q[2] == 0.0 and math.copysign(1, q[2]) == 1  # not -0.0


@pytest.mark.parametrize(
    ("vm_pu", "q_frac"),
    [  # default characteristic: 0.93, 0.97 | deadband | 1.03, 1.07; q_max = tan(acos 0.95)
        (0.90, 1.0),
        (0.93, 1.0),
        (0.95, 0.5),  # (0.97 - 0.95) / (0.97 - 0.93) = 0.5
        (0.96, 0.25),  # (0.97 - 0.96) / 0.04
        (0.97, 0.0),
        (1.00, 0.0),
        (1.03, 0.0),
        (1.04, -0.25),  # -(1.04 - 1.03) / (1.07 - 1.03)
        (1.05, -0.5),
        (1.07, -1.0),
        (1.20, -1.0),
    ],
)
def test_q_u_curve_points_by_hand(vm_pu: float, q_frac: float) -> None:
    fleet = Fleet([Params(1.1, p_ac_max_mw=1.0, q_mode="q_u")])
    p, q, _ = model.dispatch(np.array([0.6]), np.array([np.inf]), np.array([vm_pu]), fleet)
    assert p[0] == 0.6  # Q(U) does not touch P
    assert q[0] == pytest.approx(q_frac * 0.328684 * 1.0, abs=1e-6)  # x q_max x p_ac_max_mw
    # no Q while the inverter is off (night); curtailed to 0 it still runs
    assert model.dispatch(np.zeros(1), np.ones(1), np.array([vm_pu]), fleet)[1][0] == 0.0
    _, q_curtailed, _ = model.dispatch(np.array([0.6]), np.zeros(1), np.array([vm_pu]), fleet)
    assert q_curtailed[0] == q[0]


def test_q_u_custom_curve() -> None:
    unit = Params(
        1.0, p_ac_max_mw=0.5, q_mode="q_u", qu_v1_pu=0.9, qu_v2_pu=1.0, qu_v3_pu=1.0,
        qu_v4_pu=1.1, qu_q_max_frac=0.4,
    )  # fmt: skip
    _, q, _ = model.dispatch(
        np.ones(3), np.ones(3), np.array([0.95, 1.0, 1.075]), Fleet([unit] * 3)
    )
    # 0.4 * 0.5 MW = 0.2 Mvar at the ends: +0.5 * 0.2, 0, -0.75 * 0.2
    np.testing.assert_allclose(q, [0.1, 0.0, -0.15], atol=1e-12)


unit_params = st.builds(
    Params,
    p_dc_peak_mw=st.floats(0.001, 10.0),
    p_ac_max_mw=st.one_of(st.none(), st.floats(0.001, 10.0)),
    q_mode=st.sampled_from(model.Q_MODES),
    cos_phi=st.floats(0.5, 1.0),
    excitation=st.sampled_from(model.EXCITATIONS),
)


@settings(max_examples=200, deadline=None)
@given(
    unit=unit_params,
    poa=st.floats(0.0, 1500.0),
    temp=st.floats(-30.0, 90.0),
    p_max=st.one_of(st.just(math.inf), st.floats(0.0, 20.0)),
    vm=st.floats(0.8, 1.2),
)
def test_power_stays_within_limits(
    unit: Params, poa: float, temp: float, p_max: float, vm: float
) -> None:
    fleet = Fleet([unit])
    p_available = model.ac_power(np.array([poa]), np.array([temp]), fleet)
    p, q, curtailed = model.dispatch(p_available, np.array([p_max]), np.array([vm]), fleet)
    assert unit.p_ac_max_mw is not None
    assert 0.0 <= p_available[0] <= unit.p_ac_max_mw
    assert 0.0 <= p[0] <= min(p_available[0], p_max, unit.p_ac_max_mw)
    assert curtailed[0] == p_available[0] - p[0] and curtailed[0] >= 0.0
    if unit.q_mode == "cos_phi":  # Q follows the delivered P; sign: under absorbs (< 0)
        sign = -1.0 if unit.excitation == "under" else 1.0
        assert q[0] == pytest.approx(sign * p[0] * math.tan(math.acos(unit.cos_phi)), abs=1e-15)
    else:
        assert abs(q[0]) <= unit.qu_q_max_frac * unit.p_ac_max_mw


# --- bad parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"p_dc_peak_mw": -0.01}, r"p_dc_peak_mw=-0.01 must be in \(0, inf\)"),
        ({"p_dc_peak_mw": 0.0}, "p_dc_peak_mw=0.0"),
        ({"p_dc_peak_mw": "5"}, "p_dc_peak_mw='5' must be a number"),
        ({"p_dc_peak_mw": True}, "p_dc_peak_mw=True must be a number"),
        ({"p_dc_peak_mw": math.nan}, "p_dc_peak_mw=nan"),
        ({"p_ac_max_mw": 0.0}, "p_ac_max_mw=0.0"),
        ({"tilt_deg": 120}, r"tilt_deg=120 must be in \[0, 90\]"),
        ({"azimuth_deg": -10}, r"azimuth_deg=-10 must be in \[0, 360\]"),
        ({"albedo": 1.5}, "albedo=1.5"),
        ({"gamma_pdc_per_c": 0.004}, "gamma_pdc_per_c=0.004"),
        ({"eta_inv_nom": 0.0}, r"eta_inv_nom=0.0 must be in \(0, 1\]"),
        ({"losses_frac": 1.0}, r"losses_frac=1.0 must be in \[0, 1\)"),
        ({"u0_w_per_m2_k": 0}, "u0_w_per_m2_k=0"),
        ({"latitude_deg": 91}, "latitude_deg=91"),
        ({"longitude_deg": 200}, "longitude_deg=200"),
        ({"cos_phi": 1.2}, r"cos_phi=1.2 must be in \(0, 1\]"),
        ({"cos_phi": 0}, "cos_phi=0"),
        ({"q_mode": "pf"}, "q_mode='pf' is unknown; known: cos_phi, q_u"),
        ({"excitation": "capacitive"}, "excitation='capacitive' is unknown; known: over, under"),
        ({"qu_v2_pu": 0.92}, "qu_v1_pu..qu_v4_pu=.*qu_v1_pu < qu_v2_pu"),
        ({"qu_v3_pu": 0.96}, "qu_v2_pu <= qu_v3_pu"),
        ({"qu_q_max_frac": -0.1}, "qu_q_max_frac=-0.1"),
        ({"tilt": 30}, "PV parameter='tilt' is unknown; known: .*tilt_deg"),
    ],
)
def test_bad_params_raise_config_error(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        model.params_from({"p_dc_peak_mw": 0.01, **params})
    with pytest.raises(ConfigError, match=match):  # the same through the adapter
        make_sim().create(1, "PV", **{"p_dc_peak_mw": 0.01, **params})


def test_missing_peak_power() -> None:
    with pytest.raises(ConfigError, match="'p_dc_peak_mw' is required"):
        make_sim().create(1, "PV", tilt_deg=20)


@pytest.mark.parametrize(
    ("init", "match"),
    [
        ({"time_resolution": 60.0}, "time_resolution=60.0 must be 1.0"),
        ({"step_s": 0}, "step_s=0 must be a positive int"),
        ({"step_s": 900.0}, "step_s=900.0 must be a positive int"),
        ({"step": 900}, "PV sim parameter='step' is unknown; known: .*step_s"),
        ({"start": "21.06.2016"}, "start='21.06.2016'"),
        ({"tz": "Mars/Olympus"}, "tz='Mars/Olympus'"),
        ({"latitude_deg": -95.0}, "latitude_deg=-95.0"),
        ({"temp_air_c": 293.15}, r"temp_air_c=293.15 must be in \[-90, 70\]"),
        ({"wind_m_per_s": -1}, "wind_m_per_s=-1"),
        ({"transposition": "klucher"}, "transposition='klucher' is unknown; known: haydavies"),
        ({"chunk_steps": 0}, "chunk_steps=0"),
        ({"weather_step_s": -900}, "weather_step_s=-900"),
        ({"weather": "nowhere.csv"}, r"weather file 'nowhere.csv': file does not exist"),
        ({"weather": None}, "weather=None"),
    ],
)
def test_bad_sim_params_raise_config_error(init: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_sim(**init)


def test_bad_model_and_num() -> None:
    with pytest.raises(ConfigError, match="model='Battery' is unknown; known: PV"):
        make_sim().create(1, "Battery", p_dc_peak_mw=0.01)
    with pytest.raises(ConfigError, match="num=0"):
        make_sim().create(0, "PV", p_dc_peak_mw=0.01)


# --- weather files ----------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "w.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("t_s,ghi\n0,100\n", "column='ghi' is unknown; known: .*ghi_w_per_m2"),
        ("t_s,temp_air_c\n0,10\n", "column 'ghi_w_per_m2' is required"),
        ("t_s,ghi_w_per_m2,dni_w_per_m2\n0,1,1\n", "'dni_w_per_m2' needs 'dhi_w_per_m2'"),
        ("t_s,ghi_w_per_m2\n0,100\n900,-5\n", r"'ghi_w_per_m2' row 1: value -5 is outside \[0, 2"),
        ("t_s,ghi_w_per_m2\n0,100\n900,abc\n", "'ghi_w_per_m2' row 1: value 'abc'"),
        ("t_s,ghi_w_per_m2\n0,100\n900,\n", "'ghi_w_per_m2' row 1: value nan"),
        ("t_s,ghi_w_per_m2,temp_air_c\n0,1,293\n", "'temp_air_c' row 0: value 293 is outside"),
        ("t_s,ghi_w_per_m2,wind_m_per_s\n0,1,-2\n", "'wind_m_per_s' row 0: value -2"),
        ("t_s,ghi_w_per_m2\n0,1\n900,1\n1900,1\n", "'t_s' must rise uniformly.*t_s=1900"),
        ("t_s,ghi_w_per_m2\n60,1\n", "'t_s' starts at 60"),
        ("t_s,ghi_w_per_m2\n", "has no rows"),
    ],
)
def test_bad_weather_file_raises_config_error(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        read_weather(path)
    assert str(path) in str(info.value)
    with pytest.raises(ConfigError, match=match):  # the same through the adapter
        make_sim(weather=str(path))


def test_weather_file_suffix_and_step(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"suffix '\.txt' is unknown; known: \.csv"):
        read_weather(write(tmp_path, "ghi_w_per_m2\n1\n", "w.txt"))
    path = write(tmp_path, "ghi_w_per_m2\n1\n2\n")
    with pytest.raises(ConfigError, match="no 't_s' column or only one row, so weather_step_s"):
        read_weather(path)
    assert read_weather(path, default_step_s=900).step_s == 900
    assert read_weather(path, step_s=60, default_step_s=900).step_s == 60
    with pytest.raises(ConfigError, match="gives step 900 s but weather_step_s=60"):
        read_weather(write(tmp_path, "t_s,ghi_w_per_m2\n0,1\n900,2\n"), step_s=60)


def test_weather_table_holds_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.parquet"
    pd.DataFrame({"ghi_w_per_m2": [0.0, 500.0], "temp_air_c": [10.0, 15.0]}).to_parquet(path)
    table = read_weather(path, step_s=1800)
    assert table.n_rows == 2 and table.duration_s == 3600
    rows = table.at(np.array([0, 1799, 1800, 3599]))
    assert rows["ghi_w_per_m2"].tolist() == [0.0, 0.0, 500.0, 500.0]
    assert rows["temp_air_c"].tolist() == [10.0, 10.0, 15.0, 15.0]
    with pytest.raises(SimulationError, match=r"t_s=3600 is outside weather file .*0\.\.3599"):
        table.at(np.array([3600]))
    with pytest.raises(ValueError, match="read-only"):
        table.columns["ghi_w_per_m2"][0] = 1.0


def test_weather_file_drives_the_chain(tmp_path: Path) -> None:
    """GHI only: split by Erbs; with DNI and DHI: used as given; air temperature and wind."""
    times = solstice(900, 96)
    sun = pvlib.solarposition.get_solarposition(times, 52.52, 13.40, altitude=34.0)
    ghi = np.clip(900 * np.cos(np.radians(sun["zenith"].to_numpy())), 0, None)
    split = pvlib.irradiance.erbs(ghi, sun["zenith"].to_numpy(), times)
    frame = pd.DataFrame({"t_s": np.arange(96) * 900, "ghi_w_per_m2": ghi, "temp_air_c": 12.0})
    frame.to_csv(tmp_path / "ghi.csv", index=False)
    frame.assign(dni_w_per_m2=split["dni"].to_numpy(), dhi_w_per_m2=split["dhi"].to_numpy()).to_csv(
        tmp_path / "all.csv", index=False
    )
    got = {}
    for name in ("ghi", "all"):
        sim = make_sim(weather=str(tmp_path / f"{name}.csv"), wind_m_per_s=3.0)
        sim.create(1, "PV", p_dc_peak_mw=1.0)
        got[name] = []
        for k in range(96):
            sim.step(900 * k, {}, 10**9)
            got[name].append(sim.get_data({"pv_0": ["p_available_mw", "temp_cell_c"]})["pv_0"])
    for a, b in zip(got["ghi"], got["all"], strict=True):  # equal but for CSV rounding
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
    noon = got["ghi"][44]  # 11:00 UTC
    assert noon["p_available_mw"] > 0.5 and got["ghi"][0]["p_available_mw"] == 0.0
    assert got["ghi"][0]["temp_cell_c"] == 12.0
    poa = pvlib.irradiance.get_total_irradiance(
        30, 180, sun["apparent_zenith"], sun["azimuth"], split["dni"], ghi, split["dhi"],
        dni_extra=pvlib.irradiance.get_extra_radiation(times), model="perez",
    )["poa_global"].iloc[44]  # fmt: skip
    # faiman with 3 m/s wind: T = 12 + poa / (25 + 6.84 * 3) (refraction at 12 °C as here)
    assert noon["temp_cell_c"] == pytest.approx(12 + poa / (25 + 6.84 * 3), rel=1e-9)


def test_weather_table_end_is_an_error(tmp_path: Path) -> None:
    sim = make_sim(weather=str(write(tmp_path, "t_s,ghi_w_per_m2\n0,100\n3600,200\n")))
    sim.create(1, "PV", p_dc_peak_mw=1.0)
    for t_s in (0, 900, 6300):  # the chunk ends with the table: 8 steps of 900 s
        sim.step(t_s, {}, 10**9)
    assert sim.power is not None and sim.power.chunks_computed == 1
    with pytest.raises(SimulationError, match=r"t_s=7200 is outside weather file"):
        sim.step(7200, {}, 10**9)


# --- the adapter, stepped directly ------------------------------------------------------------


def test_adapter_entities_meta_and_outputs() -> None:
    sim = make_sim()
    meta = sim.meta["models"]["PV"]
    assert meta["attrs"] == ["p_max_mw", "vm_pu", *OUTPUTS]
    assert meta["params"][:3] == ["p_dc_peak_mw", "p_ac_max_mw", "tilt_deg"]
    created = sim.create(2, "PV", p_dc_peak_mw=0.01)
    created += sim.create(1, "PV", p_dc_peak_mw=0.02, latitude_deg=48.1, q_mode="q_u")
    assert [c["eid"] for c in created] == ["pv_0", "pv_1", "pv_2"]
    assert sim.units[0].latitude_deg == 52.52 and sim.units[2].latitude_deg == 48.1  # site
    assert sim.step(11 * 3600, {}, 10**9) == 11 * 3600 + 900
    data = sim.get_data({"pv_0": OUTPUTS, "pv_2": ["p_mw", "q_mvar"]})
    assert all(type(v) is float for v in data["pv_0"].values())
    assert data["pv_0"]["p_mw"] == data["pv_0"]["p_available_mw"] > 0.005  # no set point
    assert data["pv_0"]["p_curtailed_mw"] == 0.0 and data["pv_0"]["q_mvar"] == 0.0
    assert data["pv_2"]["q_mvar"] == 0.0  # vm_pu absent: 1.0, in the deadband
    with pytest.raises(SimulationError, match="'pv_7'"):
        sim.get_data({"pv_7": ["p_mw"]})
    with pytest.raises(SimulationError, match=r"'vm_pu'.*outputs: p_mw, q_mvar"):
        sim.get_data({"pv_0": ["vm_pu"]})


def test_adapter_inputs_curtail_and_drive_q_u() -> None:
    sim = make_sim()
    sim.create(2, "PV", p_dc_peak_mw=0.01, q_mode="q_u")
    inputs = {
        "pv_0": {
            "p_max_mw": {"Ctrl-0.a": 0.004, "Ctrl-1.b": 0.002},
            "vm_pu": {"Grid-0.bus_3": 1.05},
        }
    }
    sim.step(11 * 3600, inputs, 10**9)
    data = sim.get_data({"pv_0": OUTPUTS, "pv_1": OUTPUTS})
    curtailed, free = data["pv_0"], data["pv_1"]
    assert curtailed["p_mw"] == 0.002  # the lowest of two set points
    assert curtailed["p_available_mw"] == free["p_available_mw"] == free["p_mw"]
    assert curtailed["p_curtailed_mw"] == curtailed["p_available_mw"] - 0.002
    # Q(U) at 1.05 pu: -0.5 * 0.328684 * (0.01 / 1.1) MW = -0.001494 Mvar
    assert curtailed["q_mvar"] == pytest.approx(-0.5 * TAN_PHI_095 * 0.01 / 1.1)
    assert free["q_mvar"] == 0.0
    sim.step(11 * 3600 + 900, {}, 10**9)  # inputs absent again: no curtailment, vm 1.0
    assert sim.get_data({"pv_0": ["p_curtailed_mw"]})["pv_0"]["p_curtailed_mw"] == 0.0
    with pytest.raises(ConfigError, match="'p_mw' of 'pv_0' is unknown; inputs: p_max_mw, vm"):
        sim.step(0, {"pv_0": {"p_mw": {"x": 1.0}}}, 10**9)
    with pytest.raises(ConfigError, match="'vm_pu' of 'pv_1' has several sources"):
        sim.step(0, {"pv_1": {"vm_pu": {"a": 1.0, "b": 1.0}}}, 10**9)
    with pytest.raises(SimulationError, match="pv_1 got p_max_mw=nan"):
        sim.step(0, {"pv_1": {"p_max_mw": {"a": math.nan}}}, 10**9)


def test_adapter_computes_chunks_ahead() -> None:
    sim = make_sim(step_s=60, chunk_steps=100)
    sim.create(3, "PV", p_dc_peak_mw=0.01)
    power = sim.power
    assert power is not None
    one_by_one = make_sim(step_s=60, chunk_steps=1)
    one_by_one.create(3, "PV", p_dc_peak_mw=0.01)
    for k in range(250):
        sim.step(60 * k, {}, 10**9)
        one_by_one.step(60 * k, {}, 10**9)
        got = [s.get_data({"pv_2": ["p_available_mw", "temp_cell_c"]}) for s in (sim, one_by_one)]
        assert got[0] == got[1]  # every value is computed per step: chunks change none
    assert power.chunks_computed == 4  # steps 0-23, 24-71, 72-167 (doubling), 168-267 (100)
    sim.step(60 * 5000 + 7, {}, 10**9)  # off the grid of the current chunk: a new one there
    assert power.chunks_computed == 5
    with pytest.raises(SimulationError, match=r"before init\(\) and create\(\)"):
        PVSim().step(0, {}, 10**9)
    with pytest.raises(SimulationError, match="before the first step"):
        make_sim().get_data({"pv_0": ["p_mw"]})


def test_tz_and_start_offset() -> None:
    """11:00 UTC = 13:00 CEST: the same sun, whichever way it is given."""
    values = []
    for init in (
        {"start": "2016-06-21 11:00:00"},
        {"start": "2016-06-21 13:00:00", "tz": "Europe/Berlin"},
        {"start": "2016-06-21T13:00:00+02:00"},
    ):
        sim = make_sim(**init)
        sim.create(1, "PV", p_dc_peak_mw=0.01)
        sim.step(0, {}, 10**9)
        values.append(sim.get_data({"pv_0": ["p_mw"]})["pv_0"]["p_mw"])
    assert values[0] == values[1] == values[2] > 0.006
    make_sim(start="2016-03-27 02:30:00", tz="Europe/Berlin")  # in the DST gap: +01:00


# --- mosaik: in-process and as its own process give the same values --------------------------


def test_standalone_process_equals_in_process(tmp_path: Path) -> None:
    weather = write(tmp_path, "t_s,ghi_w_per_m2,temp_air_c\n0,0,8\n3600,300,10\n7200,650,14\n")
    kwargs: dict[str, Any] = dict(
        model="PV",
        init={"step_s": 1800, "start": "2016-06-21 06:00:00", "weather": str(weather)},
        create={"p_dc_peak_mw": 0.01, "q_mode": "q_u", "tilt_deg": 20},
        num=2,
        inputs={"p_max_mw": [1.0, 1.0, 0.003, 0.0, 1.0, 0.004], "vm_pu": [1.0, 1.06] * 3},
        outputs=OUTPUTS,
        steps=6,
    )
    in_process = run_simulator("simulators.pv", processes=False, **kwargs)
    own_process = run_simulator("simulators.pv", processes=True, **kwargs)
    assert own_process == in_process
    assert sorted(in_process) == [0, 1800, 3600, 5400, 7200, 9000]
    assert in_process[0]["pv_0"]["p_mw"] == 0.0
    later = in_process[7200]["pv_1"]  # 650 W/m² GHI, set point 1 MW
    assert later["p_mw"] == later["p_available_mw"] > 0.005 and later["q_mvar"] == 0.0
    curtailed = in_process[3600]["pv_0"]  # set point 0.003 MW, vm 1.0
    assert curtailed["p_mw"] == min(0.003, curtailed["p_available_mw"])
    assert in_process[5400]["pv_0"]["q_mvar"] < 0  # vm 1.06 pu: absorbs Q, also curtailed to 0
