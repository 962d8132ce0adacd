"""Energy baselines: define, fit (a version per fit), refit, and report a period against one.

Scope: a baseline belongs to its site (and asset); principals that cannot see them get
``NotFound``. Driver assets must be on the baseline's site. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.baseline import BaselineFit, backward_elimination, fit_baseline
from gridpilot.analytics.baseline_report import BaselineReport, report
from gridpilot.assets.service import can_see_asset, find_metric_ref, get_asset, get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, TooLarge, ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, now_ms, to_ms
from gridpilot.db.base import utcnow
from gridpilot.insights.baselines.frame import ENERGY, ModelFrame, Target, model_frame
from gridpilot.insights.baselines.models import Baseline, BaselineVersion
from gridpilot.insights.baselines.schemas import BaselineCreate

#: Longest baseline or reporting period [days] per granularity (bounds the data loaded).
MAX_PERIOD_DAYS = {"hour": 3 * 366, "day": 20 * 366, "week": 20 * 366, "month": 20 * 366}
REFIT_INTERVAL_MS = 7 * MS_PER_DAY


@dataclass(frozen=True)
class Evaluation:
    """A period's model frame with the baseline's prediction (for reports and z-scores)."""

    fit: BaselineFit
    frame: pd.DataFrame
    predicted: pd.Series


def check_period(granularity: str, start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    limit = MAX_PERIOD_DAYS[granularity]
    if end_ms - start_ms > limit * MS_PER_DAY:
        raise TooLarge(f"a {granularity} baseline period may span at most {limit} days")


def _visible(principal: Principal, baseline: Baseline) -> bool:
    if baseline.asset_id is not None:
        return can_see_asset(principal, baseline.asset_id, baseline.site_id)
    return principal.can_see_site(baseline.site_id) and principal.asset_ids is None


async def _target(session: AsyncSession, data: BaselineCreate, principal: Principal) -> Target:
    if data.asset_id is not None:
        asset = await get_asset(session=session, asset_id=data.asset_id, principal=principal)
        return Target(site_id=asset.site_id, asset_id=asset.id)
    assert data.site_id is not None
    site = await get_site(session=session, site_id=data.site_id, principal=principal)
    if principal.asset_ids is not None:
        raise NotFound(f"site {data.site_id} not found")
    return Target(site_id=site.id, asset_id=None)


async def _check_drivers(
    session: AsyncSession, target: Target, drivers: list[dict[str, Any]], principal: Principal
) -> None:
    for spec in drivers:
        if await find_metric_ref(session=session, key=spec["metric"]) is None:
            raise ValidationFailed(f"driver {spec['name']!r}: unknown metric {spec['metric']!r}")
        asset_id = spec.get("asset_id")
        if asset_id is None:
            if target.asset_id is None and spec["kind"] != "metric":
                raise ValidationFailed(
                    f"driver {spec['name']!r} of a site baseline needs an asset_id "
                    "(the asset that measures it, e.g. a weather station)"
                )
            continue
        asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
        if asset.site_id != target.site_id:
            raise ValidationFailed(f"driver asset {asset_id} is not on the baseline's site")


async def load_frame(
    *, session: AsyncSession, baseline: Baseline, start_ms: int, end_ms: int
) -> ModelFrame:
    check_period(baseline.granularity, start_ms, end_ms)
    return await model_frame(
        session=session,
        target=Target(baseline.site_id, baseline.asset_id),
        energy_metric=baseline.energy_metric,
        drivers=baseline.drivers,
        granularity=baseline.granularity,
        start_ms=start_ms,
        end_ms=end_ms,
    )


async def fit_version(
    *, session: AsyncSession, baseline: Baseline, start_ms: int, end_ms: int, actor: str
) -> BaselineVersion:
    """Fit ``baseline`` on ``[start_ms, end_ms)`` and store it as the next version."""
    data = await load_frame(session=session, baseline=baseline, start_ms=start_ms, end_ms=end_ms)
    fit = fit_baseline(
        data.frame,
        energy=ENERGY,
        drivers=[d["name"] for d in baseline.drivers],
        granularity=baseline.granularity,
        possible_observations=data.possible,
    )
    baseline.latest_version += 1
    version = BaselineVersion(
        baseline_id=baseline.id,
        version=baseline.latest_version,
        start_ms=start_ms,
        end_ms=end_ms,
        fitted_at=utcnow(),
        fitted_by=actor,
        valid=fit.valid,
        r2=fit.r2,
        cv_rmse_pct=fit.cv_rmse_pct,
        result=fit.to_dict(),
    )
    session.add(version)
    await session.flush()
    return version


async def create_baseline(
    *, session: AsyncSession, principal: Principal, data: BaselineCreate
) -> tuple[Baseline, BaselineVersion]:
    """Define a baseline and fit its first version (optionally selecting drivers first)."""
    target = await _target(session, data, principal)
    drivers = [d.resolved() for d in data.drivers]
    await _check_drivers(session, target, drivers, principal)
    start_ms, end_ms = to_ms(data.start), to_ms(data.end)
    check_period(data.granularity, start_ms, end_ms)
    if data.select_drivers and drivers:
        frame = await model_frame(
            session=session, target=target, energy_metric=data.energy_metric, drivers=drivers,
            granularity=data.granularity, start_ms=start_ms, end_ms=end_ms,
        )  # fmt: skip
        kept = backward_elimination(
            frame.frame,
            energy=ENERGY,
            drivers=[d["name"] for d in drivers],
            granularity=data.granularity,
        )
        drivers = [d for d in drivers if d["name"] in kept]
    baseline = Baseline(
        site_id=target.site_id,
        asset_id=target.asset_id,
        name=data.name,
        granularity=data.granularity,
        energy_metric=data.energy_metric,
        drivers=drivers,
        auto_refit=data.auto_refit,
        latest_version=0,
        created_by=principal.subject,
    )
    session.add(baseline)
    await session.flush()
    version = await fit_version(
        session=session, baseline=baseline, start_ms=start_ms, end_ms=end_ms,
        actor=principal.subject,
    )  # fmt: skip
    return baseline, version


async def list_baselines(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    asset_id: int | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[Baseline]:
    query = select(Baseline).order_by(Baseline.id)
    if principal.site_ids is not None:
        query = query.where(Baseline.site_id.in_(principal.site_ids))
    if principal.asset_ids is not None:
        query = query.where(Baseline.asset_id.in_(principal.asset_ids))
    if site_id is not None:
        query = query.where(Baseline.site_id == site_id)
    if asset_id is not None:
        query = query.where(Baseline.asset_id == asset_id)
    rows = await session.scalars(query.limit(limit).offset(offset))
    return list(rows.all())


async def get_baseline(
    *, session: AsyncSession, baseline_id: int, principal: Principal
) -> Baseline:
    baseline = await session.get(Baseline, baseline_id)
    if baseline is None or not _visible(principal, baseline):
        raise NotFound(f"baseline {baseline_id} not found")
    return baseline


async def versions(
    *, session: AsyncSession, baseline_ids: Sequence[int], latest_only: bool = False
) -> dict[int, list[BaselineVersion]]:
    """Versions per baseline id, newest first (only the newest with ``latest_only``)."""
    rows = await session.scalars(
        select(BaselineVersion)
        .where(BaselineVersion.baseline_id.in_(list(baseline_ids)))
        .order_by(BaselineVersion.baseline_id, BaselineVersion.version.desc())
    )
    found: dict[int, list[BaselineVersion]] = {i: [] for i in baseline_ids}
    for row in rows.all():
        if not (latest_only and found[row.baseline_id]):
            found[row.baseline_id].append(row)
    return found


async def get_version(
    *, session: AsyncSession, baseline: Baseline, version: int | None = None
) -> BaselineVersion:
    number = baseline.latest_version if version is None else version
    row = await session.scalar(
        select(BaselineVersion).where(
            BaselineVersion.baseline_id == baseline.id, BaselineVersion.version == number
        )
    )
    if row is None:
        raise NotFound(f"version {number} of baseline {baseline.id} not found")
    return row


async def refit(
    *,
    session: AsyncSession,
    baseline: Baseline,
    actor: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> BaselineVersion:
    """A new version on ``[start, end)``; by default the latest whole days, as long as before.

    The baseline row is locked (PostgreSQL) so concurrent refits number their versions in turn.
    """
    await session.refresh(baseline, with_for_update=True)
    previous = await get_version(session=session, baseline=baseline)
    span = previous.end_ms - previous.start_ms
    if start_ms is None:
        end_ms = end_ms if end_ms is not None else now_ms() // MS_PER_DAY * MS_PER_DAY
        start_ms = end_ms - span
    elif end_ms is None:
        end_ms = start_ms + span
    return await fit_version(
        session=session, baseline=baseline, start_ms=start_ms, end_ms=end_ms, actor=actor
    )


async def evaluate(
    *, session: AsyncSession, baseline: Baseline, version: BaselineVersion, start_ms: int,
    end_ms: int,
) -> Evaluation:  # fmt: skip
    """The period's data and the version's prediction for it."""
    data = await load_frame(session=session, baseline=baseline, start_ms=start_ms, end_ms=end_ms)
    fit = BaselineFit.from_dict(version.result)
    return Evaluation(fit, data.frame, fit.predict(data.frame))


def production_driver(baseline: Baseline) -> str | None:
    """The driver column holding production counts (for SEC), if any."""
    for spec in baseline.drivers:
        if spec["kind"] == "metric" and spec["metric"] == "production_count":
            return str(spec["name"])
    return None


async def report_period(
    *, session: AsyncSession, baseline: Baseline, version: BaselineVersion, start_ms: int,
    end_ms: int,
) -> BaselineReport:  # fmt: skip
    """Predicted vs actual, deviation, CUSUM, savings and EnPI over ``[start_ms, end_ms)``."""
    evaluation = await evaluate(
        session=session, baseline=baseline, version=version, start_ms=start_ms, end_ms=end_ms
    )
    return report(evaluation.fit, evaluation.frame, production=production_driver(baseline))


async def due_for_refit(*, session: AsyncSession, now: int) -> list[int]:
    """Ids of auto-refit baselines whose newest version was fitted a week or more ago."""
    rows = await session.execute(
        select(Baseline.id, BaselineVersion.fitted_at)
        .join(
            BaselineVersion,
            (BaselineVersion.baseline_id == Baseline.id)
            & (BaselineVersion.version == Baseline.latest_version),
        )
        .where(Baseline.auto_refit.is_(True))
    )
    cutoff = now - REFIT_INTERVAL_MS
    return [r.id for r in rows if int(r.fitted_at.timestamp() * 1000) <= cutoff]
