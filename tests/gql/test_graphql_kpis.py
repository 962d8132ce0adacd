"""``Site.kpis`` on both back ends: a site's figures over a period, named in the site's local
time (``yesterday``, ``this_month``...) or by ``start``/``end`` as ``GET /api/v1/kpis`` takes
them; ``today`` (and no period) equal to ``Site.today``; yesterday's grid import worked out by
hand and equal to the KPI API's for the same ``start``/``end``; a bad period is a
``validation_failed`` error on the field naming what is wrong, never a 500 or another site's
figures."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tests.fleet.test_fleet_summary import ingest
from tests.gql.test_graphql import gql
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, local_midnight_ms, now_ms

HOUR_MS = 3_600_000
ROME = "Europe/Rome"
#: The grid meter's register grows this much every hour [kWh].
PER_HOUR_KWH = 10.0
FIELDS = "start end period importKwh exportKwh consumptionKwh coverage gridRevenue { amount }"


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def _rome(client, admin) -> dict:
    """A Rome site whose grid meter's register grows 10 kWh an hour, read on every hour from
    the day before yesterday's local midnight to now."""
    site = await make_site(client, admin, "Roma", timezone=ROME)
    meter = await make_asset(client, admin, site, "Grid meter", "grid_connection")
    now = now_ms()
    today = local_midnight_ms(ROME, now)
    yesterday = local_midnight_ms(ROME, today - HOUR_MS)
    first = local_midnight_ms(ROME, yesterday - HOUR_MS)
    readings = [
        {"asset": meter, "metric": "energy_kwh", "ts": ts, "value": (ts - first) / HOUR_MS * 10}
        for ts in range(first, now, HOUR_MS)
    ]
    await ingest(client, admin, readings)
    return {"site": site, "today": today, "yesterday": yesterday}


async def test_yesterday_by_name_and_by_start_end_equal_the_kpi_api(client, admin):
    rome = await _rome(client, admin)
    hours = (rome["today"] - rome["yesterday"]) / HOUR_MS  # 23 or 25 on clock-change days
    span = {"start": iso(rome["yesterday"]), "end": iso(rome["today"])}
    query = (
        "query($id: Int!, $start: String, $end: String) { site(id: $id) { "
        f'named: kpis(period: "yesterday") {{ {FIELDS} }} '
        f"given: kpis(start: $start, end: $end) {{ {FIELDS} }} }} }}"
    )
    body = await gql(client, admin, query, {"id": rome["site"], **span})
    assert "errors" not in body, body
    named, given = body["data"]["site"]["named"], body["data"]["site"]["given"]
    assert named["importKwh"] == pytest.approx(PER_HOUR_KWH * hours)  # by hand
    assert named["period"] == "yesterday" and given["period"] is None
    assert named["start"].startswith(iso_day(rome["yesterday"]))
    assert named["start"].endswith(("+01:00", "+02:00"))  # Rome's wall clock
    assert {k: v for k, v in named.items() if k != "period"} == {
        k: v for k, v in given.items() if k != "period"
    }
    rest = await client.get("/api/v1/kpis", params={"site": rome["site"], **span}, headers=admin)
    assert rest.status_code == 200, rest.text
    kpis = rest.json()["kpis"]
    assert named["importKwh"] == round(kpis["balance"]["import_kwh"], 3)
    assert named["consumptionKwh"] == round(kpis["balance"]["consumption_kwh"], 3)
    assert named["coverage"] == 1.0


def iso_day(ms: int) -> str:
    """The local date in Rome of ``ms``."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(ROME)).date().isoformat()


async def test_today_by_name_and_by_default_equal_site_today(client, admin):
    rome = await _rome(client, admin)
    figures = (
        "importKwh exportKwh generationKwh consumptionKwh chargeKwh dischargeKwh coverage "
        "flaggedIntervals selfSufficiency start gridRevenue { amount currency }"
    )
    query = (
        f"query($id: Int!) {{ site(id: $id) {{ today {{ {figures} }} "
        f'named: kpis(period: "today") {{ {figures} period }} '
        f"plain: kpis {{ {figures} period }} "
        f'month: kpis(period: "this_month") {{ importKwh start }} }} }}'
    )
    body = await gql(client, admin, query, {"id": rome["site"]})
    assert "errors" not in body, body
    site = body["data"]["site"]
    for shown in (site["named"], site["plain"]):
        assert shown.pop("period") == "today"
        assert shown == site["today"]
    assert site["today"]["importKwh"] > 0
    month = site["month"]
    assert month["start"][8:10] == "01"  # the 1st of the local month
    assert month["importKwh"] >= site["today"]["importKwh"]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ('period: "fortnight"', "unknown period 'fortnight': use one of last_hour"),
        ('period: "last_400_days"', "a period counts 1 to 366 hours or days"),
        ('period: "today", start: "2026-01-01T00:00:00Z"', "give either period or start and end"),
        ('start: "yesterday-ish"', "timestamp 'yesterday-ish' is not ISO-8601 or epoch ms"),
        ('start: "2026-01-02T00:00:00Z", end: "2026-01-01T00:00:00Z"', "end must be after start"),
        ('start: "2999-01-01T00:00:00Z", end: "2999-01-02T00:00:00Z"', "must start before now"),
        ('start: "2020-01-01T00:00:00Z", end: "2022-01-01T00:00:00Z"', "at most 400 days"),
    ],
)
async def test_a_bad_period_is_a_clear_error_on_the_field(client, admin, arguments, said):
    site = await make_site(client, admin, "Roma", timezone=ROME)
    body = await gql(
        client, admin, f"{{ site(id: {site}) {{ name kpis({arguments}) {{ start }} }} }}"
    )
    assert body["data"]["site"] == {"name": "Roma", "kpis": None}
    error = body["errors"][0]
    assert error["extensions"]["code"] == "validation_failed", error
    assert error["path"] == ["site", "kpis"]
    assert said in error["message"]


async def test_another_sites_kpis_are_never_reached(client, admin, auth_headers):
    rome = await _rome(client, admin)
    other = await make_site(client, admin, "Elsewhere", timezone="UTC")
    viewer = await auth_headers(Role.VIEWER, sites=[other])
    body = await gql(client, viewer, '{ sites { id kpis(period: "yesterday") { period } } }')
    assert body["data"]["sites"] == [{"id": other, "kpis": {"period": "yesterday"}}]
    refused = await gql(
        client, viewer, f"{{ site(id: {rome['site']}) {{ kpis {{ importKwh }} }} }}"
    )
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "not_found"
