"""A site with several batteries, on both back ends: the schedule plans them in one problem
(the site balance sums their charge and discharge, each keeps its own SOC band, dynamics,
efficiencies and measured start), the MPC sends each its own command, and one device cannot
carry two battery resources."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.flex.schedule_data import BATTERY, plan_site
from tests.insights.kpis.kpi_test_data import make_asset

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms
from gridpilot.flex.tasks import FlexRuntime

STEP_H = 0.25
#: name -> (params, start SOC [%]); the small one is measured at 70 %.
BATTERIES = {
    "Big": ({"capacity_kwh": 100, "charge_max_kw": 50, "discharge_max_kw": 50,
             "soc_start_pct": 50}, 50.0),
    "Small": ({"capacity_kwh": 40, "charge_max_kw": 10, "discharge_max_kw": 20,
               "charge_efficiency": 0.9, "discharge_efficiency": 0.92, "soc_min_pct": 20,
               "soc_max_pct": 100, "soc_start_pct": 50}, 70.0),
}  # fmt: skip


async def add(client, admin, site_id: int, name: str, *, asset: int | None = None, **extra):
    if asset is None:
        asset = await make_asset(client, admin, site_id, f"{name} unit", "battery")
    params = {**BATTERY["params"], **BATTERIES[name][0]}
    body = {"kind": "battery", "name": name, "asset_id": asset, "params": params, **extra}
    return await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """The app's own MPC loop off (its first round, a minute after start, could dispatch the
    step before the test's round on a busy machine); the test runs its rounds itself."""
    return {"flex_mpc_interval_s": 0}


def check(steps: list[dict], names: dict[str, tuple[dict, float]]) -> None:
    """Per battery: its band, its own dynamics, never both ways, the terminal SOC; per step:
    import - export = load + the sum of charging - the sum of discharging."""
    soc = {name: start for name, (_, start) in names.items()}
    for step in steps:
        net = step["load_kw"] - step["pv_kw"] + step["pv_curtailed_kw"]
        for name, (params, _) in names.items():
            b = step["batteries"][name]
            full = {**BATTERY["params"], "charge_efficiency": 0.95, "discharge_efficiency": 0.95,
                    **params}  # fmt: skip
            assert full["soc_min_pct"] - 1e-6 <= b["soc_pct"] <= full["soc_max_pct"] + 1e-6
            assert min(b["charge_kw"], b["discharge_kw"]) <= 1e-6
            assert b["charge_kw"] <= full["charge_max_kw"] + 1e-6
            assert b["discharge_kw"] <= full["discharge_max_kw"] + 1e-6
            kwh = STEP_H * (full["charge_efficiency"] * b["charge_kw"]
                            - b["discharge_kw"] / full["discharge_efficiency"])  # fmt: skip
            soc[name] += 100 * kwh / full["capacity_kwh"]
            assert b["soc_pct"] == pytest.approx(soc[name], abs=1e-4)
            net += b["charge_kw"] - b["discharge_kw"]
        assert step["grid_import_kw"] - step["grid_export_kw"] == pytest.approx(net, abs=1e-3)
    for name, (_, start) in names.items():
        assert soc[name] >= start - 1e-4


async def test_two_batteries_are_planned_together_and_dispatched_apart(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Two batteries")  # 30 kW, 0.10/0.40
    big = await add(client, admin, site_id, "Big", auto_dispatch=True)
    assert big.status_code == 201, big.text
    alone = (await client.post(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    check(alone["steps"], {"Big": BATTERIES["Big"]})

    small = await add(client, admin, site_id, "Small", auto_dispatch=True)
    assert small.status_code == 201, small.text
    reading = {"asset": small.json()["asset_id"], "metric": "soc_pct", "ts": now_ms() - 60_000,
               "value": 70.0}  # fmt: skip
    stored = await client.post("/api/v1/telemetry", json={"readings": [reading]}, headers=admin)
    assert stored.status_code == 200 and stored.json()["stored"] == 1, stored.text
    both = (await client.post(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    assert both["status"] == "optimal" and both["max_balance_residual_w"] < 1
    assert both["inputs"]["batteries"] == {
        "Big": {"start_pct": 50.0, "source": "configured"},
        "Small": {"start_pct": 70.0, "source": "measured", "ts": both["inputs"]["batteries"][
            "Small"]["ts"]},
    }  # fmt: skip
    check(both["steps"], BATTERIES)
    for name in BATTERIES:  # each shifts energy from the cheap hours to the dear ones
        dear = [s["batteries"][name]["discharge_kw"] for s in both["steps"]
                if s["price_eur_per_kwh"] > 0.2]  # fmt: skip
        cheap = [s["batteries"][name]["charge_kw"] for s in both["steps"]
                 if s["price_eur_per_kwh"] < 0.2]  # fmt: skip
        assert sum(dear) > 1 and sum(cheap) > 1, name
    # the second battery adds its own arbitrage
    gained = Decimal(both["savings"]["saving_vs_no_battery_eur"])
    assert gained > Decimal(alone["savings"]["saving_vs_no_battery_eur"]) + Decimal("1")

    rounds = await FlexRuntime(app.state.settings, sessions, app.state.bus).run_once()
    (done,) = [r for r in rounds if r.site_id == site_id]
    plan = (await client.get(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    first = plan["steps"][0]["batteries"]
    by_name = {d.resource: d for d in done.dispatched}
    assert set(by_name) == {"Big", "Small"}
    for name, asset in (("Big", big.json()["asset_id"]), ("Small", small.json()["asset_id"])):
        d = by_name[name]
        assert d.asset_id == asset
        planned = first[name]["discharge_kw"] - first[name]["charge_kw"]
        if abs(planned) < 0.01:
            assert d.skipped == "idle"
            continue
        assert d.kind == ("discharge" if planned > 0 else "charge") and d.command_id
        assert d.power_kw == pytest.approx(abs(planned), abs=1e-3)
        commands = (await client.get(f"/api/v1/assets/{asset}/commands", headers=admin)).json()
        assert [c["id"] for c in commands] == [d.command_id]


async def test_one_device_carries_one_battery_resource(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "One device")
    first = await add(client, admin, site_id, "Big")
    assert first.status_code == 201, first.text
    asset, first_id = first.json()["asset_id"], first.json()["id"]
    second = await add(client, admin, site_id, "Small", asset=asset)
    assert second.status_code == 409, second.text
    assert second.json()["message"] == (
        f"asset {asset} already carries the battery resource 'Big' (id {first_id}): each "
        "device is one resource, with its own commands"
    )
    elsewhere = await add(client, admin, site_id, "Small")  # on a device of its own
    assert elsewhere.status_code == 201
    moved = await client.patch(
        f"/api/v1/sites/{site_id}/flex-resources/{elsewhere.json()['id']}",
        json={"asset_id": asset}, headers=admin,
    )  # fmt: skip
    assert moved.status_code == 409 and "'Big'" in moved.json()["message"]
    same = await client.patch(
        f"/api/v1/sites/{site_id}/flex-resources/{first_id}", json={"asset_id": asset},
        headers=admin,
    )  # fmt: skip
    assert same.status_code == 200, same.text  # re-linking its own asset is no clash
