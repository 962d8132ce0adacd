"""WS /api/v1/live streams readings ingested over HTTP: scope, filters, slow clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.live.wsclient import (
    authenticated,
    bearer,
    ingest,
    make_site_asset,
    open_live,
    recv_json,
    recv_until,
    subscribe,
)

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms

T0 = now_ms() // 1000 * 1000 - 3_600_000  # an hour ago, whole seconds


def reading(asset: int, value: float, ts: int, metric: str = "power_kw") -> dict[str, Any]:
    return {"asset": asset, "metric": metric, "ts": ts, "value": value}


def assets_in(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for m in messages if m["type"] == "readings" for entry in m["assets"]]


def has_asset(asset_id: int, value: float | None = None):
    def done(message: dict[str, Any]) -> bool:
        return message["type"] == "readings" and any(
            entry["asset_id"] == asset_id
            and (value is None or entry["latest"].get("power_kw", {}).get("value") == value)
            for entry in message["assets"]
        )

    return done


async def test_reading_message_format(server, http, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site_id, asset_id = await make_site_asset(http, operator, "Format site")
    ws = await authenticated(server, bearer(operator))
    subscribed = await subscribe(ws, assets=[asset_id], id="a")
    assert subscribed == {
        "type": "subscribed",
        "id": "a",
        "sites": None,
        "assets": [asset_id],
        "metrics": None,
        "events": [
            "alerts",
            "anomalies",
            "commands",
            "dr_events",
            "dr_performance",
            "firmware_devices",
            "firmware_rollouts",
            "forecasts",
            "readings",
            "status",
        ],
    }
    await ingest(http, operator, [reading(asset_id, 1.5, T0), reading(asset_id, 2.5, T0 + 1000)])
    message = await recv_json(ws)
    assert message == {
        "type": "readings",
        "count": 2,
        "assets": [
            {
                "asset_id": asset_id,
                "site_id": site_id,
                "count": 2,
                "latest": {"power_kw": {"ts": T0 + 1000, "value": 2.5}},
            }
        ],
    }
    await ws.close()


async def test_site_limited_viewer_never_sees_another_site(server, http, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site_a, asset_a = await make_site_asset(http, operator, "Site A")
    site_b, asset_b = await make_site_asset(http, operator, "Site B")
    viewer = await authenticated(server, bearer(await auth_headers(Role.VIEWER, sites=[site_a])))
    admin = await authenticated(server, bearer(await auth_headers(Role.ADMINISTRATOR)))
    assert (await subscribe(viewer))["type"] == "subscribed"  # everything in its scope
    assert (await subscribe(admin))["type"] == "subscribed"
    # naming the hidden site or asset is an error (not found), and the subscription stays
    for hidden in ({"sites": [site_b]}, {"assets": [asset_b]}, {"assets": [987654]}):
        error = await subscribe(viewer, **hidden)
        assert error["type"] == "error"
        assert error["code"] == "not_found"

    await ingest(http, operator, [reading(asset_b, 5.0, T0)])
    await ingest(http, operator, [reading(asset_a, 1.0, T0)])
    seen_by_viewer = assets_in(await recv_until(viewer, has_asset(asset_a)))
    assert {entry["asset_id"] for entry in seen_by_viewer} == {asset_a}
    assert {entry["site_id"] for entry in seen_by_viewer} == {site_a}
    # the unrestricted client did get site B's reading: it was published
    seen_by_admin = assets_in(await recv_until(admin, has_asset(asset_b)))
    assert asset_b in {entry["asset_id"] for entry in seen_by_admin}
    await viewer.close()
    await admin.close()


async def test_device_key_sees_only_its_asset(server, http, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site_id, own = await make_site_asset(http, operator, "Device site")
    other = await http.post(
        "/api/v1/assets",
        json={"site_id": site_id, "name": "other", "kind": "meter"},
        headers=operator,
    )
    other_id = other.json()["id"]
    key = await http.post(f"/api/v1/assets/{own}/keys", json={"name": "dev"}, headers=operator)
    assert key.status_code == 201, key.text
    device = await authenticated(server, key.json()["key"])
    assert (await subscribe(device, assets=[other_id]))["code"] == "not_found"
    assert (await subscribe(device, sites=[site_id]))["type"] == "subscribed"
    await ingest(http, operator, [reading(other_id, 3.0, T0)])
    await ingest(http, operator, [reading(own, 4.0, T0)])
    seen = assets_in(await recv_until(device, has_asset(own)))
    assert {entry["asset_id"] for entry in seen} == {own}
    await device.close()


async def test_subscription_filters(server, http, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site_1, x = await make_site_asset(http, operator, "Filter site 1")
    site_2, z = await make_site_asset(http, operator, "Filter site 2")
    y = (
        await http.post(
            "/api/v1/assets",
            json={"site_id": site_1, "name": "y", "kind": "meter"},
            headers=operator,
        )
    ).json()["id"]
    ws = await authenticated(server, bearer(operator))
    await subscribe(ws, assets=[x], metrics=["power_kw"], events=["readings"])
    await ingest(http, operator, [reading(y, 9.0, T0), reading(z, 9.0, T0)])
    await ingest(http, operator, [reading(x, 230.0, T0, "voltage_v"), reading(x, 1.0, T0)])
    seen = assets_in(await recv_until(ws, has_asset(x)))
    assert [(entry["asset_id"], list(entry["latest"])) for entry in seen] == [(x, ["power_kw"])]

    # sites and assets add up: site 2 plus asset y (of site 1)
    answer = await subscribe(ws, sites=[site_2], assets=[y])
    assert answer["sites"] == [site_2]
    await ingest(http, operator, [reading(x, 2.0, T0 + 1000)])
    await ingest(http, operator, [reading(y, 3.0, T0 + 1000)])
    await ingest(http, operator, [reading(z, 4.0, T0 + 1000, "voltage_v")])
    seen = assets_in(await recv_until(ws, has_asset(z)))
    assert x not in {entry["asset_id"] for entry in seen}
    assert y in {entry["asset_id"] for entry in seen}
    assert seen[-1]["latest"] == {"voltage_v": {"ts": T0 + 1000, "value": 4.0}}

    # without "readings" in events, readings are not sent
    await subscribe(ws, sites=[site_1, site_2], events=["status", "alerts"])
    await ingest(http, operator, [reading(x, 5.0, T0 + 2000)])
    await subscribe(ws, sites=[site_1], events=["readings"])
    await ingest(http, operator, [reading(y, 6.0, T0 + 2000)])
    seen = assets_in(await recv_until(ws, has_asset(y, 6.0)))
    assert x not in {entry["asset_id"] for entry in seen}
    await ws.close()


async def conflated_values(http, headers: dict[str, str]) -> float:
    text = (await http.get("/metrics", headers=headers)).text
    line = next(x for x in text.splitlines() if x.startswith("gridpilot_live_values_conflated_to"))
    return float(line.split()[-1])


async def test_slow_client_gets_the_latest_value_and_never_blocks_ingestion(
    server, http, auth_headers
):
    """A client that reads nothing while 250+ batches (4+ MB of messages) are ingested.

    Long metric keys make big messages from few readings: more than the socket buffers hold
    (about 3 MB here; more batches are sent until the server reports conflation, for machines
    with bigger buffers), so the server's sends to the slow client wait and its values conflate.
    """
    operator = await auth_headers(Role.OPERATOR)
    site_id, first = await make_site_asset(http, operator, "Slow site")
    assets = [first]
    for n in range(19):
        body = {"site_id": site_id, "name": f"meter {n}", "kind": "meter"}
        assets.append((await http.post("/api/v1/assets", json=body, headers=operator)).json()["id"])
    metrics = [f"slow_client_metric_{n}_" + "x" * 40 for n in range(8)]
    for key in metrics:
        created = await http.post(
            "/api/v1/metrics", json={"key": key, "unit": "1"}, headers=operator
        )
        assert created.status_code == 201, created.text
    slow = await open_live(server, bearer(operator), small_buffer=True, ping_interval=None)
    assert (await recv_json(slow))["type"] == "ready"
    assert (await subscribe(slow, sites=[site_id]))["type"] == "subscribed"
    fast = await authenticated(server, bearer(operator))
    await subscribe(fast, sites=[site_id])
    fast_messages: list[dict[str, Any]] = []

    async def read_fast() -> None:
        async for raw in fast:
            fast_messages.append(json.loads(raw))

    fast_reader = asyncio.create_task(read_fast())
    batches = 0
    while batches < 250 or (batches < 2000 and not await conflated_values(http, operator)):
        # every batch is acknowledged although the slow client reads nothing
        ts = T0 + batches * 1000
        batch = [reading(a, batches, ts, key) for a in assets for key in metrics]
        await ingest(http, operator, batch)
        batches += 1
    assert await conflated_values(http, operator) > 0
    last = batches - 1
    latest = {key: {"ts": T0 + last * 1000, "value": last} for key in metrics}

    def is_last(message: dict[str, Any]) -> bool:
        return message["type"] == "readings" and message["assets"][-1]["latest"] == latest

    async with asyncio.timeout(300):  # the fast client got every batch
        while not any(is_last(m) for m in fast_messages):
            await asyncio.sleep(0.05)
    fast_reader.cancel()
    total = batches * len(assets) * len(metrics)
    assert sum(m["count"] for m in fast_messages if m["type"] == "readings") == total

    slow_messages = await recv_until(slow, is_last, timeout_s=300)
    per_asset: dict[int, list[dict[str, Any]]] = {}
    for entry in assets_in(slow_messages):
        per_asset.setdefault(entry["asset_id"], []).append(entry)
    assert sorted(per_asset) == sorted(assets)
    for entries in per_asset.values():
        assert entries[-1]["latest"] == latest  # the latest value of every asset and metric
        values = [entry["latest"][metrics[0]]["value"] for entry in entries]
        assert values == sorted(values)  # in order
        assert sum(entry["count"] for entry in entries) == batches * len(metrics)  # none lost
    # conflated: fewer messages than batches reached the slow client
    assert len([m for m in slow_messages if m["type"] == "readings"]) < batches
    await asyncio.gather(slow.close(), fast.close())
