"""A burst of asset changes (a fleet being provisioned) reloads the alert rules' view of
assets a few times, not once per change; assets created in the burst are still known."""

from __future__ import annotations

from tests.alerts.conftest import alerts_of

from gridpilot.assets.events import publish_assets_changed
from gridpilot.auth.permissions import Role


async def test_a_burst_of_changes_coalesces_into_few_reloads(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = (await client.post("/api/v1/sites", json={"name": "Burst", "timezone": "UTC"},
                              headers=admin)).json()["id"]  # fmt: skip
    ids = []
    for n in range(40):
        body = {"site_id": site, "name": f"meter {n}", "kind": "meter"}
        ids.append((await client.post("/api/v1/assets", json=body, headers=admin)).json()["id"])
    runtime = alerts_of(app)
    await runtime.idle()
    before = runtime.reloads
    await publish_assets_changed(app.state.bus, ids, "created")  # 40 events at once
    await runtime.idle()
    assert runtime.reloads - before <= 2  # one queued, maybe one already running
    assert set(ids) <= set(runtime.watch.assets)
