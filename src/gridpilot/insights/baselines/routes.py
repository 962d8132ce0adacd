"""HTTP routes of ISO 50001 energy baselines (READ to view, CONFIGURE to create/refit/delete).

Baselines outside the caller's sites answer 404. Times are ISO-8601 (UTC when no offset) or
epoch milliseconds; answers use ISO-8601 UTC.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.timestamps import MS_PER_DAY, iso, parse_period, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.baselines import service
from gridpilot.insights.baselines.models import Baseline, BaselineVersion
from gridpilot.insights.baselines.schemas import (
    BaselineCreate,
    BaselineOut,
    CoefficientOut,
    RefitRequest,
    ReportOut,
    ReportRowOut,
    SavingsUncertaintyOut,
    VerdictOut,
    VersionOut,
)

router = APIRouter(tags=["baselines"])

BaselineId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]
REPORT_DEFAULT_SPAN_MS = 30 * MS_PER_DAY


def version_out(version: BaselineVersion) -> VersionOut:
    result = version.result
    return VersionOut(
        version=version.version,
        start=iso(version.start_ms),
        end=iso(version.end_ms),
        fitted_at=version.fitted_at,
        fitted_by=version.fitted_by,
        valid=version.valid,
        n=result["n"],
        p=result["p"],
        r2=result["r2"],
        adj_r2=result["adj_r2"],
        cv_rmse_pct=result["cv_rmse_pct"],
        nmbe_pct=result["nmbe_pct"],
        rmse=result["rmse"],
        mean_energy=result["mean_energy"],
        dropped=result["dropped"],
        drivers=result["drivers"],
        coefficients=[CoefficientOut(**c) for c in result["coefficients"]],
        verdicts=[VerdictOut(**v) for v in result["verdicts"]],
    )


def baseline_out(
    baseline: Baseline,
    current: BaselineVersion | None,
    versions: list[BaselineVersion] | None = None,
) -> BaselineOut:
    return BaselineOut(
        id=baseline.id,
        name=baseline.name,
        site_id=baseline.site_id,
        asset_id=baseline.asset_id,
        granularity=baseline.granularity,
        energy_metric=baseline.energy_metric,
        drivers=baseline.drivers,
        auto_refit=baseline.auto_refit,
        latest_version=baseline.latest_version,
        created_by=baseline.created_by,
        created_at=baseline.created_at,
        current=version_out(current) if current is not None else None,
        versions=[version_out(v) for v in versions] if versions is not None else None,
    )


@router.post(
    "/baselines",
    status_code=201,
    summary="Create and fit an energy baseline",
    description="Fits OLS of energy per period on the drivers over [start, end) and stores it "
    "as version 1, with coefficients, p-values, R2, adj. R2, CV(RMSE), NMBE and the verdicts "
    "against the ISO 50001 seed thresholds and ASHRAE Guideline 14. A model that fails a check "
    "is stored too (valid=false); data that cannot identify the model is a 422.",
)
async def create_baseline(
    data: BaselineCreate, principal: Configurer, session: SessionDep
) -> BaselineOut:
    baseline, version = await service.create_baseline(
        session=session, principal=principal, data=data
    )
    return baseline_out(baseline, version)


@router.get(
    "/baselines",
    summary="List energy baselines",
    description="Baselines you may see, each with its current version.",
)
async def list_baselines(
    principal: Reader,
    session: SessionDep,
    site_id: OptionalId = None,
    asset_id: OptionalId = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[BaselineOut]:
    baselines = await service.list_baselines(
        session=session,
        principal=principal,
        site_id=site_id,
        asset_id=asset_id,
        limit=limit,
        offset=offset,
    )
    latest = await service.versions(
        session=session, baseline_ids=[b.id for b in baselines], latest_only=True
    )
    return [baseline_out(b, latest[b.id][0] if latest[b.id] else None) for b in baselines]


@router.get(
    "/baselines/{baseline_id}",
    summary="Get a baseline with all its versions",
    description="Every stored fit, newest first; `current` is the newest.",
)
async def get_baseline(
    baseline_id: BaselineId, principal: Reader, session: SessionDep
) -> BaselineOut:
    baseline = await service.get_baseline(
        session=session, baseline_id=baseline_id, principal=principal
    )
    found = (await service.versions(session=session, baseline_ids=[baseline.id]))[baseline.id]
    return baseline_out(baseline, found[0] if found else None, found)


@router.post(
    "/baselines/{baseline_id}/refit",
    summary="Refit a baseline (stores a new version)",
    description="Fits again on [start, end); without a body, on the latest whole UTC days as "
    "long as the current version's period. Earlier versions are kept.",
)
async def refit_baseline(
    baseline_id: BaselineId,
    principal: Configurer,
    session: SessionDep,
    data: RefitRequest | None = None,
) -> BaselineOut:
    baseline = await service.get_baseline(
        session=session, baseline_id=baseline_id, principal=principal
    )
    data = data or RefitRequest()
    version = await service.refit(
        session=session,
        baseline=baseline,
        actor=principal.subject,
        start_ms=to_ms(data.start) if data.start is not None else None,
        end_ms=to_ms(data.end) if data.end is not None else None,
    )
    return baseline_out(baseline, version)


@router.get(
    "/baselines/{baseline_id}/report",
    summary="Reporting period against a baseline",
    description="Per period: actual, predicted, deviation (actual - predicted) and CUSUM [kWh]; "
    "totals: savings (predicted - actual), EnPI (actual / predicted), SEC when a production "
    "driver exists, and the model's CV(RMSE)/NMBE on this period. Default period: the last "
    "30 days; default version: the newest.",
)
async def baseline_report(
    baseline_id: BaselineId,
    principal: Reader,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> ReportOut:
    baseline = await service.get_baseline(
        session=session, baseline_id=baseline_id, principal=principal
    )
    start_ms, end_ms = parse_period(start, end, default_span_ms=REPORT_DEFAULT_SPAN_MS)
    stored = await service.get_version(session=session, baseline=baseline, version=version)
    result = await service.report_period(
        session=session, baseline=baseline, version=stored, start_ms=start_ms, end_ms=end_ms
    )
    return ReportOut(
        baseline_id=baseline.id,
        version=stored.version,
        start=iso(start_ms),
        end=iso(end_ms),
        n=result.n,
        skipped=result.skipped,
        actual_kwh=result.actual_kwh,
        predicted_kwh=result.predicted_kwh,
        deviation_kwh=result.deviation_kwh,
        savings_kwh=result.savings_kwh,
        savings_pct=result.savings_pct,
        enpi=result.enpi,
        sec_kwh_per_unit=result.sec_kwh_per_unit,
        cv_rmse_pct=result.cv_rmse_pct,
        nmbe_pct=result.nmbe_pct,
        savings_uncertainty=[SavingsUncertaintyOut(**u) for u in result.savings_uncertainty],
        rows=[
            ReportRowOut(
                ts=iso(round(row.ts.timestamp() * 1000)),
                actual=row.actual,
                predicted=row.predicted,
                deviation=row.deviation,
                cusum=row.cusum,
            )
            for row in result.rows
        ],
    )


@router.delete(
    "/baselines/{baseline_id}",
    status_code=204,
    summary="Delete a baseline and its versions",
)
async def delete_baseline(
    baseline_id: BaselineId, principal: Configurer, session: SessionDep
) -> Response:
    baseline = await service.get_baseline(
        session=session, baseline_id=baseline_id, principal=principal
    )
    await session.delete(baseline)
    await session.flush()
    return Response(status_code=204)
