"""Real Mosquitto -> in-process worker -> telemetry service -> database, on both back ends."""

from __future__ import annotations

import json

from sqlalchemy import text
from tests.ingest.conftest import HOUR_AGO_MS, apublish, count_readings, wait_for

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso

REJECTS = "/api/v1/ingest/rejects"


async def values_of(sessions, asset_id: int) -> dict[tuple[str, int], float]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT m.key, r.ts, r.value FROM readings r JOIN metrics m ON m.id = r.metric_id"
                " WHERE r.asset_id = :a"
            ),
            {"a": asset_id},
        )
        return {(key, ts): value for key, ts, value in rows}


async def rejects_of(client, headers, **params) -> dict:
    response = await client.get(REJECTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_all_three_families_are_stored(client, sessions, worker, prefix, device):
    asset, site = device["id"], device["site_id"]
    t0 = HOUR_AGO_MS
    batch = [{"ts": t0 + i * 1000, "values": {"power_kw": float(i)}} for i in range(100)]
    cer = {
        "device_id": "DEVICE001",
        "plant_id": 123,
        "timestamp": iso(t0),
        "measurements": {"power_produced": 3.1, "voltage": 230.5, "power_factor": 0.95},
        "status": {"battery_level": 85, "signal_strength": -45, "last_seen": iso(t0)},
    }
    await apublish(
        [
            (f"{prefix}gridpilot/{site}/{asset}/telemetry", json.dumps(batch)),
            (
                f"{prefix}gridpilot/{site}/{asset}/telemetry",
                json.dumps({"ts": t0 + 500, "values": {"energy_kwh": {"value": 2, "unit": "MWh"}}}),
            ),
            (f"{prefix}sites/{site}/devices/DEVICE001/telemetry/soc_pct", b"55.5"),
            (f"{prefix}energy/plant/123/device/DEVICE001/measurements", json.dumps(cer)),
        ]
    )
    expected = 100 + 1 + 1 + 5

    async def all_stored():
        return await count_readings(sessions, asset) == expected

    await wait_for(all_stored)
    stored = await values_of(sessions, asset)
    assert stored[("power_kw", t0 + 99_000)] == 99.0
    assert stored[("energy_kwh", t0 + 500)] == 2000.0  # MWh -> kWh
    assert stored[("power_produced_kw", t0)] == 3.1
    assert stored[("signal_strength_dbm", t0)] == -45
    assert [k for k in stored if k[0] == "soc_pct"]  # bare number, broker-receive time
    assert worker.totals.rejects == 0


async def test_garbage_goes_to_dead_letters_and_the_subscriber_goes_on(
    client, sessions, worker, prefix, device, operator
):
    asset, site = device["id"], device["site_id"]
    base = f"{prefix}gridpilot/{site}/{asset}"
    await apublish(
        [
            (f"{base}/telemetry", b"\x00\xff not json"),
            (f"{prefix}gridpilot/{site}/no-such-device/telemetry", b'{"values": {"power_kw": 1}}'),
            (f"{prefix}gridpilot/{site}/{'x' * 101}/telemetry", b"{}"),  # not a device topic
            (
                f"{base}/telemetry",
                json.dumps(
                    {"ts": HOUR_AGO_MS, "values": {"power_kw": 1.5, "voltage_v": -3, "nope": 1}}
                ),
            ),
            (f"{prefix}gridpilot/{site + 1000}/{asset}/telemetry", b'{"values": {"power_kw": 1}}'),
            (f"{base}/status", b"maybe"),  # control refuses it: dead letter too
            (
                f"{base}/telemetry",
                json.dumps({"ts": HOUR_AGO_MS + 1000, "values": {"power_kw": 2}}),
            ),
        ]
    )

    async def two_stored():
        return await count_readings(sessions, asset) == 2

    await wait_for(two_stored)
    page = await wait_for(
        lambda: _page_with(client, operator, 6), timeout_s=10
    )  # the rejects of the same batches are committed before the acknowledgement
    reasons = {item["reason"] for item in page["items"]}
    assert any(r.startswith("invalid JSON") for r in reasons)
    assert "unknown device 'no-such-device'" in reasons
    assert "unknown topic" in reasons
    assert any(
        r.startswith("2 of 3 readings rejected") and "outside the plausible range" in r
        and "unknown metric 'nope'" in r
        for r in reasons
    )  # fmt: skip
    assert f"asset '{asset}' does not belong to site {site + 1000}" in reasons
    assert any("status" in r for r in reasons)
    garbage = next(i for i in page["items"] if i["reason"].startswith("invalid JSON"))
    assert garbage["channel"] == "mqtt" and garbage["topic"] == f"{base}/telemetry"
    assert garbage["asset_id"] == asset and garbage["site_id"] == site
    assert "\\xff" in garbage["payload_excerpt"]


async def _page_with(client, headers, count: int) -> dict | None:
    page = await rejects_of(client, headers)
    return page if page["total"] >= count else None


async def test_rejects_endpoint_filters_paginates_and_scopes_by_site(
    client, sessions, worker, prefix, device, operator, auth_headers
):
    asset, site = device["id"], device["site_id"]
    await apublish(
        [(f"{prefix}gridpilot/{site}/{asset}/telemetry", b"[]")] * 3
        + [(f"{prefix}gridpilot/{site}/ghost/telemetry", b"{}")]
    )
    await wait_for(lambda: _page_with(client, operator, 4))
    first = await rejects_of(client, operator, limit=2)
    second = await rejects_of(client, operator, limit=2, offset=2)
    assert first["total"] == 4 and len(first["items"]) == 2 and len(second["items"]) == 2
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert (await rejects_of(client, operator, asset=asset))["total"] == 3
    assert (await rejects_of(client, operator, channel="http"))["total"] == 0
    assert (await rejects_of(client, operator, since="2999-01-01T00:00:00Z"))["total"] == 0
    assert (await rejects_of(client, operator, since=HOUR_AGO_MS))["total"] == 4
    # a site-scoped operator sees its site's rejects, not the unattributed one
    scoped = await auth_headers(Role.OPERATOR, sites=[site])
    assert (await rejects_of(client, scoped))["total"] == 3
    elsewhere = await client.post(
        "/api/v1/sites", json={"name": "Elsewhere", "timezone": "UTC"}, headers=operator
    )
    other = await auth_headers(Role.OPERATOR, sites=[elsewhere.json()["id"]])
    assert (await rejects_of(client, other))["total"] == 0
    viewer = await auth_headers(Role.VIEWER)
    assert (await client.get(REJECTS, headers=viewer)).status_code == 403
    bad = await client.get(REJECTS, params={"since": "yesterday"}, headers=operator)
    assert bad.status_code == 422 and "since" in bad.text


async def test_worker_reconnects_and_gets_what_was_queued_meanwhile(
    client, sessions, worker, prefix, device
):
    """A client taking over the worker's session disconnects it; a message published before
    the worker is back is queued in the persistent session and arrives after the reconnect."""
    import paho.mqtt.client as paho
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    intruder = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=worker.client_id, protocol=paho.MQTTv5
    )
    keep = Properties(PacketTypes.CONNECT)
    keep.SessionExpiryInterval = 60
    intruder.connect("127.0.0.1", 1883, clean_start=False, properties=keep)
    intruder.disconnect()
    asset, site = device["id"], device["site_id"]
    await apublish(
        [
            (
                f"{prefix}gridpilot/{site}/{asset}/telemetry",
                json.dumps({"ts": HOUR_AGO_MS, "values": {"power_kw": 7}}),
            )
        ]
    )

    async def stored():
        return await count_readings(sessions, asset) == 1

    await wait_for(stored, timeout_s=30)
