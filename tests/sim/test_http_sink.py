"""Live mode over HTTP: the simulator posts to /api/v1/telemetry with a service API key."""

from __future__ import annotations

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.provision import provision
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.sim.sinks import HttpSink


async def test_http_sink_posts_readings_that_are_stored(app, client, auth_headers):
    assets = await provision(sessions=app.state.sessions, bus=app.state.bus, scenarios=["building"])
    admin = await auth_headers(Role.ADMINISTRATOR)
    created = await client.post("/api/v1/api-keys", headers=admin, json={"name": "simulator"})
    assert created.status_code == 201, created.text
    sink = HttpSink("http://test", created.json()["key"], client=client)
    simulator = LiveSimulator(assets, sink=sink)
    await simulator.prime(None)
    start = now_ms() // 60_000 * 60_000 - 600_000
    for asset in assets:
        live = simulator.live[asset.asset_id]
        ts, values = generate(asset.spec.model, live.ctx, start, start + 600_000, step_ms=60_000,
                              accumulator=Accumulator())  # fmt: skip
        await sink.send(asset, ts, values)
    assert sink.rejected == 0 and sink.stored >= len(assets) * 10 * 2
    hvac = next(a for a in assets if a.spec.model.kind == "hvac")
    latest = await client.get(f"/api/v1/assets/{hvac.asset_id}/latest", headers=admin)
    assert latest.status_code == 200
    assert "power_kw" in str(latest.json()) and "outdoor_temperature_c" in str(latest.json())
