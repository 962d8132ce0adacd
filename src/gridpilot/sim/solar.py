"""Photovoltaic plants with pvlib: clear sky (Ineichen), clouds, module temperature, inverter.

Chain: solar position -> Ineichen clear-sky irradiance (Linke turbidity 3.0, no lookup file)
-> x the weather's cloud factor, split into beam and diffuse by Erbs -> plane-of-array
irradiance (isotropic sky) -> SAPM cell temperature (open rack, glass/glass) -> PVWatts DC
(-0.4 %/K, 14 % system losses) -> PVWatts inverter clipped at ``ac_kw``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pvlib
from numpy.typing import NDArray

from gridpilot.sim.model import ENERGY_REGISTER, SimContext, apply_overrides
from gridpilot.sim.noise import Array

SAPM = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
LINKE_TURBIDITY = 3.0
INVERTER_EFFICIENCY = 0.96


def times_of(t_ms: NDArray[np.int64]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(t_ms), unit="ms", utc=True)).as_unit("ns")


def clear_sky(
    t_ms: NDArray[np.int64], latitude: float, longitude: float, altitude: float = 0.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(solar position, Ineichen clear-sky ghi/dni/dhi [W/m2]) at ``t_ms``."""
    location = pvlib.location.Location(latitude, longitude, altitude=altitude)
    times = times_of(t_ms)
    position = location.get_solarposition(times)
    sky = location.get_clearsky(
        times, model="ineichen", solar_position=position, linke_turbidity=LINKE_TURBIDITY
    )
    return position, sky


def solar_elevation_deg(t_ms: NDArray[np.int64], latitude: float, longitude: float) -> Array:
    """Apparent solar elevation [deg] (pvlib)."""
    position = pvlib.solarposition.get_solarposition(times_of(t_ms), latitude, longitude)
    return np.asarray(position["apparent_elevation"], dtype=np.float64)


@dataclass(frozen=True)
class PvPlant:
    """A PV plant: ``dc_kw`` of modules behind inverters of ``ac_kw`` (the export limit)."""

    latitude: float
    longitude: float
    dc_kw: float
    ac_kw: float
    altitude: float = 0.0
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    gamma_per_k: float = -0.004
    losses: float = 0.14
    clear: bool = False  # True: ignore clouds (clear-sky output)
    kind: str = "solar_pv"
    interval_s: float = 60.0
    counters: tuple[str, ...] = ()
    registers: tuple[tuple[str, str, float], ...] = ENERGY_REGISTER
    anomaly_kinds: tuple[str, ...] = ("soiling",)

    def simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        with warnings.catch_warnings():  # pvlib 0.16 still calls DatetimeIndex.dayofyear
            warnings.filterwarnings("ignore", "DatetimeIndex.dayofyear", FutureWarning)
            warnings.filterwarnings("ignore", ".*dayofyear.*")
            return self._simulate(t_ms, ctx)

    def _simulate(self, t_ms: NDArray[np.int64], ctx: SimContext) -> dict[str, Array]:
        position, sky = clear_sky(t_ms, self.latitude, self.longitude, self.altitude)
        weather = ctx.weather(t_ms)
        zenith = position["apparent_zenith"].to_numpy()
        if self.clear:
            ghi, dni, dhi = (sky[c].to_numpy() for c in ("ghi", "dni", "dhi"))
        else:
            ghi = sky["ghi"].to_numpy() * weather.clear_sky_factor
            split = pvlib.irradiance.erbs(ghi, zenith, times_of(t_ms))
            dni, dhi = np.asarray(split["dni"]), np.asarray(split["dhi"])
        poa = pvlib.irradiance.get_total_irradiance(
            self.tilt_deg, self.azimuth_deg, zenith, position["azimuth"].to_numpy(), dni, ghi, dhi
        )["poa_global"]
        poa = np.nan_to_num(np.asarray(poa, dtype=np.float64), nan=0.0).clip(min=0.0)
        poa = poa * (1.0 - 0.2 * ctx.anomaly_level("soiling", t_ms))
        cell = pvlib.temperature.sapm_cell(
            poa, weather.temperature_c, weather.wind_speed_ms, SAPM["a"], SAPM["b"], SAPM["deltaT"]
        )
        dc_w = pvlib.pvsystem.pvwatts_dc(poa, cell, self.dc_kw * 1000.0, self.gamma_per_k)
        dc_w = np.asarray(dc_w, dtype=np.float64) * (1.0 - self.losses)
        ac_w = pvlib.inverter.pvwatts(
            dc_w, self.ac_kw * 1000.0 / INVERTER_EFFICIENCY, INVERTER_EFFICIENCY
        )
        power = np.clip(np.nan_to_num(np.asarray(ac_w, dtype=np.float64)) / 1000.0, 0.0, self.ac_kw)
        power = apply_overrides(power, ctx.overrides)
        return {
            "power_kw": power,
            "irradiance_wm2": poa,
            "temperature_c": np.asarray(cell, dtype=np.float64),
        }
