"""Which meters make a term measured, connection points without data, doubtful totals and the
unmetered remainder of parent meters (docs/site-energy.md), on both back ends."""

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
    reading,
    register,
)
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def test_two_meters_reporting_in_turn_are_never_all_reported(client, admin):
    """Load A reports in intervals 0 and 2, load B in 1: one meter of two each time, so the
    consumption is unknown everywhere (before, 1 = the most meters seen counted as all)."""
    site = await make_site(client, admin, "Turns")
    a = await make_asset(client, admin, site, "A", "meter")
    b = await make_asset(client, admin, site, "B", "meter")
    await ingest(
        client,
        admin,
        [
            reading(a, "power_kw", T0, 8.0),
            reading(b, "power_kw", T0 + Q, 4.0),
            reading(a, "power_kw", T0 + 2 * Q + 600_000, 8.0),  # held into interval 3
        ],
    )
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [None, None, None, None]
    assert body["sources"]["consumption"]["unknown"] == 1.0 and body["coverage"] == 0.0


async def test_a_member_without_data_is_listed_not_a_hole_in_the_community(client, admin):
    """Member A reports (the CER message), member B never does: the community's figures are
    A's, with B listed as a point without data; before, the whole balance was unknown."""
    await community_metrics(client, admin)
    site = await make_site(client, admin, "Community")
    a = await make_asset(client, admin, site, "Member A", "household", role="prosumer")
    b = await make_asset(client, admin, site, "Member B", "household", role="prosumer")
    await ingest(
        client,
        admin,
        register(a, "energy_produced_kwh", [0, 3, 3.5, 3.5, 3.5])  # 3, 0.5, 0, 0
        + register(a, "energy_consumed_kwh", [0, 1, 3, 4, 5]),  # 1, 2, 1, 1
    )
    body = await balance(client, admin, site)
    assert body["connection_points"] == 3 and body["points_without_data"] == [b]
    assert body["point_coverage"] == 0.5 and body["coverage"] == 1.0
    assert column(body, "import") == [0, 1.5, 1, 1]  # 1 - 3, 2 - 0.5, 1 - 0, 1 - 0
    assert column(body, "export") == [2, 0, 0, 0]
    assert body["totals"]["consumption_kwh"] == 5.0


async def test_totals_say_how_much_of_them_is_flagged(client, admin):
    """Main meter 10 kWh per interval, loads 4 + 6, 4 + 5.9, 4 + 2, 4 + 6: interval 2 (10 in,
    6 used) is flagged; the totals keep it and say which part it is."""
    site = await make_site(client, admin, "Factory")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    loads = [await make_asset(client, admin, site, f"Load {n}", "meter") for n in (1, 2)]
    await ingest(
        client,
        admin,
        register(main, "energy_kwh", [0, 10, 20, 30, 40])
        + power(loads[0], [16, 16, 16, 16])
        + power(loads[1], [24, 23.6, 8, 24]),
    )
    totals = (await balance(client, admin, site))["totals"]
    assert totals["consumption_kwh"] == pytest.approx(35.9) and totals["import_kwh"] == 40
    assert totals["flagged_intervals"] == 1
    assert totals["flagged_kwh"]["import_kwh"] == 10
    assert totals["flagged_kwh"]["consumption_kwh"] == 6


async def test_the_unmetered_remainder_of_every_parent_meter(client, admin):
    """Main meter 10 kWh per interval > building 10 kWh > floors 4 + 3 kWh: the main meter's
    remainder is 0, the building's 3 kWh per interval (12 in all); floor 2 is silent in
    interval 3, so the building's remainder is unknown there."""
    site = await make_site(client, admin, "Campus")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    building = await make_asset(client, admin, site, "Building", "meter", parent_asset_id=main)
    floors = [
        await make_asset(client, admin, site, f"Floor {n}", "meter", parent_asset_id=building)
        for n in (1, 2)
    ]
    await ingest(
        client,
        admin,
        register(main, "energy_kwh", [0, 10, 20, 30, 40])
        + power(building, [40, 40, 40, 40])
        + power(floors[0], [16, 16, 16, 16])
        + power(floors[1], [12, 12, 12]),
    )
    body = await balance(client, admin, site)
    assert column(body, "consumption") == [10, 10, 10, 10]
    remainders = {m["parent_asset_id"]: m for m in body["sub_meters"]}
    assert remainders[main]["children"] == [building]
    assert remainders[main]["remainder_kwh"] == [0, 0, 0, 0]
    assert remainders[building]["children"] == floors
    assert remainders[building]["remainder_kwh"] == [3, 3, 3, None]
    assert remainders[building]["total_kwh"] == 9 and remainders[building]["coverage"] == 0.75


async def test_day_intervals_follow_the_period_helpers(client, admin):
    """``interval=1d`` on a UTC site: one day, from midnight to midnight."""
    site = await make_site(client, admin, "Daily")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    await ingest(client, admin, register(main, "energy_kwh", [0, 10, 20, 30, 40]))
    body = await balance(client, admin, site, interval="1d")
    assert body["interval"] == "1d" and len(body["intervals"]) == 1
    assert body["intervals"][0]["start"] == PERIOD["start"]
    assert body["intervals"][0]["import_kwh"] == 40
