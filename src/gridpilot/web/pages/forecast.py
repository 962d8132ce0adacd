"""``/forecast``: a site's day-ahead load forecast with its 80 % and 95 % bands, after the
last two days of measured load (the same forecast as ``GET /api/v1/sites/{id}/forecast``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from nicegui import ui

from gridpilot.assets.service import list_sites
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.data import load_site_series
from gridpilot.insights.forecasts.schemas import ForecastOut
from gridpilot.insights.forecasts.service import get_forecast
from gridpilot.web.charts import points
from gridpilot.web.context import current
from gridpilot.web.figures import CONSUMING
from gridpilot.web.layout import frame, require_login

QUARTER_MS = 15 * 60_000


def _ms(ts: str) -> int:
    return int(pd.Timestamp(ts).timestamp() * 1000)


def band_chart(measured: list[list[float | None]], forecast: ForecastOut) -> dict[str, Any]:
    """ECharts options: measured load, forecast line, and 80/95 % bands as stacked areas."""
    rows = [(_ms(p.ts), p) for p in forecast.points]

    def line(name: str, data: list[list[Any]], **extra: Any) -> dict[str, Any]:
        return {"name": name, "type": "line", "showSymbol": False, "data": data, **extra}

    hidden = {"lineStyle": {"opacity": 0}, "tooltip": {"show": False}}
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": ["measured", "forecast", "80 %", "95 %"]},
        "grid": {"left": 50, "right": 20, "top": 40, "bottom": 40},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": "kW"},
        "series": [
            line("95 % low", [[t, p.lo95] for t, p in rows], stack="b95", **hidden),
            line(
                "95 %",
                [[t, p.hi95 - p.lo95] for t, p in rows],
                stack="b95",
                lineStyle={"opacity": 0},
                areaStyle={"color": "rgba(25,118,210,0.15)"},
                itemStyle={"color": "rgba(25,118,210,0.25)"},
            ),
            line("80 % low", [[t, p.lo80] for t, p in rows], stack="b80", **hidden),
            line(
                "80 %",
                [[t, p.hi80 - p.lo80] for t, p in rows],
                stack="b80",
                lineStyle={"opacity": 0},
                areaStyle={"color": "rgba(25,118,210,0.3)"},
                itemStyle={"color": "rgba(25,118,210,0.5)"},
            ),
            line(
                "forecast",
                [[t, p.yhat] for t, p in rows],
                lineStyle={"type": "dashed"},
                itemStyle={"color": "#1976d2"},
            ),
            line("measured", measured, itemStyle={"color": "#424242"}),
        ],
    }


def register() -> None:
    @ui.page("/forecast")
    async def forecast_page(site: int | None = None) -> None:
        user = await require_login("/forecast")
        if user is None:
            return
        context = current()
        async with context.session() as session:
            sites = await list_sites(session=session, principal=user)
        with frame(user, "Load forecast"):
            if not sites:
                ui.label("No sites yet.")
                return
            chosen = next((s for s in sites if s.id == site), sites[0])
            ui.select(
                {s.id: s.name for s in sites},
                value=chosen.id,
                label="Site",
                on_change=lambda e: ui.navigate.to(f"/forecast?site={e.value}"),
            ).classes("w-56")
            now = now_ms()
            runtime = getattr(context.app.state, "forecasts", None)
            try:
                async with context.session() as session:
                    forecast = await get_forecast(
                        session=session,
                        principal=user,
                        settings=context.settings,
                        horizon="24h",
                        now_ms=now,
                        site_id=chosen.id,
                        weather=getattr(runtime, "weather", None),
                    )
                    end = now - now % QUARTER_MS + QUARTER_MS
                    measured = await load_site_series(
                        session=session,
                        site_id=chosen.id,
                        metric="power_kw",
                        start_ms=end - 2 * 86_400_000,
                        end_ms=end,
                        step_ms=QUARTER_MS,
                        roles=CONSUMING,
                        principal=user,
                    )
            except GridpilotError as error:
                ui.label(f"No forecast: {error}").classes("text-negative").props(
                    "data-testid=forecast-problem"
                )
                return
            peak = max(forecast.points, key=lambda p: p.yhat)
            with ui.row().classes("gap-6"):
                ui.label(f"Issued {forecast.issued_at} ({forecast.source})")
                ui.label(f"Peak {peak.yhat:,.0f} kW at {peak.ts} (95 % up to {peak.hi95:,.0f})")
                ui.label(f"Seasonality: {', '.join(forecast.seasonality) or 'none'}")
            ui.echart(band_chart(points(measured), forecast)).classes("w-full h-96").props(
                "data-testid=forecast-chart"
            )
