"""Backfill through the telemetry ingest service, on both back ends; reruns reuse and continue."""

from __future__ import annotations

import pytest

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.sim.backfill import backfill
from gridpilot.sim.provision import provision
from gridpilot.telemetry import service as telemetry_service

SCENARIOS = ["factory", "building", "portfolio", "community"]


async def test_seven_days_of_every_scenario_land_without_rejects(app):
    sessions, runtime = app.state.sessions, app.state.telemetry
    assets = await provision(sessions=sessions, bus=app.state.bus, scenarios=SCENARIOS)
    assert len({a.asset_id for a in assets}) == len(assets) >= 30
    end = now_ms() // 900_000 * 900_000 - 3_600_000  # the rerun fills the last hour
    report = await backfill(
        assets, runtime=runtime, seed=3, span_ms=7 * MS_PER_DAY, step_ms=900_000, end_ms=end
    )
    assert report.rejected == 0, report.reasons
    assert report.stored > 30 * 7 * 96 * 2

    compressor = next(a for a in assets if a.spec.model.kind == "compressor")
    async with sessions() as session:
        energy = await telemetry_service.energy(
            session=session,
            asset_id=compressor.asset_id,
            start_ms=end - 7 * MS_PER_DAY,
            end_ms=end,
            max_gap_s=900,
        )
        latest = await telemetry_service.latest_values(
            session=session, asset_id=compressor.asset_id
        )
    assert 15 * 24 * 6 < energy.energy_kwh < 75 * 24 * 7
    assert {"power_kw", "pressure_bar", "flow_m3h", "energy_kwh"} <= set(latest)
    assert latest["energy_kwh"].ts_ms == end - 1_000  # the last hour at the native 1 s

    # a rerun reuses the assets and only fills the gap since the last run
    again = await provision(sessions=sessions, bus=app.state.bus, scenarios=SCENARIOS)
    assert [a.asset_id for a in again] == [a.asset_id for a in assets]
    more = await backfill(
        again,
        runtime=runtime,
        seed=3,
        span_ms=7 * MS_PER_DAY,
        step_ms=900_000,
        end_ms=end + 3_600_000,
    )
    assert more.rejected == 0
    assert 0 < more.stored < report.stored / 4
    async with sessions() as session:
        after = await telemetry_service.latest_values(session=session, asset_id=compressor.asset_id)
    assert after["energy_kwh"].value > latest["energy_kwh"].value
    assert after["energy_kwh"].ts_ms == end + 3_600_000 - 1_000


async def test_backfill_past_the_raw_retention_is_refused_with_the_fix(app):
    assets = await provision(sessions=app.state.sessions, bus=None, scenarios=["factory"])
    with pytest.raises(ValidationFailed, match="GRIDPILOT_RETENTION_RAW_DAYS"):
        await backfill(assets, runtime=app.state.telemetry, seed=1, span_ms=45 * MS_PER_DAY)
