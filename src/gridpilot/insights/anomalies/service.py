"""Anomaly scans of one asset over a window, and the stored results.

A scan runs four detectors (``gridpilot.analytics.anomaly``/``anomaly_shift``/``anomaly_trend``):

- ``zscore``: residuals of the asset's newest baseline over the window (needs a baseline);
- ``isolation_forest``: over every instantaneous metric with data on at least half the window's
  buckets (needs two such metrics);
- ``level_shift``: the smoothed profile residual of each of those metrics (needs 3 days);
- ``trend``: Mann-Kendall on ``trend_metric`` (default ``pressure_bar``: a compressed-air leak
  shows as falling pressure), when the asset has it.

Partial buckets are never scored (``anomaly_coverage``): a bucket with under 80 % of the window's
usual sample count, or not yet over at ``now`` (the current hour), is left out of every detector.
A detector that cannot run says why in ``skipped``. Findings already stored (same asset, metric,
method and timestamp) are not stored or published again. Services flush; the caller commits and
then publishes ``anomaly.detected`` (``events``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.anomaly import Finding, isolation_findings, residual_zscores
from gridpilot.analytics.anomaly_coverage import bucket_coverage, complete
from gridpilot.analytics.anomaly_shift import shift_findings
from gridpilot.analytics.anomaly_trend import MAX_POINTS, mann_kendall, trend_severity
from gridpilot.assets.models import Asset
from gridpilot.assets.service import get_asset, metric_refs
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, TooLarge, ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.insights.anomalies.models import Anomaly
from gridpilot.insights.baselines import service as baselines
from gridpilot.insights.baselines.frame import ENERGY, base_step_ms
from gridpilot.insights.baselines.models import Baseline
from gridpilot.insights.data import load_series

METHODS = ("zscore", "isolation_forest", "level_shift", "trend")
MAX_SCAN_BUCKETS = 20_000
MIN_COVERAGE = 0.5
HOUR_MS = 3_600_000
#: Default smallest trend worth reporting: this share of the metric's median level.
TREND_MIN_CHANGE_SHARE = 0.02


@dataclass(frozen=True)
class ScanOptions:
    step_ms: int = 3_600_000
    methods: Sequence[str] = METHODS
    contamination: float = 0.01
    trend_metric: str = "pressure_bar"
    trend_direction: str = "decreasing"
    trend_min_change: float | None = None
    #: Time partial buckets are judged against [epoch ms]; None: the current time.
    now_ms: int | None = None


@dataclass
class ScanResult:
    stored: list[Anomaly] = field(default_factory=list)
    found: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


def _ms(ts: pd.Timestamp) -> int:
    return round(pd.Timestamp(ts).timestamp() * 1000)


async def _newest_baseline(session: AsyncSession, asset_id: int) -> Baseline | None:
    return await session.scalar(
        select(Baseline)
        .where(Baseline.asset_id == asset_id, Baseline.latest_version > 0)
        .order_by(Baseline.id.desc())
        .limit(1)
    )


async def _coverage(
    session: AsyncSession, asset: Asset, metric: str, buckets: pd.DatetimeIndex, step_ms: int,
    end_ms: int, now: int,
) -> pd.Series:  # fmt: skip
    """Coverage of ``buckets`` by ``metric``'s samples (``anomaly_coverage.bucket_coverage``).

    Samples are counted per hour (per bucket when buckets are shorter, or when hours would be
    too many), so a local-time day or week bucket gets its own hours.
    """
    start_ms = _ms(buckets[0])
    count_step = min(step_ms, HOUR_MS)
    if (end_ms - start_ms) / count_step > MAX_SCAN_BUCKETS:
        count_step = step_ms
    counts = await load_series(
        session=session, asset_id=asset.id, metric=metric, start_ms=start_ms, end_ms=end_ms,
        step_ms=count_step, agg="count",
    )  # fmt: skip
    step = pd.Timedelta(milliseconds=step_ms)
    return bucket_coverage(counts, buckets, step, pd.Timestamp(now, unit="ms", tz="UTC"))


async def _zscore(
    session: AsyncSession, asset: Asset, start_ms: int, end_ms: int, now: int
) -> tuple[str, list[Finding]]:
    baseline = await _newest_baseline(session, asset.id)
    if baseline is None:
        raise ValidationFailed("the asset has no baseline")
    version = await baselines.get_version(session=session, baseline=baseline)
    evaluation = await baselines.evaluate(
        session=session, baseline=baseline, version=version, start_ms=start_ms, end_ms=end_ms
    )
    actual = evaluation.frame[ENERGY]
    if len(actual):
        counted = ENERGY if baseline.energy_metric == ENERGY else "power_kw"
        step_ms = 7 * MS_PER_DAY if baseline.granularity == "week" else 0
        step_ms = step_ms or base_step_ms(baseline.granularity)
        buckets = pd.DatetimeIndex(actual.index)
        coverage = await _coverage(session, asset, counted, buckets, step_ms, end_ms, now)
        actual = complete(actual, coverage)
    _, findings = residual_zscores(actual, evaluation.predicted, evaluation.fit.rmse)
    for finding in findings:
        finding.detail.update(baseline_id=baseline.id, version=version.version)
    return baseline.energy_metric, findings


async def _features(
    session: AsyncSession, asset: Asset, start_ms: int, end_ms: int, step_ms: int, now: int
) -> pd.DataFrame:
    """Every instantaneous metric with data on at least half of the window's buckets.

    Partial buckets of a metric are NaN (so the row is not scored by the Isolation Forest).
    """
    columns = {}
    for ref in await metric_refs(session=session):
        if ref.kind != "instantaneous":
            continue
        values = await load_series(
            session=session, asset_id=asset.id, metric=ref.key, start_ms=start_ms,
            end_ms=end_ms, step_ms=step_ms,
        )  # fmt: skip
        if values.notna().mean() >= MIN_COVERAGE:
            buckets = pd.DatetimeIndex(values.index)
            coverage = await _coverage(session, asset, ref.key, buckets, step_ms, end_ms, now)
            columns[ref.key] = complete(values, coverage)
    return pd.DataFrame(columns)


def _trend(series: pd.Series, options: ScanOptions) -> list[Finding]:
    clean = series.dropna()
    if len(clean) > MAX_POINTS:  # coarser buckets keep the test's cost bounded
        factor = math.ceil(len(series) / MAX_POINTS)
        step = pd.Timedelta(milliseconds=options.step_ms * factor)
        clean = series.resample(step, origin="epoch").mean().dropna()
    result = mann_kendall(clean)
    min_change = options.trend_min_change
    if min_change is None:
        min_change = TREND_MIN_CHANGE_SHARE * abs(float(clean.median()))
    severity = trend_severity(result, direction=options.trend_direction, min_change=min_change)
    if severity is None:
        return []
    detail: dict[str, Any] = {
        "slope_per_day": result.slope_per_day,
        "change": result.change,
        "p_value": result.p_value,
        "tau": result.tau,
        "n": result.n,
        "from": _ms(clean.index[0]),
        "min_change": min_change,
    }
    return [Finding(pd.Timestamp(clean.index[-1]), abs(result.z), severity, detail)]


async def _run(
    method: str, session: AsyncSession, asset: Asset, start_ms: int, end_ms: int,
    options: ScanOptions, cache: dict[str, pd.DataFrame],
) -> list[tuple[str, Finding]]:  # fmt: skip
    now = options.now_ms if options.now_ms is not None else now_ms()
    if method == "zscore":
        metric, findings = await _zscore(session, asset, start_ms, end_ms, now)
        return [(metric, f) for f in findings]
    if method in ("isolation_forest", "level_shift"):
        if "features" not in cache:
            cache["features"] = await _features(
                session, asset, start_ms, end_ms, options.step_ms, now
            )
        features = cache["features"]
        if method == "level_shift":
            if features.empty:
                raise ValidationFailed("no instantaneous metric with data in the window")
            return [(f.detail["metric"], f) for f in shift_findings(features)]
        if features.shape[1] < 2:
            raise ValidationFailed("fewer than two metrics with data in the window")
        found = isolation_findings(features, contamination=options.contamination)
        return [(next(iter(f.detail["robust_z"])), f) for f in found]
    series = await load_series(
        session=session, asset_id=asset.id, metric=options.trend_metric, start_ms=start_ms,
        end_ms=end_ms, step_ms=options.step_ms,
    )  # fmt: skip
    if series.notna().mean() < MIN_COVERAGE:
        raise ValidationFailed(f"no {options.trend_metric} data on half the window")
    buckets = pd.DatetimeIndex(series.index)
    coverage = await _coverage(
        session, asset, options.trend_metric, buckets, options.step_ms, end_ms, now
    )
    return [(options.trend_metric, f) for f in _trend(complete(series, coverage), options)]


async def scan_asset(
    *,
    session: AsyncSession,
    asset_id: int,
    principal: Principal,
    start_ms: int,
    end_ms: int,
    options: ScanOptions | None = None,
) -> ScanResult:
    """Run the detectors on ``[start_ms, end_ms)`` and store the new findings."""
    options = options or ScanOptions()
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    if (end_ms - start_ms) / options.step_ms > MAX_SCAN_BUCKETS:
        raise TooLarge(f"a scan covers at most {MAX_SCAN_BUCKETS} steps; widen the step")
    unknown = set(options.methods) - set(METHODS)
    if unknown:
        raise ValidationFailed(f"unknown methods: {', '.join(sorted(unknown))}")
    result = ScanResult()
    cache: dict[str, pd.DataFrame] = {}
    for method in options.methods:
        try:
            found = await _run(method, session, asset, start_ms, end_ms, options, cache)
        except (ValidationFailed, NotFound) as exc:
            result.skipped[method] = exc.message
            continue
        result.found += len(found)
        result.stored += await _store(session, asset, method, found)
    return result


async def _store(
    session: AsyncSession, asset: Asset, method: str, found: list[tuple[str, Finding]]
) -> list[Anomaly]:
    if not found:
        return []
    stamps = [_ms(f.ts) for _, f in found]
    stored = await session.execute(
        select(Anomaly.metric, Anomaly.ts_ms).where(
            Anomaly.asset_id == asset.id,
            Anomaly.method == method,
            Anomaly.ts_ms >= min(stamps),
            Anomaly.ts_ms <= max(stamps),
        )
    )
    existing = {(str(metric), int(ts_ms)) for metric, ts_ms in stored.all()}
    rows = []
    for (metric, finding), ts_ms in zip(found, stamps, strict=True):
        if (metric, ts_ms) in existing:
            continue
        existing.add((metric, ts_ms))
        row = Anomaly(
            asset_id=asset.id,
            site_id=asset.site_id,
            metric=metric,
            ts_ms=ts_ms,
            method=method,
            score=finding.score,
            severity=finding.severity,
            detail=finding.detail,
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    return rows


async def list_anomalies(
    *,
    session: AsyncSession,
    principal: Principal,
    asset_id: int | None = None,
    site_id: int | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    method: str | None = None,
    severity: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[Anomaly]:
    """Stored anomalies the principal may see, newest first."""
    query = select(Anomaly).order_by(Anomaly.ts_ms.desc(), Anomaly.id.desc())
    if principal.site_ids is not None:
        query = query.where(Anomaly.site_id.in_(principal.site_ids))
    if principal.asset_ids is not None:
        query = query.where(Anomaly.asset_id.in_(principal.asset_ids))
    filters = [
        (Anomaly.asset_id, asset_id),
        (Anomaly.site_id, site_id),
        (Anomaly.method, method),
        (Anomaly.severity, severity),
    ]
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    if since_ms is not None:
        query = query.where(Anomaly.ts_ms >= since_ms)
    if until_ms is not None:
        query = query.where(Anomaly.ts_ms < until_ms)
    rows = await session.scalars(query.limit(limit).offset(offset))
    return list(rows.all())
