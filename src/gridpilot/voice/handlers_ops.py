"""Handlers of the operations intents: active alerts, tomorrow's forecast peak, demand-response
status and the correlation of energy with a driver. Data through the owning services only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.alerts.lifecycle import OPEN_STATES, AlertFilter, list_alerts
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import to_ms
from gridpilot.dr.service import list_events
from gridpilot.insights.forecasts.service import get_forecast
from gridpilot.voice.correlation import DEFAULT_DAYS, SUPPORTED_DRIVERS, correlate
from gridpilot.voice.scope import (
    Answer,
    Context,
    interval_text,
    local_time,
    resolve,
    sites_of,
)
from gridpilot.voice.speech import amount, listing, number, say

LISTED = 3


async def active_alerts(ctx: Context, slots: dict[str, Any]) -> Answer:
    """The open (active or acknowledged) alerts the caller may see, of one asset or site when
    named; the first three titles read out."""
    where = AlertFilter(states=list(OPEN_STATES))
    if slots.get("target"):
        scope = await resolve(ctx, slots["target"])
        if scope.kind == "asset":
            where.asset_id = scope.id
        else:
            where.site_id = scope.id
    alerts = await list_alerts(
        session=ctx.session, principal=ctx.principal, where=where, limit=500, offset=0
    )
    span = interval_text(ctx.now_ms, ctx.now_ms, "UTC")
    if not alerts:
        return Answer(say("alerts_none", ctx.lang), 0, "alerts", span)
    titles = [a.title for a in alerts[:LISTED]]
    key = "alerts_one" if len(alerts) == 1 else "alerts"
    text = say(key, ctx.lang, count=len(alerts), items=listing(titles, ctx.lang))
    return Answer(text, len(alerts), "alerts", span)


def _tomorrow(now_ms: int, timezone: str) -> tuple[int, int]:
    zone = ZoneInfo(timezone)
    today = dt.datetime.fromtimestamp(now_ms / 1000, tz=zone).date()
    start = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=2), dt.time(), tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


async def forecast_peak(ctx: Context, slots: dict[str, Any]) -> Answer:
    """The highest expected power [kW] of tomorrow (local day) in the 24-hour forecast of the
    site's consumption (or an asset's power), with its time."""
    scope = await resolve(ctx, slots.get("target"))
    start, end = _tomorrow(ctx.now_ms, scope.timezone)
    span = interval_text(start, end, scope.timezone)
    try:
        forecast = await get_forecast(
            session=ctx.session, principal=ctx.principal, settings=ctx.settings, horizon="24h",
            now_ms=ctx.now_ms, site_id=scope.id if scope.kind == "site" else None,
            asset_id=scope.id if scope.kind == "asset" else None, weather=ctx.weather,
        )  # fmt: skip
    except GridpilotError as exc:
        text = say("forecast_none", ctx.lang, name=scope.name, reason=str(exc).rstrip("."))
        return Answer(text, None, "kW", span, "no_data")
    points = [(to_ms(p.ts), p.yhat) for p in forecast.points]
    tomorrow = [(ts, kw) for ts, kw in points if start <= ts < end]
    if not tomorrow:
        reason = "the forecast does not reach tomorrow yet"
        text = say("forecast_none", ctx.lang, name=scope.name, reason=reason)
        return Answer(text, None, "kW", span, "no_data")
    at, peak = max(tomorrow, key=lambda p: (p[1], -p[0]))
    moment = local_time(at, scope.timezone, ctx.lang, with_day=False)
    text = say("forecast", ctx.lang, name=scope.name, amount=amount(peak, "kW", ctx.lang),
               when=moment)  # fmt: skip
    return Answer(text, round(peak, 3), "kW", span)


async def dr_status(ctx: Context, slots: dict[str, Any]) -> Answer:
    """The active demand-response event (or else the next scheduled one) of the caller's
    sites, with its end or start and its target reduction [kW]."""
    names = {s.id: (s.name, s.timezone) for s in await sites_of(ctx)}
    active = await list_events(session=ctx.session, principal=ctx.principal, status="active")
    span = interval_text(ctx.now_ms, ctx.now_ms, "UTC")
    if active:
        event = active[0]
        name, zone = names.get(event.site_id, (str(event.site_id), "UTC"))
        text = say("dr_active", ctx.lang, name=name,
                   when=local_time(event.end_ms, zone, ctx.lang, with_day=False),
                   amount=amount(event.target_reduction_kw, "kW", ctx.lang))  # fmt: skip
        return Answer(text, event.target_reduction_kw, "kW",
                      interval_text(event.start_ms, event.end_ms, zone))  # fmt: skip
    upcoming = await list_events(
        session=ctx.session, principal=ctx.principal, status="scheduled", start_ms=ctx.now_ms
    )
    if not upcoming:
        return Answer(say("dr_none", ctx.lang), None, "kW", span, "no_data")
    event = min(upcoming, key=lambda e: (e.start_ms, e.id))
    name, zone = names.get(event.site_id, (str(event.site_id), "UTC"))
    on = "il " if ctx.lang == "it" else "on "
    text = say("dr_next", ctx.lang, name=name, when=on + local_time(event.start_ms, zone, ctx.lang),
               amount=amount(event.target_reduction_kw, "kW", ctx.lang))  # fmt: skip
    return Answer(text, event.target_reduction_kw, "kW",
                  interval_text(event.start_ms, event.end_ms, zone))  # fmt: skip


async def correlation(ctx: Context, slots: dict[str, Any]) -> Answer:
    """Pearson's r of the daily energy of an asset or site with the outdoor temperature over
    the last 30 days (or the spoken number of days)."""
    driver = slots.get("driver") or "temperature"
    if driver not in SUPPORTED_DRIVERS:
        return Answer(say("correlation_unknown", ctx.lang), None, None, None, "no_data")
    scope = await resolve(ctx, slots.get("target"))
    match = re.fullmatch(r"last_(\d+)_days", slots.get("timeframe") or "")
    days = min(int(match.group(1)), 366) if match else DEFAULT_DAYS
    found = await correlate(ctx, scope, driver=driver, days=days)
    end = ctx.now_ms - ctx.now_ms % 86_400_000
    span = interval_text(end - days * 86_400_000, end, scope.timezone)
    if found.problem == "no_driver_data":
        text = say("correlation_no_driver", ctx.lang, name=scope.name)
        return Answer(text, None, None, span, "no_data")
    if found.pearson_r is None or found.slope_kwh_per_degc is None or found.r2 is None:
        text = say("correlation_none", ctx.lang, name=scope.name, reason=found.problem)
        return Answer(text, None, None, span, "no_data")
    text = say("correlation", ctx.lang, days=days, name=scope.name,
               amount=amount(found.slope_kwh_per_degc, "kWh", ctx.lang),
               share=number(found.r2 * 100.0, ctx.lang))  # fmt: skip
    return Answer(text, round(found.pearson_r, 3), "r", span)
