"""Reports on a device group (#22 item 1, both back ends): the site energy report over the sites
of the group's members, per site and in total, equal to the KPI API of each site; exactly one
target (422 otherwise); RBAC through the members' sites (403 ``group_out_of_scope`` when some are
out of scope); a run keeps the sites it read; the scheduler runs group reports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from tests.reports.pdf_text import pdf_strings
from tests.reports.report_data import END, START, make_plant, run

from gridpilot.auth.permissions import Role
from gridpilot.reports.document import fmt
from gridpilot.reports.models import ReportDefinition, ReportRun, ReportRunSite
from gridpilot.reports.periods import SETTLE_MS
from gridpilot.reports.tasks import ReportsRuntime


@pytest.fixture
async def fleet(app, client, sessions, auth_headers):
    """Two Rome sites of three consumers each (``report_data``), a third site elsewhere, and a
    static group of Line 1 of the first site and Line 2 of the second."""
    first = await make_plant(app, client, sessions, auth_headers, "Roma Nord")
    second = await make_plant(app, client, sessions, auth_headers, "Roma Sud")
    admin = first.admin
    other = await client.post(
        "/api/v1/sites", json={"name": "Lisboa", "timezone": "Europe/Lisbon"}, headers=admin
    )
    group = await client.post(
        "/api/v1/groups",
        json={"name": "Lines", "kind": "static",
              "asset_ids": [first.consumers[0], second.consumers[1]]},
        headers=admin,
    )  # fmt: skip
    assert group.status_code == 201, group.text
    return {
        "admin": admin, "first": first, "second": second, "other": other.json()["id"],
        "group": group.json()["id"],
    }  # fmt: skip


async def define_group(client, headers, group_id: int, **fields):
    body = {"group_id": group_id, "name": "Lines energy", "kind": "site_energy", **fields}
    return await client.post("/api/v1/reports", json=body, headers=headers)


def csv_blocks(data: bytes) -> tuple[dict[str, str], dict[str, list[list[str]]], list[list[str]]]:
    """(figures ``key -> value``, tables ``key -> rows`` (header first), all rows)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    figures: dict[str, str] = {}
    tables: dict[str, list[list[str]]] = {}
    current = None
    for row in rows[rows.index(["section", "key", "label", "value", "unit"]) + 1 :]:
        if not row:
            current = None
        elif row[0] == "# table":
            current = tables.setdefault(row[1], [])
        elif row[0] == "# note":
            current = None
        elif current is not None:
            current.append(row)
        elif row[0] != "# note":
            figures[row[1]] = row[3]
    return figures, tables, rows


async def test_the_group_report_has_each_site_and_their_total(client, fleet):
    admin = fleet["admin"]
    made = await define_group(client, admin, fleet["group"])
    assert made.status_code == 201, made.text
    report = made.json()
    assert (report["site_id"], report["group_id"], report["timezone"]) == (
        None, fleet["group"], "Europe/Rome",
    )  # fmt: skip
    done = await run(client, admin, report["id"], start=START, end=END)
    assert done["status"] == "done", done["error"]
    assert done["group_id"] == fleet["group"] and done["site_id"] is None
    assert done["site_ids"] == sorted([fleet["first"].site_id, fleet["second"].site_id])
    got = await client.get(f"/api/v1/reports/runs/{done['id']}/files/csv", headers=admin)
    figures, tables, rows = csv_blocks(got.content)
    assert rows[1] == ["group", "Lines (2 sites)"]
    sites = {r[0]: r for r in tables["sites"][1:]}
    assert tables["sites"][0][:3] == ["Site", "Consumption [kWh]", "Import [kWh]"]
    costs = Decimal(0)
    for plant, name in ((fleet["first"], "Roma Nord"), (fleet["second"], "Roma Sud")):
        kpis = await client.get(
            "/api/v1/kpis",
            params={"site": plant.site_id, "start": START, "end": END, "interval": "15m"},
            headers=admin,
        )
        k = kpis.json()["kpis"]
        row = sites[name]
        assert row[1] == fmt(k["energy_kwh"]["value"], 1) == "2292.0"
        assert row[5] == fmt(k["peak_demand_kw"]["value"], 2) == "60.00"
        assert row[6] == "2026-03-28 08:00 +01:00"
        assert row[7] == fmt(k["load_factor"]["value"], 3)
        assert row[9] == f"{k['cost']['value']:.2f}" == "498.54"
        costs += Decimal(row[9])
    # the total: the sites' sums; both sites peak together at 60 kW each
    assert figures["energy_kwh"] == "4584.0"
    assert figures["cost"] == str(costs) == "997.08"
    assert figures["peak_demand_kw"] == "120.00"
    assert figures["peak_at"] == "2026-03-28 08:00 +01:00"
    assert figures["sites"] == "2" and figures["members"] == "2"
    assert [r[1] for r in tables["daily_trend"][1:]] == ["1536.0", "1512.0", "1536.0"]
    assert sorted(r[0] for r in tables["members"][1:]) == ["Line 1", "Line 2"]
    top = tables["top_consumers"][1:]
    assert [(r[0], r[1]) for r in top[:2]] == [("Line 3", "Roma Nord"), ("Line 3", "Roma Sud")]
    pdf = await client.get(f"/api/v1/reports/runs/{done['id']}/files/pdf", headers=admin)
    shown = pdf_strings(pdf.content)
    assert "Group Lines (2 sites) · Europe/Rome" in shown
    assert shown[shown.index("Consumption") + 1] == "4,584.0 kWh"
    assert shown[shown.index("Cost of grid import") + 1] == "997.08 EUR"
    name = pdf.headers["content-disposition"]
    assert name.startswith('attachment; filename="site-energy-lines-2026-03-28-run')


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"site_id": 1, "group_id": 1}, "validation_failed"),
        ({}, "validation_failed"),
        ({"site_id": 1, "timezone": "UTC"}, "validation_failed"),
        ({"group_id": 1, "site_id": 1, "community_id": 1}, "validation_failed"),
    ],
)
async def test_a_report_has_exactly_one_target(client, fleet, body, code):
    answer = await client.post(
        "/api/v1/reports",
        json={"name": "x", "kind": "site_energy", **body},
        headers=fleet["admin"],
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == code
    assert "exactly one of site_id, group_id or community_id" in answer.text or (
        "timezone is for group reports" in answer.text
    )


async def test_group_reports_refuse_what_they_cannot_do(client, fleet):
    admin = fleet["admin"]
    wrong_kind = await define_group(client, admin, fleet["group"], kind="iso50001",
                                    params={"baseline_id": 1})  # fmt: skip
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["error"] == "report_target_unsupported"
    bad_zone = await define_group(client, admin, fleet["group"], timezone="Mars/Olympus")
    assert bad_zone.status_code == 422
    # a group over two time zones needs one named
    lisbon = await client.post(
        "/api/v1/assets",
        json={"site_id": fleet["other"], "name": "Porto", "kind": "machine", "role": "consumer"},
        headers=admin,
    )
    mixed = await client.post(
        "/api/v1/groups",
        json={"name": "Mixed", "kind": "static",
              "asset_ids": [fleet["first"].consumers[0], lisbon.json()["id"]]},
        headers=admin,
    )  # fmt: skip
    refused = await define_group(client, admin, mixed.json()["id"])
    assert refused.status_code == 422
    assert refused.json()["error"] == "report_timezone_required"
    named = await define_group(client, admin, mixed.json()["id"], timezone="Europe/Lisbon")
    assert named.status_code == 201 and named.json()["timezone"] == "Europe/Lisbon"
    missing = await define_group(client, admin, 999_999)
    assert missing.status_code == 404
    # the group cannot go while a report is of it
    gone = await client.delete(f"/api/v1/groups/{mixed.json()['id']}", headers=admin)
    assert gone.status_code == 409


async def test_rbac_follows_the_sites_of_the_members(client, auth_headers, make_user, fleet):
    admin, first, second = fleet["admin"], fleet["first"], fleet["second"]
    report = (await define_group(client, admin, fleet["group"], formats=["csv"])).json()
    done = await run(client, admin, report["id"], start=START, end=END)
    both = await auth_headers(Role.VIEWER, sites=[first.site_id, second.site_id])
    part = await auth_headers(Role.VIEWER, sites=[first.site_id])
    outsider = await auth_headers(Role.VIEWER, sites=[fleet["other"]])
    paths = (
        f"/api/v1/reports/{report['id']}",
        f"/api/v1/reports/runs/{done['id']}",
        f"/api/v1/reports/runs/{done['id']}/files/csv",
    )
    for path in paths:
        assert (await client.get(path, headers=both)).status_code == 200, path
        refused = await client.get(path, headers=part)
        assert refused.status_code == 403, path
        assert refused.json()["error"] == "group_out_of_scope"
        assert (await client.get(path, headers=outsider)).status_code == 404, path
    for headers, seen in ((both, [report["id"]]), (part, []), (outsider, [])):
        listed = (await client.get("/api/v1/reports", headers=headers)).json()
        assert [r["id"] for r in listed] == seen
        runs = (await client.get("/api/v1/reports/runs", headers=headers)).json()
        assert [r["id"] for r in runs] == ([done["id"]] if seen else [])
    # an operator of one of the two sites can neither define nor run it
    operator = await auth_headers(Role.OPERATOR, sites=[first.site_id])
    made = await define_group(client, operator, fleet["group"])
    assert made.status_code == 403 and made.json()["error"] == "group_out_of_scope"
    ran = await client.post(f"/api/v1/reports/{report['id']}/run", headers=operator)
    assert ran.status_code == 403
    # recipients must see every site of the group
    half = await make_user("half@example.test", Role.VIEWER, sites=[first.site_id])
    whole = await make_user("whole@example.test", Role.VIEWER,
                            sites=[first.site_id, second.site_id])  # fmt: skip
    path = f"/api/v1/reports/{report['id']}"
    refused = await client.patch(path, json={"recipients": [half.id]}, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"] == "recipient_not_allowed"
    accepted = await client.patch(path, json={"recipients": [whole.id]}, headers=admin)
    assert accepted.status_code == 200, accepted.text


async def test_a_run_keeps_the_sites_it_read(client, auth_headers, fleet):
    """The group shrinks to the first site: the old run still needs both sites, the new one
    only the first."""
    admin, first = fleet["admin"], fleet["first"]
    report = (await define_group(client, admin, fleet["group"], formats=["csv"])).json()
    before = await run(client, admin, report["id"], start=START, end=END)
    shrunk = await client.patch(
        f"/api/v1/groups/{fleet['group']}", json={"asset_ids": [first.consumers[0]]},
        headers=admin,
    )  # fmt: skip
    assert shrunk.status_code == 200, shrunk.text
    after = await run(client, admin, report["id"], start=START, end=END)
    assert after["site_ids"] == [first.site_id]
    viewer = await auth_headers(Role.VIEWER, sites=[first.site_id])
    assert (
        await client.get(f"/api/v1/reports/runs/{before['id']}", headers=viewer)
    ).status_code == 403
    assert (
        await client.get(f"/api/v1/reports/runs/{after['id']}", headers=viewer)
    ).status_code == 200
    listed = (await client.get("/api/v1/reports/runs", headers=viewer)).json()
    assert [r["id"] for r in listed] == [after["id"]]
    body = (await client.get(after["files"][0]["url"], headers=viewer)).content
    figures, _, _ = csv_blocks(body)
    assert figures["energy_kwh"] == "2292.0" and figures["sites"] == "1"


async def test_the_scheduler_runs_a_group_report_once(app, client, sessions, fleet):
    made = await define_group(client, fleet["admin"], fleet["group"], schedule="daily")
    report = made.json()
    due = START + 86_400_000 + SETTLE_MS  # the 28th is due
    async with sessions() as session, session.begin():
        await session.execute(
            update(ReportDefinition)
            .where(ReportDefinition.id == report["id"])
            .values(next_run_ms=due)
        )
    runtime = ReportsRuntime(app.state.settings, sessions)
    made_runs = await runtime.step(due + 60_000)
    assert len(made_runs) == 1
    assert await runtime.step(due + 120_000) == []
    async with sessions() as session:
        found = (await session.scalars(select(ReportRun))).all()
        read = (await session.scalars(select(ReportRunSite.site_id).order_by("site_id"))).all()
    [scheduled] = found
    assert scheduled.status == "done", scheduled.error
    assert (scheduled.start_ms, scheduled.end_ms) == (START, START + 86_400_000)
    assert scheduled.group_id == fleet["group"]
    assert list(read) == sorted([fleet["first"].site_id, fleet["second"].site_id])
