"""Grid revenue in the KPI API, both back ends: a site exporting 10 kWh while its first tariff
version pays 0.08 EUR/kWh and 5 kWh after a new version pays 0.12 earns 1.40 EUR, in the site
KPIs and in the fleet summary (site and totals); a site without export price earns 0.00 with a
note."""

from __future__ import annotations

import pytest
from tests.fleet.test_fleet_summary import daytime_zone, ingest, summary
from tests.insights.kpis.kpi_test_data import add_tariff, kpis, make_asset, make_site

from gridpilot.analytics.grid_revenue import NO_EXPORT_PRICE
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, local_midnight_ms, now_ms

MIN = 60_000


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def exporting_site(client, headers, name: str, zone: str, midnight: int) -> int:
    """A site whose main meter's export register reads 0, 10 and 15 kWh at local midnight,
    +60 and +120 min: 10 kWh exported in the first hour, 5 in the second (a register step is
    spread over the time between its readings)."""
    site = await make_site(client, headers, name, timezone=zone)
    meter = await make_asset(client, headers, site, f"{name} meter", "grid_connection")
    times = [midnight, midnight + 60 * MIN, midnight + 120 * MIN]
    readings = [
        {"asset": meter, "metric": "energy_export_kwh", "ts": t, "value": v}
        for t, v in zip(times, [0.0, 10.0, 15.0], strict=True)
    ]
    readings += [{"asset": meter, "metric": "energy_kwh", "ts": t, "value": 50.0} for t in times]
    await ingest(client, headers, readings)
    return site


async def test_revenue_with_a_version_change_in_kpis_and_fleet_summary(client, admin):
    now = now_ms()
    zone = daytime_zone(now)
    midnight = local_midnight_ms(zone, now)
    paid = await exporting_site(client, admin, "Paid", zone, midnight)
    unpaid = await exporting_site(client, admin, "Unpaid", zone, midnight)
    old = {"default_rate_per_kwh": 0.25, "export_rate_per_kwh": 0.08}
    new = {"default_rate_per_kwh": 0.25, "export_rate_per_kwh": "0.12"}
    for valid_from, definition in ((0, old), (midnight + 60 * MIN, new)):
        response = await add_tariff(client, admin, paid, valid_from, definition)
        assert response.status_code == 201, response.text
    response = await add_tariff(client, admin, unpaid, 0, {"default_rate_per_kwh": 0.25})
    assert response.status_code == 201, response.text

    site_kpis = await kpis(client, admin, site=paid, start=iso(midnight), end=iso(now))
    revenue = site_kpis["grid_revenue"]
    assert revenue["value"] == "1.40" and revenue["unit"] == "EUR"  # 10 x 0.08 + 5 x 0.12
    assert revenue["export_kwh"] == "15.000" and revenue["priced"] is True
    assert [(r["rate_per_kwh"], r["energy_kwh"]) for r in revenue["by_rate"]] == [
        ("0.08", "10.000"),
        ("0.12", "5.000"),
    ]
    none = await kpis(client, admin, site=unpaid, start=iso(midnight), end=iso(now))
    assert none["grid_revenue"]["value"] == "0.00"
    assert none["grid_revenue"]["priced"] is False
    assert none["grid_revenue"]["notes"] == [NO_EXPORT_PRICE]

    body = await summary(client, admin)
    by_name = {s["name"]: s["today"]["grid_revenue"] for s in body["sites"]}
    assert by_name["Paid"]["amount"] == "1.40" and by_name["Paid"]["currency"] == "EUR"
    assert by_name["Unpaid"] == {
        "amount": "0.00",
        "currency": "EUR",
        "export_kwh": "15.000",
        "unpriced_kwh": "15.000",
        "priced": False,
        "notes": [NO_EXPORT_PRICE],
    }
    total = body["totals"]["grid_revenue_today"]
    assert total["amount"] == "1.40" and total["export_kwh"] == "30.000"
    assert total["notes"] == ["1 of 2 sites have no export price: they count 0"]
