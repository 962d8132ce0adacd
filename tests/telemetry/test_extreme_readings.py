"""Absurd timestamps, values and references reject only their reading, on both back ends (#13).

A timestamp of 1e20 ms once made formatting the "in the future" reason raise ``OSError`` from
``datetime.fromtimestamp``: the whole batch failed with a 500 and its good readings were lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.telemetry.test_ingest_http import HOUR_AGO, URL, reading, stored_rows
from tests.wia.test_wia_production import SID, SOURCES, production, solar

#: (raw timestamp, a fragment of the reason it is rejected with)
ABSURD_TIMESTAMPS: list[tuple[object, str]] = [
    (10**20, "future"),  # the probe's example: 1e20 ms
    (-(10**20), "before 1970"),
    (1e20, "future"),
    (2**63, "future"),
    (10**30, "future"),
    (1.7e308, "future"),
    (-1.7e308, "before 1970"),
    ("100000000000000000000000", "future"),
    ("-100000000000000000000000", "before 1970"),
    ("9" * 5000, "timestamp"),
    ("--5", "timestamp"),
    ("9999-12-31T23:59:59-14:00", "future"),  # year 10000 in UTC
    ("0001-01-01T00:00:00+14:00", "before 1970"),  # year 0 in UTC
    ("0001-01-01T00:00:00", "before 1970"),
]


async def test_absurd_timestamps_reject_only_their_reading(client, operator, sessions, meter):
    batch = [reading(meter, 1.0, HOUR_AGO)]
    batch += [reading(meter, 9.0, ts) for ts, _ in ABSURD_TIMESTAMPS]
    batch.append(reading(meter, 2.0, HOUR_AGO + 1000))
    response = await client.post(URL, json={"readings": batch}, headers=operator)
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["stored"] == 2
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(reasons) == list(range(1, len(ABSURD_TIMESTAMPS) + 1))
    for index, (ts, fragment) in enumerate(ABSURD_TIMESTAMPS, 1):
        assert fragment in reasons[index], (ts, reasons[index])
        assert len(reasons[index]) <= 200, reasons[index]
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.0), (HOUR_AGO + 1000, 2.0)]


async def test_absurd_values_and_references_reject_only_their_reading(
    client, operator, sessions, meter
):
    bodies = [
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {HOUR_AGO}, "value": 1.5}}',
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {HOUR_AGO}, "value": {"9" * 400}}}',
        f'{{"asset": {"9" * 30}, "metric": "power_kw", "ts": {HOUR_AGO}, "value": 1}}',
        f'{{"asset": {2**64 - 1}, "metric": "power_kw", "ts": {HOUR_AGO}, "value": 1}}',
        f'{{"asset": "SOLAR\\u0000PV", "metric": "power_kw", "ts": {HOUR_AGO}, "value": 1}}',
        f'{{"asset": {meter}, "metric": "power\\u0000kw", "ts": {HOUR_AGO}, "value": 1}}',
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {HOUR_AGO}, "value": 1e300, '
        '"unit": "GW"}',
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {HOUR_AGO + 1000}, "value": 2.5}}',
    ]
    response = await client.post(
        URL,
        content="[" + ",".join(bodies) + "]",
        headers={**operator, "Content-Type": "application/json"},
    )
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["stored"] == 2
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5, 6]
    assert "value" in reasons[1]
    assert all("unknown asset" in reasons[i] for i in (2, 3, 4)), reasons
    assert "unknown metric" in reasons[5]
    assert "plausible range" in reasons[6] or "finite" in reasons[6]
    assert await stored_rows(sessions, meter) == [(HOUR_AGO, 1.5), (HOUR_AGO + 1000, 2.5)]


async def test_a_user_metric_without_bounds_never_stores_an_infinity(
    client, operator, sessions, meter
):
    metric = {"key": "unbounded_kw", "unit": "kW", "kind": "instantaneous"}
    created = await client.post("/api/v1/metrics", json=metric, headers=operator)
    assert created.status_code == 201, created.text
    batch = [
        reading(meter, 1e308, HOUR_AGO, metric="unbounded_kw", unit="GW"),  # inf in kW
        reading(meter, 3.0, HOUR_AGO + 1000, metric="unbounded_kw", unit="MW"),
    ]
    response = await client.post(URL, json=batch, headers=operator)
    assert response.status_code == 207, response.text
    [rejection] = response.json()["rejected"]
    assert rejection["index"] == 0 and "finite" in rejection["reason"]
    assert await stored_rows(sessions, meter, "unbounded_kw") == [(HOUR_AGO + 1000, 3000.0)]


@pytest.fixture
async def wia_source(client, operator):
    response = await client.post(SOURCES, json=solar(), headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    "timestamp",
    [
        2**63 - 1,  # the widest the schema takes as a number (wider: below)
        -(2**63),
        10**17,
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
    ],
)
async def test_wia_production_with_an_absurd_timestamp_keeps_the_good_objects(
    client, operator, wia_source, timestamp
):
    good = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    bad = {"timestamp": timestamp, "sourceId": SID, "efficiency": {"current": 12.0}}
    batch = [production(good, efficiency={"current": 18.5}), bad]
    posted = await client.post(f"{SOURCES}/{SID}/production", json=batch, headers=operator)
    assert posted.status_code == 207, posted.text
    result = posted.json()
    assert result["stored"] == 1
    [rejection] = result["rejected"]
    assert rejection["index"] == 1
    assert "future" in rejection["reason"] or "1970" in rejection["reason"]
    start = (good - timedelta(days=1)).isoformat()
    read = await client.get(
        f"{SOURCES}/{SID}/production", params={"start": start}, headers=operator
    )
    assert read.status_code == 200, read.text
    assert [item["efficiency"]["current"] for item in read.json()] == [18.5]


@pytest.mark.parametrize("timestamp", [10**20, -(10**20), 10**30, 1e300, "9" * 5000])
async def test_wia_production_beyond_the_schema_is_a_4xx_never_a_500(
    client, operator, wia_source, timestamp
):
    bad = {"timestamp": timestamp, "sourceId": SID, "efficiency": {"current": 12.0}}
    posted = await client.post(f"{SOURCES}/{SID}/production", json=[bad], headers=operator)
    assert 400 <= posted.status_code < 500, posted.text


@pytest.mark.parametrize("timestamp", [10**20, 1e20, 10**30, -1e300, "yesterday"])
async def test_wia_production_with_an_unreadable_timestamp_rejects_that_object_alone(
    client, operator, wia_source, timestamp
):
    """Beyond what the schema reads, the object is refused alone; before, the whole body."""
    good = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    bad = {"timestamp": timestamp, "sourceId": SID, "efficiency": {"current": 12.0}}
    batch = [bad, production(good, efficiency={"current": 18.5})]
    posted = await client.post(f"{SOURCES}/{SID}/production", json=batch, headers=operator)
    assert posted.status_code == 207, posted.text
    result = posted.json()
    assert result["stored"] == 1
    [rejection] = result["rejected"]
    assert rejection["index"] == 0 and rejection["field"].startswith("timestamp")
