"""Deterministic demo load and generation profiles (pure functions of time, no I/O).

Simple, documented shapes for the demo's sample data; the physical simulators of the factory,
PV (pvlib), wind and community scenarios come later.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from gridpilot.core.timestamps import MS_PER_HOUR


def solar_elevation_deg(ts_ms: int, latitude_deg: float, longitude_deg: float) -> float:
    """Approximate solar elevation angle [deg] (declination by Cooper's formula, no refraction).

    Accurate to about 1 deg, enough for a demo profile.
    """
    dt = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    day_of_year = dt.timetuple().tm_yday
    declination = math.radians(23.45) * math.sin(math.radians(360 * (284 + day_of_year) / 365))
    solar_time_h = dt.hour + dt.minute / 60 + dt.second / 3600 + longitude_deg / 15
    hour_angle = math.radians(15 * (solar_time_h - 12))
    lat = math.radians(latitude_deg)
    sin_elevation = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(
        declination
    ) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_elevation))))


def pv_power_kw(
    ts_ms: int, *, capacity_kw: float, latitude_deg: float, longitude_deg: float, seed: int = 0
) -> tuple[float, float]:
    """(AC power [kW], global horizontal irradiance [W/m2]) of a PV plant under light cloud.

    Irradiance = 1000 W/m2 x sin(elevation)^1.15 x a cloud factor in [0.55, 1] that varies by
    the hour; power = irradiance / 1000 x capacity x 0.85 (system losses), zero at night.
    """
    elevation = solar_elevation_deg(ts_ms, latitude_deg, longitude_deg)
    if elevation <= 0:
        return 0.0, 0.0
    hour_rng = random.Random(seed * 1_000_003 + ts_ms // MS_PER_HOUR)
    cloud = 0.55 + 0.45 * hour_rng.random() ** 0.3
    irradiance = 1000.0 * math.sin(math.radians(elevation)) ** 1.15 * cloud
    return min(capacity_kw, irradiance / 1000.0 * capacity_kw * 0.85), irradiance


def factory_load_kw(
    ts_ms: int, *, base_kw: float, peak_kw: float, utc_offset_h: float = 1.0
) -> float:
    """Factory demand [kW]: three shifts (06-14, 14-22, 22-06 local), weekends at 35 %.

    Day shift runs at 100 % of ``peak_kw - base_kw`` above base, late shift 80 %, night 45 %;
    +-5 % deterministic ripple.
    """
    local = datetime.fromtimestamp(ts_ms / 1000 + utc_offset_h * 3600, tz=UTC)
    hour = local.hour + local.minute / 60
    shift = 1.0 if 6 <= hour < 14 else 0.8 if 14 <= hour < 22 else 0.45
    if local.weekday() >= 5:
        shift *= 0.35
    ripple = 1 + 0.05 * math.sin(ts_ms / 137_000) * math.cos(ts_ms / 61_000)
    return (base_kw + (peak_kw - base_kw) * shift) * ripple


def compressor_kw_and_bar(ts_ms: int, *, rated_kw: float) -> tuple[float, float]:
    """Compressor load/unload cycle: (power [kW], pressure [bar]) between 6 and 8 bar."""
    phase = (ts_ms / 1000) % 600 / 600  # 10-minute cycle
    loaded = phase < 0.6
    power = rated_kw * (0.95 if loaded else 0.25)
    pressure = 6.0 + 2.0 * (phase / 0.6 if loaded else 1 - (phase - 0.6) / 0.4)
    return power, pressure
