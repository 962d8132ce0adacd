"""Configuration changes are in the audit trail (#20 item 5): sites and assets created, changed
(with the fields) and deleted, by whom, recorded by the services (API and dashboard alike);
alert rules keep their own trail (``alert_audit``). Both back ends."""

from __future__ import annotations

from gridpilot.auth.permissions import Role


async def test_site_and_asset_changes_are_audited(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = (
        await client.post("/api/v1/sites", json={"name": "A", "timezone": "UTC"}, headers=admin)
    ).json()["id"]
    await client.patch(f"/api/v1/sites/{site}", json={"name": "Plant A"}, headers=admin)
    body = {"site_id": site, "name": "Main meter", "kind": "meter"}
    asset = (await client.post("/api/v1/assets", json=body, headers=admin)).json()["id"]
    await client.patch(f"/api/v1/assets/{asset}", json={"name": "Grid meter"}, headers=admin)
    rule = {"name": "over", "kind": "threshold", "metric": "power_kw", "asset_id": asset,
            "params": {"threshold": 10}}  # fmt: skip
    rule_id = (await client.post("/api/v1/alert-rules", json=rule, headers=admin)).json()["id"]
    await client.patch(f"/api/v1/alert-rules/{rule_id}", json={"enabled": False}, headers=admin)
    await client.delete(f"/api/v1/alert-rules/{rule_id}", headers=admin)
    await client.delete(f"/api/v1/assets/{asset}", headers=admin)
    await client.delete(f"/api/v1/sites/{site}", headers=admin)
    trail = (await client.get("/api/v1/audit?limit=100", headers=admin)).json()
    changes = [
        (e["action"], e["target"], (e["detail"] or {}).get("fields"))
        for e in reversed(trail)
        if e["action"].split(".")[0] in ("site", "asset")
    ]
    assert changes == [
        ("site.create", f"site:{site}", None),
        ("site.update", f"site:{site}", ["name"]),
        ("asset.create", f"asset:{asset}", None),
        ("asset.update", f"asset:{asset}", ["name"]),
        ("asset.delete", f"asset:{asset}", None),
        ("site.delete", f"site:{site}", None),
    ]
    assert {e["actor"] for e in trail if e["action"].startswith("site.")} == {
        trail[0]["actor"]
    } and trail[0]["actor"].startswith("user:")
