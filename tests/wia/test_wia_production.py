"""WIA production data: POST maps to readings, GET rebuilds the seed's model, status, scoping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gridpilot.auth.permissions import Role

SOURCES = "/api/v1/sources"
SID = "SOLAR-PV-JPN-00007"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def solar(source_id=SID, name="Kanto PV", **extra):
    return {
        "sourceId": source_id, "sourceType": source_id.rsplit("-", 2)[0], "name": name,
        "ratedCapacity": {"value": 1.2, "unit": "MW"},
        "location": {"latitude": 35.7, "longitude": 139.7, "timezone": "Asia/Tokyo"}, **extra,
    }  # fmt: skip


def production(ts: datetime, source_id=SID, **fields):
    body = {"timestamp": iso(ts), "sourceId": source_id}
    body.update(fields)
    return body


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def source(client, operator):
    response = await client.post(SOURCES, json=solar(), headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


def recent_local_midnight(zone: str) -> datetime:
    """Yesterday's local midnight in ``zone``: in the past, well inside raw retention."""
    local_now = datetime.now(ZoneInfo(zone))
    return datetime(local_now.year, local_now.month, local_now.day, tzinfo=ZoneInfo(zone)) - (
        timedelta(days=1)
    )


async def test_production_round_trip(client, operator, source):
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    body = production(
        ts,
        production={"instantaneous": {"value": 0.85, "unit": "MW"},
                    "cumulative": {"lifetime": 1234.5, "unit": "MWh", "today": 99}},
        efficiency={"current": 18.5, "average24h": 1},
        environmentalConditions={"temperature": 24.5, "humidity": 60, "windSpeed": 3.2,
                                 "solarIrradiance": 850},
    )  # fmt: skip
    posted = await client.post(f"{SOURCES}/{SID}/production", json=body, headers=operator)
    assert posted.status_code == 201, posted.text
    assert posted.json() == {"stored": 7, "rejected": []}

    got = await client.get(f"{SOURCES}/{SID}/production", headers=operator)
    assert got.status_code == 200, got.text
    [item] = got.json()
    assert datetime.fromisoformat(item["timestamp"].replace("Z", "+00:00")) == ts
    assert item["sourceId"] == SID
    assert item["production"]["instantaneous"] == {"value": 850, "unit": "kW"}
    cumulative = item["production"]["cumulative"]
    assert cumulative["lifetime"] == pytest.approx(1_234_500)  # MWh -> kWh
    assert cumulative["unit"] == "kWh"
    assert cumulative["today"] == 0  # one register reading: no energy yet, not the sent 99
    assert item["efficiency"] == {"current": 18.5, "average24h": 18.5}
    assert item["environmentalConditions"] == {
        "temperature": 24.5, "humidity": 60, "windSpeed": 3.2, "solarIrradiance": 850,
    }  # fmt: skip


async def test_today_and_this_month_follow_the_site_timezone(client, operator, source):
    midnight = recent_local_midnight("Asia/Tokyo")
    lifetimes = [(-20, 100), (-10, 110), (10, 125), (20, 145)]
    batch = [
        production(midnight + timedelta(minutes=m),
                   production={"instantaneous": {"value": 60}, "cumulative": {"lifetime": kwh}})
        for m, kwh in lifetimes
    ]  # fmt: skip
    posted = await client.post(f"{SOURCES}/{SID}/production", json=batch, headers=operator)
    assert posted.status_code == 201, posted.text
    assert posted.json()["stored"] == 8

    params = {
        "start": iso(midnight - timedelta(hours=1)),
        "end": iso(midnight + timedelta(hours=1)),
    }
    items = (await client.get(f"{SOURCES}/{SID}/production", params=params,
                              headers=operator)).json()  # fmt: skip
    assert [i["production"]["cumulative"]["lifetime"] for i in items] == [145, 125, 110, 100]
    today = [i["production"]["cumulative"]["today"] for i in items]
    month = [i["production"]["cumulative"]["thisMonth"] for i in items]
    # newest first; the step 110 -> 125 belongs to the new local day (its later reading)
    assert today[:2] == [35, 15]
    assert today[2:] == [10, 0]
    if midnight.day == 1:  # the new day also starts a new month
        assert month == today
    else:
        assert month == [45, 25, 10, 0]

    limited = await client.get(f"{SOURCES}/{SID}/production", params={**params, "limit": 2},
                               headers=operator)  # fmt: skip
    assert [i["production"]["cumulative"]["lifetime"] for i in limited.json()] == [145, 125]


async def test_rejected_values_are_reported_per_object_and_field(client, operator, source):
    ts = datetime.now(UTC) - timedelta(minutes=1)
    batch = [
        production(ts, production={"instantaneous": {"value": 5, "unit": "furlongs"}},
                   environmentalConditions={"humidity": 150, "temperature": 20}),
        production(ts - timedelta(minutes=1), production={"instantaneous": {"value": 5}}),
    ]  # fmt: skip
    posted = await client.post(f"{SOURCES}/{SID}/production", json=batch, headers=operator)
    assert posted.status_code == 207, posted.text
    result = posted.json()
    assert result["stored"] == 2
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [
        (0, "environmentalConditions.humidity"),
        (0, "production.instantaneous"),
    ]
    assert all(r["reason"] for r in result["rejected"])


async def test_malformed_production_is_4xx(client, operator, source):
    url = f"{SOURCES}/{SID}/production"
    now = datetime.now(UTC)
    other = production(now, source_id="SOLAR-PV-JPN-00008", efficiency={"current": 10})
    assert (await client.post(url, json=other, headers=operator)).status_code == 422
    empty = await client.post(url, json=production(now), headers=operator)
    assert empty.status_code == 422
    assert empty.json()["stored"] == 0
    assert (await client.post(url, json=[], headers=operator)).status_code == 422
    nan = '{"timestamp": "2026-01-01T00:00:00Z", "sourceId": "%s", "efficiency": {"current": NaN}}'
    response = await client.post(url, content=nan % SID, headers={
        **operator, "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 422
    extra = production(now, efficiency={"current": 10}, mood="sunny")
    assert (await client.post(url, json=extra, headers=operator)).status_code == 422
    missing = f"{SOURCES}/SOLAR-PV-JPN-00999/production"
    body = production(now, source_id="SOLAR-PV-JPN-00999", efficiency={"current": 10})
    assert (await client.post(missing, json=body, headers=operator)).status_code == 404


async def test_status_from_newest_reading(client, operator, source):
    url = f"{SOURCES}/{SID}/status"
    unknown = (await client.get(url, headers=operator)).json()
    assert unknown["status"] == "unknown"
    assert unknown["lastSeen"] is None
    assert unknown["staleAfterSeconds"] == 900  # 3 x the default 300 s

    old = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body = production(old, production={"instantaneous": {"value": 1}})
    await client.post(f"{SOURCES}/{SID}/production", json=body, headers=operator)
    offline = (await client.get(url, headers=operator)).json()
    assert offline["status"] == "offline"
    assert datetime.fromisoformat(offline["lastSeen"].replace("Z", "+00:00")) == old

    body = production(datetime.now(UTC) - timedelta(seconds=2), production={
        "instantaneous": {"value": 1}})  # fmt: skip
    await client.post(f"{SOURCES}/{SID}/production", json=body, headers=operator)
    assert (await client.get(url, headers=operator)).json()["status"] == "online"


async def test_device_key_writes_only_its_own_source(client, auth_headers, operator, source):
    site_id = source["siteId"]
    neighbour = await client.post(
        SOURCES, json=solar("SOLAR-PV-JPN-00008", "Neighbour", siteId=site_id), headers=operator
    )
    far = await client.post(SOURCES, json=solar("SOLAR-PV-JPN-00009", "Far"), headers=operator)
    assert neighbour.status_code == far.status_code == 201
    raw = (await client.post(f"/api/v1/assets/{source['id']}/keys", headers=operator)).json()["key"]
    device = {"X-API-Key": raw}
    now = datetime.now(UTC) - timedelta(seconds=1)

    def body(source_id):
        return production(now, source_id=source_id, production={"instantaneous": {"value": 2}})

    own = await client.post(f"{SOURCES}/{SID}/production", json=body(SID), headers=device)
    assert own.status_code == 201, own.text
    same_site = await client.post(f"{SOURCES}/SOLAR-PV-JPN-00008/production",
                                  json=body("SOLAR-PV-JPN-00008"), headers=device)  # fmt: skip
    assert same_site.status_code == 403
    other_site = await client.post(f"{SOURCES}/SOLAR-PV-JPN-00009/production",
                                   json=body("SOLAR-PV-JPN-00009"), headers=device)  # fmt: skip
    assert other_site.status_code == 404
    for sid in ("SOLAR-PV-JPN-00008", "SOLAR-PV-JPN-00009"):
        got = await client.get(f"{SOURCES}/{sid}/production", headers=operator)
        assert got.json() == [], sid


async def test_viewer_reads_but_cannot_submit(client, auth_headers, operator, source):
    viewer = await auth_headers(Role.VIEWER)
    body = production(datetime.now(UTC), efficiency={"current": 10})
    response = await client.post(f"{SOURCES}/{SID}/production", json=body, headers=viewer)
    assert response.status_code == 403
    assert (await client.get(f"{SOURCES}/{SID}/production", headers=viewer)).json() == []
    assert (await client.get(f"{SOURCES}/{SID}/status", headers=viewer)).status_code == 200


async def test_site_limited_user_gets_404_for_other_sites_production(
    client, auth_headers, operator, source
):
    other = (await client.post(SOURCES, json=solar("SOLAR-PV-JPN-00009", "Far"),
                               headers=operator)).json()  # fmt: skip
    limited = await auth_headers(Role.OPERATOR, sites=[source["siteId"]])
    base = f"{SOURCES}/{other['sourceId']}"
    for path in (f"{base}/production", f"{base}/status", f"{base}/alerts"):
        assert (await client.get(path, headers=limited)).status_code == 404, path
    body = production(datetime.now(UTC), source_id=other["sourceId"], efficiency={"current": 1})
    assert (await client.post(f"{base}/production", json=body, headers=limited)).status_code == 404
    assert (await client.get(f"{SOURCES}/{SID}/status", headers=limited)).status_code == 200


async def test_today_without_register_integrates_power(client, operator, source):
    start = recent_local_midnight("Asia/Tokyo") + timedelta(hours=10)
    batch = [production(start + timedelta(minutes=m), production={"instantaneous": {"value": 60}})
             for m in (0, 10, 20)]  # fmt: skip
    assert (await client.post(f"{SOURCES}/{SID}/production", json=batch,
                              headers=operator)).status_code == 201  # fmt: skip
    params = {"start": iso(start), "end": iso(start + timedelta(hours=1))}
    items = (await client.get(f"{SOURCES}/{SID}/production", params=params,
                              headers=operator)).json()  # fmt: skip
    today = [i["production"]["cumulative"]["today"] for i in items]
    assert today == pytest.approx([20, 10, 0])  # 60 kW for 10 and 20 minutes
    assert all(i["production"]["cumulative"]["lifetime"] is None for i in items)
