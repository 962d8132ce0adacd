"""Site forecasts on the site energy balance, on both back ends: a PV site with a battery, a wind
farm, a plain consumer site (against the old load forecast), the job and the net."""

from __future__ import annotations

import itertools
import math

import holidays
import numpy as np
import pandas as pd
import pvlib
import pytest
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.analytics.calendar_features import holiday_country
from gridpilot.analytics.forecast import forecast_series
from gridpilot.analytics.forecast_bounds import NIGHT_TOLERANCE_SHARE, solar_night
from gridpilot.assets.catalogue import LOAD_ROLES
from gridpilot.auth.permissions import Role
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.data import SYSTEM, load_site_series
from gridpilot.insights.forecasts import service
from gridpilot.insights.forecasts.tasks import FORECASTS
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * 60_000
DAY = 96 * QUARTER
BARI = (41.1171, 16.8719)
PV_KW = 100.0
WIND_KW = 4000.0
#: Cloud factor of each 24 h counted from the current quarter hour (repeats weekly, so the
#: forecast's next 24 h are clear, as they were 7 and 14 days ago): clear days reach the capacity.
CLOUDS = (1.0, 1.0, 0.3, 1.0, 0.7, 1.0, 0.4)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"forecast_interval_s": 0, "forecast_history_days": 21}


def current_quarter() -> int:
    """The start [ms] of the quarter hour holding now (one clock read: two could straddle an
    edge and give a time off the grid)."""
    now = now_ms()
    return now - now % QUARTER


def stamps(days: int) -> np.ndarray:
    """Quarter-hour starts [ms] of the ``days`` before the current quarter hour."""
    current = current_quarter()
    return np.arange(current - days * DAY, current, QUARTER, dtype="int64")


def working_days(ts: np.ndarray) -> np.ndarray:
    """Whether each time [ms] falls on a day that is not a public holiday in Italy."""
    local = pd.to_datetime(ts, unit="ms", utc=True).tz_convert("Europe/Rome")
    off = holidays.country_holidays("IT")
    return np.array([day not in off for day in local.date], dtype=bool)


def load_kw(ts: np.ndarray) -> np.ndarray:
    """A building in Italy: 30 kW, +20 kW 09-19 local time on working days (not on Italy's
    public holidays, which the forecast knows), a ripple of 2 kW. Its hours follow the wall
    clock, as the forecast's daily profile does: hours fixed in UTC would move by an hour
    against the profile learnt before a DST change."""
    local = pd.to_datetime(ts, unit="ms", utc=True).tz_convert("Europe/Rome")
    hour = np.asarray(local.hour)
    busy = working_days(ts) & (np.asarray(local.day_of_week) < 5) & (hour >= 9) & (hour < 19)
    return 30.0 + 20.0 * busy + 2.0 * np.sin(ts / 3_700_000)


def pv_kw(ts: np.ndarray) -> np.ndarray:
    """PV in Bari: the sine of the sun's elevation mid-quarter times the day's clouds, scaled so
    that a clear day's noon reaches 130 % of the capacity (modules oversized against the
    inverter, which clips at the capacity). The clouds' days start at the current quarter hour,
    whatever the hour a test runs at (calendar days would make the next 24 h cloudy on 3 days
    of the week)."""
    mid = pd.to_datetime(ts + QUARTER // 2, unit="ms", utc=True)
    elevation = np.asarray(pvlib.solarposition.get_solarposition(mid, *BARI)["elevation"])
    sine = np.clip(np.sin(np.radians(elevation)), 0.0, None)
    current = current_quarter()
    clouds = np.asarray(CLOUDS)[((ts - current) // DAY) % len(CLOUDS)]
    return np.minimum(PV_KW, 1.3 * PV_KW * clouds * sine / sine.max())


def battery_kw(ts: np.ndarray) -> np.ndarray:
    """Charges 40 kW 10-13 UTC, discharges 30 kW 17-20 UTC (+ charging)."""
    hour = np.asarray(pd.to_datetime(ts, unit="ms", utc=True).hour)
    charging = (hour >= 10) & (hour < 13)
    return np.where(charging, 40.0, np.where((hour >= 17) & (hour < 20), -30.0, 0.0))


def wind_kw(ts: np.ndarray) -> np.ndarray:
    """A 4 MW wind farm: slow swells from calm to full power, capped at the capacity."""
    hours = ts / 3_600_000
    raw = 2500 + 2200 * np.sin(hours / 5.0) + 1400 * np.sin(hours / 17.0 + 1.0)
    return np.clip(raw, 0.0, WIND_KW)


async def make_site(client, headers, name: str, *, located: bool = True) -> int:
    body: dict[str, object] = {"name": name, "timezone": "Europe/Rome"}
    if located:
        body |= {"latitude": BARI[0], "longitude": BARI[1]}
    answer = await client.post("/api/v1/sites", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def make_asset(
    client, headers, site_id: int, kind: str, role: str, kw=None, name: str = ""
) -> int:
    body = {"site_id": site_id, "name": name or f"{kind} {role}", "kind": kind, "role": role}
    if kw is not None:
        body["rated_capacity_kw"] = kw
    answer = await client.post("/api/v1/assets", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def store_power(app, sessions, series: dict[int, np.ndarray], ts: np.ndarray) -> None:
    power = await metric_id(sessions, "power_kw")
    rows = [
        (asset, power, int(t), float(v))
        for asset, values in series.items()
        for t, v in zip(ts, values, strict=True)
    ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)


async def pv_site(app, client, sessions, headers, *, located: bool = True) -> int:
    """PV (100 kW) + battery + grid meter; the building's load is not metered."""
    site = await make_site(client, headers, f"PV site {located}", located=located)
    pv = await make_asset(client, headers, site, "solar_pv", "producer", PV_KW)
    battery = await make_asset(client, headers, site, "battery", "storage", 50.0)
    grid = await make_asset(client, headers, site, "grid_connection", "grid_connection")
    ts = stamps(21)
    exchange = load_kw(ts) - pv_kw(ts) + battery_kw(ts)
    await store_power(app, sessions, {pv: pv_kw(ts), battery: battery_kw(ts), grid: exchange}, ts)
    return site


def times(body: dict) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(p["ts"]) for p in body["points"]])


def column(body: dict, name: str) -> np.ndarray:
    return np.array([p[name] for p in body["points"]])


def assert_within(body: dict, low: float, high: float | np.ndarray) -> None:
    bands = [column(body, b) for b in ("lo95", "lo80", "yhat", "hi80", "hi95")]
    for lower, upper in itertools.pairwise(bands):
        assert (lower <= upper + 1e-9).all()
    assert (bands[0] >= low).all() and (bands[-1] <= high).all()


async def test_a_pv_site_with_a_battery(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await pv_site(app, client, sessions, admin)
    url = f"/api/v1/sites/{site}/forecast"
    generation = await client.get(url, params={"quantity": "generation"}, headers=admin)
    assert generation.status_code == 200, generation.text
    body = generation.json()
    assert body["quantity"] == "generation" and body["capacity_kw"] == PV_KW
    assert body["step_s"] == 900 and body["horizon"] == 96 and body["calibrated"] is True
    assert_within(body, 0.0, PV_KW)
    night = solar_night(times(body), QUARTER, *BARI)
    truth = pv_kw(times(body).as_unit("ms").asi8)
    # the next 24 h hold a night (9 to 15 h in Bari, as the season goes): the quarters the sun
    # stays below the horizon, dark in the truth too, which has at most one more at dusk and dawn
    assert night.any() and not night.all()
    assert (truth[night] == 0.0).all() and (truth == 0.0).sum() - night.sum() <= 2
    for band in ("yhat", "lo95", "hi95"):
        assert (column(body, band)[night] == 0.0).all()
    assert truth.max() == PV_KW  # the next 24 h hold a clear noon, clipped at the capacity
    assert column(body, "hi95").max() > 0.8 * PV_KW  # so the forecast's bound comes near it
    consumption = (await client.get(url, headers=admin)).json()
    assert consumption["quantity"] == "consumption" and consumption["capacity_kw"] is None
    assert_within(consumption, 0.0, np.inf)
    ts = times(consumption).as_unit("ms").asi8
    # the battery's 40 kW charge and 30 kW discharge are not in it: within 6 kW of the load
    # (on working days: the history holds no public holiday to learn a holiday's level from)
    working = working_days(ts)
    error = np.abs(column(consumption, "yhat") - load_kw(ts))
    assert error[working].max(initial=0.0) < 6.0
    net = (await client.get(url, params={"quantity": "net"}, headers=admin)).json()
    assert net["quantity"] == "net" and net["capacity_kw"] == PV_KW
    expected = column(consumption, "yhat") - column(body, "yhat")
    assert np.abs(column(net, "yhat") - expected).max() < 1e-3
    assert (column(net, "hi95") >= column(net, "yhat")).all()
    assert (column(net, "yhat")[night] >= 0).all()
    bad = await client.get(url, params={"quantity": "battery"}, headers=admin)
    assert bad.status_code == 422


async def test_a_pv_site_without_location_takes_the_night_from_its_history(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await pv_site(app, client, sessions, admin, located=False)
    answer = await client.get(
        f"/api/v1/sites/{site}/forecast", params={"quantity": "generation"}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_within(body, 0.0, PV_KW)
    ts = stamps(21)
    history = pv_kw(ts)
    # "without generation": never above the documented share of the history's maximum
    always_zero = pd.Series(history <= NIGHT_TOLERANCE_SHARE * history.max()).groupby(ts % DAY)
    always_zero = always_zero.all()
    history_night = np.isin(times(body).as_unit("ms").asi8 % DAY, always_zero.index[always_zero])
    dark = column(body, "hi95") == 0.0
    # every quarter of the day without generation on any of the 21 days is 0, bands too; any
    # other 0 is a quarter without sun (days shorten or lengthen from one week to the next)
    assert dark[history_night].all()
    assert (pv_kw(times(body).as_unit("ms").asi8)[dark & ~history_night] == 0.0).all()
    night = solar_night(times(body), QUARTER, *BARI)  # about the astronomical night
    assert abs(int(history_night.sum()) - int(night.sum())) <= 6


async def test_a_wind_farm_stays_within_its_capacity(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await make_site(client, admin, "Wind farm")
    turbine = await make_asset(client, admin, site, "wind_onshore", "producer", WIND_KW)
    ts = stamps(21)
    await store_power(app, sessions, {turbine: wind_kw(ts)}, ts)
    url = f"/api/v1/sites/{site}/forecast"
    body = (await client.get(url, params={"quantity": "generation"}, headers=admin)).json()
    assert body["capacity_kw"] == WIND_KW
    assert_within(body, 0.0, WIND_KW)
    night = solar_night(times(body), QUARTER, *BARI)
    assert column(body, "hi95")[night].max() > 0  # wind blows at night: no night bound
    consumption = (await client.get(url, headers=admin)).json()  # nothing consumes: exactly 0
    assert consumption["calibrated"] is True and consumption["seasonality"] == []
    assert {p[b] for p in consumption["points"] for b in ("yhat", "lo95", "hi95")} == {0.0}


async def test_a_consumer_site_forecasts_what_the_load_forecast_gave(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await make_site(client, admin, "Offices")
    meters = [
        await make_asset(client, admin, site, "meter", "consumer", name=f"Floor {i}")
        for i in (1, 2)
    ]
    ts = stamps(21)
    await store_power(app, sessions, {meters[0]: load_kw(ts), meters[1]: 0.5 * load_kw(ts)}, ts)
    now = now_ms()
    settings = app.state.settings
    async with sessions() as session:
        new = await service.get_forecast(
            session=session, principal=SYSTEM, settings=settings, horizon="24h", now_ms=now,
            site_id=site,
        )  # fmt: skip
        end = now - now % QUARTER
        old_history = await load_site_series(
            session=session, site_id=site, metric="power_kw", start_ms=end - 21 * DAY,
            end_ms=end, step_ms=QUARTER, roles=LOAD_ROLES,
        )  # fmt: skip
    old = forecast_series(
        old_history, horizon=96, step_ms=QUARTER, timezone="Europe/Rome",
        country=holiday_country("Europe/Rome"),
    )  # fmt: skip
    assert new.quantity == "consumption" and len(new.points) == 96
    for point, *values in zip(new.points, old.yhat, old.lo95, old.hi95, strict=True):
        assert point.yhat == pytest.approx(max(0.0, values[0]), abs=1e-3)
        assert point.lo95 == pytest.approx(max(0.0, values[1]), abs=1e-3)
        assert point.hi95 == pytest.approx(values[2], abs=1e-3)


async def test_the_job_stores_both_and_serves_the_net(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await pv_site(app, client, sessions, admin)
    events = await runtime_of(app).require(FORECASTS).run_once()
    assert [e["site_id"] for e in events] == [site]
    event = events[0]
    assert event["quantity"] == "net" and event["metric"] == "power_kw"
    assert event["peak"]["hi95"] >= event["peak"]["yhat"]
    url = f"/api/v1/sites/{site}/forecast"
    answers = {
        q: (await client.get(url, params={"quantity": q}, headers=admin)).json()
        for q in ("consumption", "generation", "net")
    }
    assert {a["source"] for a in answers.values()} == {"stored"}
    assert len({a["issued_at"] for a in answers.values()}) == 1
    assert_within(answers["generation"], 0.0, PV_KW)
    expected = column(answers["consumption"], "yhat") - column(answers["generation"], "yhat")
    assert np.abs(column(answers["net"], "yhat") - expected).max() < 1e-3
    assert max(column(answers["net"], "yhat")) == pytest.approx(event["peak"]["yhat"], abs=1e-3)
    ts = times(answers["net"]).as_unit("ms").asi8
    # the peak comes with no sun (working hours after sunset, or the night): the load's own
    truth = load_kw(ts) - pv_kw(ts)
    assert event["peak"]["yhat"] == pytest.approx(truth.max(), abs=6.0)
    assert math.isclose(answers["generation"]["capacity_kw"], PV_KW)


def sun_kw(ts: np.ndarray) -> np.ndarray:
    """Clear-sky PV in Bari: the sine of the sun's elevation mid-quarter, 130 % of the capacity
    at a sine of 1, clipped at the capacity."""
    mid = pd.to_datetime(ts + QUARTER // 2, unit="ms", utc=True)
    elevation = np.asarray(pvlib.solarposition.get_solarposition(mid, *BARI)["elevation"])
    return np.minimum(PV_KW, 1.3 * PV_KW * np.clip(np.sin(np.radians(elevation)), 0.0, None))


@pytest.mark.parametrize("at", ["2026-03-31T06:00Z", "2026-10-27T06:00Z"])
async def test_generation_follows_the_sun_across_a_dst_change(
    app, client, sessions, auth_headers, at
):
    """Two days after a DST change, with 19 of the 21 days of history before it, the PV forecast
    of the site and of the PV itself keeps to the sun, which does not change its clock: a daily
    profile read on the wall clock was an hour off the sun, the forecast up to 16 kW off. (Both
    are physical now, from the clear sky: their day is where the truth's is, its centre within
    10 minutes of the truth's; the level is the persisted clear-sky index's.)"""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await make_site(client, admin, f"PV across DST {at}")
    pv = await make_asset(client, admin, site, "solar_pv", "producer", PV_KW)
    now = pd.Timestamp(at).value // 1_000_000
    ts = np.arange(now - 21 * DAY, now, QUARTER, dtype="int64")
    clouds = np.asarray(CLOUDS)[((ts - now) // DAY) % len(CLOUDS)]  # clear 7 and 14 days ago
    await store_power(app, sessions, {pv: clouds * sun_kw(ts)}, ts)
    async with sessions() as session:
        answers = [
            await service.get_forecast(
                session=session,
                principal=SYSTEM,
                settings=app.state.settings,
                horizon="24h",
                now_ms=now,
                **target,
            )
            for target in ({"site_id": site, "quantity": "generation"}, {"asset_id": pv})
        ]
    for answer in answers:
        assert answer.source == "computed" and len(answer.points) == 96
        stamps_ms = np.array([pd.Timestamp(p.ts).value // 1_000_000 for p in answer.points])
        assert stamps_ms[0] == now
        assert answer.method == "physical"
        yhat, truth = np.array([p.yhat for p in answer.points]), sun_kw(stamps_ms)
        lit = yhat > 0
        assert ((truth > 0) == lit).sum() >= 96 - 2  # at most a quarter off at dawn and dusk
        centre_ms = float((stamps_ms * yhat).sum() / yhat.sum())
        assert abs(centre_ms - float((stamps_ms * truth).sum() / truth.sum())) < 10 * 60_000
