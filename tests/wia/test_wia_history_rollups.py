"""WIA production history past the raw retention (from rollups), what the answer says it
recomputed, and installDate as an ISO 8601 date-time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gridpilot.auth.permissions import Role
from gridpilot.telemetry.retention import apply_retention
from gridpilot.telemetry.rollups import refresh_pending

SOURCES = "/api/v1/sources"
SID = "WIND-ON-DEU-00042"
RECOMPUTED = [
    "production.cumulative.today",
    "production.cumulative.thisMonth",
    "efficiency.average24h",
]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # readings 60 days old are accepted while they are young enough; retention runs later with 30
    return {"retention_raw_days": None, "retention_1m_days": None}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wind(source_id: str = SID, **extra: object) -> dict[str, object]:
    return {
        "sourceId": source_id, "sourceType": "WIND-ON", "name": "Eifel wind",
        "ratedCapacity": {"value": 4, "unit": "MW"}, "location": {"timezone": "UTC"}, **extra,
    }  # fmt: skip


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def source(client, operator):
    response = await client.post(SOURCES, json=wind(), headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


def day_of_readings(day: datetime, hours: int) -> list[tuple[datetime, float, float]]:
    """``(time, power kW, register kWh)`` every 5 min from ``day`` 06:00 for ``hours``."""
    out, register = [], 50_000.0
    for i in range(hours * 12):
        power = 1_000.0 + 37.0 * (i % 7) + 5.0 * i
        register += power / 12
        out.append((day + timedelta(hours=6, minutes=5 * i), power, register))
    return out


async def post(client, headers, readings, today=None):
    body = [
        {
            "timestamp": iso(ts), "sourceId": SID,
            "production": {"instantaneous": {"value": p, "unit": "kW"},
                           "cumulative": {"lifetime": e, "unit": "kWh",
                                          **({"today": today} if today is not None else {})}},
        }
        for ts, p, e in readings
    ]  # fmt: skip
    response = await client.post(f"{SOURCES}/{SID}/production", json=body, headers=headers)
    assert response.status_code == 201, response.text


async def history(client, headers, start: datetime, end: datetime, limit=1000) -> list[dict]:
    response = await client.get(
        f"{SOURCES}/{SID}/production",
        params={"start": iso(start), "end": iso(end), "limit": limit},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def expected_buckets(readings, step: timedelta, day: datetime):
    """``{bucket start: (mean power, last register, energy since day start)}``."""
    buckets: dict[datetime, list[tuple[float, float]]] = {}
    for ts, p, e in readings:
        start = day + (ts - day) // step * step
        buckets.setdefault(start, []).append((p, e))
    out, total, previous = {}, 0.0, None
    for start, values in sorted(buckets.items()):
        for _, e in values:
            total += 0.0 if previous is None else e - previous
            previous = e
        out[start] = (sum(p for p, _ in values) / len(values), values[-1][1], total)
    return out


async def age_out(app, sessions, **retention: int) -> None:
    """Roll up what was posted, then run retention with raw data kept 30 days."""
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    aged = app.state.settings.model_copy(update={"retention_raw_days": 30, **retention})
    report = await apply_retention(sessions=sessions, settings=aged)
    assert report.raw_rows_deleted or report.partitions_dropped


async def test_history_past_raw_retention_comes_from_15_min_rollups(
    app, client, sessions, operator, source
):
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=60)
    old = day_of_readings(day, hours=3)
    recent_day = day + timedelta(days=59)
    recent = day_of_readings(recent_day, hours=1)
    await post(client, operator, old)
    await post(client, operator, recent)
    before = await history(client, operator, day, day + timedelta(days=1))
    assert [o["resolution"] for o in before] == ["raw"] * len(old)

    await age_out(app, sessions, retention_1m_days=30)

    answer = await history(client, operator, day, day + timedelta(days=1))
    expected = expected_buckets(old, timedelta(minutes=15), day)
    assert [o["resolution"] for o in answer] == ["15m"] * len(expected)
    assert [datetime.fromisoformat(o["timestamp"]) for o in answer] == sorted(
        expected, reverse=True
    )
    for item in answer:
        power, lifetime, today = expected[datetime.fromisoformat(item["timestamp"])]
        assert item["production"]["instantaneous"]["value"] == pytest.approx(power)
        assert item["production"]["cumulative"]["lifetime"] == pytest.approx(lifetime)
        assert item["production"]["cumulative"]["today"] == pytest.approx(today)
        assert item["recomputed"] == RECOMPUTED

    # one call over both: the raw objects first (newest first), then the old day's buckets
    both = await history(client, operator, day, datetime.now(UTC))
    assert [o["resolution"] for o in both] == ["raw"] * len(recent) + ["15m"] * len(expected)
    assert both[len(recent) :] == answer
    few = await history(client, operator, day, datetime.now(UTC), limit=len(recent) + 2)
    assert few == both[: len(recent) + 2]


async def test_history_falls_back_to_hourly_rollups(app, client, sessions, operator, source):
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=60)
    old = day_of_readings(day, hours=3)
    await post(client, operator, old)
    await age_out(app, sessions, retention_1m_days=30, retention_15m_days=30)

    answer = await history(client, operator, day, day + timedelta(days=1))
    expected = expected_buckets(old, timedelta(hours=1), day)
    assert [o["resolution"] for o in answer] == ["1h"] * 3
    for item in answer:
        power, lifetime, today = expected[datetime.fromisoformat(item["timestamp"])]
        assert item["production"]["instantaneous"]["value"] == pytest.approx(power)
        assert item["production"]["cumulative"]["lifetime"] == pytest.approx(lifetime)
        assert item["production"]["cumulative"]["today"] == pytest.approx(today)


async def test_device_cumulative_today_is_recomputed_and_the_answer_says_so(
    client, operator, source
):
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    readings = day_of_readings(day, hours=1)
    await post(client, operator, readings, today=123_456.0)
    answer = await history(client, operator, day, day + timedelta(days=1))
    newest = answer[0]
    assert newest["recomputed"] == RECOMPUTED
    sent_today = readings[-1][2] - readings[0][2]  # register steps since the day's first reading
    assert newest["production"]["cumulative"]["today"] == pytest.approx(sent_today)
    assert newest["production"]["cumulative"]["today"] != 123_456.0


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2021-06-15", "2021-06-15"),
        ("2021-06-15T08:30:00Z", "2021-06-15"),
        ("2021-06-15T23:30:00-05:00", "2021-06-15"),  # the date it names, not UTC's
        ("2021-06-15T00:00:00.000+09:00", "2021-06-15"),
    ],
)
async def test_install_date_accepts_a_date_time(client, operator, sent, stored):
    created = await client.post(SOURCES, json=wind(installDate=sent), headers=operator)
    assert created.status_code == 201, created.text
    assert created.json()["installDate"] == stored
    got = await client.get(f"{SOURCES}/{SID}", headers=operator)
    assert got.json()["installDate"] == stored
    replaced = await client.put(
        f"{SOURCES}/{SID}", json=wind(installDate=sent, name="Eifel 2"), headers=operator
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["installDate"] == stored


@pytest.mark.parametrize("sent", ["2021-06-15T25:00:00Z", "yesterday", "2021-13-01", 20210615])
async def test_install_date_garbage_is_a_clear_422(client, operator, sent):
    response = await client.post(SOURCES, json=wind(installDate=sent), headers=operator)
    assert response.status_code == 422, response.text
    assert "installDate" in response.text
