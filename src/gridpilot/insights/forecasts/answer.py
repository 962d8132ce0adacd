"""A forecast as the API answers it (``ForecastOut``): its points, method, note and peak."""

from __future__ import annotations

import numpy as np

from gridpilot.analytics.forecast import Forecast
from gridpilot.analytics.forecast_bounds import is_exact
from gridpilot.core.timestamps import iso
from gridpilot.insights.forecasts.asset import SCHEDULE_INPUT
from gridpilot.insights.forecasts.forecast_store import METRIC, points_of
from gridpilot.insights.forecasts.generation import is_physical
from gridpilot.insights.forecasts.schemas import ForecastOut, ForecastPoint
from gridpilot.insights.forecasts.target import Target

SCHEDULE_NOTE = (
    "storage follows its plan: the site's latest flex schedule (charge > 0, discharge < 0; 0 "
    "beyond the schedule's end), GET /api/v1/sites/{id}/schedule"
)
STORAGE_NOTE = (
    "storage is not forecast from its history (it follows its plan, not a pattern): the "
    "planned charge and discharge are the site's flex schedule, GET /api/v1/sites/{id}/schedule"
)


def method_of(forecast: Forecast) -> str:
    """``physical``, ``schedule``, ``zero`` (exact 0, no uncertainty) or ``statistical``."""
    if is_physical(forecast):
        return "physical"
    if SCHEDULE_INPUT in forecast.regressors:
        return "schedule"
    if is_exact(forecast) and not forecast.yhat.any():
        return "zero"
    return "statistical"


def points(forecast: Forecast) -> list[ForecastPoint]:
    """The forecast's points with their 80 % and 95 % intervals."""
    return [
        ForecastPoint(ts=iso(int(p[0])), yhat=p[1], lo80=p[2], hi80=p[3], lo95=p[4], hi95=p[5])
        for p in points_of(forecast)
    ]


def answer(
    target: Target,
    forecast: Forecast,
    *,
    quantity: str | None,
    issued_ms: int,
    source: str,
    capacity_kw: float | None = None,
    components: dict[str, Forecast] | None = None,
    note: str | None = None,
) -> ForecastOut:
    """The API's answer of ``forecast`` of ``target``; ``components`` of a derived one (net)."""
    if target.role == "storage":
        note = SCHEDULE_NOTE if SCHEDULE_INPUT in forecast.regressors else STORAGE_NOTE
    if note is None and quantity == "generation" and method_of(forecast) == "statistical":
        note = (
            "a statistical model of the site's generation history: not every generator has a "
            "physical model (PV on a located site, wind, with a rated capacity)"
        )
    return ForecastOut(
        site_id=target.site_id,
        asset_id=target.asset_id,
        quantity=quantity,
        metric=METRIC,
        issued_at=iso(issued_ms),
        step_s=forecast.step_ms // 1000,
        horizon=len(forecast.index),
        source=source,
        seasonality=list(forecast.seasonality),
        regressors=list(forecast.regressors),
        calibrated=forecast.calibration_errors > 0 or is_exact(forecast),
        capacity_kw=capacity_kw,
        method="derived" if components else method_of(forecast),
        note=note,
        components=None if not components else {k: points(f) for k, f in components.items()},
        component_methods=None
        if not components
        else {k: method_of(f) for k, f in components.items()},
        points=points(forecast),
    )


def peak_of(forecast: Forecast) -> dict[str, float | int]:
    """The highest expected point: ``{"ts" (epoch ms), "yhat", "hi80", "hi95"}``."""
    i = int(np.nanargmax(forecast.yhat))
    return {
        "ts": int(forecast.index[i].value // 1_000_000),
        "yhat": round(float(forecast.yhat[i]), 4),
        "hi80": round(float(forecast.hi80[i]), 4),
        "hi95": round(float(forecast.hi95[i]), 4),
    }
