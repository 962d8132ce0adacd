"""The facility seed's read surface over sites (facility id = site id): current demand and the
day-ahead load forecast in the seed's fields.

The forecast is the site's consumption forecast (``insights.forecasts``: the 15-minute job's
stored forecast when fresh, else computed), issued now and covering the next 24 h:

- ``start_time`` (default now) must lie in ``[the 15-min interval holding now, now + 24 h)``;
  elsewhere 422 ``forecast_start_out_of_range`` (past forecasts are not served here, and
  nothing is forecast beyond the day ahead). The answer runs from the interval of
  ``granularity`` holding ``start_time`` to the end of the day-ahead forecast: a later start
  gives fewer points (24 h x 4 at 15min for a start in the current quarter).
- ``granularity`` ``15min`` or ``1hour``; anything else 422 ``granularity_unsupported``.
  ``1hour`` averages the quarters of each whole UTC hour (an hour the forecast does not cover
  fully is left out); ``15min`` from a forecast at 1-hour resolution (a site metered hourly)
  is 422 ``granularity_unavailable`` (an hourly mean cannot be split honestly).
- ``confidence_lower`` / ``confidence_upper``: the 95 % interval. An hour's bounds are the
  means of its quarters' bounds: exact when the quarters' errors move together, wider than
  needed when they do not (a conservative band).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, MS_PER_MIN, iso, to_ms
from gridpilot.insights.forecasts import service as forecasts
from gridpilot.insights.forecasts.weather import WeatherSource
from gridpilot.insights.kpis.service import current_demand

GRANULARITY_MS = {"15min": 15 * MS_PER_MIN, "1hour": MS_PER_HOUR}


class GranularityUnsupported(ValidationFailed):
    code = "granularity_unsupported"


class GranularityUnavailable(ValidationFailed):
    code = "granularity_unavailable"


class StartOutOfRange(ValidationFailed):
    code = "forecast_start_out_of_range"


def check_query(start_time: str | None, granularity: str, now_ms: int) -> tuple[int, int]:
    """(start [epoch ms], granularity [ms]) or the 422 saying why not."""
    step = GRANULARITY_MS.get(granularity)
    if step is None:
        raise GranularityUnsupported(
            f"granularity must be 15min or 1hour, not {granularity[:20]!r}",
            details={"granularity": granularity[:20], "allowed": list(GRANULARITY_MS)},
        )
    first = now_ms - now_ms % (15 * MS_PER_MIN)
    start = now_ms if start_time is None else to_ms(start_time)
    if not first <= start < now_ms + MS_PER_DAY:
        raise StartOutOfRange(
            f"start_time must lie between {iso(first)} (the current 15-min interval) and "
            f"{iso(now_ms + MS_PER_DAY)} (the end of the day-ahead forecast)",
            details={"earliest": iso(first), "latest_before": iso(now_ms + MS_PER_DAY)},
        )
    return start, step


def _points(
    raw: list[tuple[int, float, float, float]], step_s: int, start_ms: int, granularity_ms: int
) -> list[dict[str, Any]]:
    """(interval start [ms], yhat, lo95, hi95) per forecast point -> the seed's points from
    the ``granularity_ms`` interval holding ``start_ms``."""
    first = start_ms - start_ms % granularity_ms
    per = granularity_ms // (step_s * 1000)
    groups: dict[int, list[tuple[int, float, float, float]]] = {}
    for point in raw:
        if point[0] >= first:
            groups.setdefault(point[0] - point[0] % granularity_ms, []).append(point)
    return [
        {
            "timestamp": iso(ts),
            "predicted_load_kw": round(sum(p[1] for p in group) / per, 3),
            "confidence_lower": round(sum(p[2] for p in group) / per, 3),
            "confidence_upper": round(sum(p[3] for p in group) / per, 3),
        }
        for ts, group in sorted(groups.items())
        if len(group) == per
    ]


async def facility_forecast(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    facility_id: int,
    start_time: str | None,
    granularity: str,
    now_ms: int,
    weather: WeatherSource | None,
) -> list[dict[str, Any]]:
    """The seed's forecast points of a site's consumption [kW]."""
    start, step = check_query(start_time, granularity, now_ms)
    found = await forecasts.get_forecast(
        session=session, principal=principal, settings=settings, horizon="24h", now_ms=now_ms,
        site_id=facility_id, quantity="consumption", weather=weather,
    )  # fmt: skip
    if found.step_s * 1000 > step:
        raise GranularityUnavailable(
            f"the site's forecast has a {found.step_s // 60}-minute resolution (its data are "
            f"hourly): ask for granularity 1hour",
            details={"forecast_step_s": found.step_s},
        )
    raw = [(to_ms(p.ts), p.yhat, p.lo95, p.hi95) for p in found.points]
    return _points(raw, found.step_s, start, step)


async def facility_current(
    *, session: AsyncSession, principal: Principal, facility_id: int, cache: Any
) -> dict[str, Any]:
    """The seed's current demand of a site: consumption and the grid import against the
    contract demand, from the site's current balance (``insights.kpis``)."""
    now = await current_demand(
        session=session, site_id=facility_id, principal=principal, cache=cache
    )
    return {
        "facility_id": now["site_id"],
        "facility_name": now["site_name"],
        "timestamp": now["timestamp"],
        "current_power_kw": now["current_demand_kw"],
        "grid_import_kw": now["grid_import_kw"],
        "contract_demand_kw": now["contract_demand_kw"],
        "contract_utilization_pct": now["contract_utilization_pct"],
        "headroom_kw": now["headroom_kw"],
        "over_contract": now["over_contract"],
    }
