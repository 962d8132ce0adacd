"""The shared recent balance (``balance.recent``): one computation per set of sites while it is
fresh and reaches back far enough, then a new one (in the background while the old one is
served, up to ``max_stale_ms``); both back ends."""

from __future__ import annotations

from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.balance.recent import MIN_HISTORY_MS, RecentBalances
from gridpilot.core.timestamps import now_ms


async def test_one_computation_per_set_while_fresh(client, auth_headers, app):
    admin = await auth_headers(Role.ADMINISTRATOR)
    first = await make_site(client, admin, "Recent A")
    second = await make_site(client, admin, "Recent B")
    load = await make_asset(client, admin, first, "Load", "meter", role="consumer")
    at = now_ms()
    body = [{"asset": load, "metric": "power_kw", "ts": at - 1_800_000, "value": 8.0}]
    assert (await client.post("/api/v1/telemetry", json=body, headers=admin)).is_success
    recent = RecentBalances(app.state.sessions, ttl_ms=60_000)

    got = await recent.get([first, second], start_ms=at - 3_600_000, now_ms=at, max_gap_s=3600)
    assert set(got) == {first, second} and recent.computations == 1
    assert got[first].balance.total_kwh("consumption") > 0
    again = await recent.get(
        [second, first], start_ms=at - 600_000, now_ms=at + 30_000, max_gap_s=3600
    )
    assert recent.computations == 1 and again[first] is got[first]  # same set, still fresh

    stale = await recent.get([first, second], start_ms=at, now_ms=at + 60_000, max_gap_s=3600)
    assert stale[first] is got[first]  # older than the TTL: served while the next is computed
    await recent.settle()
    assert recent.computations == 2
    newer = await recent.get([first, second], start_ms=at, now_ms=at + 61_000, max_gap_s=3600)
    assert newer[first] is not got[first] and recent.computations == 2
    await recent.get(
        [first, second],
        start_ms=at - MIN_HISTORY_MS - 3_600_000,
        now_ms=at + 61_000,
        max_gap_s=3600,
    )
    assert recent.computations == 3  # reaches back further than the entry
    await recent.get([first], start_ms=at, now_ms=at + 61_000, max_gap_s=3600)
    assert recent.computations == 4  # another set of sites


async def test_too_old_to_serve_waits_for_the_next(client, auth_headers, app):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await make_site(client, admin, "Recent C")
    at = now_ms()
    recent = RecentBalances(app.state.sessions, ttl_ms=60_000, max_stale_ms=120_000)
    first = await recent.get([site], start_ms=at - 3_600_000, now_ms=at, max_gap_s=900)
    later = await recent.get([site], start_ms=at, now_ms=at + 120_000, max_gap_s=900)
    assert later[site] is not first[site] and recent.computations == 2  # computed, not served
    await recent.stop()
