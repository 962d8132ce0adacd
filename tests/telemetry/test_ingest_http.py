"""POST /api/v1/telemetry on both back ends: stored, normalised, deduplicated, rejected right."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import text

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, iso, now_ms

URL = "/api/v1/telemetry"
HOUR_AGO = now_ms() // 1000 * 1000 - MS_PER_HOUR


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def site(client, operator):
    response = await client.post(
        "/api/v1/sites", json={"name": "Plant", "timezone": "UTC"}, headers=operator
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def meter(client, operator, site):
    body = {"site_id": site["id"], "name": "Main meter", "kind": "meter"}
    response = await client.post("/api/v1/assets", json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
async def pv(client, operator, site):
    body = {
        "site_id": site["id"],
        "name": "Roof PV",
        "kind": "solar_pv",
        "source_id": "SOLAR-PV-ITA-00001",
    }
    response = await client.post("/api/v1/assets", json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def stored_rows(sessions, asset_id, metric="power_kw"):
    """(ts, value) of an asset's readings of ``metric``, oldest first."""
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT r.ts, r.value FROM readings r JOIN metrics m ON m.id = r.metric_id"
                " WHERE r.asset_id = :a AND m.key = :k ORDER BY r.ts"
            ),
            {"a": asset_id, "k": metric},
        )
        return [(int(ts), float(value)) for ts, value in rows]


def reading(asset, value, ts, metric="power_kw", **extra):
    return {"asset": asset, "metric": metric, "ts": ts, "value": value, **extra}


async def test_readings_are_stored_and_read_back(client, operator, sessions, meter, pv):
    t0 = HOUR_AGO
    batch = [
        reading(meter, 1.5, t0),
        reading(meter, 2, iso(t0 + 60_000)),  # ISO-8601 and an integer value
        reading("SOLAR-PV-ITA-00001", 7.25, t0, unit="kW"),  # by WIA sourceId
        reading(str(pv), 8.5, t0 + 60_000),  # id as a string
    ]
    response = await client.post(URL, json={"readings": batch}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 4, "rejected": []}
    assert await stored_rows(sessions, meter) == [(t0, 1.5), (t0 + 60_000, 2.0)]
    assert await stored_rows(sessions, pv) == [(t0, 7.25), (t0 + 60_000, 8.5)]


async def test_bare_array_body_is_accepted(client, operator, sessions, meter):
    response = await client.post(URL, json=[reading(meter, 3.0, HOUR_AGO)], headers=operator)
    assert response.status_code == 200, response.text
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 3.0)]


async def test_units_are_converted_to_the_canonical_unit(client, operator, sessions, meter):
    batch = [
        reading(meter, 1500, HOUR_AGO, unit="W"),
        reading(meter, 0.002, HOUR_AGO + 1000, unit="MW"),
        reading(meter, 1.25, HOUR_AGO, metric="energy_kwh", unit="MWh"),
        reading(meter, 500, HOUR_AGO + 1000, metric="energy_kwh", unit="Wh"),
    ]
    response = await client.post(URL, json={"readings": batch}, headers=operator)
    assert response.status_code == 200, response.text
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.5), (HOUR_AGO + 1000, 2.0)]
    energy = await stored_rows(sessions, meter, "energy_kwh")
    assert energy == [(HOUR_AGO, pytest.approx(1250.0)), (HOUR_AGO + 1000, pytest.approx(0.5))]


async def test_duplicates_are_absorbed_last_write_wins(client, operator, sessions, meter):
    same_batch = [reading(meter, 1.0, HOUR_AGO), reading(meter, 2.0, HOUR_AGO)]
    response = await client.post(URL, json={"readings": same_batch}, headers=operator)
    assert response.json() == {"stored": 2, "rejected": []}
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 2.0)]

    retry = [reading(meter, 3.0, iso(HOUR_AGO)), reading(meter, 4.0, HOUR_AGO + 1000)]
    response = await client.post(URL, json={"readings": retry}, headers=operator)
    assert response.status_code == 200
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 3.0), (HOUR_AGO + 1000, 4.0)]


async def test_late_and_out_of_order_data_is_accepted(client, operator, sessions, meter):
    times = [HOUR_AGO, HOUR_AGO - 2 * MS_PER_DAY, HOUR_AGO - 60_000, HOUR_AGO - 25 * MS_PER_DAY]
    batch = [reading(meter, float(i), ts) for i, ts in enumerate(times)]
    response = await client.post(URL, json={"readings": batch}, headers=operator)
    assert response.status_code == 200, response.text
    later = [reading(meter, 9.0, HOUR_AGO - 3 * MS_PER_DAY)]  # older than what is stored
    assert (await client.post(URL, json=later, headers=operator)).status_code == 200
    stored = await stored_rows(sessions, meter)
    assert [ts for ts, _ in stored] == sorted([*times, HOUR_AGO - 3 * MS_PER_DAY])


async def test_mixed_batch_answers_207_with_exact_indices(client, operator, sessions, meter):
    future = now_ms() + 3600_000
    batch = [
        reading(meter, 1.0, HOUR_AGO),  # 0 ok
        reading(999_999, 1.0, HOUR_AGO),  # 1 unknown asset
        reading(meter, 1.0, HOUR_AGO, metric="flux_capacitance"),  # 2 unknown metric
        reading(meter, "12.5", HOUR_AGO + 1000),  # 3 string value
        reading(meter, True, HOUR_AGO + 2000),  # 4 boolean value
        reading(meter, 1.0, HOUR_AGO + 3000, unit="V"),  # 5 incompatible unit
        reading(meter, 1.0, future),  # 6 future
        reading(meter, 1.0, HOUR_AGO - 400 * MS_PER_DAY),  # 7 older than raw retention
        reading(meter, 1.0, "yesterday-ish"),  # 8 unparseable timestamp
        reading(meter, 5e9, HOUR_AGO + 4000, unit="MW"),  # 9 implausible after conversion
        reading(meter, 2.0, HOUR_AGO + 5000),  # 10 ok
        "not an object",  # 11
        {"metric": "power_kw", "ts": HOUR_AGO, "value": 1.0},  # 12 no asset
    ]
    response = await client.post(URL, json={"readings": batch}, headers=operator)
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["stored"] == 2
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12]
    assert "unknown asset" in reasons[1]
    assert "unknown metric" in reasons[2]
    assert "number" in reasons[3] and "number" in reasons[4]
    assert "'V'" in reasons[5]
    assert "future" in reasons[6]
    assert reasons[7] == "older than raw retention (30 days)"
    assert "yesterday-ish" in reasons[8]
    assert "plausible range" in reasons[9]
    assert "object" in reasons[11]
    assert "asset is missing" in reasons[12]
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.0), (HOUR_AGO + 5000, 2.0)]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_finite_values_reject_only_their_reading(
    client, operator, sessions, meter, literal
):
    body = (
        '{"readings": ['
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {HOUR_AGO}, "value": {literal}}},'
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {HOUR_AGO + 1000}, "value": 4.5}}'
        "]}"
    )
    response = await client.post(
        URL, content=body, headers={**operator, "Content-Type": "application/json"}
    )
    assert response.status_code == 207, response.text
    assert response.json()["rejected"][0]["index"] == 0
    assert "finite" in response.json()["rejected"][0]["reason"]
    assert await stored_rows(sessions, meter) == [(HOUR_AGO + 1000, 4.5)]


async def test_all_rejected_answers_422_with_reasons(client, operator, meter):
    response = await client.post(
        URL, json=[reading(meter, 1.0, HOUR_AGO, metric="nope")], headers=operator
    )
    assert response.status_code == 422
    assert response.json() == {
        "stored": 0,
        "rejected": [{"index": 0, "reason": "unknown metric 'nope'"}],
    }


async def test_bad_json_is_a_400_with_the_position(client, operator):
    response = await client.post(
        URL,
        content=b'{"readings": [{"asset": 1,,}]}',
        headers={**operator, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert "line 1 column 27" in body["message"]
    assert body["details"]["position"] == 26


@pytest.mark.parametrize("body", [b'{"readings": []}', b"[]", b'{"readings": 5}', b'"x"'])
async def test_empty_or_shapeless_batches_are_422(client, operator, body):
    response = await client.post(
        URL, content=body, headers={**operator, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["message"]


async def test_viewer_may_not_write(client, auth_headers, meter):
    viewer = await auth_headers(Role.VIEWER)
    response = await client.post(URL, json=[reading(meter, 1.0, HOUR_AGO)], headers=viewer)
    assert response.status_code == 403


async def test_unauthenticated_is_401(client, meter):
    response = await client.post(URL, json=[reading(meter, 1.0, HOUR_AGO)])
    assert response.status_code == 401


async def test_device_key_writes_only_its_own_asset(client, operator, sessions, meter, pv):
    created = await client.post(f"/api/v1/assets/{meter}/keys", json={}, headers=operator)
    assert created.status_code == 201, created.text
    device = {"X-API-Key": created.json()["key"]}
    batch = [reading(meter, 1.0, HOUR_AGO), reading(pv, 2.0, HOUR_AGO)]
    response = await client.post(URL, json=batch, headers=device)
    assert response.status_code == 207, response.text
    assert response.json()["stored"] == 1
    assert response.json()["rejected"][0]["index"] == 1
    assert "own asset" in response.json()["rejected"][0]["reason"]
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.0)]
    assert await stored_rows(sessions, pv) == []


async def test_site_limited_user_sees_other_sites_assets_as_unknown(
    client, operator, auth_headers, site, meter
):
    other = await client.post(
        "/api/v1/sites", json={"name": "Elsewhere", "timezone": "UTC"}, headers=operator
    )
    limited = await auth_headers(Role.OPERATOR, sites=[other.json()["id"]])
    response = await client.post(URL, json=[reading(meter, 1.0, HOUR_AGO)], headers=limited)
    assert response.status_code == 422
    assert response.json()["rejected"][0]["reason"] == f"unknown asset {meter}"


async def test_ndjson_body(client, operator, sessions, meter):
    lines = [
        json.dumps(reading(meter, 1.0, HOUR_AGO)),
        "",
        "{not json",
        json.dumps(reading(meter, 2.0, HOUR_AGO + 1000, unit="kW")),
    ]
    response = await client.post(
        URL,
        content="\n".join(lines).encode(),
        headers={**operator, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 207, response.text
    assert response.json()["stored"] == 2
    [rejection] = response.json()["rejected"]
    assert rejection["index"] == 1 and rejection["reason"].startswith("line 3: invalid JSON")
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.0), (HOUR_AGO + 1000, 2.0)]


def csv_text(meter):
    return (
        "asset,metric,ts,value,unit\n"
        f"{meter},power_kw,{iso(HOUR_AGO)},1500,W\n"
        f"SOLAR-PV-ITA-00001,power_kw,{HOUR_AGO},2.5,\n"
        f"{meter},power_kw,{HOUR_AGO + 1000},abc,kW\n"
    )


async def test_csv_body(client, operator, sessions, meter, pv):
    response = await client.post(
        URL, content=csv_text(meter).encode(), headers={**operator, "Content-Type": "text/csv"}
    )
    assert response.status_code == 207, response.text
    assert response.json()["stored"] == 2
    assert response.json()["rejected"][0]["index"] == 2
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.5)]
    assert await stored_rows(sessions, pv) == [(HOUR_AGO, 2.5)]


async def test_csv_multipart_upload(client, operator, sessions, meter, pv):
    files = {"file": ("history.csv", csv_text(meter).encode(), "text/csv")}
    response = await client.post(URL, files=files, headers=operator)
    assert response.status_code == 207, response.text
    assert response.json()["stored"] == 2
    assert await stored_rows(sessions, pv) == [(HOUR_AGO, 2.5)]


async def test_csv_without_the_required_header_is_422(client, operator, meter):
    response = await client.post(
        URL, content=b"a,b\n1,2\n", headers={**operator, "Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    assert "asset,metric,ts,value" in response.json()["message"]


async def test_rollup_pending_range_is_widened(client, operator, sessions, app, meter):
    await app.state.telemetry.flush()  # nothing pending from earlier batches
    first = [reading(meter, 1.0, HOUR_AGO), reading(meter, 2.0, HOUR_AGO + 60_000)]
    assert (await client.post(URL, json=first, headers=operator)).status_code == 200
    late = [reading(meter, 3.0, HOUR_AGO - MS_PER_DAY)]
    assert (await client.post(URL, json=late, headers=operator)).status_code == 200
    async with sessions() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT p.start_ms, p.end_ms FROM rollup_pending p"
                    " JOIN metrics m ON m.id = p.metric_id WHERE p.asset_id = :a"
                    " AND m.key = 'power_kw'"
                ),
                {"a": meter},
            )
        ).all()
    assert [tuple(r) for r in rows] == [(HOUR_AGO - MS_PER_DAY, HOUR_AGO + 60_000)]


async def test_concurrent_producers_are_stored_exactly_once(client, operator, sessions, meter):
    async def producer(n: int) -> dict:
        batch = [reading(meter, float(n), HOUR_AGO - (n * 500 + i) * 1000) for i in range(500)]
        response = await client.post(URL, json={"readings": batch}, headers=operator)
        assert response.status_code == 200, response.text
        return response.json()

    results = await asyncio.gather(*(producer(n) for n in range(20)))
    assert sum(r["stored"] for r in results) == 10_000
    async with sessions() as session:
        count, total = (
            await session.execute(
                text("SELECT COUNT(*), SUM(value) FROM readings WHERE asset_id = :a"), {"a": meter}
            )
        ).one()
    assert count == 10_000
    assert total == sum(n * 500 for n in range(20))


async def test_readings_stored_event_is_published(client, operator, app, site, meter):
    events: list[dict] = []

    async def handler(topic, payload):
        events.append(payload)

    unsubscribe = app.state.bus.subscribe("readings.stored", handler)
    try:
        batch = [reading(meter, 1.0, HOUR_AGO), reading(meter, 2.0, HOUR_AGO + 1000)]
        assert (await client.post(URL, json=batch, headers=operator)).status_code == 200
    finally:
        unsubscribe()
    assert events == [
        {
            "count": 2,
            "assets": [
                {
                    "asset_id": meter,
                    "site_id": site["id"],
                    "count": 2,
                    "newest_ts": HOUR_AGO + 1000,
                    "latest": {"power_kw": {"ts": HOUR_AGO + 1000, "value": 2.0}},
                }
            ],
        }
    ]


async def test_ingest_updates_prometheus_counters(client, operator, app, meter):
    batch = [reading(meter, 1.0, HOUR_AGO), reading(meter, 1.0, HOUR_AGO, metric="nope")]
    assert (await client.post(URL, json=batch, headers=operator)).status_code == 207
    registry = app.state.metrics.registry
    labels = {"channel": "http"}
    assert registry.get_sample_value("gridpilot_readings_ingested_total", labels) == 1
    assert registry.get_sample_value("gridpilot_readings_rejected_total", labels) == 1
    assert registry.get_sample_value("gridpilot_writer_batch_rows_count") >= 1
