"""Deleting a device group that alert rules or command schedules use (both back ends): refused
with 409 ``group_in_use`` naming them; ``force=true`` disables them, then deletes the group; a
rule or schedule left without its group cannot be enabled again; firmware roll-outs are not
users (their devices were listed when they started)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import update
from tests.groups.fleet_data import make_fleet, make_group

from gridpilot.alerts import service as alerts
from gridpilot.alerts.schemas import RuleCreate
from gridpilot.alerts.targets import RuleGroupDeleted
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.core import events as catalogue
from gridpilot.groups import service as groups
from gridpilot.groups.events import group_users
from gridpilot.groups.usage import GroupInUse, GroupUse
from gridpilot.scheduling.models import CommandSchedule
from gridpilot.scheduling.tasks import ScheduleRuntime

RULE = {"kind": "threshold", "metric": "power_kw", "params": {"threshold": 10}}


async def _made(client, headers, path: str, body: dict[str, Any]) -> dict[str, Any]:
    made = await client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def _users(client, fleet) -> dict[str, Any]:
    """A dynamic group of the Rome batteries with two rules, a schedule and a roll-out on it."""
    group = await make_group(
        client, fleet.admin, name="Rome batteries", kind="dynamic",
        filter={"kinds": ["battery"], "site_ids": [fleet.rome]},
    )  # fmt: skip
    on_group = {"group_id": group["id"], **RULE}
    hot = await _made(client, fleet.admin, "alert-rules", {"name": "Hot batteries", **on_group})
    idle = await _made(
        client, fleet.admin, "alert-rules", {"name": "Idle", "enabled": False, **on_group}
    )
    night = await _made(client, fleet.admin, "command-schedules", {
        "name": "Night charge", "group_id": group["id"], "kind": "charge",
        "params": {"power_kw": 20}, "cron": "30 2 * * *"})  # fmt: skip
    image = await _made(client, fleet.admin, "firmware/images",
                        {"version": "2.0", "kinds": ["battery"], "sha256": "cd" * 32})  # fmt: skip
    to_2 = {"name": "to 2.0", "image_id": image["id"], "group_id": group["id"]}
    rollout = await _made(client, fleet.admin, "firmware/rollouts", to_2)
    return {"group": group, "hot": hot, "idle": idle, "night": night, "rollout": rollout}


async def test_a_group_in_use_is_refused_naming_its_users(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    made = await _users(client, fleet)
    group, hot, idle, night = made["group"], made["hot"], made["idle"], made["night"]

    refused = await client.delete(f"/api/v1/groups/{group['id']}", headers=fleet.admin)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "group_in_use"
    message = body["message"]
    assert f"group 'Rome batteries' (#{group['id']}) is used by" in message
    for named in (
        f"alert rule 'Hot batteries' (#{hot['id']})",
        f"alert rule 'Idle' (#{idle['id']})",
        f"command schedule 'Night charge' (#{night['id']})",
    ):
        assert named in message, message
    assert "force=true" in message and "roll" not in message  # the roll-out is not a user
    assert body["details"] == [
        {"kind": kind, "id": use["id"], "name": use["name"], "enabled": on, "releasable": True}
        for kind, use, on in (
            ("alert_rule", hot, True), ("alert_rule", idle, False),
            ("command_schedule", night, True),
        )
    ]  # fmt: skip
    # nothing changed
    kept = await client.get(f"/api/v1/groups/{group['id']}", headers=fleet.admin)
    assert kept.status_code == 200
    rule = (await client.get(f"/api/v1/alert-rules/{hot['id']}", headers=fleet.admin)).json()
    assert rule["enabled"] is True and rule["group_id"] == group["id"]
    # a viewer may not delete at all; an unused group goes at once
    viewer = await auth_headers(Role.VIEWER)
    denied = await client.delete(f"/api/v1/groups/{group['id']}", headers=viewer)
    assert denied.status_code == 403
    unused = await make_group(client, fleet.admin, name="unused", kind="static", asset_ids=[])
    gone = await client.delete(f"/api/v1/groups/{unused['id']}", headers=fleet.admin)
    assert gone.status_code == 204


async def test_force_disables_the_users_then_deletes(app, client, sessions, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    made = await _users(client, fleet)
    group, hot, idle, night = made["group"], made["hot"], made["idle"], made["night"]
    heard: list[tuple[str, dict[str, Any]]] = []

    async def record(topic: str, payload: dict[str, Any]) -> None:
        heard.append((topic, payload))

    app.state.bus.subscribe("*", record)
    # the schedule has run once: its history stays
    runtime = ScheduleRuntime(app.state.settings, sessions, app.state.bus)
    async with sessions() as session, session.begin():
        await session.execute(
            update(CommandSchedule).where(CommandSchedule.id == night["id"]).values(next_run_ms=1)
        )
    await runtime.step()
    url = f"/api/v1/command-schedules/{night['id']}"
    assert len((await client.get(f"{url}/runs", headers=fleet.admin)).json()) == 1

    forced = await client.delete(f"/api/v1/groups/{group['id']}?force=true", headers=fleet.admin)
    assert forced.status_code == 204, forced.text
    gone = await client.get(f"/api/v1/groups/{group['id']}", headers=fleet.admin)
    assert gone.status_code == 404
    # the rules: disabled, still naming the dead group, not to be enabled until retargeted
    rule_url = f"/api/v1/alert-rules/{hot['id']}"
    rule = (await client.get(rule_url, headers=fleet.admin)).json()
    assert (rule["enabled"], rule["group_id"]) == (False, group["id"])
    idle_rule = (await client.get(f"/api/v1/alert-rules/{idle['id']}", headers=fleet.admin)).json()
    assert idle_rule["enabled"] is False
    again = await client.patch(rule_url, json={"enabled": True}, headers=fleet.admin)
    assert again.status_code == 409, again.text
    assert again.json()["error"] == "rule_group_deleted"
    assert f"#{group['id']}" in again.json()["message"]
    assert (await client.get(rule_url, headers=fleet.admin)).json()["enabled"] is False
    other = await make_group(client, fleet.admin, name="Lisbon", kind="static",
                             asset_ids=[fleet.assets["b3"]])  # fmt: skip
    moved = await client.patch(
        rule_url, json={"enabled": True, "group_id": other["id"]}, headers=fleet.admin
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["enabled"], moved.json()["group_id"]) == (True, other["id"])
    # the schedule: disabled, without a target, its run kept; seen by a user of every site only
    shown = (await client.get(url, headers=fleet.admin)).json()
    assert (shown["enabled"], shown["group_id"], shown["asset_id"]) == (False, None, None)
    assert shown["next_run"] is None
    assert len((await client.get(f"{url}/runs", headers=fleet.admin)).json()) == 1
    enable = await client.patch(url, json={"enabled": True}, headers=fleet.admin)
    assert enable.status_code == 409 and enable.json()["error"] == "schedule_target_deleted"
    rome_user = await auth_headers(Role.OPERATOR, sites=[fleet.rome])
    assert (await client.get(url, headers=rome_user)).status_code == 404
    listed = (await client.get("/api/v1/command-schedules", headers=rome_user)).json()
    assert night["id"] not in [s["id"] for s in listed]
    assert await runtime.step() == []  # nothing due any more
    # the roll-out goes on with the devices it listed at its start
    rollout = made["rollout"]
    still = await client.get(f"/api/v1/firmware/rollouts/{rollout['id']}", headers=fleet.admin)
    assert still.status_code == 200 and still.json()["group_id"] == group["id"]
    assert (await client.delete(url, headers=fleet.admin)).status_code == 204
    # published after the commit: the rule's change (the evaluator reloads), then the group's
    topics = [t for t, p in heard if t in ("alert_rule.changed", catalogue.GROUP_CHANGED.name)]
    assert topics[:2] == ["alert_rule.changed", catalogue.GROUP_CHANGED.name]
    assert heard[[t for t, _ in heard].index("alert_rule.changed")][1] == {
        "rule_id": hot["id"], "action": "updated"}  # fmt: skip


async def test_a_forced_delete_needs_the_whole_group(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    both = await make_group(client, fleet.admin, name="all X1", kind="dynamic",
                            filter={"models": ["X1"]})  # fmt: skip
    await _made(client, fleet.admin, "alert-rules", {"name": "x1", "group_id": both["id"], **RULE})
    rome_user = await auth_headers(Role.OPERATOR, sites=[fleet.rome])
    refused = await client.delete(f"/api/v1/groups/{both['id']}?force=true", headers=rome_user)
    assert refused.status_code == 403 and refused.json()["error"] == "group_out_of_scope"
    for bad in ("maybe", "2"):
        wrong = await client.delete(f"/api/v1/groups/{both['id']}?force={bad}", headers=fleet.admin)
        assert wrong.status_code == 422, wrong.text
    rule = await client.get("/api/v1/alert-rules", headers=fleet.admin)
    assert [r["enabled"] for r in rule.json() if r["name"] == "x1"] == [True]


async def test_a_rule_made_while_the_group_is_deleted_is_refused(
    app, sessions, client, auth_headers
):
    """The delete holds the group's row (PostgreSQL) or the write lock (SQLite) from before it
    looks for users: a rule made on the group meanwhile waits, then finds it gone (409)."""
    fleet = await make_fleet(client, auth_headers)
    group = await make_group(client, fleet.admin, name="racing", kind="static",
                             asset_ids=[fleet.assets["b1"]])  # fmt: skip
    admin = Principal(subject="user:race", name="race", role=Role.ADMINISTRATOR)
    rule = RuleCreate(name="late", group_id=group["id"], **RULE)

    async def make_rule() -> None:
        async with sessions() as session, session.begin():
            await alerts.create_rule(session=session, principal=admin, data=rule)

    async with sessions() as deleting, deleting.begin():
        await groups.delete_group(session=deleting, principal=admin, group_id=group["id"],
                                  users=group_users(app))  # fmt: skip
        racing = asyncio.create_task(make_rule())
        await asyncio.sleep(0.5)
        assert not racing.done()  # waiting for the delete's transaction
    with pytest.raises(RuleGroupDeleted):
        await racing
    rules = (await client.get("/api/v1/alert-rules", headers=fleet.admin)).json()
    assert "late" not in [r["name"] for r in rules]


class KeptUsers:
    """A user a forced delete may not release (as reports are), beside the app's own."""

    permission = Permission.CONFIGURE

    def __init__(self) -> None:
        self.released = 0

    async def find(self, *, session, group_id: int) -> list[GroupUse]:
        return [GroupUse("report", 7, "Monthly", True, releasable=False)]

    async def release(self, *, session, principal, group_id: int) -> list:
        self.released += 1
        return []


async def test_a_user_force_may_not_release_keeps_the_group(app, sessions, client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    made = await _users(client, fleet)
    kept = KeptUsers()
    admin = Principal(subject="user:x", name="x", role=Role.ADMINISTRATOR)
    with pytest.raises(GroupInUse) as refused:
        async with sessions() as session, session.begin():
            await groups.delete_group(
                session=session, principal=admin, group_id=made["group"]["id"],
                users=(*group_users(app), kept), force=True,
            )  # fmt: skip
    assert "report 'Monthly' (#7)" in refused.value.message
    assert refused.value.message.endswith("force=true does not release reports")
    assert kept.released == 0  # nothing released, the rules stay enabled
    rule = await client.get(f"/api/v1/alert-rules/{made['hot']['id']}", headers=fleet.admin)
    assert rule.json()["enabled"] is True
