"""Device commands without a broker: validation, idempotency, acks, expiry, races, scope, bulk."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from tests.control.conftest import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.control.inbound import handle_ack, handle_status
from gridpilot.control.kinds import KINDS
from gridpilot.control.schemas import CommandKind
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import now_ms


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"command_rate_limit_per_min": 1000}


def test_schema_kinds_match_the_validators() -> None:
    assert set(CommandKind.__args__) == set(KINDS)  # type: ignore[attr-defined]


def url(asset_id: int) -> str:
    return f"/api/v1/assets/{asset_id}/commands"


async def send(client, headers, asset_id: int, **body: Any):
    body.setdefault("kind", "set_power_limit")
    if body["kind"] == "set_power_limit":
        body.setdefault("params", {"limit_kw": 40})
    return await client.post(url(asset_id), json=body, headers=headers)


async def ack(app, asset: dict, command_id: int, state: str, received_ms: int) -> None:
    payload = f'{{"command_id": {command_id}, "state": "{state}", "detail": "ok"}}'.encode()
    await handle_ack(
        sessions=app.state.sessions, bus=app.state.bus, asset_id=asset["id"],
        site_id=asset["site_id"], payload=payload, received_ms=received_ms,
    )  # fmt: skip


async def test_a_command_is_queued_once_per_idempotency_key(client, operator, battery, events):
    first = await send(client, operator, battery["id"], idempotency_key="limit-42")
    assert first.status_code == 201, first.text
    command = first.json()
    assert (command["state"], command["kind"], command["params"]) == (
        "queued", "set_power_limit", {"limit_kw": 40.0})  # fmt: skip
    assert command["expires_ms"] - command["created_ms"] == 300_000  # default TTL

    again = await send(client, operator, battery["id"], idempotency_key="limit-42")
    assert again.status_code == 200 and again.json()["id"] == command["id"]
    clash = await send(
        client, operator, battery["id"], idempotency_key="limit-42", params={"limit_kw": 41}
    )
    assert clash.status_code == 409 and "different command" in clash.json()["message"]
    generated = await send(client, operator, battery["id"], kind="stop")
    assert generated.status_code == 201 and generated.json()["idempotency_key"]

    queued = events.of("command.updated", state="queued")
    assert [e["command_id"] for e in queued] == [command["id"], generated.json()["id"]]
    assert queued[0]["site_id"] == battery["site_id"] and queued[0]["previous"] is None

    history = await client.get(url(battery["id"]), headers=operator)
    assert [c["kind"] for c in history.json()] == ["stop", "set_power_limit"]  # newest first
    detail = await client.get(f"/api/v1/commands/{command['id']}", headers=operator)
    assert [t["state"] for t in detail.json()["transitions"]] == ["queued"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"kind": "reboot"}, "kind"),
        ({"kind": "set_power_limit", "params": {}}, "limit_kw"),
        ({"kind": "set_power_limit", "params": {"limit_kw": -1}}, "limit_kw"),
        ({"kind": "set_power_limit", "params": {"limit_kw": 150}}, "rated capacity"),
        ({"kind": "set_power_limit", "params": {"limit_kw": 5, "unit": "MW"}}, "unit"),
        ({"kind": "start", "params": {"now": True}}, "now"),
        ({"kind": "setpoint", "params": {"soc_pct": 50, "power_kw": 3}}, "exactly one"),
        ({"kind": "setpoint", "params": {"soc_pct": 150}}, "soc_pct"),
        ({"kind": "charge", "params": {"power_kw": 0}}, "power_kw"),
        ({"kind": "charge", "params": {}}, "power_kw"),
        ({"kind": "discharge", "params": {"power_kw": None, "duration_s": 60}}, "hand back"),
        ({"kind": "stop", "ttl_s": 10**7}, "ttl_s"),
        ({"kind": "stop", "idempotency_key": "has space"}, "idempotency_key"),
    ],
)
async def test_bad_commands_get_a_clear_422(client, operator, battery, body, fragment):
    response = await client.post(url(battery["id"]), json=body, headers=operator)
    assert response.status_code == 422, response.text
    assert fragment in response.text


async def test_a_null_power_hands_a_storage_device_back(client, operator, battery):
    """``power_kw: null`` alone ends the EMS's set point (the device's own operation again)."""
    for kind in ("charge", "discharge"):
        response = await send(client, operator, battery["id"], kind=kind,
                              params={"power_kw": None})  # fmt: skip
        assert response.status_code == 201, response.text
        assert response.json()["params"] == {"power_kw": None}


async def test_a_null_limit_lifts_a_power_limit(client, operator, battery):
    """``limit_kw: null`` lifts a limit set before (what ends a planned PV curtailment)."""
    response = await send(client, operator, battery["id"], kind="set_power_limit",
                          params={"limit_kw": None})  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["params"] == {"limit_kw": None}


async def test_charge_needs_a_storage_asset(client, operator, battery):
    meter = await make_asset(client, operator, battery["site_id"], kind="meter")
    response = await send(client, operator, meter["id"], kind="charge", params={"power_kw": 5})
    assert response.status_code == 422 and "storage" in response.json()["message"]


async def test_device_acks_move_the_command_to_one_final_state(app, client, operator, battery):
    command = (await send(client, operator, battery["id"])).json()
    t = command["created_ms"]
    await ack(app, battery, command["id"], "acknowledged", t + 10)
    await ack(app, battery, command["id"], "succeeded", t + 20)
    await ack(app, battery, command["id"], "failed", t + 30)  # too late: already final
    detail = (await client.get(f"/api/v1/commands/{command['id']}", headers=operator)).json()
    assert detail["state"] == "succeeded" and detail["completed_ms"] == t + 20
    assert [(x["previous"], x["state"]) for x in detail["transitions"]] == [
        (None, "queued"), ("queued", "acknowledged"), ("acknowledged", "succeeded")]  # fmt: skip
    assert detail["transitions"][-1]["actor"] == f"asset:{battery['id']}"

    late = (await send(client, operator, battery["id"], kind="stop", ttl_s=5)).json()
    await ack(app, battery, late["id"], "succeeded", late["expires_ms"] + 1)
    late_detail = (await client.get(f"/api/v1/commands/{late['id']}", headers=operator)).json()
    assert late_detail["state"] == "expired" and "after the TTL" in late_detail["detail"]

    other = await make_asset(client, operator, battery["site_id"])
    with pytest.raises(ValidationFailed, match="no command"):
        await ack(app, other, command["id"], "succeeded", t + 40)
    with pytest.raises(ValidationFailed, match="state"):
        await ack(app, battery, command["id"], "done", t + 40)


async def test_an_offline_device_keeps_the_command_queued_until_it_expires(
    app, client, operator, battery, events
):
    await handle_status(
        sessions=app.state.sessions, bus=app.state.bus, asset_id=battery["id"],
        site_id=battery["site_id"], payload=b"offline", received_ms=now_ms(),
    )  # fmt: skip
    command = (await send(client, operator, battery["id"], kind="start", ttl_s=60)).json()
    control = app.state.control
    assert await control.expire_commands(command["expires_ms"] - 1) == []
    assert (await client.get(f"/api/v1/commands/{command['id']}", headers=operator)).json()[
        "state"] == "queued"  # fmt: skip
    expired = await control.expire_commands(command["expires_ms"])
    assert [(c.command_id, c.previous, c.state) for c in expired] == [
        (command["id"], "queued", "expired")]  # fmt: skip
    assert await control.expire_commands(command["expires_ms"] + 1000) == []
    assert len(events.of("command.updated", state="expired")) == 1
    listed = await client.get(url(battery["id"]), params={"state": "expired"}, headers=operator)
    assert [c["id"] for c in listed.json()] == [command["id"]]
    bad_filter = await client.get(url(battery["id"]), params={"state": "done"}, headers=operator)
    assert bad_filter.status_code == 422


async def test_an_ack_racing_the_expiry_ends_in_exactly_one_final_state(
    app, client, operator, battery, events, sessions
):
    commands = [
        (await send(client, operator, battery["id"], kind="stop", ttl_s=30)).json()
        for _ in range(12)
    ]
    deadline = max(c["expires_ms"] for c in commands)
    await asyncio.gather(
        *(ack(app, battery, c["id"], "succeeded", c["expires_ms"] - 1) for c in commands),
        app.state.control.expire_commands(deadline),
        app.state.control.expire_commands(deadline + 1),
    )
    ids = ", ".join(str(c["id"]) for c in commands)
    async with sessions() as session:
        finals = (
            await session.execute(
                text(
                    "SELECT command_id, COUNT(*) FROM command_transitions WHERE command_id IN"
                    f" ({ids}) AND state IN ('succeeded', 'failed', 'expired') GROUP BY command_id"
                )
            )
        ).all()
        rows = await session.execute(text(f"SELECT id, state FROM commands WHERE id IN ({ids})"))
        states = {command_id: state for command_id, state in rows}
    assert sorted(finals) == sorted((c["id"], 1) for c in commands)
    assert set(states.values()) <= {"succeeded", "expired"}
    announced = [e for e in events.events if e[1].get("state") in ("succeeded", "expired")]
    assert sorted(e[1]["command_id"] for e in announced) == sorted(c["id"] for c in commands)
    for _, event in announced:
        assert states[event["command_id"]] == event["state"]


async def test_viewers_may_not_send_and_other_sites_are_hidden(
    app, client, operator, auth_headers, battery
):
    viewer = await auth_headers(Role.VIEWER)
    assert (await send(client, viewer, battery["id"])).status_code == 403
    command = (await send(client, operator, battery["id"])).json()
    assert (await client.get(url(battery["id"]), headers=viewer)).status_code == 200

    elsewhere = await make_site(client, operator)
    limited = await auth_headers(Role.OPERATOR, sites=[elsewhere["id"]])
    assert (await send(client, limited, battery["id"])).status_code == 404
    assert (await client.get(url(battery["id"]), headers=limited)).status_code == 404
    hidden = await client.get(f"/api/v1/commands/{command['id']}", headers=limited)
    assert hidden.status_code == 404
    bulk = {"kind": "stop", "asset_ids": [battery["id"]]}
    assert (await client.post("/api/v1/commands", json=bulk, headers=limited)).status_code == 404
    assert (await client.post("/api/v1/commands", json=bulk)).status_code == 401


async def test_bulk_commands_to_a_group(client, operator, battery):
    site_id = battery["site_id"]
    second = await make_asset(client, operator, site_id, rated_capacity_kw=50)
    meter = await make_asset(client, operator, site_id, kind="meter")
    charge = {"kind": "charge", "params": {"power_kw": 20}, "idempotency_key": "evening-charge"}

    by_ids = {**charge, "asset_ids": [battery["id"], second["id"], meter["id"]]}
    response = await client.post("/api/v1/commands", json=by_ids, headers=operator)
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["created"] == 2 and body["existing"] == 0
    assert [r["asset_id"] for r in body["rejected"]] == [meter["id"]]
    assert "storage" in body["rejected"][0]["message"]

    by_site = {**charge, "site_id": site_id, "asset_kinds": ["battery"]}
    replay = await client.post("/api/v1/commands", json=by_site, headers=operator)
    assert replay.status_code == 200, replay.text
    assert replay.json()["existing"] == 2
    assert {c["asset_id"] for c in replay.json()["commands"]} == {battery["id"], second["id"]}

    fresh = await client.post(
        "/api/v1/commands", json={"kind": "stop", "site_id": site_id}, headers=operator
    )
    assert fresh.status_code == 201 and fresh.json()["created"] == 3

    for bad in (
        {"kind": "stop"},
        {"kind": "stop", "asset_ids": [battery["id"]], "site_id": site_id},
        {"kind": "stop", "asset_ids": [battery["id"], battery["id"]]},
        {"kind": "stop", "asset_ids": [battery["id"]], "asset_kinds": ["battery"]},
        {"kind": "stop", "site_id": site_id, "asset_kinds": ["wind_onshore"]},
    ):
        response = await client.post("/api/v1/commands", json=bad, headers=operator)
        assert response.status_code == 422, (bad, response.text)
    missing = {"kind": "stop", "asset_ids": [987654]}
    assert (
        await client.post("/api/v1/commands", json=missing, headers=operator)
    ).status_code == 404
