"""A weather-forecast provider over HTTP, behind the ``WeatherSource`` adapter (``weather.py``).

``ProviderWeatherSource`` asks an Open-Meteo style forecast API (``GET {url}?latitude=
&longitude=&hourly=temperature_2m,shortwave_radiation&past_days=&forecast_days=
&timeformat=unixtime``) for a site's hourly temperature [degC] and global horizontal
irradiance [W/m2] over the history and the horizon. A failed call (connection error, timeout,
429 or 5xx) is retried with exponential backoff, at most ``attempts`` (3) calls in all; after
that, or on another error answer, there is no weather (None) and the reason is logged. An
answer is kept ``ttl_s`` per site and hour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pandas as pd

from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR
from gridpilot.insights.forecasts.weather import SiteLocation

log = logging.getLogger(__name__)

#: The provider's hourly variable -> the regressor's column.
VARIABLES = {"temperature_2m": "temperature_c", "shortwave_radiation": "irradiance_wm2"}
#: The provider's limits on the days before and after today.
MAX_PAST_DAYS, MAX_FORECAST_DAYS = 92, 16
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})


class ProviderError(Exception):
    """The provider did not answer usable weather."""


class ProviderWeatherSource:
    """Weather from a forecast provider over HTTP, retried with exponential backoff.

    ``attempts``: calls at most (3); ``backoff_s``: the wait after the first failure, doubled
    after each next one (1 s, 2 s); ``sleep`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        attempts: int = 3,
        backoff_s: float = 1.0,
        ttl_s: float = 3600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.client = client or httpx.Client(timeout=10.0)
        self.attempts, self.backoff_s, self.ttl_s = attempts, backoff_s, ttl_s
        self.sleep, self.clock = sleep, clock
        self._cache: dict[tuple[int, int, int, int], tuple[float, pd.DataFrame | None]] = {}

    def frame(self, site: SiteLocation, start_ms: int, end_ms: int) -> pd.DataFrame | None:
        """Hourly regressors over ``[start_ms, end_ms)`` (None without a location or an
        answer); sync: callers run it in a thread."""
        if site.latitude is None or site.longitude is None:
            return None
        now = int(time.time() * 1000)
        past = min(MAX_PAST_DAYS, max(0, -(-(now - start_ms) // MS_PER_DAY)))
        ahead = min(MAX_FORECAST_DAYS, max(1, -(-(end_ms - now) // MS_PER_DAY) + 1))
        key = (site.site_id, now // MS_PER_HOUR, past, ahead)
        kept = self._cache.get(key)
        if kept is not None and self.clock() - kept[0] < self.ttl_s:
            return _window(kept[1], start_ms, end_ms)
        params = {
            "latitude": site.latitude, "longitude": site.longitude,
            "hourly": ",".join(VARIABLES), "past_days": past, "forecast_days": ahead,
            "timeformat": "unixtime", "timezone": "GMT",
        }  # fmt: skip
        try:
            table = parse_hourly(self.fetch(params))
        except ProviderError as error:
            log.warning("weather provider %s: %s; forecasting without weather", self.url, error)
            table = None
        self._cache[key] = (self.clock(), table)
        return _window(table, start_ms, end_ms)

    def fetch(self, params: dict[str, Any]) -> dict[str, Any]:
        """The provider's JSON answer, after at most ``attempts`` calls; ``ProviderError``."""
        problem = "no attempt made"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.get(self.url, params=params)
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 200:
                    try:
                        return dict(response.json())
                    except ValueError as error:
                        raise ProviderError(f"answered no JSON: {error}") from error
                problem = f"answered {response.status_code}: {response.text[:200]}"
                if response.status_code not in RETRIED_STATUS:
                    raise ProviderError(problem)
            if attempt < self.attempts:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise ProviderError(f"{problem} (after {self.attempts} attempts)")


def parse_hourly(payload: dict[str, Any]) -> pd.DataFrame:
    """The ``hourly`` block (``time`` in epoch seconds) as regressors indexed by UTC time."""
    hourly = payload.get("hourly")
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise ProviderError("the answer holds no hourly block")
    index = pd.to_datetime(np.asarray(hourly["time"], dtype="int64"), unit="s", utc=True)
    columns = {
        column: pd.to_numeric(pd.Series(hourly[name], dtype="object"), errors="coerce").to_numpy()
        for name, column in VARIABLES.items()
        if isinstance(hourly.get(name), list) and len(hourly[name]) == len(index)
    }
    if not columns:
        raise ProviderError("the answer holds none of " + ", ".join(VARIABLES))
    return pd.DataFrame(columns, index=index).sort_index()


def _window(table: pd.DataFrame | None, start_ms: int, end_ms: int) -> pd.DataFrame | None:
    if table is None:
        return None
    start = pd.Timestamp(start_ms, unit="ms", tz="UTC") - pd.Timedelta(hours=3)
    end = pd.Timestamp(end_ms, unit="ms", tz="UTC") + pd.Timedelta(hours=3)
    part = table[(table.index >= start) & (table.index < end)]
    return None if part.empty else part
