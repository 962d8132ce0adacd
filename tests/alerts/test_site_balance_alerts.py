"""Site alerts on the site energy balance (docs/site-energy.md): contract demand is the grid
import of the current balance, and ``balance_check`` watches its flag. Both back ends, through
the app's balance cache and the bus."""

from __future__ import annotations

from typing import Any

from gridpilot.core.timestamps import now_ms


async def make_site(env, name: str, contract_kw: float | None, assets: list[dict[str, Any]]):
    """A site with ``assets`` (``parent`` names an earlier asset): (site id, {name: id})."""
    body: dict[str, Any] = {"name": name, "timezone": "UTC"}
    if contract_kw is not None:
        body["contract_demand_kw"] = contract_kw
    site = await env.client.post("/api/v1/sites", json=body, headers=env.admin)
    assert site.status_code == 201, site.text
    ids: dict[str, int] = {}
    for spec in assets:
        fields = {k: v for k, v in spec.items() if k != "parent"}
        if "parent" in spec:
            fields["parent_asset_id"] = ids[spec["parent"]]
        made = await env.client.post(
            "/api/v1/assets", json={"site_id": site.json()["id"], **fields}, headers=env.admin
        )
        assert made.status_code == 201, made.text
        ids[spec["name"]] = made.json()["id"]
    return site.json()["id"], ids


async def contract_alerts(env, site_id: int) -> list[dict[str, Any]]:
    return [a for a in await env.alerts(site_id=site_id) if a["kind"] == "contract_demand"]


async def test_main_meter_and_sub_meters_are_not_added_up(env):
    # the main meter is a "meter" with the grid_connection role: before the balance, the
    # check summed every meter (95 + 50 + 43 = 188 kW against 100); the import is 95 kW
    site_id, a = await make_site(
        env,
        "Main and subs",
        100,
        [
            {"name": "Main", "kind": "meter", "role": "grid_connection"},
            {"name": "Hall", "kind": "meter", "parent": "Main"},
            {"name": "Office", "kind": "meter", "parent": "Main"},
        ],
    )
    await env.ingest_all({a["Main"]: 95.0, a["Hall"]: 50.0, a["Office"]: 43.0})
    assert await contract_alerts(env, site_id) == []
    await env.ingest_all({a["Main"]: 110.0, a["Hall"]: 60.0, a["Office"]: 45.0})
    [alert] = await contract_alerts(env, site_id)
    assert alert["value"] == 110.0 and alert["asset_id"] is None
    assert alert["detail"]["demand_kw"] == 110.0 and "Grid import 110.0 kW" in alert["message"]
    await env.ingest_all({a["Main"]: 90.0, a["Hall"]: 50.0, a["Office"]: 38.0})
    assert (await contract_alerts(env, site_id))[0]["state"] == "resolved"


async def test_a_pv_site_exporting_imports_nothing(env):
    site_id, a = await make_site(
        env,
        "PV exporter",
        100,
        [
            {"name": "Grid", "kind": "grid_connection"},
            {"name": "Roof PV", "kind": "inverter"},
            {"name": "Loads", "kind": "meter"},
        ],
    )
    # 160 kW of PV, 130 kW of load (the only "meter": what the check summed before the
    # balance), 30 kW exported: 0 kW import
    await env.ingest_all({a["Grid"]: -30.0, a["Roof PV"]: 160.0, a["Loads"]: 130.0})
    assert await contract_alerts(env, site_id) == []
    await env.ingest_all({a["Grid"]: 120.0, a["Roof PV"]: 0.0, a["Loads"]: 120.0})
    [alert] = await contract_alerts(env, site_id)
    assert alert["value"] == 120.0


async def test_a_site_without_grid_meter_uses_the_derived_import(env):
    site_id, a = await make_site(
        env,
        "No grid meter",
        100,
        [{"name": "Plant", "kind": "machine"}, {"name": "PV", "kind": "inverter"}],
    )
    await env.ingest_all({a["Plant"]: 150.0, a["PV"]: 80.0})  # import 150 - 80 = 70 kW
    assert await contract_alerts(env, site_id) == []
    await env.ingest_all({a["Plant"]: 190.0, a["PV"]: 80.0})  # 110 kW
    [alert] = await contract_alerts(env, site_id)
    assert alert["value"] == 110.0 and alert["state"] == "active"


async def test_balance_check_raises_on_contradicting_meters_and_clears(env):
    site_id, a = await make_site(
        env,
        "Contradicting meters",
        None,
        [{"name": "Grid", "kind": "grid_connection"}, {"name": "Loads", "kind": "meter"}],
    )
    rule = await env.rule(
        name="Meters disagree", kind="balance_check", site_id=site_id, params={"duration_s": 1}
    )
    assert rule["severity"] == "warning"
    assert rule["params"] == {"duration_s": 1.0, "clear_after_s": 0.0}
    t0 = now_ms() - 3000
    await env.ingest_all({a["Grid"]: 50.0, a["Loads"]: 50.0}, ts=t0)  # adds up
    await env.ingest_all({a["Grid"]: 50.0, a["Loads"]: 20.0}, ts=t0 + 500)  # 30 kW missing
    assert await env.alerts(rule_id=rule["id"]) == []  # flagged for 0 s so far
    await env.ingest_all({a["Grid"]: 50.0, a["Loads"]: 20.0}, ts=t0 + 1500)
    [alert] = await env.alerts(rule_id=rule["id"])
    assert alert["state"] == "active" and alert["asset_id"] is None
    assert alert["kind"] == "balance_check" and alert["severity"] == "warning"
    assert alert["value"] == 30.0 and "residual +30.0 kW" in alert["message"]
    await env.ingest_all({a["Grid"]: 48.0, a["Loads"]: 47.0}, ts=t0 + 2500)  # within tolerance
    [resolved] = await env.alerts(rule_id=rule["id"])
    assert resolved["state"] == "resolved" and resolved["resolve_reason"] == "cleared"
