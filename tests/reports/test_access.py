"""Who sees which report (both back ends): viewers see their sites' reports only, files are not
served across sites, recipients must be allowed to see the site; bad input is a clear 4xx."""

from __future__ import annotations

import pytest
from tests.reports.report_data import END, START, define, make_plant, run

from gridpilot.auth.permissions import Role


@pytest.fixture
async def two_sites(app, client, sessions, auth_headers):
    rome = await make_plant(app, client, sessions, auth_headers)
    other = await client.post(
        "/api/v1/sites", json={"name": "Other", "timezone": "UTC"}, headers=rome.admin
    )
    report = await define(client, rome.admin, rome.site_id, formats=["csv"])
    done = await run(client, rome.admin, report["id"], start=START, end=END)
    return rome, other.json()["id"], report, done


async def test_viewers_see_the_reports_of_their_sites_only(client, auth_headers, two_sites):
    rome, other_id, report, done = two_sites
    outsider = await auth_headers(Role.VIEWER, sites=[other_id])
    insider = await auth_headers(Role.VIEWER, sites=[rome.site_id])
    listed = await client.get("/api/v1/reports", headers=outsider)
    assert listed.status_code == 200 and listed.json() == []
    assert (await client.get("/api/v1/reports/runs", headers=outsider)).json() == []
    for path in (
        f"/api/v1/reports/{report['id']}",
        f"/api/v1/reports/runs/{done['id']}",
        f"/api/v1/reports/runs/{done['id']}/files/csv",
    ):
        refused = await client.get(path, headers=outsider)
        assert refused.status_code == 404, path
        assert refused.json()["error"] == "not_found"
        assert (await client.get(path, headers=insider)).status_code == 200, path
    assert [r["id"] for r in (await client.get("/api/v1/reports", headers=insider)).json()] == [
        report["id"]
    ]
    # a viewer reads but does not define or run
    body = {"site_id": rome.site_id, "name": "x", "kind": "site_energy"}
    assert (await client.post("/api/v1/reports", json=body, headers=insider)).status_code == 403
    ran = await client.post(f"/api/v1/reports/{report['id']}/run", headers=insider)
    assert ran.status_code == 403
    # an operator of the other site cannot run or change this one
    operator = await auth_headers(Role.OPERATOR, sites=[other_id])
    ran = await client.post(f"/api/v1/reports/{report['id']}/run", headers=operator)
    assert ran.status_code == 404
    changed = await client.patch(
        f"/api/v1/reports/{report['id']}", json={"name": "mine"}, headers=operator
    )
    assert changed.status_code == 404


async def test_recipients_must_be_users_allowed_to_see_the_site(client, make_user, two_sites):
    rome, other_id, report, _ = two_sites
    elsewhere = await make_user("eve@example.test", Role.VIEWER, sites=[other_id])
    nameless = await make_user("bob", Role.VIEWER, sites=[rome.site_id])
    allowed = await make_user("ann@example.test", Role.VIEWER, sites=[rome.site_id])
    path = f"/api/v1/reports/{report['id']}"
    for user_id, code in (
        (elsewhere.id, "recipient_not_allowed"),
        (999_999, "recipient_not_allowed"),
        (nameless.id, "recipient_without_email"),
    ):
        refused = await client.patch(path, json={"recipients": [user_id]}, headers=rome.admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == code
    accepted = await client.patch(path, json={"recipients": [allowed.id]}, headers=rome.admin)
    assert accepted.status_code == 200 and accepted.json()["recipients"] == [allowed.id]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"kind": "nonsense"}, "unknown_report_kind"),
        ({"params": {"top_consumers": 0}}, "validation_failed"),
        ({"params": {"colour": "red"}}, "validation_failed"),
        ({"schedule": "hourly"}, "validation_failed"),
        ({"formats": ["docx"]}, "validation_failed"),
        ({"kind": "iso50001", "params": {"baseline_id": 12345}}, "not_found"),
    ],
)
async def test_bad_definitions_are_refused_with_a_code(client, two_sites, change, code):
    rome, *_ = two_sites
    body = {"site_id": rome.site_id, "name": "Bad", "kind": "site_energy", **change}
    refused = await client.post("/api/v1/reports", json=body, headers=rome.admin)
    assert 400 <= refused.status_code < 500, refused.text
    assert refused.json()["error"] == code


async def test_bad_run_periods_are_refused_with_a_code(client, two_sites):
    rome, _, report, _ = two_sites
    path = f"/api/v1/reports/{report['id']}/run"
    for body in ({"start": END, "end": START}, {"start": 0, "end": 500 * 86_400_000}):
        refused = await client.post(path, json=body, headers=rome.admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "report_period_invalid"
    bad = await client.post(path, json={"start": "yesterday"}, headers=rome.admin)
    assert bad.status_code == 422
