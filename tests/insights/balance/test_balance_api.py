"""``GET /sites/{id}/balance`` against hand-computed balances, from raw readings and from
rollups, on both back ends (docs/site-energy.md has the same examples)."""

from __future__ import annotations

import pytest
from tests.insights.balance.balance_data import (
    PERIOD,
    T0,
    Q,
    balance,
    column,
    community_metrics,
    ingest,
    power,
    register,
)
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_pv_battery_and_grid_meter(client, admin, app, sessions, rolled_up):
    site = await make_site(client, admin, "PV and battery")
    grid = await make_asset(client, admin, site, "Main meter", "grid_connection")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    battery = await make_asset(client, admin, site, "Battery", "battery")
    await ingest(
        client,
        admin,
        register(grid, "energy_kwh", [100, 102, 102, 102, 103])
        + register(grid, "energy_export_kwh", [50, 50, 53, 53, 53])
        + power(pv, [0, 20, 16, 0])
        + power(battery, [0, 4, 8, -6]),  # + charging, - discharging
    )
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site)
    assert body["interval"] == "15m" and len(body["intervals"]) == 4
    assert column(body, "import") == [2, 0, 0, 1]
    assert column(body, "export") == [0, 3, 0, 0]
    assert column(body, "generation") == [0, 5, 4, 0]
    assert column(body, "charge") == [0, 1, 2, 0]
    assert column(body, "discharge") == [0, 0, 0, 1.5]
    assert column(body, "consumption") == [2, 1, 2, 2.5]  # derived: no load meter
    assert body["sources"]["consumption"]["derived"] == 1.0
    assert body["sources"]["import"]["measured"] == 1.0
    assert body["totals"]["consumption_kwh"] == 7.5
    assert body["coverage"] == 1.0 and body["flagged_intervals"] == 0
    assert body["self_consumption"] == pytest.approx(1 - 3 / 9, abs=1e-4)
    assert body["self_sufficiency"] == pytest.approx(1 - 3 / 7.5, abs=1e-4)


async def test_main_meter_is_not_added_to_its_sub_loads(client, admin):
    """A main meter and two load meters: consumption is the loads' sum, checked against the
    main meter (within tolerance), never main + loads."""
    site = await make_site(client, admin, "Factory")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    loads = [await make_asset(client, admin, site, f"Load {n}", "meter") for n in (1, 2)]
    await ingest(
        client,
        admin,
        register(main, "energy_kwh", [0, 10, 20, 30, 40])
        + power(loads[0], [16, 16, 16, 16])  # 4 kWh per quarter hour
        + power(loads[1], [24, 23.6, 8, 24]),  # 6, 5.9, 2, 6 kWh
    )
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [10, 9.9, 6, 10]
    assert body["totals"]["consumption_kwh"] == pytest.approx(35.9)
    assert body["sources"]["consumption"]["measured"] == 1.0
    # interval 3: 10 kWh imported, 6 consumed: the meters contradict each other
    assert [i["flagged"] for i in body["intervals"]] == [False, False, True, False]
    assert body["flagged_intervals"] == 1


async def test_community_members_are_their_own_connection_points(client, admin):
    """Two prosumers with only produced and consumed registers (the CER device message): each
    member's exchange is derived on its own, never netted against the other member."""
    await community_metrics(client, admin)
    site = await make_site(client, admin, "Community")
    a = await make_asset(client, admin, site, "Member A", "household", role="prosumer")
    b = await make_asset(client, admin, site, "Member B", "household", role="prosumer")
    await ingest(
        client,
        admin,
        register(a, "energy_produced_kwh", [0, 3, 3.5, 3.5, 3.5])  # 3, 0.5, 0, 0
        + register(a, "energy_consumed_kwh", [0, 1, 3, 4, 5])  # 1, 2, 1, 1
        + register(b, "energy_produced_kwh", [0, 0, 0, 0, 0])
        + register(b, "energy_consumed_kwh", [0, 2, 2, 3, 4]),  # 2, 0, 1, 1
    )
    body = await balance(client, admin, site)
    kpis = await client.get("/api/v1/kpis", params={"site": site, **PERIOD}, headers=admin)
    figures = kpis.json()["kpis"]  # before, prosumers counted as neither load nor generation
    assert figures["balance"]["generation_kwh"] == pytest.approx(3.5)
    assert figures["self_consumption"]["value"] == pytest.approx(1 - 2 / 3.5)
    assert figures["self_sufficiency"]["value"] == pytest.approx(1 - 7.5 / 9)
    assert body["connection_points"] == 3  # two members and the rest of the site (empty)
    # member A exports 2 in interval 0 while B imports 2: the site imports 2 and exports 2
    assert column(body, "import") == [2, 1.5, 2, 2]
    assert column(body, "export") == [2, 0, 0, 0]
    assert column(body, "generation") == [3, 0.5, 0, 0]
    assert body["sources"]["import"]["derived"] == 1.0
    assert body["self_consumption"] == pytest.approx(1 - 2 / 3.5, abs=1e-4)


async def test_an_unreported_interval_is_unknown_not_zero(client, admin):
    """The main meter's last reading closes interval 1, the load is silent in interval 2: two
    unknown terms there, nothing derivable; in interval 3 the import is derived (1 kWh)."""
    site = await make_site(client, admin, "Gap")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    load = await make_asset(client, admin, site, "Load", "meter")
    readings = register(main, "energy_kwh", [0, 1, 2]) + power(load, [4, 4, 4, 4])
    await ingest(
        client, admin, [r for r in readings if r["ts"] != T0 + 2 * Q or r["asset"] == main]
    )
    body = await balance(client, admin, site)
    assert column(body, "import") == [1, 1, None, 1]
    assert column(body, "consumption") == [1, 1, None, 1]
    assert body["coverage"] == 0.75
    assert body["sources"]["import"]["unknown"] == 0.25
    assert body["sources"]["import"]["derived"] == 0.25
    assert body["totals"]["consumption_kwh"] == pytest.approx(3.0)  # complete intervals only


async def test_other_sites_and_device_keys_get_404(client, admin, auth_headers):
    site = await make_site(client, admin, "Private")
    other = await make_site(client, admin, "Other")
    viewer = await auth_headers(Role.VIEWER, sites=[other])
    denied = await client.get(f"/api/v1/sites/{site}/balance", headers=viewer)
    assert denied.status_code == 404
    meter = await make_asset(client, admin, site, "Meter", "meter")
    key = await client.post(f"/api/v1/assets/{meter}/keys", json={"name": "d"}, headers=admin)
    device = {"X-API-Key": key.json()["key"]}
    assert (await client.get(f"/api/v1/sites/{site}/balance", headers=device)).status_code == 404


async def test_sub_meters_are_never_counted_with_their_parent(client, admin):
    """A main meter (grid), a building meter (consumer) and two sub-meters under the building
    meter: consumption is the building meter's, not building + sub-meters."""
    site = await make_site(client, admin, "Campus")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    building = await make_asset(client, admin, site, "Building", "meter", parent_asset_id=main)
    subs = [
        await make_asset(client, admin, site, f"Floor {n}", "meter", parent_asset_id=building)
        for n in (1, 2)
    ]
    await ingest(
        client,
        admin,
        register(main, "energy_kwh", [0, 10, 20, 30, 40])
        + power(building, [40, 40, 40, 40])  # 10 kWh per quarter hour
        + power(subs[0], [16, 16, 16, 16])
        + power(subs[1], [12, 12, 12, 12]),
    )
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [10, 10, 10, 10]
    assert body["flagged_intervals"] == 0


async def test_parent_meters_are_checked(client, admin):
    site = await make_site(client, admin, "Checks")
    other = await make_site(client, admin, "Elsewhere")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    load = await make_asset(client, admin, site, "Load", "meter")
    foreign = await make_asset(client, admin, other, "Foreign", "meter")
    body = {"site_id": site, "name": "Sub", "kind": "meter"}
    for parent, reason in ((pv, "role"), (foreign, "same site"), (10**6, "same site")):
        response = await client.post(
            "/api/v1/assets", json={**body, "parent_asset_id": parent}, headers=admin
        )
        assert response.status_code == 422, response.text
        assert reason in response.json()["message"]
    sub = await make_asset(client, admin, site, "Sub", "meter", parent_asset_id=load)
    loop = await client.patch(
        f"/api/v1/assets/{load}", json={"parent_asset_id": sub}, headers=admin
    )
    assert loop.status_code == 422 and "loop" in loop.json()["message"]
    own = await client.patch(f"/api/v1/assets/{sub}", json={"parent_asset_id": sub}, headers=admin)
    assert own.status_code == 422
    listed = await client.get(f"/api/v1/assets/{sub}", headers=admin)
    assert listed.json()["parent_asset_id"] == load


async def test_current_balance_with_grid_meter_pv_and_battery(client, admin):
    """Signed power: the grid meter exports 2 kW, the battery discharges 1 kW, PV makes 5 kW:
    the loads draw 0 - 2 + 5 + 1 - 0 = 4 kW although no load is metered."""
    site = await make_site(client, admin, "Live PV", contract_demand_kw=10.0)
    grid = await make_asset(client, admin, site, "Main", "grid_connection")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    battery = await make_asset(client, admin, site, "Battery", "battery")
    now = now_ms()
    readings = [
        {"asset": grid, "metric": "power_kw", "ts": now - 20_000, "value": -2.0},
        {"asset": pv, "metric": "power_kw", "ts": now - 10_000, "value": 5.0},
        {"asset": battery, "metric": "power_kw", "ts": now - 5_000, "value": -1.0},
    ]
    await ingest(client, admin, readings)
    body = (await client.get(f"/api/v1/sites/{site}/current", headers=admin)).json()
    assert body["grid_import_kw"] == 0 and body["grid_export_kw"] == 2
    assert body["storage_discharge_kw"] == 1 and body["storage_charge_kw"] == 0
    assert body["current_demand_kw"] == pytest.approx(4.0)
    assert body["sources"]["consumption"] == "derived"
    assert body["contract_utilization_pct"] == 0 and body["headroom_kw"] == 10
    assert {a["asset_id"]: a["counted_as"] for a in body["assets"]} == {
        grid: "export",
        pv: "generation",
        battery: "discharge",
    }


async def test_two_series_of_one_term_are_counted_once(client, admin):
    """A member without PV sends the POD register and power and the CER message's consumed
    register and power: consumption counts the first of each kind once, never twice."""
    for key, unit, kind in (
        ("energy_consumed_kwh", "kWh", "cumulative"),
        ("power_consumed_kw", "kW", "instantaneous"),
    ):
        body = {"key": key, "unit": unit, "kind": kind}
        created = await client.post("/api/v1/metrics", json=body, headers=admin)
        assert created.status_code in (201, 409), created.text
    site = await make_site(client, admin, "Member")
    member = await make_asset(client, admin, site, "Household", "household")  # a consumer
    now = now_ms()
    await ingest(
        client,
        admin,
        register(member, "energy_kwh", [0, 1, 2, 3, 4])
        + register(member, "energy_consumed_kwh", [0, 1, 2, 3, 4])
        + [
            {"asset": member, "metric": "power_kw", "ts": now - 5_000, "value": 2.0},
            {"asset": member, "metric": "power_consumed_kw", "ts": now - 5_000, "value": 2.0},
        ],
    )
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [1, 1, 1, 1]
    current = (await client.get(f"/api/v1/sites/{site}/current", headers=admin)).json()
    assert current["current_demand_kw"] == pytest.approx(2.0)
    assert [a["asset_id"] for a in current["assets"]] == [member]
