"""Notification preferences on both back ends: the API, what the dispatcher sends, holds or
suppresses for each person behind a channel, and the in-app decision the dashboard's toasts use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select
from tests.alerts.conftest import eventually
from tests.alerts.test_notifications import SECRET, breach, channel

from gridpilot.alerts import preference_service
from gridpilot.alerts.models import NotificationDelivery
from gridpilot.auth.dependencies import token_config
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import encode_access_token
from gridpilot.core.timestamps import now_ms

URL = "/api/v1/me/notification-preferences"


@pytest.fixture
def settings_overrides(settings_overrides, smtp_port):
    return {
        **settings_overrides,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "alerts@gridpilot.test",
        "notify_max_attempts": 2,
    }


@pytest.fixture
def person(app, make_user, sessions):
    """A user with an e-mail address: ``(user id, bearer headers)``."""

    async def make(name: str, role: Role = Role.OPERATOR, sites: list[int] | None = None):
        user = await make_user(name, role, sites=sites)
        async with sessions() as session, session.begin():
            (await session.get(User, user.id)).email = f"{name.capitalize()}@Example.com"
        claims = {"role": role.value, "name": name, "sites": sites}
        token = encode_access_token(token_config(app.state.settings), f"user:{user.id}", claims)
        return user.id, {"Authorization": f"Bearer {token}"}

    return make


async def deliveries(sessions, channel_id: int) -> list[NotificationDelivery]:
    async with sessions() as session:
        query = select(NotificationDelivery).where(NotificationDelivery.channel_id == channel_id)
        return list((await session.scalars(query.order_by(NotificationDelivery.id))).all())


def quiet_now(**extra) -> dict:
    """Quiet hours (UTC) from one hour ago to one hour from now; the end in epoch ms."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    body = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "time_zone": "UTC"}
    return {**body, **extra}, int(end.timestamp() * 1000)


async def test_defaults_are_answered_and_keep_todays_mail(env, person, inbox, sessions):
    _, ann = await person("ann")
    mine = await env.client.get(URL, headers=ann)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["customized"] is False and body["updated_at"] is None
    assert body["email"] == {"enabled": True, "severities": ["info", "warning", "critical"]}
    assert body["kinds"] is None and body["site_ids"] is None and body["quiet_hours"] is None
    mail = await channel(env, name="ops", kind="email", recipients=["ann@example.com"])
    await breach(env, "Default site", [mail["id"]], severity="info")

    async def received():
        return inbox.messages

    [(_, recipients, _)] = await eventually(received)
    assert recipients == ["ann@example.com"]
    [row] = await deliveries(sessions, mail["id"])
    assert row.recipients is None and row.note is None  # nothing split or suppressed


async def test_severity_preference_splits_a_shared_mail_channel(env, person, inbox, sessions):
    _, ann = await person("ann")
    saved = await env.client.put(URL, json={"email": {"severities": ["critical"]}}, headers=ann)
    assert saved.status_code == 200, saved.text
    assert saved.json()["customized"] is True
    mail = await channel(
        env, name="ops", kind="email", recipients=["ANN@example.com", "team@example.com"]
    )
    await breach(env, "Split site", [mail["id"]], severity="warning")

    async def received():
        return inbox.messages

    [(_, recipients, content)] = await eventually(received)
    assert recipients == ["team@example.com"]  # ann's address (any case) left out
    assert "WARNING" in message_from_bytes(content, policy=policy.default)["Subject"]
    rows = {row.state: row for row in await deliveries(sessions, mail["id"])}
    assert rows["suppressed"].recipients == ["ANN@example.com"]
    assert rows["suppressed"].note == "ANN@example.com: warning alerts are not sent by email"
    assert rows["suppressed"].attempts == 0


async def test_kind_and_site_preferences_silence_mail(env, person, sessions):
    _, ann = await person("ann")
    kept_site, _ = await env.site("Kept site")
    mail = await channel(env, name="ops", kind="email", recipients=["ann@example.com"])
    body = {"kinds": ["stale"], "site_ids": [kept_site]}
    assert (await env.client.put(URL, json=body, headers=ann)).status_code == 200
    await breach(env, "Other site", [mail["id"]])  # a threshold alert on another site
    [row] = await deliveries(sessions, mail["id"])
    assert row.state == "suppressed"
    assert row.note == "ann@example.com: threshold alerts are not among the chosen kinds"
    await env.client.put(URL, json={"site_ids": [kept_site]}, headers=ann)
    await breach(env, "Third site", [mail["id"]])
    last = (await deliveries(sessions, mail["id"]))[-1]
    assert last.state == "suppressed" and "is not among the chosen sites" in (last.note or "")


async def test_quiet_hours_hold_warnings_and_let_critical_through(env, person, sessions, inbox):
    quiet, end_ms = quiet_now()
    _, ann = await person("ann")
    assert (await env.client.put(URL, json={"quiet_hours": quiet}, headers=ann)).status_code == 200
    mail = await channel(env, name="ops", kind="email", recipients=["ann@example.com"])
    await breach(env, "Night site", [mail["id"]], severity="warning")
    [held] = await deliveries(sessions, mail["id"])
    assert (held.state, held.next_attempt_ms, held.attempts) == ("pending", end_ms, 0)
    assert held.note == "ann@example.com: quiet hours"
    await breach(env, "Fire site", [mail["id"]], severity="critical")

    async def received():
        return inbox.messages

    [(_, recipients, content)] = await eventually(received)
    assert recipients == ["ann@example.com"]  # critical: through the quiet hours at once
    assert "CRITICAL" in message_from_bytes(content, policy=policy.default)["Subject"]
    held_again = await deliveries(sessions, mail["id"])
    assert held_again[0].state == "pending" and held_again[0].attempts == 0


async def test_quiet_hours_drop_a_creators_webhook(env, person, sessions, receivers):
    quiet, _ = quiet_now(during="drop", critical_override=False)
    _, ann = await person("ann")
    assert (await env.client.put(URL, json={"quiet_hours": quiet}, headers=ann)).status_code == 200
    receiver = await receivers()
    mine = await env.client.post(
        "/api/v1/notification-channels",
        json={"name": "ann's hook", "kind": "webhook", "url": receiver.url, "secret": SECRET},
        headers=ann,
    )
    assert mine.status_code == 201, mine.text
    theirs = await channel(env, name="team hook", kind="webhook", url=receiver.url, secret=SECRET)
    await breach(env, "Hook site", [mine.json()["id"], theirs["id"]], severity="critical")
    [request] = await receiver.wait_for(1)
    assert request.json()["data"]["severity"] == "critical"
    [dropped] = await deliveries(sessions, mine.json()["id"])
    assert (dropped.state, dropped.note) == ("suppressed", "ann: quiet hours")
    listed = await env.client.get(
        f"/api/v1/notification-channels/{mine.json()['id']}/deliveries", headers=ann
    )
    assert listed.json()[0]["state"] == "suppressed"
    assert listed.json()[0]["note"] == "ann: quiet hours"


async def test_a_viewer_cannot_choose_sites_they_cannot_see(env, person):
    mine, _ = await env.site("Mine")
    other, _ = await env.site("Other")
    _, viewer = await person("vera", Role.VIEWER, sites=[mine])
    refused = await env.client.put(URL, json={"site_ids": [mine, other]}, headers=viewer)
    assert refused.status_code == 422
    assert refused.json()["error"] == "site_not_visible"
    assert refused.json()["details"] == [{"field": "site_ids", "site_id": other}]
    missing = await env.client.put(URL, json={"site_ids": [999_999]}, headers=viewer)
    assert missing.json()["error"] == "site_not_visible"  # the same answer: nothing disclosed
    assert (await env.client.get(URL, headers=viewer)).json()["customized"] is False
    accepted = await env.client.put(URL, json={"site_ids": [mine]}, headers=viewer)
    assert accepted.status_code == 200 and accepted.json()["site_ids"] == [mine]


async def test_bad_bodies_admin_view_and_reset(env, person):
    ann_id, ann = await person("ann")
    bad = await env.client.put(
        URL,
        json={"quiet_hours": {"start": "25:00", "end": "07:00", "time_zone": "UTC"}},
        headers=ann,
    )
    assert bad.status_code == 422 and bad.json()["error"] == "validation_failed"
    await env.client.put(URL, json={"in_app": {"enabled": False}}, headers=ann)
    path = f"/api/v1/users/{ann_id}/notification-preferences"
    seen = await env.client.get(path, headers=env.admin)
    assert seen.status_code == 200 and seen.json()["in_app"]["enabled"] is False
    assert (await env.client.get(path, headers=env.operator)).status_code == 403
    unknown = await env.client.get(
        "/api/v1/users/999999/notification-preferences", headers=env.admin
    )
    assert unknown.status_code == 404
    assert (await env.client.delete(URL, headers=ann)).status_code == 204
    assert (await env.client.get(path, headers=env.admin)).json()["customized"] is False


async def test_in_app_preferences_decide_the_toast(env, person, sessions):
    ann_id, ann = await person("ann")
    site, _ = await env.site("Toast site")
    payload = {"severity": "warning", "kind": "threshold", "site_id": site}
    async with sessions() as session:
        wanted = await preference_service.in_app_wanted(
            session=session, user_id=ann_id, payload=payload, now_ms=now_ms()
        )
    assert wanted is True  # the defaults: every alert pops up, as before
    quiet, _ = quiet_now()
    body = {"in_app": {"severities": ["critical"]}, "quiet_hours": quiet}
    await env.client.put(URL, json=body, headers=ann)
    async with sessions() as session:
        for severity, expected in (("warning", False), ("critical", True)):
            decided = await preference_service.in_app_wanted(
                session=session,
                user_id=ann_id,
                payload={**payload, "severity": severity},
                now_ms=now_ms(),
            )
            assert decided is expected  # quiet hours never hide the critical toast
