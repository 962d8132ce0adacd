"""Correlation of an asset's (or a site's) daily energy with a driver: the outdoor temperature.

Reuses the ISO 50001 baseline code: ``insights.baselines.frame.model_frame`` builds the daily
energy [kWh] and temperature [degC] columns exactly as a baseline would, and
``analytics.baseline.fit_baseline`` fits the one-driver OLS model E = b0 + b1 x T. The answer
is the slope b1 [kWh per degC per day], its p-value, R2 and Pearson's r = sign(b1) x sqrt(R2)
(the correlation coefficient of a one-regressor least-squares fit).

The temperature is a site metric: the ``outdoor_temperature_c`` series of the first asset of
the site that measured it over the period. No such series: the answer says so, never a guess.

References: ISO 50006:2014, clause 4.4 and annex C (relevant variables, regression); ASHRAE
Guideline 14-2014, section 5.3 (statistical models).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gridpilot.analytics.baseline import fit_baseline
from gridpilot.core.errors import GridpilotError, ValidationFailed
from gridpilot.insights.baselines.frame import ENERGY, Target, model_frame
from gridpilot.insights.data import load_series, site_assets
from gridpilot.voice.scope import Context, Scope

DAY_MS = 86_400_000
#: The metric the outdoor temperature of a site is measured as.
TEMPERATURE_METRIC = "outdoor_temperature_c"
#: Drivers a correlation can be asked for (canonical names of ``parser.DRIVERS``).
SUPPORTED_DRIVERS = ("temperature",)
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Correlation:
    """A one-driver regression of daily energy [kWh] on the daily mean temperature [degC]."""

    scope: Scope
    driver: str
    driver_asset_id: int | None
    days: int
    n: int | None = None
    pearson_r: float | None = None
    r2: float | None = None
    slope_kwh_per_degc: float | None = None
    intercept_kwh: float | None = None
    p_value: float | None = None
    problem: str | None = None  # why there is no figure (no driver data, too few days, ...)


async def temperature_asset(ctx: Context, site_id: int, start_ms: int, end_ms: int) -> int | None:
    """The first asset of the site with outdoor temperature readings in the period."""
    for asset in await site_assets(session=ctx.session, site_id=site_id):
        values = await load_series(
            session=ctx.session, asset_id=asset.id, metric=TEMPERATURE_METRIC,
            start_ms=start_ms, end_ms=end_ms, step_ms=DAY_MS,
        )  # fmt: skip
        if values.notna().any():
            return asset.id
    return None


async def correlate(ctx: Context, scope: Scope, *, driver: str, days: int) -> Correlation:
    """The regression of the scope's daily energy on the site's outdoor temperature over the
    last ``days`` whole days (``problem`` set when it cannot be made)."""
    if driver not in SUPPORTED_DRIVERS:
        raise ValidationFailed(f"driver must be one of {', '.join(SUPPORTED_DRIVERS)}")
    end = ctx.now_ms - ctx.now_ms % DAY_MS
    start = end - days * DAY_MS
    weather = await temperature_asset(ctx, scope.site_id, start, end)
    base = Correlation(scope, driver, weather, days)
    if weather is None:
        return Correlation(scope, driver, None, days, problem="no_driver_data")
    target = Target(scope.site_id, scope.id if scope.kind == "asset" else None)
    spec = {"kind": "temperature", "metric": TEMPERATURE_METRIC, "asset_id": weather,
            "name": driver}  # fmt: skip
    frame = None
    for energy_metric in (ENERGY, "power_kw"):
        frame = await model_frame(
            session=ctx.session, target=target, energy_metric=energy_metric, drivers=[spec],
            granularity="day", start_ms=start, end_ms=end,
        )  # fmt: skip
        if frame.frame[ENERGY].notna().any():
            break
    assert frame is not None
    try:
        fit = fit_baseline(frame.frame, energy=ENERGY, drivers=[driver], granularity="day")
    except GridpilotError as exc:
        return Correlation(scope, driver, weather, days, problem=str(exc))
    slope = fit.coefficient(driver)
    r = math.copysign(math.sqrt(max(fit.r2, 0.0)), slope.estimate)
    return Correlation(
        base.scope, driver, weather, days, n=fit.n, pearson_r=r, r2=fit.r2,
        slope_kwh_per_degc=slope.estimate, intercept_kwh=fit.coefficient("intercept").estimate,
        p_value=slope.p_value,
    )  # fmt: skip
