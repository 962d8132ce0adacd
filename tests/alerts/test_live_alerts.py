"""Alerts reach WS /api/v1/live with their site, and a site-limited viewer gets only its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.api.live_server import live_server
from tests.live.wsclient import authenticated, bearer, make_site_asset, recv_until, subscribe

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "live_auth_timeout_s": 1.0, "web_enabled": False}


@pytest.fixture
def server(app, settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


def alert_of(site_id: int):
    return lambda message: message["type"] == "alert" and message["site_id"] == site_id


async def test_site_limited_viewer_gets_only_its_sites_alerts(server, http, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site_a, asset_a = await make_site_asset(http, operator, "Live A")
    site_b, asset_b = await make_site_asset(http, operator, "Live B")
    for asset in (asset_a, asset_b):
        rule = {
            "name": f"over {asset}",
            "kind": "threshold",
            "metric": "power_kw",
            "asset_id": asset,
            "params": {"threshold": 10},
        }
        created = await http.post("/api/v1/alert-rules", json=rule, headers=operator)
        assert created.status_code == 201, created.text
    viewer = await authenticated(server, bearer(await auth_headers(Role.VIEWER, sites=[site_a])))
    admin = await authenticated(server, bearer(await auth_headers(Role.ADMINISTRATOR)))
    for ws in (viewer, admin):
        assert (await subscribe(ws, events=["alerts"]))["type"] == "subscribed"

    for asset in (asset_b, asset_a):  # B's alert first: the viewer must skip it
        reading = [{"asset": asset, "metric": "power_kw", "ts": now_ms(), "value": 50.0}]
        response = await http.post("/api/v1/telemetry", json=reading, headers=operator)
        assert response.status_code == 200, response.text

    seen_by_viewer = await recv_until(viewer, alert_of(site_a))
    assert {m["site_id"] for m in seen_by_viewer if m["type"] == "alert"} == {site_a}
    assert seen_by_viewer[-1]["asset_id"] == asset_a and seen_by_viewer[-1]["state"] == "active"
    seen_by_admin = await recv_until(admin, alert_of(site_b))
    assert seen_by_admin[-1]["asset_id"] == asset_b  # it was published: the filter hid it
    await viewer.close()
    await admin.close()
