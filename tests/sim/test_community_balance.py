"""The demo's energy community on the site energy balance (issue #14): its prosumers' PV counts
as generation, and the site has self-consumption and self-sufficiency. Both back ends."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, iso, now_ms
from gridpilot.sim.backfill import backfill
from gridpilot.sim.provision import provision


async def test_demo_community_has_generation_and_self_sufficiency(app, client, auth_headers):
    assets = await provision(
        sessions=app.state.sessions, bus=app.state.bus, scenarios=["community"]
    )
    prosumers = [a for a in assets if a.spec.role == "prosumer"]
    assert prosumers, "the community has PV owners"
    end = now_ms() // 900_000 * 900_000
    report = await backfill(
        assets, runtime=app.state.telemetry, seed=5, span_ms=2 * MS_PER_DAY, step_ms=900_000,
        end_ms=end,
    )  # fmt: skip
    assert report.rejected == 0, report.reasons
    site_id = prosumers[0].site_id
    admin = await auth_headers(Role.ADMINISTRATOR)
    params = {"site": site_id, "start": iso(end - MS_PER_DAY), "end": iso(end)}
    response = await client.get("/api/v1/kpis", params=params, headers=admin)
    assert response.status_code == 200, response.text
    figures = response.json()["kpis"]
    generation = figures["generation_kwh"]["value"]
    consumption = figures["energy_kwh"]["value"]
    assert generation > 0 and consumption > 0
    assert 0 < figures["self_consumption"]["value"] <= 1
    assert 0 < figures["self_sufficiency"]["value"] < 1
    balance = figures["balance"]
    assert balance["generation_kwh"] == pytest.approx(generation, rel=1e-6)
    assert balance["points_without_data"] == []
    assert balance["coverage"] > 0.9
