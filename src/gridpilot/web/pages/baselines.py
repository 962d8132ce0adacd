"""``/baselines``: ISO 50001 energy baselines: pick drivers, fit, and judge the model.

Shows the fitted coefficients with p-values, R2, CV(RMSE), NMBE and the seed/ASHRAE verdicts,
then actual vs predicted energy and the CUSUM of the reporting period (``GET .../report``),
which starts where the fit period ends (the two never overlap). The form's default period lies
over the last two weeks (the demo's history), the temperature list offers the chosen asset's
site only, and the operating-hours driver takes its power threshold.
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
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.baselines import service
from gridpilot.insights.baselines.models import Baseline, BaselineVersion
from gridpilot.insights.baselines.routes import version_out
from gridpilot.insights.baselines.schemas import BaselineCreate, DriverSpec
from gridpilot.web.charts import on_site_clock
from gridpilot.web.context import current
from gridpilot.web.layout import frame, painted, require_login

#: Driver checkboxes: label -> driver spec (temperature drivers read the chosen weather asset).
DRIVERS: dict[str, dict[str, Any]] = {
    "Production (units made)": {"kind": "metric", "metric": "production_count"},
    "Outdoor temperature": {"kind": "temperature"},
    "Heating degree-days": {"kind": "hdd"},
    "Cooling degree-days": {"kind": "cdd"},
    "Operating hours": {"kind": "operating_hours"},
    "Material moisture": {"kind": "moisture"},
}
WEATHER_KINDS = ("temperature", "hdd", "cdd")
#: The default fit period: from this many days ago to ``FIT_UNTIL_DAYS`` ago (UTC days), so
#: the reporting period after it has days of data too (the demo keeps 14 days).
FIT_FROM_DAYS, FIT_UNTIL_DAYS = 13, 4
#: Drivers' stored names as the page writes them.
TERM_NAMES = {
    "intercept": "Intercept",
    "production_count": "Production",
    "temperature": "Outdoor temperature",
    "hdd": "Heating degree-days",
    "cdd": "Cooling degree-days",
    "operating_hours": "Operating hours",
    "moisture": "Material moisture",
}
GRANULARITY = {"hour": "Hourly", "day": "Daily", "week": "Weekly", "month": "Monthly"}


def term_name(name: str) -> str:
    """A model term by its name on the page (``production_count``: ``Production``)."""
    return TERM_NAMES.get(name, name.replace("_", " ").capitalize())


def _ms(day: str) -> int:
    return int(pd.Timestamp(day, tz="UTC").timestamp() * 1000)


def _day(ms: int) -> str:
    """``2026-11-21 UTC``: the UTC day of ``ms`` (the form's dates are UTC days)."""
    return pd.Timestamp(ms, unit="ms").strftime("%Y-%m-%d UTC")


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
                "name": term_name(c["name"]),
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
    """The reporting period: from the end of the fit period to now (never overlapping it)."""
    start, end = version.end_ms, now_ms()
    period = f"{_day(start)} \u2013 now"
    if end - start < 86_400_000:
        ui.label(f"Reporting period {period}: not a whole day yet after the fit period.")
        return
    try:
        async with current().session() as session:
            report = await service.report_period(
                session=session, baseline=baseline, version=version, start_ms=start, end_ms=end
            )
    except GridpilotError as error:
        ui.label(f"No report for {period}: {error}")
        return
    ui.label(f"Reporting period {period} (after the fit period)").classes("text-subtitle2").props(
        "data-testid=report-period"
    )
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
        on_site_clock(
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
            },
            "UTC",  # the form's days are UTC days
        )
    ).classes("w-full h-80").props("data-testid=report-chart")


def _drivers(
    checks: dict[str, ui.checkbox], weather: ui.select, threshold: ui.number
) -> list[DriverSpec]:
    """The ticked drivers: temperature ones read the chosen asset of the site, operating
    hours count the hours above the threshold [kW]."""
    drivers = []
    for label, box in checks.items():
        if box.value:
            spec = dict(DRIVERS[label])
            if spec["kind"] in WEATHER_KINDS and weather.value:
                spec["asset_id"] = weather.value
            if spec["kind"] == "operating_hours" and threshold.value is not None:
                spec["threshold"] = float(threshold.value)
            drivers.append(DriverSpec(**spec))
    return drivers


async def _create_form(user: Principal, on_created: Any) -> None:
    async with current().session() as session:
        assets = await list_assets(session=session, principal=user, limit=100_000)
    names = {a.id: f"{a.name} (#{a.id})" for a in assets}
    site_of = {a.id: a.site_id for a in assets}
    today = pd.Timestamp(now_ms(), unit="ms").date()  # a UTC day, as ``_ms`` reads the fields
    with ui.card().classes("w-full").props("data-testid=baseline-form"):
        ui.label("New baseline").classes("text-subtitle1")
        with ui.row().classes("items-end gap-3"):
            name = ui.input("Name", value="Baseline").props("data-testid=baseline-name")
            asset = (
                ui.select(names, label="Asset").classes("w-56").props("data-testid=baseline-asset")
            )
            granularity = ui.select(GRANULARITY, value="day", label="Granularity").classes("w-32")
            start = ui.input("Fit from (UTC day)", value=str(today - timedelta(FIT_FROM_DAYS)))
            end = ui.input("Fit until (UTC day)", value=str(today - timedelta(FIT_UNTIL_DAYS)))
            weather = ui.select({}, label="Temperature from (same site)", clearable=True)
            weather.classes("w-72").props("data-testid=baseline-weather")

        def same_site() -> None:  # the weather asset comes from the chosen asset's site
            site = site_of.get(asset.value)
            weather.set_options({i: n for i, n in names.items() if site_of[i] == site})

        asset.on_value_change(same_site)
        ui.label(
            "The reporting period (actual against the model, CUSUM) starts where the fit "
            "period ends."
        ).classes("text-caption text-grey-7")
        checks: dict[str, ui.checkbox] = {}
        with ui.row().classes("items-center gap-x-4 gap-y-0 wrap"):
            for label, spec in DRIVERS.items():
                mark = spec.get("metric", spec["kind"])
                checks[label] = ui.checkbox(label).props(f"data-testid=driver-{mark}")
            threshold = ui.number("Running above [kW]", value=0.0, min=0).classes("w-36")
            threshold.props("dense data-testid=driver-threshold")
            threshold.bind_visibility_from(checks["Operating hours"], "value")
        select = ui.checkbox("Drop insignificant drivers (p >= 0.05)")

        async def fit() -> None:
            try:
                data = BaselineCreate(
                    name=name.value, asset_id=asset.value, granularity=granularity.value,
                    energy_metric="power_kw", drivers=_drivers(checks, weather, threshold),
                    start=_ms(start.value), end=_ms(end.value), select_drivers=select.value,
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
        with frame(user, "Energy baselines (ISO 50001)"):
            await painted()  # the frame answers at once; the baselines follow
            async with current().session() as session:
                baselines = await service.list_baselines(session=session, principal=user)

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
            drivers = ", ".join(term_name(d["name"]) for d in chosen.drivers) or "none"
            ui.label(
                f"{GRANULARITY.get(chosen.granularity, chosen.granularity)} model of energy, "
                f"drivers: {drivers}; fit period {_day(version.start_ms)} \u2013 "
                f"{_day(version.end_ms)}"
            ).classes("text-caption").props("data-testid=fit-period")
            _fit_summary(version)
            await _report(user, chosen, version)
