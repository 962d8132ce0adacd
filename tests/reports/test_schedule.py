"""The scheduler (both back ends): a due daily report runs once, the latest missed period is
caught up once, and two processes never run the same period twice."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select, update
from tests.reports.report_data import ROME, define, make_plant

from gridpilot.reports.models import ReportDefinition, ReportFile, ReportRun
from gridpilot.reports.periods import SETTLE_MS
from gridpilot.reports.tasks import ReportsRuntime


def ms(*fields: int) -> int:
    return int(datetime(*fields, tzinfo=ROME).timestamp() * 1000)


@pytest.fixture
async def daily(app, client, sessions, auth_headers):
    """A daily report whose first run was due after 28 March (as if the server had been off
    since): ``next_run_ms`` set back to then."""
    plant = await make_plant(app, client, sessions, auth_headers)
    report = await define(client, plant.admin, plant.site_id, schedule="daily")
    assert report["next_run"] is not None
    async with sessions() as session, session.begin():
        await session.execute(
            update(ReportDefinition)
            .where(ReportDefinition.id == report["id"])
            .values(next_run_ms=ms(2026, 3, 29) + SETTLE_MS)
        )
    return report


async def runs(sessions) -> list[ReportRun]:
    async with sessions() as session:
        return list(await session.scalars(select(ReportRun).order_by(ReportRun.id)))


async def test_missed_days_are_caught_up_once_with_the_latest_day(app, sessions, daily):
    runtime = ReportsRuntime(app.state.settings, sessions)
    now = ms(2026, 3, 31, 0, 20)  # the 28th, 29th and 30th are due; only the 30th is run
    made = await runtime.step(now)
    assert len(made) == 1
    [run] = await runs(sessions)
    assert (run.start_ms, run.end_ms) == (ms(2026, 3, 30), ms(2026, 3, 31))
    assert run.trigger == "scheduled" and run.status == "done", run.error
    assert run.schedule_key == f"{daily['id']}:{ms(2026, 3, 30)}"
    async with sessions() as session:
        definition = await session.get(ReportDefinition, daily["id"])
        files = list(await session.scalars(select(ReportFile.format).order_by(ReportFile.format)))
    assert definition.next_run_ms == ms(2026, 4, 1) + SETTLE_MS
    assert files == ["csv", "pdf"]
    assert await runtime.step(now + 60_000) == []  # nothing more is due
    assert len(await runs(sessions)) == 1


async def test_two_processes_never_run_the_same_period_twice(app, sessions, daily):
    first = ReportsRuntime(app.state.settings, sessions)
    second = ReportsRuntime(app.state.settings, sessions)
    now = ms(2026, 3, 31, 0, 20)
    made = await asyncio.gather(first.step(now), second.step(now))
    assert sorted(len(m) for m in made) == [0, 1]
    # a process that read the old due time before the claim moved it: the CAS passes again
    # but the run row of that period exists, so nothing is run
    async with sessions() as session, session.begin():
        await session.execute(
            update(ReportDefinition)
            .where(ReportDefinition.id == daily["id"])
            .values(next_run_ms=ms(2026, 3, 31))
        )
    assert await second.step(now) == []
    assert len(await runs(sessions)) == 1


async def test_runs_past_the_retention_are_pruned(app, sessions, daily):
    runtime = ReportsRuntime(app.state.settings, sessions)
    await runtime.step(ms(2026, 3, 31, 0, 20))
    retention = app.state.settings.reports_retention_days
    later = ms(2026, 3, 31, 0, 20) + int(retention * 86_400_000) + 1
    async with sessions() as session, session.begin():
        await session.execute(update(ReportDefinition).values(enabled=False, next_run_ms=None))
    await runtime.step(later)
    assert await runs(sessions) == []
    async with sessions() as session:
        assert list(await session.scalars(select(ReportFile.id))) == []


async def test_the_march_run_of_a_monthly_report_in_rome_covers_743_hours(
    app, client, sessions, auth_headers
):
    plant = await make_plant(app, client, sessions, auth_headers)
    report = await define(client, plant.admin, plant.site_id, schedule="monthly")
    async with sessions() as session, session.begin():
        await session.execute(
            update(ReportDefinition)
            .where(ReportDefinition.id == report["id"])
            .values(next_run_ms=ms(2026, 4, 1) + SETTLE_MS)
        )
    runtime = ReportsRuntime(app.state.settings, sessions)
    [run_id] = await runtime.step(ms(2026, 4, 1, 0, 15))
    got = await client.get(f"/api/v1/reports/runs/{run_id}", headers=plant.admin)
    assert got.json()["hours"] == 743.0
    assert got.json()["start"] == "2026-02-28T23:00:00Z"  # 1 March 00:00 +01:00
    assert got.json()["end"] == "2026-03-31T22:00:00Z"  # 1 April 00:00 +02:00
