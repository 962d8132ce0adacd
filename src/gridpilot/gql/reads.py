"""Per-asset reads of the GraphQL layer: latest values and a series, through telemetry's
queries with the caller's scope and the REST routes' rules (metric lookup, resolution and
period parsing, the cap on points; an out-of-scope asset is ``NotFound`` before any other
error)."""

from __future__ import annotations

from typing import Any

from gridpilot.assets.service import find_metric_ref, get_asset, metric_refs
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import iso, parse_period
from gridpilot.gql.context import Context
from gridpilot.telemetry.queries import latest_values, require_asset, series
from gridpilot.telemetry.query_routes import iso_cached, parse_resolution


async def read_latest(
    ctx: Context, asset_id: int, metric: str | None
) -> list[tuple[str, str, float, str | None]]:
    """``(metric, ts, value, unit)`` of the asset's newest values, by metric key."""

    async def work() -> list[tuple[str, str, float, str | None]]:
        await get_asset(session=ctx.session, asset_id=asset_id, principal=ctx.principal)
        units = {m.key: m.unit for m in await metric_refs(session=ctx.session)}
        if metric is not None and metric not in units:
            raise ValidationFailed(f"unknown metric {metric!r}")
        keys = [metric] if metric else None
        found = await latest_values(session=ctx.session, asset_id=asset_id, metric_keys=keys)
        return [(k, iso(v.ts_ms), v.value, units.get(k)) for k, v in sorted(found.items())]

    return await ctx.call(work)


async def read_series(
    ctx: Context,
    asset_id: int,
    metric: str,
    start: str | None,
    end: str | None,
    resolution: str | None,
    agg: str,
) -> dict[str, Any]:
    """The fields of ``GET /assets/{id}/series`` (points as ``(ts, value)`` pairs)."""

    async def work() -> dict[str, Any]:
        session = ctx.session
        try:
            ref = await find_metric_ref(session=session, key=metric)
            if ref is None:
                raise ValidationFailed(f"unknown metric {metric!r}")
            step_ms = parse_resolution(resolution)
            start_ms, end_ms = parse_period(start, end)
        except ValidationFailed:
            await require_asset(session=session, asset_id=asset_id, principal=ctx.principal)
            raise
        result = await series(
            session=session,
            asset_id=asset_id,
            metric_id=ref.id,
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
            agg=agg,
            max_points=ctx.settings.max_series_points,
            principal=ctx.principal,
        )
        return {
            "asset_id": asset_id,
            "metric": ref.key,
            "unit": ref.unit,
            "resolution": "raw" if step_ms is None else (resolution or "").strip().lower(),
            "agg": agg,
            "source": result.source,
            "start": iso(start_ms),
            "end": iso(end_ms),
            "points": [(iso_cached(p.ts_ms), p.value) for p in result.points],
        }

    return await ctx.call(work)
