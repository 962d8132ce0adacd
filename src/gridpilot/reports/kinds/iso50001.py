"""The ISO 50001 energy performance report: a baseline's reporting period (ISO 50006/50015).

From the baseline service (``insights.baselines.service.report_period``, the numbers of
``GET /api/v1/baselines/{id}/report``): actual and predicted energy [kWh], deviation and CUSUM
per period, savings (predicted - actual) [kWh and %], the ratio EnPI (actual / predicted [-],
< 1: improvement), SEC when a production driver exists; plus the savings' uncertainty at the
chosen confidence (``analytics.savings_uncertainty``, ASHRAE Guideline 14 Annex B) from the
baseline version's CV(RMSE), n and p. The baseline must belong to the report's site.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.baseline import BaselineFit
from gridpilot.analytics.savings_uncertainty import savings_uncertainty
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import iso
from gridpilot.insights.baselines import service as baselines
from gridpilot.reports.document import Chart, Column, Document, Figure, Section, Table
from gridpilot.reports.kinds import BuildContext, ReportKind, register
from gridpilot.reports.targets import Target


class Iso50001Params(BaseModel):
    """Parameters of the energy performance report."""

    model_config = ConfigDict(extra="forbid")

    baseline_id: int = Field(ge=1, le=2**31 - 1, description="A baseline of the report's site")
    version: int | None = Field(default=None, ge=1, description="Baseline version (newest)")
    confidence: float = Field(
        default=0.90, ge=0.5, le=0.99, description="Confidence of the savings' uncertainty"
    )


class BaselineNotOnSite(ValidationFailed):
    code = "baseline_not_on_site"


async def check(session: AsyncSession, principal: Principal, target: Target, params: Any) -> None:
    """The baseline exists, is visible to ``principal`` and belongs to the target site."""
    baseline = await baselines.get_baseline(
        session=session, baseline_id=params.baseline_id, principal=principal
    )
    if baseline.site_id != target.site.id:
        raise BaselineNotOnSite(f"baseline {baseline.id} belongs to another site")
    await baselines.get_version(session=session, baseline=baseline, version=params.version)


def _uncertainty(result: Any, fit: BaselineFit, confidence: float) -> list[Figure]:
    found = savings_uncertainty(
        savings_kwh=result.savings_kwh,
        predicted_kwh=result.predicted_kwh,
        cv_rmse_pct=fit.cv_rmse_pct,
        n_baseline=fit.n,
        n_params=fit.p,
        m_reporting=result.n,
        confidence=confidence,
    )
    label = f"Savings uncertainty ({confidence:.0%})"
    if found is None:
        return [Figure("savings_uncertainty_kwh", label, None, "kWh", 1)]
    fraction = None if found.fraction is None else 100 * found.fraction
    return [
        Figure(
            "savings_uncertainty_kwh",
            label,
            found.uncertainty_kwh,
            "kWh",
            1,
            f"± around the savings, t = {found.t_value:.3f}",
        ),
        Figure("savings_uncertainty_pct", "Fractional savings uncertainty", fraction, "%", 1),
    ]


async def build(ctx: BuildContext, params: Iso50001Params) -> Document:
    """The report's document over ``[ctx.start_ms, ctx.end_ms)``."""
    await check(ctx.session, ctx.principal, ctx.target, params)
    baseline = await baselines.get_baseline(
        session=ctx.session, baseline_id=params.baseline_id, principal=ctx.principal
    )
    version = await baselines.get_version(
        session=ctx.session, baseline=baseline, version=params.version
    )
    result = await baselines.report_period(
        session=ctx.session,
        baseline=baseline,
        version=version,
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
    )
    fit = BaselineFit.from_dict(version.result)
    stamps = [int(row.ts.timestamp() * 1000) for row in result.rows]
    rows = [
        [t, r.actual, r.predicted, r.deviation, r.cusum]
        for t, r in zip(stamps, result.rows, strict=True)
    ]
    columns = [Column("period", "Period", kind="time")] + [
        Column(f"{k}_kwh", label, "kWh", decimals=1)
        for k, label in (
            ("actual", "Actual"),
            ("predicted", "Baseline"),
            ("deviation", "Deviation"),
            ("cusum", "CUSUM"),
        )
    ]
    labels = [iso(t)[:10] for t in stamps]
    performance = [
        Figure("actual_kwh", "Actual energy", result.actual_kwh, "kWh", 1),
        Figure("predicted_kwh", "Baseline (predicted)", result.predicted_kwh, "kWh", 1),
        Figure("savings_kwh", "Savings", result.savings_kwh, "kWh", 1),
        Figure("savings_pct", "Savings", result.savings_pct, "%", 1),
        Figure("enpi", "EnPI (actual / baseline)", result.enpi, "", 3),
        *_uncertainty(result, fit, params.confidence),
    ]
    if result.sec_kwh_per_unit is not None:
        performance.append(Figure("sec", "SEC", result.sec_kwh_per_unit, "kWh/unit", 3))
    model = [
        Figure("baseline", "Baseline", f"{baseline.name} v{version.version}", "", 0),
        Figure(
            "baseline_period",
            "Baseline period",
            f"{iso(version.start_ms)[:10]} to {iso(version.end_ms)[:10]}",
            "",
            0,
        ),
        Figure("r2", "R²", fit.r2, "", 3),
        Figure("cv_rmse_pct", "CV(RMSE) of the fit", fit.cv_rmse_pct, "%", 1),
        Figure("cv_rmse_period_pct", "CV(RMSE) in the period", result.cv_rmse_pct, "%", 1),
        Figure("nmbe_period_pct", "NMBE in the period", result.nmbe_pct, "%", 2),
        Figure("n_baseline", f"Baseline {baseline.granularity}s", fit.n, "", 0),
        Figure("n_reporting", f"Reporting {baseline.granularity}s", result.n, "", 0),
        Figure("skipped", "Periods without data", result.skipped, "", 0),
    ]
    charts = [
        Chart(
            "actual_vs_predicted",
            "Actual vs baseline",
            "bar",
            labels,
            {"actual": [r[1] for r in rows], "baseline": [r[2] for r in rows]},
            "kWh",
        ),
        Chart(
            "cusum",
            "CUSUM of the deviation (falling: savings)",
            "line",
            labels,
            {"CUSUM": [r[4] for r in rows]},
            "kWh",
        ),
    ]
    return Document(
        kind=KIND.name,
        title=KIND.title,
        site_name=ctx.site.name,
        timezone=ctx.site.timezone,
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        generated_ms=ctx.now_ms,
        sections=[
            Section("Energy performance", performance),
            Section("Baseline model", model),
            Section("Per period", [*charts, Table("periods", "Per period", columns, rows)]),
        ],
        notes=[
            "Savings uncertainty after ASHRAE Guideline 14-2014 Annex B, residuals taken as "
            "uncorrelated (n' = n).",
        ],
    )


KIND = register(
    ReportKind(
        name="iso50001",
        title="Energy performance report (ISO 50001)",
        description="EnPI, baseline vs actual, CUSUM and savings with their uncertainty for a "
        "baseline of the site over the period.",
        params=Iso50001Params,
        build=build,
        check=check,
    )
)
