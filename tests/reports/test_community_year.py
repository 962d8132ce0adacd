"""Yearly community statements through the report engine (both back ends): each member's year
equal to ``GET /api/v1/communities/{id}/years/{year}`` to the cent, with their line of each
closed month; drafts not counted (a year with no closed month fails and says so); the period is
one calendar year of Rome; a member reads their own; on demand only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tests.community.conftest import person  # noqa: F401  (fixture)
from tests.community.test_settlements import MONTH, YEAR, settle, settlement_community
from tests.reports.pdf_text import pdf_strings
from tests.reports.report_data import run
from tests.reports.test_community_statement import report_figures, report_table

from gridpilot.auth.permissions import Role
from gridpilot.reports.kinds.community_year import year_period

NAMES = {"ann": "Ann", "bob": "Bob", "carl": "Carl", "dora": "Dora"}


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


@pytest.fixture
async def cer(client, admin, person):  # noqa: F811
    return await settlement_community(client, admin, person)


async def define(client, headers, community_id: int, **fields):
    body = {"community_id": community_id, "name": "Year", "kind": "community_year",
            "schedule": "none", **fields}  # fmt: skip
    return await client.post("/api/v1/reports", json=body, headers=headers)


async def close_month(client, admin, community: int) -> dict:
    _, draft = await settle(client, admin, community)
    path = f"/api/v1/communities/{community}/settlements/{draft['id']}/close"
    closed = await client.post(path, headers=admin)
    assert closed.status_code == 200, closed.text
    return closed.json()


async def test_every_member_year_equals_the_year_api(client, admin, cer):
    settlement = await close_month(client, admin, cer["id"])
    made = await define(client, admin, cer["id"])
    assert made.status_code == 201, made.text
    done = await run(client, admin, made.json()["id"])  # no period: the last whole month's year
    assert done["status"] == "done", done["error"]
    year = year_period(YEAR)
    assert done["hours"] == (year.end_ms - year.start_ms) / 3_600_000  # 8,760 or 8,784 h
    urls = {f["format"]: f["url"] for f in done["files"]}
    data = (await client.get(urls["csv"], headers=admin)).content
    figures = report_figures(data)
    api = (await client.get(f"/api/v1/communities/{cer['id']}/years/{YEAR}", headers=admin)).json()
    assert api["closed_months"] == [MONTH]
    by_id = {m["member_id"]: m for m in api["members"]}
    parts = {p["member_id"]: p for p in settlement["members"]}
    for key, member in cer["members"].items():
        section = f"{NAMES[key]} (member {member})"
        for item in ("producer_eur", "consumer_eur", "excess_eur", "total_eur"):
            assert figures[(section, item)] == by_id[member][item], (key, item)
        assert figures[(section, "months")] == "1"
        months = report_table(data, f"months_{member}")
        assert [(r[0], r[-1]) for r in months] == [(f"{MONTH:02d}", parts[member]["total_eur"])]
    assert figures[(f"Carl (member {cer['members']['carl']})", "total_eur")] == "15.67"
    community = {k: v for (s, k), v in figures.items() if s == "Community"}
    assert community["gse_estimate_eur"] == api["gse_estimate_eur"] == "39.17"
    totals = sum(Decimal(m["total_eur"]) for m in api["members"])
    assert community["members_total_eur"] == str(totals)
    assert report_table(data, "months") == [[f"{MONTH:02d}", "closed", "39.17"]]
    pdf = await client.get(urls["pdf"], headers=admin)
    assert "15.67 EUR" in pdf_strings(pdf.content)
    assert f"community-year-cer-settle-{YEAR:04d}-01-01-run" in pdf.headers["content-disposition"]


async def test_drafts_are_not_counted_and_a_year_without_a_closed_month_fails(client, admin, cer):
    await settle(client, admin, cer["id"])  # a draft only
    made = (await define(client, admin, cer["id"])).json()
    failed = await run(client, admin, made["id"])
    assert failed["status"] == "failed"
    assert f"no month of {YEAR} is closed" in failed["error"]
    await close_month(client, admin, cer["id"])
    done = await run(client, admin, made["id"])
    assert done["status"] == "done", done["error"]


async def test_the_period_is_a_calendar_year_and_the_schedule_on_demand(client, admin, cer):
    made = (await define(client, admin, cer["id"])).json()
    year = year_period(YEAR)
    path = f"/api/v1/reports/{made['id']}/run"
    for body in ({"start": year.start_ms, "end": year.end_ms - 86_400_000},
                 {"start": year.start_ms + 86_400_000}):  # fmt: skip
        refused = await client.post(path, json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "report_period_invalid"
    for fields, code in (
        ({"schedule": "monthly"}, "validation_failed"),
        ({"params": {"member_id": 999_999}}, "not_found"),
    ):
        refused = await define(client, admin, cer["id"], **fields)
        assert refused.status_code in (404, 422), refused.text
        assert refused.json()["error"] == code


async def test_a_member_reads_their_own_year_only(client, admin, cer):
    await close_month(client, admin, cer["id"])
    bob = cer["members"]["bob"]
    everyone = (await define(client, admin, cer["id"])).json()
    own = (await define(client, admin, cer["id"], params={"member_id": bob})).json()
    mine = await run(client, admin, own["id"])
    assert mine["status"] == "done", mine["error"]
    headers = cer["bob"]
    assert (
        await client.get(f"/api/v1/reports/{everyone['id']}", headers=headers)
    ).status_code == 404
    csv_url = next(f["url"] for f in mine["files"] if f["format"] == "csv")
    data = (await client.get(csv_url, headers=headers)).content
    assert {s for s, _ in report_figures(data)} == {f"Bob (member {bob})"}
