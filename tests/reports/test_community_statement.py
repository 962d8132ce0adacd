"""Community statements through the report engine (both back ends): each member's monthly
statement from the stored settlement, every amount equal to the API's statement to the cent;
who may see them (the community's admins; a member its own); a month without a settlement
fails with the reason; the period is one calendar month of Rome."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from tests.community.community_data import make_community
from tests.community.conftest import person  # noqa: F401  (fixture)
from tests.community.test_settlements import MONTH, YEAR, settle, settlement_community
from tests.reports.pdf_text import pdf_strings
from tests.reports.report_data import run

from gridpilot.auth.permissions import Role
from gridpilot.reports.periods import month_period

ZONE = "Europe/Rome"


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


@pytest.fixture
async def cer(client, admin, person):  # noqa: F811
    return await settlement_community(client, admin, person)


def api_rows(text: str) -> dict[tuple[str, str], str]:
    return {(r["section"], r["item"]): r["value"] for r in csv.DictReader(io.StringIO(text))}


def report_figures(data: bytes) -> dict[tuple[str, str], str]:
    """``(section, key) -> value`` of the report CSV's figures."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    found = {}
    for row in rows[rows.index(["section", "key", "label", "value", "unit"]) + 1 :]:
        if not row:
            break
        found[(row[0], row[1])] = row[3]
    return found


def report_table(data: bytes, key: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    start = next(i for i, r in enumerate(rows) if r[:2] == ["# table", key])
    out = []
    for row in rows[start + 2 :]:
        if not row or row[0].startswith("#"):
            break
        out.append(row)
    return out


async def define(client, headers, community_id: int, **fields):
    body = {"community_id": community_id, "name": "Statements", "kind": "community_statement",
            **fields}  # fmt: skip
    return await client.post("/api/v1/reports", json=body, headers=headers)


async def test_every_member_statement_equals_the_api(client, admin, cer):
    _, settlement = await settle(client, admin, cer["id"])
    made = await define(client, admin, cer["id"], schedule="monthly")
    assert made.status_code == 201, made.text
    report = made.json()
    assert (report["community_id"], report["timezone"], report["site_id"]) == (
        cer["id"], "Europe/Rome", None,
    )  # fmt: skip
    done = await run(client, admin, report["id"])  # no period: last month, the settled one
    assert done["status"] == "done", done["error"]
    month = month_period(YEAR, MONTH, ZONE)
    assert done["community_id"] == cer["id"]
    urls = {f["format"]: f["url"] for f in done["files"]}
    data = (await client.get(urls["csv"], headers=admin)).content
    figures = report_figures(data)
    base = f"/api/v1/communities/{cer['id']}/settlements/{settlement['id']}/statements"
    names = {"ann": "Ann", "bob": "Bob", "carl": "Carl", "dora": "Dora"}
    totals = Decimal(0)
    for key, member in cer["members"].items():
        api = api_rows((await client.get(f"{base}/{member}.csv", headers=admin)).text)
        section = f"{names[key]} (member {member})"
        for item, api_item in (
            ("total_eur", ("benefit", "total")),
            ("producer_eur", ("benefit", "producer")),
            ("consumer_eur", ("benefit", "consumer")),
            ("excess_eur", ("benefit", "excess_share")),
        ):
            assert figures[(section, item)] == api[api_item], (key, item)
        assert float(figures[(section, "consumption_kwh")]) == float(
            api[("energy", "consumption_in_sharing_hours")]
        )
        totals += Decimal(figures[(section, "total_eur")])
    assert figures[(f"Carl (member {cer['members']['carl']})", "total_eur")] == "15.67"
    community = {k: v for (s, k), v in figures.items() if s == "Community"}
    assert community["gse_estimate_eur"] == settlement["gse_estimate_eur"] == "39.17"
    assert community["members_total_eur"] == str(totals)
    assert totals + Decimal(community["fee_platform_eur"]) + Decimal(
        community["reserve_eur"]
    ) == Decimal("39.17")
    plants = report_table(data, f"plants_{cer['members']['ann']}")
    assert plants == [["IT001E00000001", "400.000", "300.000", "36.00"]]
    members = report_table(data, "members")
    assert [r[-1] for r in members] == [p["total_eur"] for p in settlement["members"]]
    pdf = await client.get(urls["pdf"], headers=admin)
    shown = pdf_strings(pdf.content)
    assert "Community CER SETTLE · Europe/Rome" in shown
    assert "15.67 EUR" in shown
    file_name = pdf.headers["content-disposition"]
    assert f"community-statement-cer-settle-{YEAR:04d}-{MONTH:02d}-01-run" in file_name
    assert (done["start"], done["end"]) != ("", "")
    assert done["hours"] == (month.end_ms - month.start_ms) / 3_600_000


async def test_members_see_their_own_statement_only(client, admin, auth_headers, cer):
    await settle(client, admin, cer["id"])
    bob = cer["members"]["bob"]
    everyone = (await define(client, admin, cer["id"])).json()
    own = (await define(client, admin, cer["id"], params={"member_id": bob})).json()
    mine = await run(client, admin, own["id"])
    assert mine["status"] == "done", mine["error"]
    theirs = await run(client, admin, everyone["id"])
    headers = cer["bob"]  # Bob, a member of the community
    assert (await client.get(f"/api/v1/reports/{own['id']}", headers=headers)).status_code == 200
    for path in (f"/api/v1/reports/{everyone['id']}", f"/api/v1/reports/runs/{theirs['id']}"):
        assert (await client.get(path, headers=headers)).status_code == 404
    csv_url = next(f["url"] for f in mine["files"] if f["format"] == "csv")
    data = (await client.get(csv_url, headers=headers)).content
    sections = {s for s, _ in report_figures(data)}
    assert sections == {f"Bob (member {bob})"}
    assert [r["id"] for r in (await client.get("/api/v1/reports", headers=headers)).json()] == [
        own["id"]
    ]
    listed = (await client.get("/api/v1/reports/runs", headers=headers)).json()
    assert [r["id"] for r in listed] == [mine["id"]]
    # a member neither defines nor runs; a site user outside the community sees nothing
    refused = await define(client, headers, cer["id"])
    assert refused.status_code == 403
    assert (
        await client.post(f"/api/v1/reports/{own['id']}/run", headers=headers)
    ).status_code == 403
    site = await client.post(
        "/api/v1/sites", json={"name": "Outside", "timezone": ZONE}, headers=admin
    )
    outsider = await auth_headers(Role.OPERATOR, sites=[site.json()["id"]])
    assert (await client.get(f"/api/v1/reports/{own['id']}", headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/reports", headers=outsider)).json() == []


async def test_months_without_a_settlement_and_other_periods(client, admin, cer):
    other = await make_community(client, admin, "EMPTY")
    made = (await define(client, admin, other)).json()
    failed = await run(client, admin, made["id"])
    assert failed["status"] == "failed"
    assert "no settlement of" in failed["error"] and "run it first" in failed["error"]
    month = month_period(YEAR, MONTH, ZONE)
    path = f"/api/v1/reports/{made['id']}/run"
    for body in ({"start": month.start_ms, "end": month.end_ms - 3_600_000},
                 {"start": month.start_ms + 86_400_000}):  # fmt: skip
        refused = await client.post(path, json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "report_period_invalid"
    for fields, code in (
        ({"schedule": "weekly"}, "validation_failed"),
        ({"params": {"member_id": 999_999}}, "not_found"),
        ({"kind": "site_energy"}, "report_target_unsupported"),
    ):
        refused = await define(client, admin, cer["id"], **fields)
        assert refused.status_code in (404, 422), refused.text
        assert refused.json()["error"] == code
    missing = await define(client, admin, 999_999)
    assert missing.status_code == 404
