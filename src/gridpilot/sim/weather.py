"""Weather shared by every scenario: outdoor temperature, cloud cover and wind speed.

Pure functions of time for a (seed, latitude) pair:

* temperature [degC] = annual mean + seasonal cosine (coldest around 20 January) + daily
  cosine (warmest around 15:00 local solar time, damped by clouds) + synoptic (3-day) and
  hourly random variations;
* cloud cover [0..1] = a smooth stochastic process (2-day, 3-hour and 20-minute components),
  a little clearer in summer; the irradiance factor is Kasten-Czeplak ``1 - 0.75 c^3.4``;
* wind speed at 10 m [m/s] = a Weibull(k=2) transform of a smooth Gaussian process
  (1-day and 2-hour components, 5-minute gusts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from gridpilot.sim import noise
from gridpilot.sim.clock import MS_PER_DAY, MS_PER_HOUR
from gridpilot.sim.noise import Array


@dataclass(frozen=True)
class Weather:
    """Arrays of the same length as the time grid."""

    temperature_c: Array
    cloud_cover: Array  # 0 clear .. 1 overcast
    clear_sky_factor: Array  # irradiance / clear-sky irradiance
    wind_speed_ms: Array  # at 10 m


@dataclass(frozen=True)
class WeatherModel:
    seed: int
    latitude: float = 44.5
    longitude: float = 11.3
    mean_temperature_c: float = 14.0
    seasonal_amplitude_c: float = 10.0
    daily_amplitude_c: float = 5.0
    mean_wind_ms: float = 5.0

    def at(self, t_ms: NDArray[np.int64]) -> Weather:
        t = np.asarray(t_ms, dtype=np.int64)
        tf = t.astype(np.float64)
        days = tf / MS_PER_DAY
        day_of_year = np.mod(days - 0.0, 365.25)  # days since 1 January (1970 anchor)
        season = -np.cos(2 * np.pi * (day_of_year - 20) / 365.25)  # -1 January .. +1 July
        hemisphere = 1.0 if self.latitude >= 0 else -1.0
        season *= hemisphere

        cloud = (
            0.45
            - 0.12 * season
            + 0.30 * noise.smooth(self.seed, "cloud/synoptic", t, 2 * MS_PER_DAY)
            + 0.20 * noise.smooth(self.seed, "cloud/hours", t, 3 * MS_PER_HOUR)
            + 0.08 * noise.smooth(self.seed, "cloud/minutes", t, 20 * 60_000)
        )
        cloud = np.clip(cloud, 0.0, 1.0)
        factor = 1.0 - 0.75 * cloud**3.4

        solar_hour = np.mod(days * 24 + self.longitude / 15.0, 24.0)
        daily = np.cos(2 * np.pi * (solar_hour - 15.0) / 24.0) * (1.0 - 0.5 * cloud)
        temperature = (
            self.mean_temperature_c
            + self.seasonal_amplitude_c * season
            + self.daily_amplitude_c * daily
            + 3.0 * noise.smooth(self.seed, "temp/synoptic", t, 3 * MS_PER_DAY)
            + 0.6 * noise.smooth(self.seed, "temp/hours", t, MS_PER_HOUR)
        )

        gauss = (
            0.8 * noise.smooth(self.seed, "wind/days", t, MS_PER_DAY)
            + 0.5 * noise.smooth(self.seed, "wind/hours", t, 2 * MS_PER_HOUR)
        ) / 0.94
        uniform = np.clip(ndtr(gauss), 1e-9, 1 - 1e-9)
        scale = self.mean_wind_ms / 0.8862  # Weibull k=2 mean = scale * Gamma(1.5)
        wind = scale * np.sqrt(-np.log1p(-uniform))
        gusts = 1.0 + 0.08 * noise.smooth(self.seed, "wind/gusts", t, 5 * 60_000)
        return Weather(
            temperature_c=temperature,
            cloud_cover=cloud,
            clear_sky_factor=factor,
            wind_speed_ms=np.maximum(wind * gusts, 0.0),
        )
