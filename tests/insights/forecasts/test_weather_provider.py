"""The weather-forecast provider adapter: retried with exponential backoff, at most 3 attempts.

No network: the provider is an ``httpx.MockTransport`` answering as an Open-Meteo style API
would (the provider is not ours; its HTTP boundary is what the adapter talks to)."""

from __future__ import annotations

import httpx
import pandas as pd

from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, now_ms
from gridpilot.insights.forecasts.weather import SiteLocation
from gridpilot.insights.forecasts.weather_provider import ProviderWeatherSource

SITE = SiteLocation(7, 44.494, 11.343)
URL = "https://weather.example/v1/forecast"


def hourly_answer(request: httpx.Request) -> dict:
    """Hourly weather from ``past_days`` before today to ``forecast_days`` after it."""
    past = int(request.url.params["past_days"])
    ahead = int(request.url.params["forecast_days"])
    today = now_ms() // MS_PER_DAY * MS_PER_DAY
    hours = range(today - past * MS_PER_DAY, today + ahead * MS_PER_DAY, MS_PER_HOUR)
    times = [ts // 1000 for ts in hours]
    return {
        "hourly": {
            "time": times,
            "temperature_2m": [10.0 + (t // 3600) % 24 / 2 for t in times],
            "shortwave_radiation": [0.0 for _ in times],
        }
    }


class Provider:
    """Answers ``statuses`` in turn (then 200 with weather) and records the calls."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.statuses:
            return httpx.Response(self.statuses.pop(0), text="busy")
        return httpx.Response(200, json=hourly_answer(request))


def source(provider: Provider, waits: list[float]) -> ProviderWeatherSource:
    client = httpx.Client(transport=httpx.MockTransport(provider))
    return ProviderWeatherSource(URL, client=client, sleep=waits.append)


def period() -> tuple[int, int]:
    now = now_ms()
    return now - 3 * MS_PER_DAY, now + 7 * MS_PER_DAY


def test_two_failures_are_retried_with_backoff_and_the_third_answer_is_used():
    provider, waits = Provider(503, 429), []
    frame = source(provider, waits).frame(SITE, *period())
    assert len(provider.requests) == 3 and waits == [1.0, 2.0]  # exponential backoff
    assert frame is not None and list(frame.columns) == ["temperature_c", "irradiance_wm2"]
    start, end = period()
    assert frame.index[0] <= pd.Timestamp(start, unit="ms", tz="UTC")
    assert frame.index[-1] >= pd.Timestamp(end, unit="ms", tz="UTC") - pd.Timedelta(hours=4)
    params = provider.requests[0].url.params
    assert params["latitude"] == "44.494" and params["timeformat"] == "unixtime"
    assert params["hourly"] == "temperature_2m,shortwave_radiation"
    assert params["past_days"] == "3" and params["forecast_days"] == "8"


def test_three_failures_give_no_weather_after_three_attempts():
    provider, waits = Provider(503, 503, 503, 503), []
    assert source(provider, waits).frame(SITE, *period()) is None
    assert len(provider.requests) == 3 and waits == [1.0, 2.0]  # no wait after the last


def test_a_client_error_is_not_retried_and_answers_are_kept():
    provider, waits = Provider(400), []
    adapter = source(provider, waits)
    assert adapter.frame(SITE, *period()) is None
    assert len(provider.requests) == 1 and waits == []
    provider = Provider()
    adapter = source(provider, waits)
    assert adapter.frame(SITE, *period()) is not None
    assert adapter.frame(SITE, *period()) is not None
    assert len(provider.requests) == 1  # the second from the kept answer


def test_a_site_without_a_location_asks_nothing():
    provider, waits = Provider(), []
    assert source(provider, waits).frame(SiteLocation(8, None, None), *period()) is None
    assert provider.requests == []
