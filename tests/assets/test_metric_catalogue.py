"""The metric catalogue: built-ins, user-defined metrics and their validation."""

from __future__ import annotations

import uuid

from gridpilot.auth.permissions import Role

METRICS = "/api/v1/metrics"


async def test_builtins_are_listed_with_units(client, auth_headers):
    viewer = await auth_headers(Role.VIEWER)
    response = await client.get(METRICS, headers=viewer)
    assert response.status_code == 200
    by_key = {m["key"]: m for m in response.json()}
    assert by_key["power_kw"]["unit"] == "kW"
    assert by_key["energy_kwh"]["kind"] == "cumulative"
    assert by_key["irradiance_wm2"]["builtin"] is True


async def test_user_defined_metric(app, client, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    events = []
    key = f"steam_flow_{uuid.uuid4().hex[:8]}"  # metrics are not cleaned between tests

    async def record(topic, payload):
        events.append((topic, payload))

    unsubscribe = app.state.bus.subscribe("metric.changed", record)
    try:
        body = {"key": key, "unit": "kg/h", "kind": "instantaneous",
                "min_value": 0, "max_value": 50000, "description": "Boiler steam flow"}  # fmt: skip
        created = await client.post(METRICS, json=body, headers=operator)
    finally:
        unsubscribe()
    assert created.status_code == 201, created.text
    assert created.json()["builtin"] is False
    assert events == [("metric.changed", {"metric_id": created.json()["id"],
                                          "key": key, "action": "created"})]  # fmt: skip
    keys = [m["key"] for m in (await client.get(METRICS, headers=operator)).json()]
    assert key in keys

    duplicate = await client.post(METRICS, json=body, headers=operator)
    assert duplicate.status_code == 409
    builtin_clash = await client.post(
        METRICS, json={"key": "power_kw", "unit": "W"}, headers=operator
    )
    assert builtin_clash.status_code == 409


async def test_metric_validation(client, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    bad = [
        {"key": "Power", "unit": "kW"},
        {"key": "x", "unit": "kW"},
        {"key": "9lives", "unit": "kW"},
        {"key": "ok_key", "unit": ""},
        {"key": "ok_key", "unit": "kW", "kind": "vibes"},
        {"key": "ok_key", "unit": "kW", "min_value": 5, "max_value": 1},
    ]
    for body in bad:
        response = await client.post(METRICS, json=body, headers=operator)
        assert response.status_code == 422, body


async def test_viewer_cannot_define_metrics(client, auth_headers):
    viewer = await auth_headers(Role.VIEWER)
    response = await client.post(METRICS, json={"key": "abc", "unit": "kW"}, headers=viewer)
    assert response.status_code == 403


async def test_processes_starting_together_seed_the_catalogue_once(app, sessions):
    """Two processes starting at once both seed the built-in metrics; neither fails."""
    import asyncio

    from sqlalchemy import text

    from gridpilot.assets.catalogue import BUILTIN_METRICS
    from gridpilot.assets.service import ensure_builtin_metrics

    async with sessions() as session, session.begin():
        await session.execute(text("DELETE FROM metrics WHERE builtin"))

    async def start() -> None:
        async with sessions() as session, session.begin():
            await ensure_builtin_metrics(session=session)

    await asyncio.gather(start(), start())
    async with sessions() as session:
        keys = (await session.scalars(text("SELECT key FROM metrics WHERE builtin"))).all()
    assert sorted(keys) == sorted(spec.key for spec in BUILTIN_METRICS)


async def test_a_boolean_bound_is_refused(client, auth_headers):
    """Found by schemathesis: ``"min_value": false`` was stored as 0.0."""
    admin = await auth_headers()
    body = {"key": "bool_bound", "unit": "kW", "min_value": False}
    response = await client.post("/api/v1/metrics", json=body, headers=admin)
    assert response.status_code == 422, response.text
