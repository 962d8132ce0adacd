"""Scheduled commands (both back ends): local time across the Rome clock changes, missed runs by
policy, one run per occurrence across two runtimes, per-device outcomes, clear 422 codes.

The runtime is driven by ``step(now_ms)``; a schedule's first due time is set back in time in
the database (as if the server had been off since), as in ``tests/reports/test_schedule.py``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select, update
from tests.groups.fleet_data import make_fleet, make_group

from gridpilot.control import service as control
from gridpilot.scheduling.models import CommandSchedule, CommandScheduleRun
from gridpilot.scheduling.tasks import ScheduleRuntime


def utc(*fields: int) -> int:
    return int(datetime(*fields, tzinfo=UTC).timestamp() * 1000)


async def schedule(client, headers, **body) -> dict:
    made = await client.post("/api/v1/command-schedules", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def due_at(sessions, schedule_id: int, at_ms: int) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(CommandSchedule)
            .where(CommandSchedule.id == schedule_id)
            .values(next_run_ms=at_ms)
        )


async def runs_of(sessions, schedule_id: int) -> list[CommandScheduleRun]:
    async with sessions() as session:
        query = (
            select(CommandScheduleRun)
            .where(CommandScheduleRun.schedule_id == schedule_id)
            .order_by(CommandScheduleRun.occurrence_ms)
        )
        return list(await session.scalars(query))


async def next_run(sessions, schedule_id: int) -> int | None:
    async with sessions() as session:
        return (await session.get(CommandSchedule, schedule_id)).next_run_ms


async def test_daily_0230_in_rome_across_the_march_change(app, client, sessions, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    made = await schedule(
        client, fleet.admin, name="night stop", asset_id=fleet.assets["b1"], kind="stop",
        cron="30 2 * * *",
    )  # fmt: skip
    assert made["timezone"] == "Europe/Rome"  # the site's zone
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    await due_at(sessions, made["id"], utc(2026, 3, 28, 1, 30))
    # each round 5 s after the due time runs it and moves to the next local 02:30
    expected = [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    for occurrence in expected:
        assert await runtime.step(occurrence - 1_000) == []  # not yet
        assert len(await runtime.step(occurrence + 5_000)) == 1
    assert await next_run(sessions, made["id"]) == utc(2026, 3, 31, 0, 30)
    runs = await runs_of(sessions, made["id"])
    assert [r.occurrence_ms for r in runs] == expected
    assert {(r.trigger, r.status, r.queued) for r in runs} == {("on_time", "done", 1)}


async def test_daily_0230_in_rome_across_the_october_change_runs_once(
    app, client, sessions, auth_headers
):
    fleet = await make_fleet(client, auth_headers)
    made = await schedule(
        client, fleet.admin, name="night stop", asset_id=fleet.assets["b1"], kind="stop",
        cron="30 2 * * *",
    )  # fmt: skip
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    await due_at(sessions, made["id"], utc(2026, 10, 25, 0, 30))  # 02:30 +02:00
    assert len(await runtime.step(utc(2026, 10, 25, 0, 30, 5))) == 1
    assert await next_run(sessions, made["id"]) == utc(2026, 10, 26, 1, 30)  # 02:30 +01:00
    # 02:30 +01:00 of the same night (the second 02:30): nothing is due
    assert await runtime.step(utc(2026, 10, 25, 1, 30, 5)) == []
    assert len(await runs_of(sessions, made["id"])) == 1


async def test_a_missed_occurrence_runs_once_or_is_skipped_by_policy(
    app, client, sessions, auth_headers
):
    fleet = await make_fleet(client, auth_headers)
    once = await schedule(
        client, fleet.admin, name="once", asset_id=fleet.assets["b1"], kind="stop",
        cron="30 2 * * *", missed_policy="run_once",
    )  # fmt: skip
    skip = await schedule(
        client, fleet.admin, name="skip", asset_id=fleet.assets["b2"], kind="stop",
        cron="30 2 * * *", missed_policy="skip",
    )  # fmt: skip
    for made in (once, skip):
        await due_at(sessions, made["id"], utc(2026, 3, 28, 1, 30))
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    # down from 27 March to 31 March 08:00 UTC: 28, 29, 30 and 31 March were missed
    assert len(await runtime.step(utc(2026, 3, 31, 8))) == 2
    [caught] = await runs_of(sessions, once["id"])
    assert (caught.trigger, caught.status, caught.queued) == ("catch_up", "done", 1)
    assert caught.occurrence_ms == utc(2026, 3, 31, 0, 30)  # the latest missed, once
    [skipped] = await runs_of(sessions, skip["id"])
    assert (skipped.trigger, skipped.status, skipped.queued) == ("skipped", "skipped", 0)
    async with sessions() as session:
        assert await control.list_commands(session=session, asset_id=fleet.assets["b2"]) == []
    for made in (once, skip):
        assert await next_run(sessions, made["id"]) == utc(2026, 4, 1, 0, 30)
    listed = await client.get(f"/api/v1/command-schedules/{skip['id']}/runs", headers=fleet.admin)
    assert [r["trigger"] for r in listed.json()] == ["skipped"]


async def test_two_runtimes_never_run_one_occurrence_twice(app, client, sessions, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    group = await make_group(
        client, fleet.admin, name="batteries", kind="dynamic", filter={"kinds": ["battery"]}
    )
    made = await schedule(
        client, fleet.admin, name="charge", group_id=group["id"], kind="charge",
        params={"power_kw": 20}, cron="0 6 * * *", timezone="Europe/Rome",
    )  # fmt: skip
    due = utc(2026, 6, 1, 4)  # 06:00 +02:00
    await due_at(sessions, made["id"], due)
    first = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    second = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    made_runs = await asyncio.gather(first.step(due + 1_000), second.step(due + 1_000))
    assert sorted(len(m) for m in made_runs) == [0, 1]
    # a process that read the old due time before the claim moved it: the run row stops it
    await due_at(sessions, made["id"], due)
    assert await second.step(due + 2_000) == []
    [run] = await runs_of(sessions, made["id"])
    assert (run.targets, run.queued, run.rejected) == (3, 3, 0)
    async with sessions() as session:
        for key in ("b1", "b2", "b3"):
            commands = await control.list_commands(session=session, asset_id=fleet.assets[key])
            assert [c.idempotency_key for c in commands] == [f"schedule:{made['id']}:{due}"]


async def test_run_outcomes_per_device_follow_the_commands(app, client, sessions, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    group = await make_group(
        client, fleet.admin, name="rome", kind="static", asset_ids=[a["b1"], a["i1"]]
    )
    made = await schedule(
        client, fleet.admin, name="charge", group_id=group["id"], kind="charge",
        params={"power_kw": 20}, cron="*/15 * * * *",
    )  # fmt: skip
    assert made["timezone"] == "Europe/Rome"  # the group's one zone
    await due_at(sessions, made["id"], utc(2026, 6, 1, 4))
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    [run_id] = await runtime.step(utc(2026, 6, 1, 4, 0, 2))
    url = f"/api/v1/command-schedules/{made['id']}/runs/{run_id}"
    detail = (await client.get(url, headers=fleet.admin)).json()
    assert (detail["targets"], detail["queued"], detail["rejected"]) == (2, 1, 1)
    battery, inverter = detail["outcomes"]
    assert battery["asset_id"] == a["b1"] and battery["state"] == "queued"
    assert inverter["asset_id"] == a["i1"] and inverter["command_id"] is None
    assert inverter["error"] == "validation_failed"  # an inverter cannot charge
    async with sessions() as session, session.begin():  # the device acknowledges success
        await control.transition(
            session=session, command_id=battery["command_id"], to="succeeded",
            at_ms=utc(2026, 6, 1, 4, 0, 3), actor="test",
        )  # fmt: skip
    detail = (await client.get(url, headers=fleet.admin)).json()
    assert detail["outcomes"][0]["state"] == "succeeded"
    assert detail["states"] == {"succeeded": 1, "rejected": 1}


async def test_enable_disable_and_upcoming(app, client, sessions, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    made = await schedule(
        client, fleet.admin, name="noon", asset_id=fleet.assets["b1"], kind="stop",
        cron="0 12 * * *",
    )  # fmt: skip
    assert made["next_run_local"].endswith(("T12:00:00+01:00", "T12:00:00+02:00"))
    off = await client.patch(
        f"/api/v1/command-schedules/{made['id']}", json={"enabled": False}, headers=fleet.admin
    )
    assert off.status_code == 200 and off.json()["next_run"] is None
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    assert await runtime.step(utc(2030, 1, 1)) == []
    on = await client.patch(
        f"/api/v1/command-schedules/{made['id']}", json={"enabled": True}, headers=fleet.admin
    )
    assert on.json()["next_run"] == made["next_run"]
    upcoming = await client.get(
        "/api/v1/command-occurrences",
        params={"from": on.json()["next_run"], "days": 2},
        headers=fleet.admin,
    )
    assert upcoming.status_code == 200, upcoming.text
    listed = upcoming.json()
    assert len(listed) == 2 and all("T12:00:00+0" in u["local"] for u in listed)
    assert listed[0]["at"] == made["next_run"]
    for bad in ({"from": "yesterday"}, {"from": "99999-01-01"}, {"days": 32}):
        refused = await client.get("/api/v1/command-occurrences", params=bad, headers=fleet.admin)
        assert refused.status_code == 422, (bad, refused.text)


async def test_a_one_off_runs_once(app, client, sessions, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    made = await schedule(
        client, fleet.admin, name="once", asset_id=fleet.assets["b1"], kind="stop",
        run_at="2030-01-01T10:00:00+01:00",
    )  # fmt: skip
    assert made["next_run"] == "2030-01-01T09:00:00Z"
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    assert len(await runtime.step(utc(2030, 1, 1, 9, 0, 1))) == 1
    assert await next_run(sessions, made["id"]) is None
    assert await runtime.step(utc(2030, 1, 2)) == []


async def test_clear_refusals(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    base = {"name": "s", "asset_id": a["b1"], "kind": "stop"}
    mixed = await make_group(
        client, fleet.admin, name="mixed", kind="static", asset_ids=[a["b1"], a["b3"]]
    )
    cases = [
        ({**base, "cron": "61 * * * *"}, "cron_invalid"),
        ({**base, "cron": "* * *"}, "cron_invalid"),
        ({**base, "cron": "0 0 30 2 *"}, "cron_invalid"),
        ({**base, "run_at": "2020-01-01T00:00:00Z"}, "schedule_in_past"),
        ({**base, "cron": "0 1 * * *", "run_at": "2030-01-01T00:00:00Z"}, "validation_failed"),
        ({**base, "cron": "0 1 * * *", "timezone": "Mars/Base"}, "validation_failed"),
        ({"name": "g", "group_id": mixed["id"], "kind": "stop", "cron": "0 1 * * *"},
         "schedule_timezone_required"),
        ({**base, "kind": "charge", "params": {"power_kw": -1}, "cron": "0 1 * * *"},
         "validation_failed"),
    ]  # fmt: skip
    for body, code in cases:
        got = await client.post("/api/v1/command-schedules", json=body, headers=fleet.admin)
        assert got.status_code == 422, (body, got.text)
        assert got.json()["error"] == code, (body, got.text)
    named = await schedule(
        client, fleet.admin, name="g", group_id=mixed["id"], kind="stop", cron="0 1 * * *",
        timezone="UTC",
    )  # fmt: skip
    assert named["timezone"] == "UTC"
    in_use = await client.delete(f"/api/v1/groups/{mixed['id']}", headers=fleet.admin)
    assert in_use.status_code == 409 and in_use.json()["error"] == "group_in_use"
    rome_user = await auth_headers("operator", sites=[fleet.rome])
    hidden = await client.get(f"/api/v1/command-schedules/{named['id']}", headers=rome_user)
    assert hidden.status_code == 200  # the group reaches Rome: seen, but not changed
    refused = await client.patch(
        f"/api/v1/command-schedules/{named['id']}", json={"enabled": False}, headers=rome_user
    )
    assert refused.status_code == 403 and refused.json()["error"] == "group_out_of_scope"
    lisbon_only = await schedule(
        client, fleet.admin, name="l", asset_id=a["b3"], kind="stop", cron="0 1 * * *"
    )
    got = await client.get(f"/api/v1/command-schedules/{lisbon_only['id']}", headers=rome_user)
    assert got.status_code == 404
