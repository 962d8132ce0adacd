"""Physical models of generators (pure): a PV array's clear-sky power, a wind turbine's curve.

**PV.** ``clear_sky_potential_kw`` is what an array would give under a clear sky [kW AC, not
yet limited by the inverter]: solar position and Ineichen clear-sky irradiance (pvlib
``Location.get_clearsky``, Linke turbidity 3.0, no lookup file) -> plane-of-array irradiance
(``pvlib.irradiance.get_total_irradiance``, isotropic sky) -> SAPM cell temperature (open
rack, glass/glass; air at ``temp_air_c``, 1 m/s wind) -> PVWatts DC (``pvlib.pvsystem
.pvwatts_dc``, -0.4 %/K) x (1 - system losses 14 %) x inverter efficiency 0.96. Each interval
``[t, t + step)`` is the mean of three samples (at 1/6, 3/6 and 5/6 of it), so an interval
that holds the sunrise is partly lit. Night (the sun below the horizon) gives 0. The output
is capped at the inverter's ``ac_kw`` only where it is used (``pv_power_kw``): the clear-sky
index multiplies the potential before the cap.

**Wind.** ``power_curve_kw`` interpolates a power curve linearly (0 below the first and above
the last point: cut-in and cut-out). Without a manufacturer's curve the generic one is used: a
2 MW, 90 m rotor, IEC 61400-1 class II turbine (the shape of the published Vestas V90-2.0
curve, rounded; cut-in 3 m/s, rated from 13 m/s, cut-out 25 m/s), scaled to the rating.

References:
    Ineichen, P., Perez, R. (2002), A new airmass independent formulation for the Linke
    turbidity coefficient, Solar Energy 73(3). Dobos, A. (2014), PVWatts Version 5 Manual,
    NREL/TP-6A20-62641. King, D. et al. (2004), Photovoltaic Array Performance Model (SAPM),
    SAND2004-3535. IEC 61400-12-1 (power performance of wind turbines: the power curve).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from gridpilot.core.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]

LINKE_TURBIDITY = 3.0
SYSTEM_LOSSES = 0.14
INVERTER_EFFICIENCY = 0.96
GAMMA_PER_K = -0.004
#: Default geometry: south-facing (azimuth 180 deg, clockwise from north) at 30 deg.
DEFAULT_TILT_DEG = 30.0
DEFAULT_AZIMUTH_DEG = 180.0
DEFAULT_AIR_C = 20.0
_SAPM = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
_SAMPLES = (1 / 6, 3 / 6, 5 / 6)

#: Generic IEC class II curve: hub-height wind [m/s] -> share of rated power.
GENERIC_CURVE_MS = (0.0, 2.9, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 25.0)
GENERIC_CURVE_SHARE = (
    0.0, 0.0, 0.004, 0.04, 0.09, 0.16, 0.26, 0.39, 0.55, 0.72, 0.86, 0.96, 1.0, 1.0,
)  # fmt: skip


@dataclass(frozen=True)
class PvArray:
    """A PV plant at ``latitude_deg``/``longitude_deg``: modules of ``dc_kw`` [kWp] tilted
    ``tilt_deg`` from horizontal, facing ``azimuth_deg`` (clockwise from north; 180 = south),
    behind inverters of ``ac_kw`` [kW]."""

    latitude_deg: float
    longitude_deg: float
    dc_kw: float
    ac_kw: float
    tilt_deg: float = DEFAULT_TILT_DEG
    azimuth_deg: float = DEFAULT_AZIMUTH_DEG
    altitude_m: float = 0.0

    def __post_init__(self) -> None:
        if not (-90.0 <= self.latitude_deg <= 90.0 and -180.0 <= self.longitude_deg <= 180.0):
            raise ValidationFailed("latitude must be within +-90 and longitude within +-180 deg")
        if not (self.dc_kw > 0 and self.ac_kw > 0):
            raise ValidationFailed("a PV array needs a DC and an AC rating above 0 kW")
        if not (0.0 <= self.tilt_deg <= 90.0 and 0.0 <= self.azimuth_deg <= 360.0):
            raise ValidationFailed("tilt must be within 0-90 deg and azimuth within 0-360 deg")


def _utc(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")


def _potential_at(array: PvArray, times: pd.DatetimeIndex, temp_air_c: FloatArray) -> FloatArray:
    location = pvlib.location.Location(
        array.latitude_deg, array.longitude_deg, altitude=array.altitude_m
    )
    position = location.get_solarposition(times)
    sky = location.get_clearsky(
        times, model="ineichen", solar_position=position, linke_turbidity=LINKE_TURBIDITY
    )
    poa = pvlib.irradiance.get_total_irradiance(
        array.tilt_deg,
        array.azimuth_deg,
        position["apparent_zenith"].to_numpy(),
        position["azimuth"].to_numpy(),
        sky["dni"].to_numpy(),
        sky["ghi"].to_numpy(),
        sky["dhi"].to_numpy(),
    )["poa_global"]
    poa_wm2 = np.nan_to_num(np.asarray(poa, dtype="float64"), nan=0.0).clip(min=0.0)
    poa_wm2[position["apparent_elevation"].to_numpy() <= 0.0] = 0.0
    cell_c = pvlib.temperature.sapm_cell(
        poa_wm2, temp_air_c, 1.0, _SAPM["a"], _SAPM["b"], _SAPM["deltaT"]
    )
    dc_w = pvlib.pvsystem.pvwatts_dc(poa_wm2, cell_c, array.dc_kw * 1000.0, GAMMA_PER_K)
    ac_kw = np.asarray(dc_w, dtype="float64") * (1 - SYSTEM_LOSSES) * INVERTER_EFFICIENCY / 1000
    return np.asarray(np.nan_to_num(ac_kw, nan=0.0).clip(min=0.0), dtype="float64")


def clear_sky_potential_kw(
    array: PvArray,
    index: pd.DatetimeIndex,
    step_ms: int,
    temp_air_c: float | FloatArray = DEFAULT_AIR_C,
) -> FloatArray:
    """Mean clear-sky AC power of ``array`` [kW] in each interval ``[t, t + step_ms)`` of
    ``index``, before the inverter's limit; 0 while the sun is below the horizon.
    ``temp_air_c``: air temperature [degC] (scalar or one per interval)."""
    if len(index) == 0:
        return np.zeros(0)
    utc = _utc(pd.DatetimeIndex(index))
    air = np.broadcast_to(np.asarray(temp_air_c, dtype="float64"), (len(utc),))
    total = np.zeros(len(utc))
    with warnings.catch_warnings():  # pvlib 0.16 still calls DatetimeIndex.dayofyear
        warnings.filterwarnings("ignore", ".*dayofyear.*")
        for share in _SAMPLES:
            offset = pd.Timedelta(milliseconds=int(step_ms * share))
            total += _potential_at(array, utc + offset, np.nan_to_num(air, nan=DEFAULT_AIR_C))
    return total / len(_SAMPLES)


def clear_sky_ghi_wm2(array: PvArray, index: pd.DatetimeIndex, step_ms: int) -> FloatArray:
    """Mean Ineichen clear-sky global horizontal irradiance [W/m2] at the array's place in each
    interval ``[t, t + step_ms)`` (the same three samples as ``clear_sky_potential_kw``)."""
    if len(index) == 0:
        return np.zeros(0)
    utc = _utc(pd.DatetimeIndex(index))
    location = pvlib.location.Location(
        array.latitude_deg, array.longitude_deg, altitude=array.altitude_m
    )
    total = np.zeros(len(utc))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*dayofyear.*")
        for share in _SAMPLES:
            times = utc + pd.Timedelta(milliseconds=int(step_ms * share))
            sky = location.get_clearsky(times, model="ineichen", linke_turbidity=LINKE_TURBIDITY)
            total += np.nan_to_num(sky["ghi"].to_numpy(dtype="float64"), nan=0.0)
    return total / len(_SAMPLES)


def weather_clear_sky_index(ghi_wm2: FloatArray, clear_ghi_wm2: FloatArray) -> FloatArray:
    """A weather forecast's clear-sky index: its global horizontal irradiance [W/m2] over the
    clear sky's, within [0, 2]; 0 where the clear sky is dark, NaN where the forecast is."""
    ghi = np.asarray(ghi_wm2, dtype="float64")
    lit = clear_ghi_wm2 > 0
    ratio = np.divide(ghi, clear_ghi_wm2, out=np.zeros(len(ghi)), where=lit)
    ratio[np.isnan(ghi) & lit] = np.nan
    return np.asarray(np.clip(ratio, 0.0, 2.0), dtype="float64")


def pv_power_kw(
    array: PvArray, clear_sky_index: FloatArray, potential_kw: FloatArray
) -> FloatArray:
    """PV output [kW] = clear-sky index x clear-sky potential, within ``[0, ac_kw]``."""
    power = np.asarray(clear_sky_index, dtype="float64") * potential_kw
    return np.asarray(np.clip(np.nan_to_num(power, nan=0.0), 0.0, array.ac_kw), dtype="float64")


@dataclass(frozen=True)
class PowerCurve:
    """A turbine's (or a farm's) power curve: output [kW] at hub-height wind [m/s], linear in
    between, 0 outside (below cut-in, above cut-out); ``rated_kw`` bounds it."""

    speeds_ms: tuple[float, ...]
    power_kw: tuple[float, ...]
    rated_kw: float

    def __post_init__(self) -> None:
        speeds, power = np.asarray(self.speeds_ms), np.asarray(self.power_kw)
        if len(speeds) < 2 or len(speeds) != len(power):
            raise ValidationFailed("a power curve needs two or more (speed, power) points")
        if not np.all(np.isfinite(speeds)) or not np.all(np.isfinite(power)):
            raise ValidationFailed("a power curve's points must be finite numbers")
        if np.any(np.diff(speeds) <= 0) or speeds[0] < 0:
            raise ValidationFailed("a power curve's speeds must increase from 0 m/s or more")
        if np.any(power < 0) or not self.rated_kw > 0 or power.max() > self.rated_kw * 1.0001:
            raise ValidationFailed("a power curve's power must be within 0 and the rated power")


def generic_curve(rated_kw: float) -> PowerCurve:
    """The generic IEC class II curve scaled to ``rated_kw`` [kW]."""
    power = tuple(share * rated_kw for share in GENERIC_CURVE_SHARE)
    return PowerCurve(GENERIC_CURVE_MS, power, rated_kw)


def parse_power_curve(raw: object, rated_kw: float) -> PowerCurve:
    """A curve from an asset's ``power_curve`` attribute: ``[[speed_ms, power_kw], ...]``."""
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValidationFailed("power_curve must be a list of [speed_ms, power_kw] pairs")
    pairs: list[tuple[float, float]] = []
    for point in raw:
        if not isinstance(point, Sequence) or isinstance(point, str) or len(point) != 2:
            raise ValidationFailed("power_curve must be a list of [speed_ms, power_kw] pairs")
        try:
            pairs.append((float(point[0]), float(point[1])))
        except (TypeError, ValueError) as error:
            raise ValidationFailed("power_curve's values must be numbers") from error
    speeds, power = zip(*pairs, strict=True) if pairs else ((), ())
    return PowerCurve(tuple(speeds), tuple(power), rated_kw)


def power_curve_kw(curve: PowerCurve, speed_ms: FloatArray) -> FloatArray:
    """Output [kW] at hub-height ``speed_ms`` [m/s] (NaN stays NaN), within [0, rated]."""
    speeds = np.asarray(speed_ms, dtype="float64")
    power = np.interp(speeds, curve.speeds_ms, curve.power_kw, left=0.0, right=0.0)
    power = np.where(np.isnan(speeds), np.nan, power)
    return np.asarray(np.clip(power, 0.0, curve.rated_kw), dtype="float64")
