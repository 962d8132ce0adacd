"""Asset status: Last Will / birth payloads, data and staleness, the status endpoints, events."""

from __future__ import annotations

import pytest
from tests.control.conftest import make_asset, make_site, wait_for

from gridpilot.auth.permissions import Role
from gridpilot.control import status
from gridpilot.control.inbound import handle_ack, handle_status, parse_status
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import now_ms

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"online", ("online", NOW)),
        (b" OFFLINE\n", ("offline", NOW)),
        (b'{"status": "online"}', ("online", NOW)),
        (b'{"status": "offline", "ts": 1799999999000}', ("offline", 1_799_999_999_000)),
        (b'{"status": "online", "ts": 1900000000000}', ("online", NOW)),  # never after receipt
        (b"ERROR", ("error", NOW)),  # the community seed's device status: ONLINE, OFFLINE, ERROR
        (b'{"status": "ERROR", "ts": 1799999999000}', ("error", 1_799_999_999_000)),
    ],
)
def test_status_payloads(payload: bytes, expected: tuple[str, int]) -> None:
    assert parse_status(payload, NOW) == expected


@pytest.mark.parametrize(
    "payload",
    [b"", b"maybe", b"{", b"[1]", b'{"status": "sleeping"}', b'{"status": 1}', b"\xff\xfe"],
)
def test_malformed_status_payloads_fail_validation(payload: bytes) -> None:
    with pytest.raises(ValidationFailed):
        parse_status(payload, NOW)


async def _status(client, headers, asset_id: int) -> dict:
    response = await client.get(f"/api/v1/assets/{asset_id}/status", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_last_will_and_birth_drive_the_status(app, client, operator, battery, events):
    asset_id, site_id = battery["id"], battery["site_id"]
    state = app.state
    unknown = await _status(client, operator, asset_id)
    assert unknown["status"] == "unknown" and unknown["last_seen_ms"] is None
    assert unknown["stale_after_s"] == 180  # 3 x the asset's 60 s

    birth_ms = now_ms()
    await handle_status(
        sessions=state.sessions, bus=state.bus, asset_id=asset_id, site_id=site_id,
        payload=b"online", received_ms=birth_ms,
    )  # fmt: skip
    online = await _status(client, operator, asset_id)
    assert (online["status"], online["reason"], online["last_seen_ms"]) == (
        "online", "birth", birth_ms)  # fmt: skip
    await handle_status(
        sessions=state.sessions, bus=state.bus, asset_id=asset_id, site_id=site_id,
        payload=b'{"status": "offline"}', received_ms=birth_ms + 1000,
    )  # fmt: skip
    offline = await _status(client, operator, asset_id)
    assert (offline["status"], offline["reason"]) == ("offline", "lwt")
    assert offline["last_seen_ms"] == birth_ms  # a Last Will is no sign of life

    # a second Last Will changes nothing; each change was announced once, with the site
    await handle_status(
        sessions=state.sessions, bus=state.bus, asset_id=asset_id, site_id=site_id,
        payload=b"offline", received_ms=birth_ms + 2000,
    )  # fmt: skip
    changes = [(e["previous"], e["status"], e["reason"]) for e in events.of("asset.status")]
    assert changes == [(None, "online", "birth"), ("online", "offline", "lwt")]
    assert all(e["site_id"] == site_id for e in events.of("asset.status"))

    with pytest.raises(ValidationFailed):
        await handle_status(
            sessions=state.sessions, bus=state.bus, asset_id=asset_id, site_id=site_id,
            payload=b"rebooting", received_ms=birth_ms,
        )  # fmt: skip


async def _post_power(client, headers, asset_id: int, ts_ms: int) -> None:
    reading = {"asset": asset_id, "metric": "power_kw", "ts": ts_ms, "value": 5.0}
    response = await client.post("/api/v1/telemetry", json={"readings": [reading]}, headers=headers)
    assert response.status_code in (200, 201), response.text


async def test_fresh_data_brings_an_asset_online_and_silence_makes_it_stale(
    app, client, operator, battery, events
):
    asset_id = battery["id"]
    control = app.state.control
    await handle_status(
        sessions=app.state.sessions, bus=app.state.bus, asset_id=asset_id,
        site_id=battery["site_id"], payload=b"offline", received_ms=now_ms() - 5000,
    )  # fmt: skip
    sent_ms = now_ms() - 1000
    await _post_power(client, operator, asset_id, sent_ms)
    online = await wait_for(lambda: _first(events.of("asset.status", status="online")))
    assert (online["previous"], online["reason"]) == ("offline", "data")
    body = await _status(client, operator, asset_id)
    assert (body["status"], body["reason"], body["last_seen_ms"]) == ("online", "data", sent_ms)

    # nothing for 3 x 60 s: the staleness check (run at a later time) turns it offline, once
    await control.check_staleness(sent_ms + 170_000)
    assert not events.of("asset.status", status="offline", reason="stale")
    await control.check_staleness(sent_ms + 181_000)
    await control.check_staleness(sent_ms + 182_000)
    stale = events.of("asset.status", status="offline", reason="stale")
    assert len(stale) == 1 and stale[0]["last_seen_ms"] == sent_ms

    # fresh data again: online
    await _post_power(client, operator, asset_id, now_ms())
    await wait_for(lambda: _status_is(client, operator, asset_id, "online"))
    await wait_for(lambda: _first(events.of("asset.status", previous="offline", reason="data")[1:]))


async def test_old_data_reports_offline_with_its_time(app, client, operator, battery):
    old_ms = now_ms() - 3_600_000
    await _post_power(client, operator, battery["id"], old_ms)
    body = await _status(client, operator, battery["id"])
    assert (body["status"], body["reason"], body["last_seen_ms"]) == ("offline", "stale", old_ms)


async def test_site_status_lists_every_asset(app, client, operator, auth_headers):
    site = await make_site(client, operator)
    a = await make_asset(client, operator, site["id"])
    b = await make_asset(client, operator, site["id"], kind="meter")
    await handle_status(
        sessions=app.state.sessions, bus=app.state.bus, asset_id=a["id"], site_id=site["id"],
        payload=b"online", received_ms=now_ms(),
    )  # fmt: skip
    viewer = await auth_headers(Role.VIEWER)
    response = await client.get(f"/api/v1/sites/{site['id']}/status", headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["online"], body["offline"], body["unknown"]) == (1, 0, 1)
    assert {x["asset_id"]: x["status"] for x in body["assets"]} == {
        a["id"]: "online", b["id"]: "unknown"}  # fmt: skip


async def test_status_is_scoped_to_the_callers_sites(app, client, operator, auth_headers, battery):
    other = await make_site(client, operator)
    limited = await auth_headers(Role.VIEWER, sites=[other["id"]])
    for url in (
        f"/api/v1/assets/{battery['id']}/status",
        f"/api/v1/sites/{battery['site_id']}/status",
    ):
        assert (await client.get(url, headers=limited)).status_code == 404, url
        assert (await client.get(url)).status_code == 401
    assert (await client.get("/api/v1/assets/987654/status", headers=operator)).status_code == 404


async def test_wia_status_reports_the_last_will(app, client, operator):
    site = await make_site(client, operator)
    source = {
        "sourceId": "SOLAR-PV-ITA-04242", "sourceType": "SOLAR-PV", "name": "Roof",
        "ratedCapacity": {"value": 50, "unit": "kW"}, "siteId": site["id"],
        "location": {"latitude": 45.0, "longitude": 9.0, "elevation": 100, "timezone": "UTC"},
    }  # fmt: skip
    created = await client.post("/api/v1/sources", json=source, headers=operator)
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]
    url = "/api/v1/sources/SOLAR-PV-ITA-04242/status"
    assert (await client.get(url, headers=operator)).json()["status"] == "unknown"
    seen = now_ms()
    for payload, at in ((b"online", seen), (b"offline", seen + 10)):
        await handle_status(
            sessions=app.state.sessions, bus=app.state.bus, asset_id=asset_id,
            site_id=site["id"], payload=payload, received_ms=at,
        )  # fmt: skip
    body = (await client.get(url, headers=operator)).json()
    assert (body["status"], body["statusReason"]) == ("offline", "lwt")
    assert body["lastSeen"] is not None and body["statusChangedAt"] is not None
    assert body["staleAfterSeconds"] == 900


async def test_ack_for_an_unknown_command_fails_validation(app, battery):
    with pytest.raises(ValidationFailed, match="no command"):
        await handle_ack(
            sessions=app.state.sessions, bus=app.state.bus, asset_id=battery["id"],
            site_id=battery["site_id"], payload=b'{"command_id": 77, "state": "succeeded"}',
            received_ms=now_ms(),
        )  # fmt: skip


async def _status_is(client, headers, asset_id: int, expected: str) -> bool:
    return (await _status(client, headers, asset_id))["status"] == expected


async def _first(items: list) -> object:
    return items[0] if items else None


async def test_readings_older_than_the_last_will_do_not_revive_the_device(app, sessions, battery):
    asset_id, site_id = battery["id"], battery["site_id"]
    will_ms = now_ms()
    await handle_status(
        sessions=sessions, bus=app.state.bus, asset_id=asset_id, site_id=site_id,
        payload=b"offline", received_ms=will_ms,
    )  # fmt: skip

    async def data_seen(at_ms: int):
        async with sessions() as session, session.begin():
            return await status.record_transition(
                session=session, asset_id=asset_id, site_id=site_id, status="online",
                reason="data", at_ms=will_ms + 1000, last_seen_ms=at_ms,
                from_states=(None, "offline"),
            )  # fmt: skip

    assert await data_seen(will_ms - 500) == ("offline", None)
    current, change = await data_seen(will_ms + 200)
    assert current == "online" and change is not None
    assert (change.previous, change.reason, change.last_seen_ms) == (
        "offline",
        "data",
        will_ms + 200,
    )


async def test_a_device_reporting_an_error_is_offline_until_it_reports_online(
    app, client, operator, battery, events
):
    """The community seed's device status ``ERROR`` (it reached dead letters before): offline
    with reason ``error``; its readings do not hide the fault; ``ONLINE`` ends it."""
    asset_id, site_id = battery["id"], battery["site_id"]
    state = app.state

    async def say(payload: bytes) -> None:
        await handle_status(
            sessions=state.sessions, bus=state.bus, asset_id=asset_id, site_id=site_id,
            payload=payload, received_ms=now_ms(),
        )  # fmt: skip

    await say(b"ONLINE")
    await say(b'{"status": "ERROR"}')
    body = await _status(client, operator, asset_id)
    assert (body["status"], body["reason"]) == ("offline", "error")
    assert body["last_seen_ms"] is not None  # an error report is a sign of life

    sent_ms = now_ms()
    await _post_power(client, operator, asset_id, sent_ms)  # it still sends readings
    tracker = state.control.tracker
    await wait_for(lambda: _true(tracker.last_seen(asset_id) == sent_ms))
    assert await tracker.process_pending() == []  # the reading does not bring it online
    await tracker.flush()
    body = await _status(client, operator, asset_id)
    assert (body["status"], body["reason"], body["last_seen_ms"]) == ("offline", "error", sent_ms)

    await say(b"ONLINE")
    body = await _status(client, operator, asset_id)
    assert (body["status"], body["reason"]) == ("online", "birth")
    changes = [(e["previous"], e["status"], e["reason"]) for e in events.of("asset.status")]
    assert changes == [
        (None, "online", "birth"), ("online", "offline", "error"), ("offline", "online", "birth")
    ]  # fmt: skip


async def test_an_error_report_on_an_asset_already_offline_names_the_error(
    app, client, operator, battery
):
    asset_id, site_id = battery["id"], battery["site_id"]
    for payload in (b"offline", b"error"):
        await handle_status(
            sessions=app.state.sessions, bus=app.state.bus, asset_id=asset_id, site_id=site_id,
            payload=payload, received_ms=now_ms(),
        )  # fmt: skip
    body = await _status(client, operator, asset_id)
    assert (body["status"], body["reason"]) == ("offline", "error")


async def _true(value: bool) -> bool | None:
    return True if value else None
