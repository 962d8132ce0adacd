"""A stopped simulation continues where its stored data ends, on both back ends: a backfill
after a short stop leaves no hole and no counter reset, and a new live start continues the
registers, the battery SOC and the power limit a succeeded command set."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gridpilot.assets import service as assets_service
from gridpilot.control import service as control_service
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_MIN, now_ms
from gridpilot.sim.backfill import backfill, segments
from gridpilot.sim.noise import Array
from gridpilot.sim.provision import SIMULATOR, SimAsset, provision
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.telemetry import service as telemetry_service


async def raw(
    app, asset: SimAsset, key: str, start_ms: int, end_ms: int
) -> list[tuple[int, float]]:
    async with app.state.sessions() as session:
        metric = await assets_service.find_metric_ref(session=session, key=key)
        assert metric is not None
        series = await telemetry_service.series(
            session=session,
            asset_id=asset.asset_id,
            metric_id=metric.id,
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=None,
            agg="avg",
            max_points=1_000_000,
        )
    return [(p.ts_ms, float(p.value)) for p in series.points if p.value is not None]


def by_name(assets: list[SimAsset], name: str) -> SimAsset:
    return next(a for a in assets if a.spec.name == name)


def test_segments_are_native_around_the_coarse_stretch():
    minute, quarter = 60_000, 900_000
    assert segments(5 * minute, 107 * minute, minute, quarter) == [
        (5 * minute, 15 * minute, minute),
        (15 * minute, 45 * minute, quarter),
        (45 * minute, 107 * minute, minute),  # the last hour (and more) at the native interval
    ]
    assert segments(5 * minute, 65 * minute, minute, quarter) == [(5 * minute, 65 * minute, minute)]
    assert segments(20 * minute, 20 * minute, minute, quarter) == []


async def test_a_backfill_after_a_twenty_minute_stop_leaves_no_hole_and_no_reset(app):
    assets = await provision(sessions=app.state.sessions, bus=None, scenarios=["factory"])
    now = now_ms()
    stopped = now - 20 * MS_PER_MIN - 37_000  # not on any step's boundary
    runtime = app.state.telemetry
    first = await backfill(
        assets, runtime=runtime, seed=5, span_ms=MS_PER_DAY // 4, step_ms=900_000, end_ms=stopped
    )
    again = await backfill(
        assets, runtime=runtime, seed=5, span_ms=MS_PER_DAY // 4, step_ms=900_000, end_ms=now
    )
    assert first.rejected == again.rejected == 0

    since = stopped // 900_000 * 900_000  # the last coarse reading of the first run
    for name, key, native_ms in (
        ("Compressor 1", "energy_kwh", 1_000),
        ("Conveyor line 1", "production_count", 10_000),
        ("Conveyor line 1", "energy_kwh", 10_000),
    ):
        points = await raw(app, by_name(assets, name), key, since, now + 1)
        stamps = [ts for ts, _ in points]
        values = [v for _, v in points]
        assert stamps[0] == since
        assert max(np.diff(stamps[1:])) == native_ms, (name, key)  # no hole after the first
        assert now - stamps[-1] <= native_ms  # up to now
        assert min(np.diff(values)) >= 0, (name, key)  # no counter reset
        assert values[-1] > values[0]


class RecordingSink:
    def __init__(self) -> None:
        self.sent: dict[int, list[tuple[NDArray[np.int64], dict[str, Array]]]] = {}

    async def send(self, asset: SimAsset, ts: NDArray[np.int64], values: dict[str, Array]) -> None:
        self.sent.setdefault(asset.asset_id, []).append((ts, values))


async def succeed(app, asset: SimAsset, kind: str, params: dict) -> None:
    """A command the device answered ``succeeded`` (what the command links record)."""
    async with app.state.sessions() as session, session.begin():
        row = await assets_service.get_asset(
            session=session, asset_id=asset.asset_id, principal=SIMULATOR
        )
        command, _ = await control_service.queue_command(
            session=session,
            asset=row,
            principal=SIMULATOR,
            kind=kind,
            params=params,
            settings=app.state.settings,
        )
        await control_service.transition(
            session=session, command_id=command.id, to="sent", at_ms=now_ms(), actor="test"
        )
        for state in ("acknowledged", "succeeded"):
            await control_service.apply_ack(
                session=session,
                asset_id=asset.asset_id,
                command_id=command.id,
                state=state,
                detail=None,
                received_ms=now_ms(),
            )


async def test_a_new_live_start_continues_registers_soc_and_commands_in_force(app):
    assets = await provision(
        sessions=app.state.sessions, bus=None, scenarios=["factory", "portfolio"]
    )
    runtime = app.state.telemetry
    stopped = now_ms() - 5 * MS_PER_MIN
    report = await backfill(
        assets, runtime=runtime, seed=5, span_ms=MS_PER_DAY, step_ms=900_000, end_ms=stopped
    )
    assert report.rejected == 0
    compressor, battery = by_name(assets, "Compressor 1"), by_name(assets, "Battery 1")
    await succeed(app, compressor, "set_power_limit", {"limit_kw": 30})
    await succeed(app, battery, "stop", {})
    await succeed(app, battery, "start", {})  # the later command wins
    async with app.state.sessions() as session:
        stored = {
            a.asset_id: await telemetry_service.latest_values(session=session, asset_id=a.asset_id)
            for a in (compressor, battery)
        }

    sink = RecordingSink()
    simulator = LiveSimulator([compressor, battery], sink=sink, seed=5, speed=1e9)  # to now
    await simulator.prime(runtime)
    await simulator.tick()

    for asset in (compressor, battery):
        ts, values = sink.sent[asset.asset_id][0]
        last = stored[asset.asset_id]["energy_kwh"]
        assert ts[0] == last.ts_ms + int(asset.spec.model.interval_s * 1000)  # no gap, no overlap
        assert values["energy_kwh"][0] >= last.value  # the register continues
    _, first = sink.sent[compressor.asset_id][0]
    assert max(first["power_kw"]) <= 30.0  # the limit is still in force
    _, battery_first = sink.sent[battery.asset_id][0]
    soc = stored[battery.asset_id]["soc_pct"].value
    assert abs(battery_first["soc_pct"][0] - soc) < 1.0  # not back to 50 %
    assert simulator.live[battery.asset_id].ctx.overrides.running
