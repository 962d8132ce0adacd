"""The utility webhook POST /webhooks/utility/dr-notification and the utilities that may call it,
on both back ends. Notifications are signed here by hand (HMAC-SHA256 of id.timestamp.body,
Standard Webhooks), independently of gridpilot's own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import numpy as np
import pandas as pd
from tests.dr.dr_data import DAY, ZONE, iso_utc, local_ms, make_site, profile, quarters, store_power

from gridpilot.auth.permissions import Role
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms
from gridpilot.dr.tasks import DR

HOOK = "/webhooks/utility/dr-notification"
UTILITIES = "/api/v1/dr-utilities"
EVENTS = "/api/v1/dr-events"


def tomorrow() -> tuple[int, int]:
    """14:00-16:00 tomorrow in Rome (notifications for ended events are refused)."""
    day = (pd.Timestamp.now(tz=ZONE) + pd.Timedelta(days=1)).date().isoformat()
    return local_ms(f"{day} 14:00"), local_ms(f"{day} 16:00")


def signed(secret: str, payload: object, *, webhook_id: str | None = None, at_s=None):
    """(headers, body) of a notification signed with ``secret`` at ``at_s`` (default now)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    stamp = str(int(time.time()) if at_s is None else at_s)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
    return headers, body


def notification(facilities: list[int], event_id: str = "EV-2026-001", pct: float = 10.0):
    start, end = tomorrow()
    return {"event_id": event_id, "facility_ids": facilities, "event_start": iso_utc(start),
            "event_end": iso_utc(end), "target_reduction_percentage": pct}  # fmt: skip


async def site_with_history(app, client, admin, name: str) -> int:
    site, meter = await make_site(client, admin, name)
    start, _ = tomorrow()
    ts = quarters(start - 30 * DAY, now_ms() - now_ms() % 900_000)
    await store_power(app, meter, ts, profile(ts))
    return site


async def utility(client, admin, sites: list[int], name: str = "Grid Co") -> dict:
    made = await client.post(UTILITIES, json={"name": name, "site_ids": sites}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    return dict(made.json())


async def post(client, secret: str, payload, **kw):
    headers, body = signed(secret, payload, **kw)
    return await client.post(HOOK, content=body, headers=headers)


async def test_a_signed_notification_makes_one_event_per_facility_once(app, client, admin):
    sites = [await site_with_history(app, client, admin, f"Plant {i}") for i in (1, 2)]
    util = await utility(client, admin, sites)
    answer = await post(client, util["secret"], notification(sites, pct=10.0))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted" and answer.json()["facility_ids"] == sites
    made = await runtime_of(app).require(DR).step()
    assert sorted(c["site_id"] for c in made) == sites
    assert all(c["status"] == "scheduled" and c["previous"] is None for c in made)
    # delivered again (a new webhook-id, the same event_id): accepted, no new event
    again = await post(client, util["secret"], notification(sites, pct=10.0))
    assert again.status_code == 202, again.text
    assert await runtime_of(app).require(DR).step() == []
    listed = (await client.get(EVENTS, headers=admin)).json()
    assert len(listed) == 2 and {e["site_id"] for e in listed} == set(sites)
    for event in listed:
        detail = (await client.get(f"{EVENTS}/{event['id']}", headers=admin)).json()
        assert detail["source"] == "utility_webhook" and detail["utility_id"] == util["id"]
        assert detail["external_id"] == "EV-2026-001"
        assert detail["target_reduction_pct"] == 10.0
        mean_baseline = np.mean([r["baseline_kw"] for r in detail["intervals"]])
        assert abs(detail["target_reduction_kw"] - 0.10 * mean_baseline) < 1e-3
    deliveries = (await client.get(f"{UTILITIES}/{util['id']}/deliveries", headers=admin)).json()
    assert [d["state"] for d in deliveries] == ["processed", "processed"]
    assert deliveries[0]["event_ids"] == deliveries[1]["event_ids"]
    assert sorted(deliveries[0]["event_ids"]) == sorted(e["id"] for e in listed)


async def test_signatures_timestamps_and_replays(app, client, admin):
    site = await site_with_history(app, client, admin, "Plant")
    util = await utility(client, admin, [site])
    other = await utility(client, admin, [], name="Someone else")
    payload = notification([site])
    wrong = await post(client, other["secret"], payload)  # a valid secret, not this site's
    assert wrong.status_code == 403
    headers, body = signed(util["secret"], payload)
    tampered = await client.post(HOOK, content=body.replace(b"10.0", b"90.0"), headers=headers)
    assert tampered.status_code == 401
    assert tampered.json()["error"] == "webhook_signature_invalid"
    forged = {**headers, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}
    assert (await client.post(HOOK, content=body, headers=forged)).status_code == 401
    unsigned = await client.post(HOOK, json=payload)
    assert unsigned.status_code == 401 and "webhook-id" in unsigned.json()["message"]
    stale = await post(client, util["secret"], payload, at_s=int(time.time()) - 301)
    assert stale.status_code == 401
    assert stale.json()["error"] == "webhook_timestamp_out_of_tolerance"
    future = await post(client, util["secret"], payload, at_s=int(time.time()) + 400)
    assert future.status_code == 401
    first = await post(client, util["secret"], payload, webhook_id="msg_1")
    assert first.status_code == 202, first.text
    replay = await post(client, util["secret"], payload, webhook_id="msg_1")
    assert replay.status_code == 409 and replay.json()["error"] == "webhook_replayed"
    # rotating the secret: the old one stops working at once
    rotated = await client.patch(f"{UTILITIES}/{util['id']}", json={"rotate_secret": True},
                                 headers=admin)  # fmt: skip
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != util["secret"]
    assert (await post(client, util["secret"], payload)).status_code == 401
    assert (await post(client, new_secret, payload)).status_code == 202
    disabled = await client.patch(f"{UTILITIES}/{util['id']}", json={"enabled": False},
                                  headers=admin)  # fmt: skip
    assert disabled.status_code == 200 and disabled.json()["secret"] is None
    assert (await post(client, new_secret, payload)).status_code == 401


async def test_facilities_and_payloads_are_checked(app, client, admin):
    site = await site_with_history(app, client, admin, "Plant")
    elsewhere, _ = await make_site(client, admin, "Not the utility's")
    util = await utility(client, admin, [site])
    secret = util["secret"]
    unknown = await post(client, secret, notification([site, 999_999]))
    assert unknown.status_code == 403
    assert unknown.json()["error"] == "facility_not_addressable"
    assert unknown.json()["details"] == {"refused_facility_ids": [999_999]}
    not_theirs = await post(client, secret, notification([elsewhere]))
    assert not_theirs.status_code == 403 and str(elsewhere) in not_theirs.json()["message"]
    assert (await post(client, secret, b"{not json")).status_code == 400
    missing = await post(client, secret, {"event_id": "x", "facility_ids": [site]})
    assert missing.status_code == 422
    assert {tuple(d["loc"]) for d in missing.json()["details"]} >= {("event_start",)}
    assert (await post(client, secret, notification([site], pct=0))).status_code == 422
    start, end = tomorrow()
    backwards = {**notification([site]), "event_start": iso_utc(end), "event_end": iso_utc(start)}
    assert (await post(client, secret, backwards)).status_code == 422
    past = {**notification([site]), "event_start": iso_utc(start - 2 * DAY),
            "event_end": iso_utc(end - 2 * DAY)}  # fmt: skip
    answer = await post(client, secret, past)
    assert answer.status_code == 422 and "ended" in answer.json()["message"]
    off_grid = {**notification([site]), "event_start": iso_utc(start + 60_000)}
    assert (await post(client, secret, off_grid)).status_code == 422
    # nothing was accepted, nothing is made
    assert (await client.get(f"{UTILITIES}/{util['id']}/deliveries", headers=admin)).json() == []


async def test_a_facility_without_history_is_reported_on_the_delivery(app, client, admin):
    site, _ = await make_site(client, admin, "New plant")
    util = await utility(client, admin, [site])
    assert (await post(client, util["secret"], notification([site]))).status_code == 202
    assert await runtime_of(app).require(DR).step() == []
    [delivery] = (await client.get(f"{UTILITIES}/{util['id']}/deliveries", headers=admin)).json()
    assert delivery["state"] == "failed" and delivery["event_ids"] == []
    reason = delivery["errors"][str(site)]
    assert "not enough history" in reason and "no stored consumption forecast" in reason


async def test_utilities_are_for_administrators(app, client, admin, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site, _ = await make_site(client, admin, "Plant")
    body = {"name": "Grid Co", "site_ids": [site]}
    assert (await client.post(UTILITIES, json=body, headers=operator)).status_code == 403
    assert (await client.get(UTILITIES, headers=operator)).status_code == 403
    made = await utility(client, admin, [site])
    listed = (await client.get(UTILITIES, headers=admin)).json()
    assert listed == [{**made, "secret": None}]
    assert (await client.post(UTILITIES, json=body, headers=admin)).status_code == 409
    unknown_site = await client.post(UTILITIES, json={"name": "X", "site_ids": [999_999]},
                                     headers=admin)  # fmt: skip
    assert unknown_site.status_code == 404
    gone = await client.delete(f"{UTILITIES}/{made['id']}", headers=admin)
    assert gone.status_code == 204
    assert (await client.get(f"{UTILITIES}/{made['id']}", headers=admin)).status_code == 404
