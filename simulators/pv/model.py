"""PV systems: available AC power from the weather, curtailment and reactive power.

Pure physics, vectorised over (time x units); never imports mosaik. Sign (pandapower sgen):
``p_mw > 0`` injects into the grid; ``q_mvar > 0`` injects reactive power (overexcited),
``q_mvar < 0`` absorbs it (underexcited). [MW, Mvar, W/m², °C]

The chain, pvlib [1]_ functions over a chunk of steps at once (:func:`simulate`):

1. solar position per location: ``pvlib.solarposition.get_solarposition`` (NREL SPA [2]_);
2. horizontal irradiance: from a weather table (DNI and DHI given, or split from GHI by
   ``pvlib.irradiance.erbs`` [3]_), or clear sky by ``pvlib.location.Location.get_clearsky``
   (Ineichen-Perez [4]_), or that clear-sky GHI times a clear-sky index (the typical year of
   :mod:`simulators.climate`) split by Erbs;
3. plane of array (POA): ``pvlib.irradiance.get_total_irradiance`` (Perez 1990 [5]_ by default,
   or Hay-Davies [6]_ or isotropic) with ``dni_extra`` from ``get_extra_radiation``, once per
   distinct location and orientation;
4. cell temperature: ``pvlib.temperature.faiman`` [7]_;
5. DC: ``pvlib.pvsystem.pvwatts_dc`` [8]_ at the POA irradiance, times ``1 - losses_frac``
   (as pvlib's ModelChain applies PVWatts losses). There is no separate angle-of-incidence,
   spectral or soiling model: such losses belong in ``losses_frac``;
6. AC: ``pvlib.inverter.pvwatts`` [8]_ with the DC limit ``p_ac_max_mw / eta_inv_nom``, so its
   output is clipped at ``p_ac_max_mw``.

Then per step (:func:`dispatch`): curtailment to the set point and reactive power by a fixed
cos phi or a Q(U) characteristic [9]_.

References
----------
.. [1] K. S. Anderson et al., "pvlib python: 2023 project update", J. Open Source Softw.
   8(92), 5994, 2023.
.. [2] I. Reda, A. Andreas, "Solar position algorithm for solar radiation applications",
   Solar Energy 76(5), 577-589, 2004.
.. [3] D. G. Erbs, S. A. Klein, J. A. Duffie, "Estimation of the diffuse radiation fraction for
   hourly, daily and monthly-average global radiation", Solar Energy 28(4), 293-302, 1982.
.. [4] P. Ineichen, R. Perez, "A new airmass independent formulation for the Linke turbidity
   coefficient", Solar Energy 73(3), 151-157, 2002.
.. [5] R. Perez et al., "Modeling daylight availability and irradiance components from direct
   and global irradiance", Solar Energy 44(5), 271-289, 1990.
.. [6] J. E. Hay, J. A. Davies, "Calculation of the solar radiation incident on an inclined
   surface", Proc. First Canadian Solar Radiation Data Workshop, 59-72, 1980.
.. [7] D. Faiman, "Assessing the outdoor operating temperature of photovoltaic modules",
   Prog. Photovolt. 16(4), 307-315, 2008.
.. [8] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014.
.. [9] VDE-AR-N 4105:2018-11, "Generators and electrical energy storage systems connected to
   the low-voltage distribution network", section 5.7.2 (reactive power, Q(U) characteristic).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pvlib

from cosim.core.errors import ConfigError, SimulationError, unknown
from simulators.arrays import column

DC_AC_RATIO = 1.1
"""Default ``p_dc_peak_mw / p_ac_max_mw``: an inverter sized 10 % below the modules' peak."""
DEFAULT_SITE = {"latitude_deg": 52.52, "longitude_deg": 13.40, "altitude_m": 34.0}
"""Default location: Berlin, Germany (the SimBench grids are German)."""
Q_MODES = ("cos_phi", "q_u")
EXCITATIONS = ("under", "over")
TRANSPOSITIONS = ("perez", "haydavies", "isotropic")
CLEAR_SKY_INDEX = "clear_sky_index"
"""Key of :func:`simulate`'s ``irradiance`` for GHI as a fraction of the clear-sky GHI [-]."""


def _tan_phi(cos_phi: float) -> float:
    """Q / P at the power factor ``cos_phi``: tan(acos(cos_phi)) [-]."""
    return math.tan(math.acos(cos_phi))


# ranges of the numeric Params fields: (low, high, low is allowed, high is allowed)
_RANGES: dict[str, tuple[float, float, bool, bool]] = {
    "p_dc_peak_mw": (0.0, math.inf, False, False),
    "p_ac_max_mw": (0.0, math.inf, False, False),
    "tilt_deg": (0.0, 90.0, True, True),
    "azimuth_deg": (0.0, 360.0, True, True),
    "albedo": (0.0, 1.0, True, True),
    "gamma_pdc_per_c": (-0.02, 0.0, True, True),
    "eta_inv_nom": (0.0, 1.0, False, True),
    "losses_frac": (0.0, 1.0, True, False),
    "u0_w_per_m2_k": (0.0, math.inf, False, False),
    "u1_w_s_per_m3_k": (0.0, math.inf, True, False),
    "latitude_deg": (-90.0, 90.0, True, True),
    "longitude_deg": (-180.0, 180.0, True, True),
    "altitude_m": (-500.0, 9000.0, True, True),
    "cos_phi": (0.0, 1.0, False, True),
    "qu_v1_pu": (0.0, 2.0, False, False),
    "qu_v2_pu": (0.0, 2.0, False, False),
    "qu_v3_pu": (0.0, 2.0, False, False),
    "qu_v4_pu": (0.0, 2.0, False, False),
    "qu_q_max_frac": (0.0, 1.0, True, True),
}


@dataclass(frozen=True)
class Params:
    """One PV system: modules, inverter, location and reactive power mode.

    Parameters
    ----------
    p_dc_peak_mw : float
        DC power of the modules at 1000 W/m² and 25 °C cell temperature [MW], > 0.
    p_ac_max_mw : float or None
        Inverter AC power limit [MW], > 0; None: ``p_dc_peak_mw / DC_AC_RATIO`` (1.1).
    tilt_deg : float
        Module tilt from horizontal, 0..90 [deg] (30: a typical roof).
    azimuth_deg : float
        Module azimuth clockwise from north, 0..360 [deg]: 90 east, 180 south (default).
    albedo : float
        Ground reflectance 0..1 (0.25: pvlib's default).
    gamma_pdc_per_c : float
        Temperature coefficient of DC power, -0.02..0 [1/°C] (-0.004; PVWatts V5 [8]_ uses
        -0.0047 for standard and -0.0035 for premium modules).
    eta_inv_nom : float
        Nominal inverter efficiency, (0, 1] (0.96: PVWatts V5 [8]_).
    losses_frac : float
        DC system losses (soiling, shading, mismatch, wiring, ...), [0, 1) (0.14: PVWatts V5's
        default; ``pvlib.pvsystem.pvwatts_losses`` gives a breakdown).
    u0_w_per_m2_k, u1_w_s_per_m3_k : float
        Faiman heat loss coefficients [W/(m² K)], [W s/(m³ K)] (25.0 and 6.84: Faiman's
        open-rack silicon modules [7]_; roof-mounted modules run hotter, i.e. lower values).
    latitude_deg, longitude_deg, altitude_m : float
        Location [deg north, deg east, m] (the PV sim passes its site as the default).
    q_mode : str
        ``"cos_phi"`` (a fixed power factor) or ``"q_u"`` (the Q(U) characteristic).
    cos_phi : float
        Power factor in cos_phi mode, (0, 1] (1.0: no reactive power).
    excitation : str
        In cos_phi mode: ``"under"`` (absorbs Q, ``q_mvar < 0``, lowers the voltage; the usual
        setting for PV) or ``"over"`` (injects Q, ``q_mvar > 0``).
    qu_v1_pu, qu_v2_pu, qu_v3_pu, qu_v4_pu : float
        Voltages of the Q(U) characteristic [pu], v1 < v2 <= v3 < v4: full overexcited Q at and
        below v1, none in the deadband v2..v3, full underexcited Q at and above v4, linear in
        between (0.93, 0.97, 1.03, 1.07; the network operator sets the actual points [9]_).
    qu_q_max_frac : float
        Q(U) reactive power at the ends of the characteristic, as a fraction of
        ``p_ac_max_mw``, 0..1 (tan(acos(0.95)) = 0.3287: cos phi 0.95 at full power [9]_).
    """

    p_dc_peak_mw: float
    p_ac_max_mw: float | None = None
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    albedo: float = 0.25
    gamma_pdc_per_c: float = -0.004
    eta_inv_nom: float = 0.96
    losses_frac: float = 0.14
    u0_w_per_m2_k: float = 25.0
    u1_w_s_per_m3_k: float = 6.84
    latitude_deg: float = DEFAULT_SITE["latitude_deg"]
    longitude_deg: float = DEFAULT_SITE["longitude_deg"]
    altitude_m: float = DEFAULT_SITE["altitude_m"]
    q_mode: str = "cos_phi"
    cos_phi: float = 1.0
    excitation: str = "under"
    qu_v1_pu: float = 0.93
    qu_v2_pu: float = 0.97
    qu_v3_pu: float = 1.03
    qu_v4_pu: float = 1.07
    qu_q_max_frac: float = _tan_phi(0.95)

    def __post_init__(self) -> None:
        if self.p_ac_max_mw is None:
            p_dc_peak_mw = check_number("p_dc_peak_mw", self.p_dc_peak_mw)
            object.__setattr__(self, "p_ac_max_mw", p_dc_peak_mw / DC_AC_RATIO)
        for name in _RANGES:
            object.__setattr__(self, name, check_number(name, getattr(self, name)))
        if self.q_mode not in Q_MODES:
            raise unknown("q_mode", self.q_mode, Q_MODES)
        if self.excitation not in EXCITATIONS:
            raise unknown("excitation", self.excitation, EXCITATIONS)
        v = (self.qu_v1_pu, self.qu_v2_pu, self.qu_v3_pu, self.qu_v4_pu)
        if not v[0] < v[1] <= v[2] < v[3]:
            raise ConfigError(
                f"qu_v1_pu..qu_v4_pu={v!r} must satisfy qu_v1_pu < qu_v2_pu <= qu_v3_pu "
                "< qu_v4_pu [pu]"
            )


def check_number(name: str, value: object) -> float:
    """``value`` as a float if it is a real number in the range of ``name``, else ConfigError."""
    low, high, low_ok, high_ok = _RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}={value!r} must be a number")
    number = float(value)
    inside = (low <= number if low_ok else low < number) and (
        number <= high if high_ok else number < high
    )
    if not inside:
        shown = f"{'[' if low_ok else '('}{low:g}, {high:g}{']' if high_ok else ')'}"
        raise ConfigError(f"{name}={value!r} must be in {shown}")
    return number


def params_from(given: Mapping[str, Any]) -> Params:
    """Params from keyword values: an unknown or missing field is a ConfigError naming it."""
    known = [f.name for f in fields(Params)]
    for key in given:
        if key not in known:
            raise unknown("PV parameter", key, known)
    for f in fields(Params):
        if f.default is MISSING and f.name not in given:
            raise ConfigError(f"PV parameter {f.name!r} is required")
    return Params(**given)


class Fleet:
    """The Params of all units as arrays of shape (n_units,), and their distinct locations."""

    def __init__(self, units: Sequence[Params]) -> None:
        self.units = tuple(units)

        self.n = len(self.units)
        for name in _RANGES:
            setattr(self, name, column(self.units, name))
        sign = [1.0 if u.excitation == "over" else -1.0 for u in self.units]
        self.q_per_p = np.array(sign) * [_tan_phi(u.cos_phi) for u in self.units]
        """Q / P in cos_phi mode, signed: < 0 underexcited [-]."""
        self.by_voltage = np.array([u.q_mode == "q_u" for u in self.units], dtype=bool)
        self.any_by_voltage = bool(self.by_voltage.any())
        self.qu_curve = tuple(
            column(self.units, f"qu_{x}") for x in ("v1_pu", "v2_pu", "v3_pu", "v4_pu")
        )
        self.qu_curve += (column(self.units, "qu_q_max_frac"),)
        self.sites: dict[tuple[float, float, float], np.ndarray] = {}
        """(latitude_deg, longitude_deg, altitude_m) -> positions of the units there."""
        for k, u in enumerate(self.units):
            site = (u.latitude_deg, u.longitude_deg, u.altitude_m)
            self.sites[site] = np.append(self.sites.get(site, np.empty(0, np.int64)), k)

    # the numeric Params fields, set as arrays in __init__ (declared for type checkers)
    p_dc_peak_mw: np.ndarray
    p_ac_max_mw: np.ndarray
    tilt_deg: np.ndarray
    azimuth_deg: np.ndarray
    albedo: np.ndarray
    gamma_pdc_per_c: np.ndarray
    eta_inv_nom: np.ndarray
    losses_frac: np.ndarray
    u0_w_per_m2_k: np.ndarray
    u1_w_s_per_m3_k: np.ndarray
    qu_curve: tuple[np.ndarray, ...]  # qu_v1_pu .. qu_v4_pu, qu_q_max_frac


class Output(NamedTuple):
    """The available power of every unit over a chunk of steps, each (n_steps, n_units)."""

    poa_w_per_m2: np.ndarray
    temp_cell_c: np.ndarray
    p_available_mw: np.ndarray


def simulate(
    fleet: Fleet,
    times: pd.DatetimeIndex,
    temp_air_c: np.ndarray,
    wind_m_per_s: np.ndarray,
    irradiance: Mapping[str, np.ndarray] | None = None,
    transposition: str = "perez",
) -> Output:
    """Available AC power of all units at ``times`` (tz-aware), before curtailment.

    ``irradiance`` holds ``ghi_w_per_m2`` and optionally ``dni_w_per_m2`` and ``dhi_w_per_m2``
    (each (n_steps,)) [W/m²], or ``clear_sky_index`` [-] (GHI is that times the clear-sky GHI
    of each unit's location, split by Erbs); None: clear sky at each unit's location.
    ``temp_air_c`` [°C] and ``wind_m_per_s`` [m/s] have shape (n_steps,).
    """
    poa = plane_of_array(fleet, times, irradiance, transposition, temp_air_c)
    temp_cell = pvlib.temperature.faiman(
        poa, temp_air_c[:, None], wind_m_per_s[:, None], fleet.u0_w_per_m2_k, fleet.u1_w_s_per_m3_k
    )
    return Output(poa, temp_cell, ac_power(poa, temp_cell, fleet))


def plane_of_array(
    fleet: Fleet,
    times: pd.DatetimeIndex,
    irradiance: Mapping[str, np.ndarray] | None,
    transposition: str = "perez",
    temp_air_c: np.ndarray | float = 12.0,
) -> np.ndarray:
    """Global irradiance on every unit's modules at ``times``, shape (n_steps, n_units) [W/m²].

    Computed once per distinct location and once per distinct (tilt, azimuth, albedo) there.
    ``temp_air_c`` [°C] enters the refraction correction of the solar position (pvlib's
    default 12 °C; :func:`simulate` passes the air temperature, as pvlib's ModelChain does).
    """
    if transposition not in TRANSPOSITIONS:
        raise unknown("transposition", transposition, TRANSPOSITIONS)
    poa = np.zeros((len(times), fleet.n))
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    for (lat, lon, alt), units in fleet.sites.items():
        sun = pvlib.solarposition.get_solarposition(  # air temperature: for refraction
            times, lat, lon, altitude=alt, temperature=temp_air_c
        )
        if irradiance is None or CLEAR_SKY_INDEX in irradiance:
            sky = pvlib.location.Location(lat, lon, altitude=alt).get_clearsky(
                times, solar_position=sun, dni_extra=dni_extra
            )
            ghi, dni, dhi = (sky[c].to_numpy() for c in ("ghi", "dni", "dhi"))
        if irradiance is not None:
            if CLEAR_SKY_INDEX in irradiance:  # GHI from the clear sky here
                ghi = np.asarray(irradiance[CLEAR_SKY_INDEX], dtype=np.float64) * ghi
            else:
                ghi = np.asarray(irradiance["ghi_w_per_m2"], dtype=np.float64)
            if "dni_w_per_m2" in irradiance:
                dni = np.asarray(irradiance["dni_w_per_m2"], dtype=np.float64)
                dhi = np.asarray(irradiance["dhi_w_per_m2"], dtype=np.float64)
            else:  # Erbs takes the true (not refraction-corrected) zenith
                split = pvlib.irradiance.erbs(ghi, sun["zenith"].to_numpy(), times)
                dni, dhi = np.asarray(split["dni"]), np.asarray(split["dhi"])
        planes = np.column_stack(
            [fleet.tilt_deg[units], fleet.azimuth_deg[units], fleet.albedo[units]]
        )
        distinct, which = np.unique(planes, axis=0, return_inverse=True)

        def col(values: Any) -> np.ndarray:  # (n_steps, 1): broadcasts against the planes
            return np.asarray(values, dtype=np.float64)[:, None]

        total = pvlib.irradiance.get_total_irradiance(
            distinct[:, 0],
            distinct[:, 1],
            col(sun["apparent_zenith"]),
            col(sun["azimuth"]),
            col(dni),
            col(ghi),
            col(dhi),
            dni_extra=col(dni_extra),
            albedo=distinct[:, 2],
            model=transposition,
        )
        # Perez is NaN where DHI = 0 (its clearness is 0/0); no diffuse light, no sky diffuse
        sky = np.where(col(dhi) > 0, total["poa_sky_diffuse"], 0.0)
        plane = total["poa_direct"] + (sky + total["poa_ground_diffuse"])  # as poa_components
        poa[:, units] = np.asarray(plane)[:, which.ravel()]
    if not np.isfinite(poa).all():
        row, unit = np.argwhere(~np.isfinite(poa))[0]
        raise SimulationError(
            f"POA irradiance of unit {unit} at {times[row]} is {poa[row, unit]}; check the weather"
        )
    return poa


def ac_power(poa_w_per_m2: np.ndarray, temp_cell_c: np.ndarray, fleet: Fleet) -> np.ndarray:
    """AC power at the given POA irradiance [W/m²] and cell temperature [°C] [MW].

    PVWatts DC at the POA irradiance (STC: 1000 W/m² and 25 °C give ``p_dc_peak_mw``), less
    ``losses_frac``, through the PVWatts inverter whose output is clipped at ``p_ac_max_mw``
    (its DC input limit is ``p_ac_max_mw / eta_inv_nom``) and >= 0. Shapes broadcast against
    (n_units,).
    """
    p_dc_mw = pvlib.pvsystem.pvwatts_dc(
        poa_w_per_m2, temp_cell_c, fleet.p_dc_peak_mw, fleet.gamma_pdc_per_c
    ) * (1.0 - fleet.losses_frac)
    p_dc_limit_mw = fleet.p_ac_max_mw / fleet.eta_inv_nom
    # below about 0.6 % of its DC limit the PVWatts inverter gives 0 (its efficiency turns
    # negative); zero tiny DC power first, or 0.0059 / zeta overflows for subnormal zeta
    p_dc_mw = np.where(p_dc_mw > 1e-6 * p_dc_limit_mw, p_dc_mw, 0.0)
    p_ac_mw = pvlib.inverter.pvwatts(p_dc_mw, p_dc_limit_mw, eta_inv_nom=fleet.eta_inv_nom)
    # pvlib clips at eta_inv_nom * (p_ac_max_mw / eta_inv_nom), which rounding can lift one ulp
    # above p_ac_max_mw
    return np.minimum(p_ac_mw, fleet.p_ac_max_mw)


def q_u_frac(
    vm_pu: np.ndarray,
    v1: np.ndarray,
    v2: np.ndarray,
    v3: np.ndarray,
    v4: np.ndarray,
    q_max_frac: np.ndarray,
) -> np.ndarray:
    """The Q(U) characteristic: Q as a fraction of the maximum active power [-] at ``vm_pu``.

    ``+q_max_frac`` (overexcited, raises the voltage) at and below v1, linear to 0 at v2, 0 in
    the deadband v2..v3, linear to ``-q_max_frac`` (underexcited) at v4 and beyond [9]_.
    """
    low = np.minimum(np.maximum((v2 - vm_pu) / (v2 - v1), 0.0), 1.0)
    high = np.minimum(np.maximum((vm_pu - v3) / (v4 - v3), 0.0), 1.0)
    return q_max_frac * (low - high)


def dispatch(
    p_available_mw: np.ndarray, p_max_mw: np.ndarray, vm_pu: np.ndarray, fleet: Fleet
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Delivered active and reactive power and the curtailed power of all units [MW, Mvar].

    ``p_mw = clip(min(p_available_mw, p_max_mw), 0)`` (a negative set point means 0), and
    ``p_curtailed_mw = p_available_mw - p_mw``. Reactive power (sgen sign): in cos_phi mode
    ``q_mvar = -/+ p_mw tan(acos(cos_phi))`` (under/overexcited); in q_u mode
    ``q_u_frac(vm_pu) * p_ac_max_mw`` while the inverter runs (``p_available_mw > 0``, also when
    curtailed to 0), else 0. The inverter's apparent power is not limited.
    """
    p_mw = np.maximum(np.minimum(p_available_mw, p_max_mw), 0.0)
    q_mvar = fleet.q_per_p * p_mw + 0.0  # + 0.0: no -0.0 at cos_phi = 1
    if fleet.any_by_voltage:
        q_u_mvar = fleet.p_ac_max_mw * q_u_frac(vm_pu, *fleet.qu_curve)
        q_mvar = np.where(fleet.by_voltage & (p_available_mw > 0), q_u_mvar, q_mvar)
    return p_mw, q_mvar, p_available_mw - p_mw
