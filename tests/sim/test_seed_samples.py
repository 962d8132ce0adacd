"""The industrial seed's sample queries answer on the demo's factory (both back ends): its
machines are named as the seed says them (``compressor-1``, ``hvac-1``), and a demo database
made when the HVAC was called "HVAC" gets the asset renamed, not a second one."""

from __future__ import annotations

from gridpilot.assets import service as assets_service
from gridpilot.assets.schemas import AssetUpdate
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.db.engine import transaction
from gridpilot.sim.backfill import backfill
from gridpilot.sim.provision import SIMULATOR, provision

HOUR_MS = 3_600_000


async def factory_names(sessions) -> dict[str, int]:
    async with sessions() as session:
        sites = await assets_service.list_sites(session=session, principal=SIMULATOR)
        [factory] = [s for s in sites if s.name.startswith("Sim factory")]
        assets = await assets_service.list_assets(
            session=session, principal=SIMULATOR, site_id=factory.id
        )
    return {a.name: a.id for a in assets}


async def test_the_seed_samples_answer_on_the_demo_factory(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    assets = await provision(sessions=app.state.sessions, bus=app.state.bus, scenarios=["factory"])
    end = now_ms() // 900_000 * 900_000
    report = await backfill(
        assets, runtime=app.state.telemetry, seed=7, span_ms=15 * MS_PER_DAY, step_ms=HOUR_MS,
        end_ms=end,
    )  # fmt: skip
    assert report.rejected == 0, report.reasons
    names = await factory_names(app.state.sessions)

    one = await client.get("/api/v1/energy/machine/compressor-1?duration=1h", headers=admin)
    assert one.status_code == 200, one.text
    assert one.json()["machine"]["id"] == names["Compressor 1"]
    assert one.json()["energy_kwh"] > 0
    machines = await client.get("/api/v1/energy/machines?min_power=50", headers=admin)
    assert machines.status_code == 200, machines.text
    assert all(m["power_kw"] > 50 for m in machines.json()["machines"])
    correlation = await client.get(
        "/api/v1/analytics/correlation?machine=hvac-1&driver=temperature", headers=admin
    )
    assert correlation.status_code == 200, correlation.text
    body = correlation.json()
    assert body["machine"]["id"] == names["HVAC 1"]
    # the HVAC's own outdoor temperature over 14 whole days: a fit, no problem
    assert body["problem"] is None and body["n"] >= 13
    assert -1 <= body["pearson_r"] <= 1 and body["driver_asset_id"] == names["HVAC 1"]
    spoken = await client.post(
        "/api/v1/voice/query",
        json={"intent": "energy_consumption",
              "entities": {"machine": "compressor-1", "timeframe": "last_hour"}},
        headers=admin,
    )  # fmt: skip
    assert spoken.status_code == 200, spoken.text
    assert spoken.json()["text"].startswith("Compressor 1 consumed ")


async def test_an_older_demo_hvac_is_renamed_not_duplicated(app):
    sessions = app.state.sessions
    await provision(sessions=sessions, bus=app.state.bus, scenarios=["factory"])
    before = await factory_names(sessions)
    async with transaction(sessions) as session:  # as the demo named it before
        await assets_service.update_asset(
            session=session, asset_id=before["HVAC 1"], principal=SIMULATOR,
            changes=AssetUpdate(name="HVAC"),
        )  # fmt: skip
    assert "HVAC" in await factory_names(sessions)
    again = await provision(sessions=sessions, bus=app.state.bus, scenarios=["factory"])
    after = await factory_names(sessions)
    assert after == before  # same ids, "HVAC 1" again, nothing added
    assert {a.asset_id for a in again} == set(before.values())
