"""The DR event report (both back ends): baseline, target and actual per interval, achieved
reduction and performance from the stored event, equal to ``GET /api/v1/dr-events/{id}`` to the
displayed precision; one event over its window, or every event of a month."""

from __future__ import annotations

import csv
import io

import pytest
from tests.dr.dr_data import local_ms, make_site, profile, quarters, store_power
from tests.dr.test_lifecycle import CURTAILED_KW, create, window
from tests.reports.pdf_text import pdf_strings
from tests.reports.report_data import run

from gridpilot.auth.permissions import Role
from gridpilot.dr.tasks import DrRuntime
from gridpilot.reports.document import fmt


@pytest.fixture
async def events(app, client, auth_headers):
    """Offices in Rome: an event on 18 November that curtails nothing (failed) and one on the
    25th that curtails 30 kW against a 25 kW target (completed), run by the DR loop."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site, meter = await make_site(client, admin, "Offices")
    start, end = window(25)
    ts = quarters(local_ms("2026-10-12 00:00"), local_ms("2026-11-26 00:00"))
    load = profile(ts)
    load[(ts >= start) & (ts < end)] -= CURTAILED_KW
    await store_power(app, meter, ts, load)
    plain = await create(client, admin, site, 18, target_kw=20.0)
    curtailing = await create(client, admin, site, 25, target_kw=25.0)
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    for moment in ("2026-11-18 14:20", "2026-11-18 16:00", "2026-11-25 14:20", "2026-11-25 16:05"):
        await runtime.step(local_ms(moment))
    return {"admin": admin, "site": site, "plain": plain, "curtailing": curtailing}


def parse(data: bytes) -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    tables: dict[str, list[list[str]]] = {}
    current = None
    for row in rows:
        if not row:
            current = None
        elif row[0] == "# table":
            current = tables.setdefault(row[1], [])
        elif row[0] == "# note":
            current = None
        elif current is not None:
            current.append(row)
    return rows, tables


async def test_one_event_interval_by_interval_as_the_api(client, events):
    admin = events["admin"]
    body = {"site_id": events["site"], "name": "Event", "kind": "dr_event",
            "params": {"event_id": events["curtailing"]}}  # fmt: skip
    made = await client.post("/api/v1/reports", json=body, headers=admin)
    assert made.status_code == 201, made.text
    done = await run(client, admin, made.json()["id"])  # no period: the event's window
    assert done["status"] == "done", done["error"]
    assert (done["start"], done["end"], done["hours"]) == (
        "2026-11-25T13:00:00Z", "2026-11-25T15:00:00Z", 2.0,
    )  # fmt: skip
    detail = (await client.get(f"/api/v1/dr-events/{events['curtailing']}", headers=admin)).json()
    assert detail["status"] == "completed"
    urls = {f["format"]: f["url"] for f in done["files"]}
    rows, tables = parse((await client.get(urls["csv"], headers=admin)).content)
    figures = {r[1]: r[3] for r in rows if len(r) == 5 and r[0].startswith("Event ")}
    assert figures["status"] == "completed"
    assert figures["target_reduction_kw"] == "25.00"
    assert figures["achieved_reduction_kw"] == fmt(detail["achieved_reduction_kw"], 2)
    assert figures["performance_pct"] == fmt(detail["performance_pct"], 1)
    assert float(figures["performance_pct"]) > 100
    assert figures["intervals_measured"] == "8 of 8"
    intervals = tables[f"intervals_{events['curtailing']}"]
    assert intervals[0] == [
        "Interval", "Baseline [kW]", "Target [kW]", "Actual [kW]", "Reduction [kW]",
        "Performance [%]",
    ]  # fmt: skip
    assert len(intervals) == 9
    assert intervals[1][0] == "2026-11-25T14:00:00+01:00"
    reduction_kwh = 0.0
    for line, api in zip(intervals[1:], detail["intervals"], strict=True):
        keys = ("baseline_kw", "target_kw", "metered_kw", "reduction_kw")
        assert line[1:5] == [fmt(api[k], 2) for k in keys]
        assert line[5] == fmt(100 * api["reduction_kw"] / 25.0, 1)
        reduction_kwh += api["reduction_kw"] * 0.25
    assert figures["reduction_kwh"] == fmt(reduction_kwh, 1)
    pdf = await client.get(urls["pdf"], headers=admin)
    shown = pdf_strings(pdf.content)
    assert shown[shown.index("Performance") + 1] == f"{detail['performance_pct']:,.1f} %"
    assert "Baseline, target and actual load" in shown


async def test_every_event_of_a_month(client, events):
    admin = events["admin"]
    body = {"site_id": events["site"], "name": "DR month", "kind": "dr_event",
            "schedule": "monthly", "formats": ["csv"]}  # fmt: skip
    made = await client.post("/api/v1/reports", json=body, headers=admin)
    assert made.status_code == 201, made.text
    november = (local_ms("2026-11-01 00:00"), local_ms("2026-12-01 00:00"))
    done = await run(client, admin, made.json()["id"], start=november[0], end=november[1])
    assert done["status"] == "done", done["error"]
    rows, tables = parse((await client.get(done["files"][0]["url"], headers=admin)).content)
    summary = {r[1]: r[3] for r in rows if len(r) == 5 and r[0] == "Events of the period"}
    assert (summary["events"], summary["events_completed"], summary["events_failed"]) == (
        "2", "1", "1",
    )  # fmt: skip
    listed = tables["events"][1:]
    assert [r[0] for r in listed] == [str(events["plain"]), str(events["curtailing"])]
    assert [r[3] for r in listed] == ["failed", "completed"]
    for event in (events["plain"], events["curtailing"]):
        assert len(tables[f"intervals_{event}"]) == 9
    judged = [
        (await client.get(f"/api/v1/dr-events/{e}", headers=admin)).json()["performance_pct"]
        for e in (events["plain"], events["curtailing"])
    ]
    assert summary["mean_performance_pct"] == fmt(sum(judged) / 2, 1)


async def test_bad_dr_event_reports_are_refused(client, auth_headers, events):
    admin = events["admin"]
    other, _ = await make_site(client, admin, "Elsewhere")
    for params, schedule, code in (
        ({"event_id": events["curtailing"]}, "monthly", "validation_failed"),
        ({"event_id": 999_999}, "none", "not_found"),
    ):
        body = {"site_id": events["site"], "name": "x", "kind": "dr_event", "params": params,
                "schedule": schedule}  # fmt: skip
        refused = await client.post("/api/v1/reports", json=body, headers=admin)
        assert refused.status_code in (404, 422), refused.text
        assert refused.json()["error"] == code
    body = {"site_id": other, "name": "x", "kind": "dr_event",
            "params": {"event_id": events["curtailing"]}}  # fmt: skip
    refused = await client.post("/api/v1/reports", json=body, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"] == "dr_event_not_on_site"
    # a group report of DR events is not a thing
    kinds = (await client.get("/api/v1/reports/kinds", headers=admin)).json()
    found = {k["name"]: k for k in kinds}
    assert found["dr_event"]["targets"] == ["site"]
    assert found["site_energy"]["targets"] == ["group", "site"]
    assert found["community_statement"]["schedules"] == ["none", "monthly"]
