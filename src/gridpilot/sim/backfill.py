"""Backfill: write a scenario's history fast through the normal telemetry ingest service.

Each asset continues from its last stored reading (``sim.resume``: registers, counters, SOC and
the commands in force), so a rerun fills exactly the gap, without a hole, an overlap or a
counter reset. History uses a coarser output step than the native interval (default 5 min: a
1 s compressor over 90 days would be 7.8 million samples per metric) between the first boundary
of that step and the last one at least ``NATIVE_TAIL_MS`` (1 h) before ``end``; the stretches
before (after a live stop) and after it are written at the native interval, so a short stop is
filled at the live resolution and the live simulation takes over where the backfill ends. The
models always run at their native interval, so power is the bucket mean and registers are exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.sim.generate import Accumulator, after, generate, output_step_ms, readings
from gridpilot.sim.model import Anomaly, Overrides, SimContext
from gridpilot.sim.provision import SIMULATOR, SimAsset
from gridpilot.sim.resume import resume_all
from gridpilot.sim.weather import WeatherModel
from gridpilot.telemetry import service as telemetry_service
from gridpilot.telemetry.tasks import TelemetryRuntime

DEFAULT_STEP_MS = 5 * 60_000
#: The last stretch before ``end`` written at the native interval [ms].
NATIVE_TAIL_MS = 3_600_000
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


def segments(
    start_ms: int, end_ms: int, native_ms: int, step_ms: int, native_tail_ms: int = NATIVE_TAIL_MS
) -> list[tuple[int, int, int]]:
    """(start, end, step) stretches covering [start, end): native up to the first multiple of
    ``step_ms``, coarse up to the last multiple ``native_tail_ms`` before the end, then native."""
    first = -(-start_ms // step_ms) * step_ms
    last = (end_ms - native_tail_ms) // step_ms * step_ms
    if step_ms == native_ms or first >= last:
        return [(start_ms, end_ms, native_ms)] if end_ms > start_ms else []
    parts = [(start_ms, first, native_ms), (first, last, step_ms), (last, end_ms, native_ms)]
    return [part for part in parts if part[1] > part[0]]


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
    """Generate and ingest up to ``end`` (default now) for every asset: from its last stored
    reading, or from ``end - span`` when it has none (or an older one).

    ``on_progress(done, total)`` is called after each asset-day. Waits until everything is
    stored and the rollups are refreshed.
    """
    check_retention(runtime, span_ms)
    began = time.monotonic()
    end = end_ms if end_ms is not None else now_ms()
    report = BackfillReport()
    resumes = await resume_all(runtime.sessions, assets)
    plans = []
    for asset in assets:
        native = output_step_ms(asset.spec.model, None)
        step = output_step_ms(asset.spec.model, step_ms)
        resume = resumes[asset.asset_id]
        start = max(resume.start_ms(end - span_ms, step), (end - span_ms) // step * step)
        stretches = []
        for part_start, part_end, part_step in segments(start, end, native, step):
            chunk = MS_PER_DAY // part_step * part_step
            stretches += [
                (s, min(s + chunk, part_end), part_step) for s in range(part_start, part_end, chunk)
            ]
        plans.append((asset, resume, stretches))
    total = sum(len(stretches) for _, _, stretches in plans)
    done = 0
    batch: list[dict] = []
    for asset, resume, stretches in plans:
        ctx = context_for(asset, seed, overrides=resume.overrides)
        ctx.state.update(resume.state)
        accumulator: Accumulator = resume.accumulator
        for chunk_start, chunk_end, chunk_step in stretches:
            ts, values = generate(
                asset.spec.model,
                ctx,
                chunk_start,
                chunk_end,
                step_ms=chunk_step,
                accumulator=accumulator,
            )
            ts, values = after(ts, values, resume.keep_after_ms)
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
