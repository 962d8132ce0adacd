"""HTTP routes of anomaly detection: scan an asset (CONFIGURE), list findings (READ).

Scoped like assets: another site's asset or anomaly is not found. ``anomaly.detected`` is
published for every newly stored finding once the transaction has committed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.dependencies import BusDep
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MAX_MS, MS_PER_DAY, iso, parse_period, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.anomalies import service
from gridpilot.insights.anomalies.events import anomaly_event, publish_anomalies
from gridpilot.insights.anomalies.models import Anomaly
from gridpilot.insights.anomalies.schemas import AnomalyOut, ScanOut

router = APIRouter(tags=["anomalies"])

AssetId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
SCAN_DEFAULT_SPAN_MS = 7 * MS_PER_DAY
Method = Literal["zscore", "isolation_forest", "level_shift", "trend"]


def anomaly_out(row: Anomaly) -> AnomalyOut:
    return AnomalyOut(
        id=row.id,
        asset_id=row.asset_id,
        site_id=row.site_id,
        metric=row.metric,
        ts=iso(row.ts_ms),
        method=row.method,
        score=row.score,
        severity=row.severity,
        detail=row.detail,
    )


def _bounded(value: str | None) -> int | None:
    if not value:
        return None
    ms = to_ms(value)
    if not 0 <= ms <= MAX_MS:
        raise ValidationFailed("times must lie between 1970 and 9999")
    return ms


@router.post(
    "/assets/{asset_id}/anomalies/scan",
    summary="Scan an asset for anomalies",
    description="Runs the residual z-score against the asset's newest baseline (warning at "
    "2 sigma, critical at 3), an Isolation Forest over its instantaneous metrics, a level-shift "
    "test on each of them (a fault held for hours) and a Mann-Kendall trend test (default: "
    "falling pressure_bar, a compressed-air leak) over "
    "[start, end) (default: the last 7 days) at `step_s` buckets. New findings are stored and "
    "published as `anomaly.detected`; partial buckets (under 80 % of the usual samples, or "
    "the unfinished current one) are not scored; detectors that cannot run are listed in "
    "`skipped`.",
)
async def scan_asset(
    asset_id: AssetId,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
    start: str | None = None,
    end: str | None = None,
    step_s: Annotated[int, Query(ge=60, le=7 * 86_400, description="Bucket [s]")] = 3600,
    methods: Annotated[list[Method] | None, Query()] = None,
    contamination: Annotated[float, Query(gt=0, lt=0.5)] = 0.01,
    trend_metric: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{1,63}$")] = "pressure_bar",
    trend_direction: Literal["decreasing", "increasing", "both"] = "decreasing",
    trend_min_change: Annotated[float | None, Query(ge=0, le=1e12)] = None,
) -> ScanOut:
    start_ms, end_ms = parse_period(start, end, default_span_ms=SCAN_DEFAULT_SPAN_MS)
    options = service.ScanOptions(
        step_ms=step_s * 1000,
        methods=tuple(methods) if methods else service.METHODS,
        contamination=contamination,
        trend_metric=trend_metric,
        trend_direction=trend_direction,
        trend_min_change=trend_min_change,
    )
    result = await service.scan_asset(
        session=session,
        asset_id=asset_id,
        principal=principal,
        start_ms=start_ms,
        end_ms=end_ms,
        options=options,
    )
    background.add_task(publish_anomalies, bus, [anomaly_event(r) for r in result.stored])
    return ScanOut(
        asset_id=asset_id,
        start=iso(start_ms),
        end=iso(end_ms),
        step_s=step_s,
        found=result.found,
        stored=[anomaly_out(r) for r in result.stored],
        skipped=result.skipped,
    )


@router.get(
    "/anomalies",
    summary="List detected anomalies",
    description="Stored findings you may see, newest first; filter by asset, site, method, "
    "severity and time (`since` inclusive, `until` exclusive; ISO-8601 or epoch ms).",
)
async def list_anomalies(
    principal: Reader,
    session: SessionDep,
    asset: OptionalId = None,
    site: OptionalId = None,
    since: str | None = None,
    until: str | None = None,
    method: Method | None = None,
    severity: Literal["warning", "critical"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[AnomalyOut]:
    since_ms = _bounded(since)
    until_ms = _bounded(until)
    if since_ms is not None and until_ms is not None and until_ms <= since_ms:
        raise ValidationFailed("until must be after since")
    rows = await service.list_anomalies(
        session=session,
        principal=principal,
        asset_id=asset,
        site_id=site,
        since_ms=since_ms,
        until_ms=until_ms,
        method=method,
        severity=severity,
        limit=limit,
        offset=offset,
    )
    return [anomaly_out(r) for r in rows]
