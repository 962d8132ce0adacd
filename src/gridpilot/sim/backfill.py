"""Backfill: write a scenario's history fast through the normal telemetry ingest service.

Each asset continues from its latest stored registers (a rerun fills the gap, it does not
duplicate). History uses a coarser output step than the native interval (default 5 min: a
1 s compressor over 90 days would be 7.8 million samples per metric); the models still run
at their native interval, so power is the bucket mean and the registers are exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.sim.generate import Accumulator, generate, output_step_ms, readings
from gridpilot.sim.model import Anomaly, Overrides, SimContext
from gridpilot.sim.provision import SIMULATOR, SimAsset
from gridpilot.sim.weather import WeatherModel
from gridpilot.telemetry import service as telemetry_service
from gridpilot.telemetry.tasks import TelemetryRuntime

DEFAULT_STEP_MS = 5 * 60_000
BATCH = 20_000


def context_for(
    asset: SimAsset,
    seed: int,
    *,
    injected: list[Anomaly] | None = None,
    overrides: Overrides | None = None,
) -> SimContext:
    site = asset.site
    return SimContext(
        seed=seed,
        timezone=site.timezone,
        weather_model=WeatherModel(seed, site.latitude, site.longitude),
        asset_key=asset.key,
        injected=injected if injected is not None else [],
        overrides=overrides or Overrides(),
    )


@dataclass
class BackfillReport:
    stored: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def resume_point(
    runtime: TelemetryRuntime, asset: SimAsset, default_start_ms: int, step_ms: int
) -> tuple[int, Accumulator, dict[str, float]]:
    """(start, accumulator, state) continuing after the asset's latest stored register."""
    async with runtime.sessions() as session:
        latest = await telemetry_service.latest_values(session=session, asset_id=asset.asset_id)
    model = asset.spec.model
    keys = [register for register, _, _ in model.registers] + list(model.counters)
    accumulator, state = Accumulator(), {}
    start = default_start_ms
    anchor = latest.get(keys[0]) if keys else None
    if anchor is not None and anchor.ts_ms + step_ms > start:
        start = anchor.ts_ms + step_ms
        for key in keys:
            if key in latest:
                accumulator.values[key] = float(latest[key].value)
        if "soc_pct" in latest:
            state["soc_pct"] = float(latest["soc_pct"].value)
    return start, accumulator, state


async def store(batch: list[dict], runtime: TelemetryRuntime, report: BackfillReport) -> None:
    result = await telemetry_service.ingest(
        batch, principal=SIMULATOR, runtime=runtime, channel="sim"
    )
    report.stored += result.stored
    report.rejected += len(result.rejected)
    for rejection in result.rejected[: max(0, 5 - len(report.reasons))]:
        report.reasons.append(f"{batch[rejection.index]}: {rejection.reason}")


def check_retention(runtime: TelemetryRuntime, span_ms: int) -> None:
    days = runtime.settings.retention_raw_days
    if days is not None and span_ms > days * MS_PER_DAY - 3_600_000:
        raise ValidationFailed(
            f"a backfill of {span_ms / MS_PER_DAY:g} days reaches past the raw retention of {days} "
            "days, so the oldest readings would be rejected: backfill less, or raise "
            "GRIDPILOT_RETENTION_RAW_DAYS (`gridpilot simulate --backfill` does it for its run)"
        )


async def backfill(
    assets: list[SimAsset],
    *,
    runtime: TelemetryRuntime,
    seed: int,
    span_ms: int,
    step_ms: int | None = DEFAULT_STEP_MS,
    end_ms: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BackfillReport:
    """Generate and ingest [end - span, end) for every asset (continuing stored registers).

    ``on_progress(done, total)`` is called after each asset-day. Waits until everything is
    stored and the rollups are refreshed.
    """
    check_retention(runtime, span_ms)
    began = time.monotonic()
    end = end_ms if end_ms is not None else now_ms()
    report = BackfillReport()
    plans = []
    for asset in assets:
        step = output_step_ms(asset.spec.model, step_ms)
        last = end // step * step
        start, accumulator, state = await resume_point(
            runtime, asset, (end - span_ms) // step * step, step
        )
        plans.append((asset, step, start, last, accumulator, state))
    total = sum(max(0, -(-(last - start) // MS_PER_DAY)) for _, _, start, last, _, _ in plans)
    done = 0
    batch: list[dict] = []
    for asset, step, start, last, accumulator, state in plans:
        ctx = context_for(asset, seed)
        ctx.state.update(state)
        chunk = MS_PER_DAY // step * step
        for chunk_start in range(start, last, chunk):
            ts, values = generate(
                asset.spec.model,
                ctx,
                chunk_start,
                min(chunk_start + chunk, last),
                step_ms=step,
                accumulator=accumulator,
            )
            batch.extend(readings(asset.asset_id, ts, values))
            if len(batch) >= BATCH:
                await store(batch, runtime, report)
                batch = []
            done += 1
            if on_progress is not None:
                on_progress(done, total)
    if batch:
        await store(batch, runtime, report)
    await runtime.flush()
    report.seconds = time.monotonic() - began
    return report
