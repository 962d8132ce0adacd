"""Hourly shared energy from stored readings: each POD's site balance gives injected (export)
and withdrawn (import) energy per hour; per substation and hour the shared energy is
min(sum injected, sum withdrawn), never from daily totals; substations never share."""

from __future__ import annotations

import pytest
from tests.community.community_data import add_member, make_community, make_plant
from tests.insights.balance.balance_data import ingest, reading
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.core.timestamps import iso, now_ms
from gridpilot.telemetry.rollups import floor_to

DAY = 86_400_000
H = 3_600_000
T0 = floor_to(now_ms() - 2 * DAY, DAY)


def registers(asset: int, metric: str, values: list[float]) -> list[dict]:
    """A register read on each hour from T0: hour i gets values[i + 1] - values[i]."""
    return [reading(asset, metric, T0 + k * H, v) for k, v in enumerate(values)]


async def metered_pod(client, admin, name: str, imports, exports=None) -> int:
    site = await make_site(client, admin, name)
    meter = await make_asset(client, admin, site, "POD meter", "grid_connection")
    data = registers(meter, "energy_kwh", imports)
    if exports is not None:
        data += registers(meter, "energy_export_kwh", exports)
    await ingest(client, admin, data)
    return site


@pytest.fixture
async def community(client, admin):
    """AC001: a PV prosumer (injects 4 | 0 | 0, withdraws 0 | 1 | 3 kWh) and a consumer
    (withdraws 1 | 2 | 3). AC002: a consumer alone (withdraws 5 | 5 | 5)."""
    cer = await make_community(client, admin, "HOURLY")
    ann = await add_member(client, admin, cer, "Ann")
    bob = await add_member(client, admin, cer, "Bob")
    pv = await metered_pod(client, admin, "pv", [50, 50, 51, 54], [100, 104, 104, 104])
    home = await metered_pod(client, admin, "home", [10, 11, 13, 16])
    shop = await metered_pod(client, admin, "shop", [0, 5, 10, 15])
    await make_plant(client, admin, cer, ann, "IT001E00000001", site=pv)
    await make_plant(client, admin, cer, bob, "IT001E00000002", site=home, plant_type="CONSUMER")
    await make_plant(
        client, admin, cer, bob, "IT001E00000003", site=shop, plant_type="CONSUMER",
        primary_substation="AC002",
    )  # fmt: skip
    return cer


async def aggregation(client, headers, cer, hours: int) -> dict:
    params = {"community": cer, "from": iso(T0), "to": iso(T0 + hours * H)}
    response = await client.get("/api/energy/aggregations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return {s["substation"]: s for s in body["data"]["substations"]}


async def test_shared_energy_is_hourly_and_not_from_daily_totals(client, admin, community):
    ac001 = (await aggregation(client, admin, community, 3))["AC001"]
    assert [h["injected_kwh"] for h in ac001["hours"]] == [4, 0, 0]
    assert [h["withdrawn_kwh"] for h in ac001["hours"]] == [1, 3, 6]
    assert [h["shared_kwh"] for h in ac001["hours"]] == [1, 0, 0]
    assert ac001["shared_kwh"] == 1
    # the minimum of the period's totals would be min(4, 10) = 4 kWh: not what is shared
    assert min(ac001["injected_kwh"], ac001["withdrawn_kwh"]) == 4
    assert (ac001["pods"], ac001["coverage"], ac001["missing_hours"]) == (2, 1.0, [])


async def test_two_substations_never_share(client, admin, community):
    by_substation = await aggregation(client, admin, community, 3)
    ac002 = by_substation["AC002"]
    # AC001 has 3 kWh left over in hour 0; AC002 withdraws 5 kWh then, and shares nothing
    assert [h["withdrawn_kwh"] for h in ac002["hours"]] == [5, 5, 5]
    assert [h["shared_kwh"] for h in ac002["hours"]] == [0, 0, 0]
    assert by_substation["AC001"]["shared_kwh"] == 1


async def test_hours_without_data_are_missing_not_guessed(client, admin, community):
    ac001 = (await aggregation(client, admin, community, 4))["AC001"]
    assert ac001["hours"][3] == {
        "hour": iso(T0 + 3 * H).replace("+00:00", "Z"), "injected_kwh": None,
        "withdrawn_kwh": None, "shared_kwh": None,
    }  # fmt: skip
    assert ac001["coverage"] == 0.75
    assert len(ac001["missing_hours"]) == 1


async def test_the_v1_path_answers_the_same_figures(client, admin, community):
    params = {"start": iso(T0), "end": iso(T0 + 3 * H)}
    response = await client.get(
        f"/api/v1/communities/{community}/shared-energy", params=params, headers=admin
    )
    assert response.status_code == 200, response.text
    ac001 = response.json()["substations"][0]
    assert [h["shared_kwh"] for h in ac001["hours"]] == [1, 0, 0]
