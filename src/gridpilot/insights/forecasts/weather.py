"""Weather for forecasts, behind an adapter (the weather-forecast interface).

A ``WeatherSource`` returns a frame of regressors (``temperature_c`` [degC],
``irradiance_wm2`` [W/m2]) indexed by UTC time for a site and a period that covers the history
and the horizon. Implementations: ``CsvWeatherSource`` (a file, e.g. exported from a weather
service's forecast; setting ``forecast_weather_csv``) and ``CallableWeatherSource`` (wraps a
function of time, e.g. the simulator's weather model, built by a higher layer);
``weather_provider.ProviderWeatherSource`` asks a forecast API over HTTP (setting
``forecast_weather_url``). A site's own sensors come first (``sensor_weather.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pandas as pd

from gridpilot.core.errors import ConfigurationError
from gridpilot.core.settings import Settings

COLUMNS = ("temperature_c", "irradiance_wm2")


@dataclass(frozen=True)
class SiteLocation:
    """Where a site is (for weather models): id, latitude/longitude [deg] when known."""

    site_id: int
    latitude: float | None
    longitude: float | None


class WeatherSource(Protocol):
    def frame(self, site: SiteLocation, start_ms: int, end_ms: int) -> pd.DataFrame | None:
        """Regressors over ``[start_ms, end_ms)`` (UTC index), or None when none are known."""
        ...


class CsvWeatherSource:
    """Weather from a CSV file: ``ts`` (ISO-8601 or epoch ms/s) and any of ``COLUMNS``; rows
    with a ``site_id`` column apply to that site only (blank: every site). Re-read when the
    file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[float, pd.DataFrame] | None = None

    def _load(self) -> pd.DataFrame:
        try:
            mtime = self.path.stat().st_mtime
        except OSError as exc:
            raise ConfigurationError(f"weather CSV {self.path} cannot be read: {exc}") from exc
        if self._cache is not None and self._cache[0] == mtime:
            return self._cache[1]
        table = pd.read_csv(self.path)
        if "ts" not in table.columns or not any(c in table.columns for c in COLUMNS):
            raise ConfigurationError(
                f"weather CSV {self.path} needs a ts column and one of {', '.join(COLUMNS)}"
            )
        ts = table["ts"]
        if pd.api.types.is_numeric_dtype(ts):
            unit: Literal["ms", "s"] = "ms" if float(ts.abs().max()) >= 1e10 else "s"
            index = pd.to_datetime(ts.to_numpy(), unit=unit, utc=True)
        else:
            index = pd.DatetimeIndex(pd.to_datetime(ts.astype(str), utc=True, format="ISO8601"))
        table.index = pd.DatetimeIndex(index)
        self._cache = (mtime, table)
        return table

    def frame(self, site: SiteLocation, start_ms: int, end_ms: int) -> pd.DataFrame | None:
        table = self._load()
        if "site_id" in table.columns:
            ids = pd.to_numeric(table["site_id"], errors="coerce")
            table = table[ids.isna() | (ids == site.site_id)]
        start = pd.Timestamp(start_ms, unit="ms", tz="UTC")
        end = pd.Timestamp(end_ms, unit="ms", tz="UTC")
        part = table[
            (table.index >= start - pd.Timedelta(hours=3))
            & (table.index < end + pd.Timedelta(hours=3))
        ]
        columns = [c for c in COLUMNS if c in part.columns]
        if part.empty or not columns:
            return None
        out = part[columns].apply(pd.to_numeric, errors="coerce").sort_index()
        return out[~out.index.duplicated(keep="last")]


class CallableWeatherSource:
    """Weather from a function ``(site, UTC epoch-ms array) -> {column: array}`` at ``step_ms``."""

    def __init__(
        self,
        function: Callable[[SiteLocation, np.ndarray], dict[str, np.ndarray]],
        step_ms: int = 900_000,
    ) -> None:
        self.function = function
        self.step_ms = step_ms

    def frame(self, site: SiteLocation, start_ms: int, end_ms: int) -> pd.DataFrame | None:
        start = start_ms - start_ms % self.step_ms
        t_ms = np.arange(start, end_ms + self.step_ms, self.step_ms, dtype="int64")
        values = self.function(site, t_ms)
        columns = {k: np.asarray(v, dtype="float64") for k, v in values.items() if k in COLUMNS}
        if not columns:
            return None
        return pd.DataFrame(columns, index=pd.to_datetime(t_ms, unit="ms", utc=True))


def make_weather_source(settings: Settings) -> WeatherSource | None:
    """The configured source: the CSV file of ``forecast_weather_csv``, else the provider of
    ``forecast_weather_url`` (``weather_provider.py``), else none."""
    if settings.forecast_weather_csv is not None:
        return CsvWeatherSource(Path(settings.forecast_weather_csv))
    if settings.forecast_weather_url:
        from gridpilot.insights.forecasts.weather_provider import ProviderWeatherSource

        return ProviderWeatherSource(settings.forecast_weather_url)
    return None
