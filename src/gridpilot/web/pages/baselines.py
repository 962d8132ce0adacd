"""``/baselines``: ISO 50001 energy baselines: pick drivers, fit, and judge the model.

Shows the fitted coefficients with p-values, R2, CV(RMSE), NMBE and the seed/ASHRAE verdicts,
then actual vs predicted energy and the CUSUM of the reporting period (``GET .../report``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
from nicegui import ui
from pydantic import ValidationError

from gridpilot.assets.service import list_assets
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.insights.baselines import service
from gridpilot.insights.baselines.models import Baseline, BaselineVersion
from gridpilot.insights.baselines.routes import version_out
from gridpilot.insights.baselines.schemas import BaselineCreate, DriverSpec
from gridpilot.web.context import current
from gridpilot.web.layout import frame, require_login

#: Driver checkboxes: label -> driver spec (temperature drivers read the chosen weather asset).
DRIVERS: dict[str, dict[str, Any]] = {
    "Production (production_count)": {"kind": "metric", "metric": "production_count"},
    "Outdoor temperature": {"kind": "temperature"},
    "Heating degree-days": {"kind": "hdd"},
    "Cooling degree-days": {"kind": "cdd"},
    "Operating hours": {"kind": "operating_hours"},
}
WEATHER_KINDS = ("temperature", "hdd", "cdd")
REPORT_DAYS = 30


def _ms(day: str) -> int:
    return int(pd.Timestamp(day, tz="UTC").timestamp() * 1000)


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(e["msg"] for e in error.errors())
    return str(error)


def _fit_summary(stored: BaselineVersion) -> None:
    version = version_out(stored)
    with ui.row().classes("gap-6 items-center").props("data-testid=baseline-fit"):
        ui.badge("valid" if version.valid else "not valid",
                 color="positive" if version.valid else "negative")  # fmt: skip
        for label, value in (
            ("R2", f"{version.r2:.3f}"),
            ("adj. R2", f"{version.adj_r2:.3f}"),
            ("CV(RMSE)", f"{version.cv_rmse_pct:.1f} %"),
            ("NMBE", f"{version.nmbe_pct:.2f} %"),
            ("n", str(version.n)),
        ):
            ui.label(f"{label} {value}").props(f"data-testid=fit-{label.split()[0].lower()}")
    ui.table(
        columns=[
            {"name": n, "label": label, "field": n, "align": "left"}
            for n, label in (
                ("name", "Term"),
                ("estimate", "Coefficient"),
                ("std_error", "Std. error"),
                ("p_value", "p-value"),
            )
        ],
        rows=[
            {
                "name": c["name"],
                "estimate": f"{c['estimate']:.4g}",
                "std_error": f"{c['std_error']:.3g}",
                "p_value": f"{c['p_value']:.2g}",
            }
            for c in (c.model_dump() for c in version.coefficients)
        ],
        row_key="name",
    ).classes("w-full").props("data-testid=coefficients")
    with ui.row().classes("gap-2"):
        for verdict in version.verdicts:
            passed = verdict.passed
            color = "positive" if passed else ("grey" if passed is None else "negative")
            ui.badge(f"{verdict.check}: {verdict.threshold}", color=color).tooltip(verdict.detail)


async def _report(user: Principal, baseline: Baseline, version: BaselineVersion) -> None:
    end = now_ms()
    start = end - REPORT_DAYS * 86_400_000
    try:
        async with current().session() as session:
            report = await service.report_period(
                session=session, baseline=baseline, version=version, start_ms=start, end_ms=end
            )
    except GridpilotError as error:
        ui.label(f"No report for the last {REPORT_DAYS} days: {error}")
        return
    stamps = [int(row.ts.timestamp() * 1000) for row in report.rows]
    with ui.row().classes("gap-6"):
        ui.label(f"Actual {report.actual_kwh:,.0f} kWh, predicted {report.predicted_kwh:,.0f} kWh")
        ui.label(f"Savings {report.savings_kwh:,.0f} kWh").props("data-testid=report-savings")
        if report.enpi is not None:
            ui.label(f"EnPI {report.enpi:.3f}")
    series = {
        "actual": [[t, round(r.actual, 2)] for t, r in zip(stamps, report.rows, strict=True)],
        "predicted": [[t, round(r.predicted, 2)] for t, r in zip(stamps, report.rows, strict=True)],
        "CUSUM": [[t, round(r.cusum, 2)] for t, r in zip(stamps, report.rows, strict=True)],
    }
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"top": 0},
            "xAxis": {"type": "time"},
            "yAxis": [{"type": "value", "name": "kWh"}, {"type": "value", "name": "CUSUM kWh"}],
            "series": [
                {"name": "actual", "type": "bar", "data": series["actual"]},
                {"name": "predicted", "type": "line", "data": series["predicted"]},
                {"name": "CUSUM", "type": "line", "yAxisIndex": 1, "data": series["CUSUM"]},
            ],
        }
    ).classes("w-full h-80").props("data-testid=report-chart")


async def _create_form(user: Principal, on_created: Any) -> None:
    async with current().session() as session:
        assets = await list_assets(session=session, principal=user, limit=100_000)
    names = {a.id: f"{a.name} (#{a.id})" for a in assets}
    today = pd.Timestamp(now_ms(), unit="ms").date()  # a UTC day, as ``_ms`` reads the fields
    with ui.card().classes("w-full").props("data-testid=baseline-form"):
        ui.label("New baseline").classes("text-subtitle1")
        with ui.row().classes("items-end gap-3"):
            name = ui.input("Name", value="Baseline").props("data-testid=baseline-name")
            asset = (
                ui.select(names, label="Asset").classes("w-56").props("data-testid=baseline-asset")
            )
            granularity = ui.select(["hour", "day", "week", "month"], value="day",
                                    label="Granularity")  # fmt: skip
            start = ui.input("From", value=str(today - timedelta(days=60)))
            end = ui.input("To", value=str(today - timedelta(days=REPORT_DAYS)))
            weather = ui.select(names, label="Temperature from", clearable=True).classes("w-56")
        checks = {
            label: ui.checkbox(label).props(
                f"data-testid=driver-{spec.get('metric', spec['kind'])}"
            )
            for label, spec in DRIVERS.items()
        }
        select = ui.checkbox("Drop insignificant drivers (p >= 0.05)")

        async def fit() -> None:
            drivers = []
            for label, box in checks.items():
                if box.value:
                    spec = dict(DRIVERS[label])
                    if spec["kind"] in WEATHER_KINDS and weather.value:
                        spec["asset_id"] = weather.value
                    drivers.append(DriverSpec(**spec))
            try:
                data = BaselineCreate(
                    name=name.value, asset_id=asset.value, granularity=granularity.value,
                    energy_metric="power_kw", drivers=drivers, start=_ms(start.value),
                    end=_ms(end.value), select_drivers=select.value,
                )  # fmt: skip
                async with current().session() as session:
                    baseline, _version = await service.create_baseline(
                        session=session, principal=user, data=data
                    )
            except (GridpilotError, ValidationError, ValueError) as error:
                ui.notify(_problem(error), type="negative", multi_line=True)
                return
            ui.notify(f"baseline {baseline.name!r} fitted", type="positive")
            await on_created(baseline.id)

        ui.button("Fit", icon="functions", on_click=fit).props("data-testid=fit-baseline")


def register() -> None:
    @ui.page("/baselines")
    async def baselines_page(baseline: int | None = None) -> None:
        user = await require_login("/baselines")
        if user is None:
            return
        async with current().session() as session:
            baselines = await service.list_baselines(session=session, principal=user)
        with frame(user, "Energy baselines (ISO 50001)"):

            async def show(baseline_id: int) -> None:
                ui.navigate.to(f"/baselines?baseline={baseline_id}")

            if user.has(Permission.CONFIGURE):
                await _create_form(user, show)
            if not baselines:
                ui.label("No baselines yet.")
                return
            chosen = next((b for b in baselines if b.id == baseline), baselines[0])
            ui.select(
                {b.id: b.name for b in baselines},
                value=chosen.id,
                label="Baseline",
                on_change=lambda e: ui.navigate.to(f"/baselines?baseline={e.value}"),
            ).classes("w-72")
            async with current().session() as session:
                version = await service.get_version(session=session, baseline=chosen, version=None)
            drivers = ", ".join(d["name"] for d in chosen.drivers) or "none"
            ui.label(
                f"{chosen.granularity} model of {chosen.energy_metric}, drivers: {drivers}; "
                f"fitted on {iso(version.start_ms)} .. {iso(version.end_ms)}"
            ).classes("text-caption")
            _fit_summary(version)
            await _report(user, chosen, version)
