"""Notifications: signed webhooks, retries that block nobody, e-mail over SMTP, channel rules."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from email import message_from_bytes, policy

import pytest
from tests.alerts.conftest import WAIT_S, Request, alerts_of, eventually

from gridpilot.alerts.webhook import sign

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def verify(request: Request, secret: str = SECRET, tolerance_s: int = 300) -> None:
    """What a receiver does (Standard Webhooks): recompute the signature, check the timestamp."""
    message_id = request.headers["webhook-id"]
    timestamp = request.headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) <= tolerance_s
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + request.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = dict(part.split(",", 1) for part in request.headers["webhook-signature"].split())
    assert hmac.compare_digest(versions["v1"], expected)


def test_signature_matches_the_standard_webhooks_test_vector():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


async def channel(env, **body) -> dict:
    response = await env.client.post(
        "/api/v1/notification-channels", json=body, headers=env.operator
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def breach(env, name: str, channel_ids: list[int], **rule) -> tuple[int, dict]:
    """A site whose meter breaches a threshold rule notifying ``channel_ids``."""
    _, asset_id = await env.site(name)
    created = await env.rule(
        name=f"{name} rule",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        params={"threshold": 10},
        channel_ids=channel_ids,
        **rule,
    )
    await env.ingest(asset_id, 50.0)
    return asset_id, created


async def test_webhook_is_signed_and_timestamped(env, receivers):
    receiver = await receivers()
    hook = await channel(env, name="ops hook", kind="webhook", url=receiver.url, secret=SECRET)
    assert hook["secret"] == SECRET
    listed = await env.client.get(f"/api/v1/notification-channels/{hook['id']}", headers=env.admin)
    assert "secret" not in listed.json()
    asset_id, rule = await breach(env, "Hook site", [hook["id"]], severity="critical")

    [request] = await receiver.wait_for(1)
    verify(request)
    body = request.json()
    assert body["type"] == "alert.raised"
    assert body["data"]["asset_id"] == asset_id and body["data"]["rule_id"] == rule["id"]
    assert body["data"]["severity"] == "critical"
    tampered = Request(request.path, request.headers, request.body + b" ")
    with pytest.raises(AssertionError):
        verify(tampered)

    await env.ingest(asset_id, 1.0)  # resolves: a second notification, a new message id
    requests = await receiver.wait_for(2)
    verify(requests[1])
    assert requests[1].json()["type"] == "alert.resolved"
    assert requests[1].headers["webhook-id"] != request.headers["webhook-id"]


async def test_generated_secret_is_shown_once_and_signs(env, receivers):
    receiver = await receivers()
    hook = await channel(env, name="generated", kind="webhook", url=receiver.url)
    assert hook["secret"].startswith("whsec_")
    await breach(env, "Generated site", [hook["id"]])
    [request] = await receiver.wait_for(1)
    verify(request, hook["secret"])


async def test_failing_webhook_is_retried_and_blocks_no_other_notification(env, receivers):
    release = asyncio.Event()
    attempts = 0

    async def flaky(request: Request) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await release.wait()  # hold the first attempt until the healthy hook got its copy
            return 500
        return 200

    failing = await receivers(flaky)
    healthy = await receivers()
    bad = await channel(env, name="flaky", kind="webhook", url=failing.url, secret=SECRET)
    good = await channel(env, name="healthy", kind="webhook", url=healthy.url, secret=SECRET)
    await breach(env, "Retry site", [bad["id"], good["id"]])

    await failing.wait_for(1)  # the first attempt is held by the receiver...
    await healthy.wait_for(1)  # ...and the healthy channel gets its copy meanwhile
    assert len(failing.requests) == 1 and not release.is_set()
    release.set()
    first, second = await failing.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]  # the same message
    verify(second)

    async def delivered():
        rows = await env.client.get(
            f"/api/v1/notification-channels/{bad['id']}/deliveries", headers=env.operator
        )
        return [r for r in rows.json() if r["state"] == "delivered"]

    [row] = await eventually(delivered)
    assert row["attempts"] == 2


async def test_webhook_gives_up_after_max_attempts(env, receivers, app):
    async def broken(request: Request) -> int:
        return 503

    receiver = await receivers(broken)
    hook = await channel(env, name="broken", kind="webhook", url=receiver.url, secret=SECRET)
    await breach(env, "Give-up site", [hook["id"]])
    limit = app.state.settings.notify_max_attempts

    async def failed():
        rows = await env.client.get(
            f"/api/v1/notification-channels/{hook['id']}/deliveries", headers=env.operator
        )
        return [r for r in rows.json() if r["state"] == "failed"]

    [row] = await eventually(failed)
    assert row["attempts"] == limit and "HTTP 503" in row["last_error"]
    assert len(receiver.requests) == limit


@pytest.fixture
def settings_overrides(settings_overrides, smtp_port):
    return {
        **settings_overrides,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "alerts@gridpilot.test",
        "notify_max_attempts": 3,
    }


async def test_email_arrives_at_the_smtp_server(env, inbox):
    mail = await channel(
        env, name="ops mail", kind="email", recipients=["ops@example.com"], min_severity="warning"
    )
    await breach(env, "Mail site", [mail["id"]], severity="critical")

    async def received():
        return inbox.messages

    [(sender, recipients, content)] = await eventually(received)
    assert sender == "alerts@gridpilot.test" and recipients == ["ops@example.com"]
    message = message_from_bytes(content, policy=policy.default)  # unfolds long headers
    # a subject over 78 characters is folded before its first word (RFC 5322): readers strip it
    assert message["Subject"].strip().startswith("[gridpilot] CRITICAL active:")
    assert "Active power 50 kW is above 10 kW" in message.get_payload()


async def test_min_severity_and_events_filter_notifications(env, receivers, app):
    receiver = await receivers()
    critical_only = await channel(
        env,
        name="pager",
        kind="webhook",
        url=receiver.url,
        secret=SECRET,
        min_severity="critical",
        events=["raised"],
    )
    await breach(env, "Quiet site", [critical_only["id"]], severity="warning")
    asset_id, _ = await breach(env, "Loud site", [critical_only["id"]], severity="critical")
    await env.ingest(asset_id, 1.0)  # resolved: not among the channel's events
    [request] = await receiver.wait_for(1)
    assert request.json()["data"]["asset_id"] == asset_id
    await alerts_of(app).notifier.dispatch_due()
    rows = await env.client.get(
        f"/api/v1/notification-channels/{critical_only['id']}/deliveries", headers=env.operator
    )
    assert len(rows.json()) == 1


async def test_flapping_alerts_stop_notifying(env, receivers, app):
    receiver = await receivers()
    hook = await channel(
        env, name="flap", kind="webhook", url=receiver.url, secret=SECRET, events=["raised"]
    )
    _, asset_id = await env.site("Flap site")
    rule = await env.rule(
        name="Flappy",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        params={"threshold": 10},
        channel_ids=[hook["id"]],
    )
    raises = app.state.settings.alerts_flap_max_raises
    for _ in range(raises):
        await env.ingest(asset_id, 50.0)
        await env.ingest(asset_id, 1.0)
    alerts = await env.alerts(rule_id=rule["id"])
    assert len(alerts) == raises
    assert [a["flapping"] for a in reversed(alerts)] == [False] * (raises - 1) + [True]
    await receiver.wait_for(raises - 1)
    await alerts_of(app).notifier.dispatch_due()
    rows = await env.client.get(
        f"/api/v1/notification-channels/{hook['id']}/deliveries", headers=env.operator
    )
    assert len(rows.json()) == raises - 1


async def test_test_notification_endpoint(env, receivers):
    receiver = await receivers()
    hook = await channel(env, name="probe", kind="webhook", url=receiver.url, secret=SECRET)
    queued = await env.client.post(
        f"/api/v1/notification-channels/{hook['id']}/test", headers=env.operator
    )
    assert queued.status_code == 202
    [request] = await asyncio.wait_for(receiver.wait_for(1), WAIT_S)
    verify(request)
    assert request.json()["type"] == "alert.test"
