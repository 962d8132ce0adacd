"""The current balance kept in memory (``balance.cache``): ``/current`` follows stored readings
without a query, re-reads the database after its TTL (readings written by another process on
another bus), and forgets a site when its assets change. Both back ends."""

from __future__ import annotations

import asyncio

import pytest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.cli.importer import import_principal
from gridpilot.cli.offline import offline_writer
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.service import ingest


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def current(client, headers, site_id: int) -> dict:
    response = await client.get(f"/api/v1/sites/{site_id}/current", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def send(client, headers, asset: int, kw: float, ts: int) -> None:
    body = [{"asset": asset, "metric": "power_kw", "ts": ts, "value": kw}]
    response = await client.post("/api/v1/telemetry", json=body, headers=headers)
    assert response.json()["stored"] == 1, response.text


async def settle(app) -> None:
    """Let the in-process bus deliver ``readings.stored`` (published after the commit)."""
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_current_follows_stored_readings_from_memory(client, admin, app):
    site = await make_site(client, admin, "Cached", contract_demand_kw=100)
    meter = await make_asset(client, admin, site, "Main", "grid_connection")
    await send(client, admin, meter, 40.0, now_ms() - 5_000)
    assert (await current(client, admin, site))["grid_import_kw"] == 40
    cache = app.state.balance
    loads = cache.loads

    await send(client, admin, meter, -15.0, now_ms() - 1_000)  # now exporting
    await settle(app)
    body = await current(client, admin, site)
    assert body["grid_import_kw"] == 0 and body["grid_export_kw"] == 15
    assert body["contract_utilization_pct"] == 0
    assert cache.loads == loads  # answered from memory: no reload


async def test_reload_after_ttl_sees_other_writers(client, admin, app):
    site = await make_site(client, admin, "Other writer")
    meter = await make_asset(client, admin, site, "Load", "meter", role="consumer")
    await send(client, admin, meter, 10.0, now_ms() - 5_000)
    assert (await current(client, admin, site))["current_demand_kw"] == 10
    cache = app.state.balance
    cache.ttl_ms = 1_000  # the production default is 10 s

    # stored by a writer with its own in-process bus, as another process without Redis
    async with offline_writer(app.state.settings) as other:
        reading = {"asset": meter, "metric": "power_kw", "ts": now_ms() - 500, "value": 33.0}
        result = await ingest([reading], principal=import_principal(), runtime=other.telemetry)
        assert result.stored == 1
    assert (await current(client, admin, site))["current_demand_kw"] == 10  # not yet
    await asyncio.sleep(1.05)
    loads = cache.loads
    await current(client, admin, site)  # older than the TTL: answered, re-read meanwhile
    await cache.settle()
    assert cache.loads == loads + 1
    assert (await current(client, admin, site))["current_demand_kw"] == 33
    await asyncio.sleep(3.05)  # older than 3 TTLs: read again before the answer
    async with offline_writer(app.state.settings) as other:
        reading = {"asset": meter, "metric": "power_kw", "ts": now_ms() - 200, "value": 21.0}
        result = await ingest([reading], principal=import_principal(), runtime=other.telemetry)
        assert result.stored == 1
    assert (await current(client, admin, site))["current_demand_kw"] == 21


async def test_new_asset_appears_at_once(client, admin, app):
    site = await make_site(client, admin, "Growing")
    first = await make_asset(client, admin, site, "Load 1", "meter", role="consumer")
    await send(client, admin, first, 4.0, now_ms() - 2_000)
    assert (await current(client, admin, site))["current_demand_kw"] == 4
    second = await make_asset(client, admin, site, "Load 2", "meter", role="consumer")
    await settle(app)  # asset.changed drops the copy
    await send(client, admin, second, 6.0, now_ms() - 1_000)
    await settle(app)
    body = await current(client, admin, site)
    assert body["current_demand_kw"] == 10
    assert {a["asset_id"] for a in body["assets"]} == {first, second}


async def test_a_silent_member_leaves_the_others_figures(client, admin):
    """A community of two prosumers, one silent: the current balance is the other's, and the
    silent one is named (as the period balance does)."""
    site = await make_site(client, admin, "Two members")
    talking = await make_asset(client, admin, site, "Member 1", "meter", role="prosumer")
    silent = await make_asset(client, admin, site, "Member 2", "meter", role="prosumer")
    await send(client, admin, talking, -3.0, now_ms() - 2_000)  # exporting 3 kW
    body = await current(client, admin, site)
    assert body["grid_export_kw"] == 3 and body["grid_import_kw"] == 0
    assert body["points_without_data"] == [silent]


async def test_a_slow_meter_counts_for_two_of_its_intervals(client, admin):
    """A 15-min meter's reading of 10 min ago is current (two intervals: 30 min), while a
    fast meter's reading of 10 min ago is stale after the default 300 s."""
    site = await make_site(client, admin, "Slow and fast")
    slow = await make_asset(
        client, admin, site, "Slow", "meter", role="consumer", expected_interval_s=900
    )
    fast = await make_asset(client, admin, site, "Fast", "meter", role="consumer")
    ten_minutes_ago = now_ms() - 600_000
    await send(client, admin, slow, 9.0, ten_minutes_ago)
    await send(client, admin, fast, 4.0, ten_minutes_ago)
    body = await current(client, admin, site)
    assert body["current_demand_kw"] == 9
    stale = {a["asset_id"]: a["stale"] for a in body["assets"]}
    assert stale == {slow: False, fast: True}


async def test_clients_polling_share_one_solution_until_a_reading_arrives(client, admin, app):
    site = await make_site(client, admin, "Polled")
    meter = await make_asset(client, admin, site, "Load", "meter", role="consumer")
    await send(client, admin, meter, 5.0, now_ms() - 1_000)
    cache = app.state.balance
    at = now_ms()
    first = (await cache.balances([site], now_ms=at, max_age_ms=300_000))[site]
    again = (await cache.balances([site], now_ms=at + 500, max_age_ms=300_000))[site]
    assert again is first  # solved once for both
    await send(client, admin, meter, 6.0, at - 500)  # newer than the first, before ``at``
    await settle(app)
    after = (await cache.balances([site], now_ms=at + 600, max_age_ms=300_000))[site]
    assert after is not first and after.power_kw["consumption"] == 6
    # kept while nothing changes, however long: no reading arrived and none turned stale
    held = (await cache.balances([site], now_ms=at + 299_000, max_age_ms=300_000))[site]
    assert held is after
    # solved again once the reading is older than 5 min: the figure is no longer current
    later = (await cache.balances([site], now_ms=at + 300_000, max_age_ms=300_000))[site]
    assert later is not after and later.power_kw["consumption"] != 6
    for seconds in range(1, 50):  # clients asking odd max ages never grow the memory
        await cache.balances([site], now_ms=at + 700, max_age_ms=seconds * 1_000)
    assert cache.solved_count == 1  # one solution per site, not per max age
