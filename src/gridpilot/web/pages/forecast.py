"""``/forecast``: a site's day-ahead consumption and generation forecasts, apart, each with its
80 % and 95 % bands, after the last two days of the site energy balance (the same forecasts as
``GET /api/v1/sites/{id}/forecast?quantity=consumption|generation``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from nicegui import ui

from gridpilot.assets.service import list_sites
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.forecasts.schemas import ForecastOut
from gridpilot.insights.forecasts.service import get_forecast
from gridpilot.insights.forecasts.site import load_history
from gridpilot.insights.forecasts.tasks import weather_of
from gridpilot.web import palette
from gridpilot.web.charts import on_site_clock, points, time_chart
from gridpilot.web.context import current
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.numbers import local_datetime

QUARTER_MS = 15 * 60_000
#: Line and band colours (RGB) of each quantity: the flows' colours (``web.palette``).
COLOURS = {name: palette.rgb(name) for name in ("consumption", "generation")}


@dataclass(frozen=True)
class Quantity:
    """One quantity of the chart: its measured kW and its forecast (None: could not be made)."""

    name: str
    measured: list[list[float | None]]
    forecast: ForecastOut | None


def _ms(ts: str) -> int:
    return int(pd.Timestamp(ts).timestamp() * 1000)


def _line(name: str, data: list[list[Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "line", "showSymbol": False, "data": data, **extra}


def _bands(name: str, forecast: ForecastOut, rgb: tuple[int, int, int]) -> list[dict[str, Any]]:
    """The 95 % and 80 % bands of ``forecast`` as stacked areas (a hidden low line, then the
    width), and its dashed point forecast."""
    rows = [(_ms(p.ts), p) for p in forecast.points]
    colour = "rgba({},{},{},{{}})".format(*rgb)
    hidden = {"lineStyle": {"opacity": 0}, "tooltip": {"show": False}}
    series = []
    for level, low, high, alpha in (("95", "lo95", "hi95", 0.15), ("80", "lo80", "hi80", 0.3)):
        stack = f"{name} {level}"
        series.append(
            _line(f"{stack} low", [[t, getattr(p, low)] for t, p in rows], stack=stack, **hidden)
        )
        series.append(
            _line(
                f"{name} {level} %",
                [[t, getattr(p, high) - getattr(p, low)] for t, p in rows],
                stack=stack,
                lineStyle={"opacity": 0},
                areaStyle={"color": colour.format(alpha)},
                itemStyle={"color": colour.format(2 * alpha)},
            )
        )
    series.append(
        _line(
            f"{name} forecast",
            [[t, p.yhat] for t, p in rows],
            lineStyle={"type": "dashed"},
            itemStyle={"color": colour.format(1)},
        )
    )
    return series


def band_chart(quantities: list[Quantity]) -> dict[str, Any]:
    """ECharts options: per quantity its measured line, forecast line and 80/95 % bands."""
    series: list[dict[str, Any]] = []
    legend: list[str] = []
    for quantity in quantities:
        rgb = COLOURS[quantity.name]
        name = quantity.name.capitalize()  # as the legend reads: "Consumption forecast"
        if quantity.forecast is not None:
            series += _bands(name, quantity.forecast, rgb)
            legend += [f"{name} forecast", f"{name} 80 %", f"{name} 95 %"]
        measured = f"{name} measured"
        colour = "rgb({},{},{})".format(*rgb)  # solid; the forecast is dashed
        series.append(_line(measured, quantity.measured, itemStyle={"color": colour}))
        legend.append(measured)
    options = time_chart({}, unit="kW")  # the other charts' axes, grid lines and tooltips
    options["legend"] |= {"data": legend}
    options["yAxis"]["min"] = 0
    options["series"] = series
    return options


#: How each forecast method reads in a summary line.
METHODS = {
    "statistical": "from its history",
    "physical": "from physics (clear sky, power curve)",
    "zero": "nothing feeds it",
    "derived": "derived",
}


def _summary(quantity: Quantity, problem: str | None, timezone: str = "UTC") -> str:
    """One line per quantity: its peak and when (the site's time), or why there is none."""
    forecast = quantity.forecast
    if forecast is None:
        return f"No {quantity.name} forecast: {said(problem or 'not made')}"
    peak = max(forecast.points, key=lambda p: p.yhat)
    at, issued = (local_datetime(_ms(t), timezone) for t in (peak.ts, forecast.issued_at))
    text = f"{quantity.name.capitalize()}: peak {peak.yhat:,.0f} kW at {at} (95 % up to "
    text += f"{peak.hi95:,.0f}), issued {issued} ({forecast.source}), "
    text += METHODS.get(forecast.method, forecast.method)
    if forecast.capacity_kw is not None:
        text += f", capacity {forecast.capacity_kw:,.0f} kW"
    if forecast.note:
        text += f" ({forecast.note})"
    return text


async def _quantities(site_id: int, user: Any) -> tuple[list[Quantity], dict[str, str]]:
    """Both quantities' forecasts and the last two days of the site's balance [kW]."""
    context = current()
    weather = weather_of(context.app)
    now = now_ms()
    end = now - now % QUARTER_MS  # complete intervals: a partial one would read low
    found: list[Quantity] = []
    problems: dict[str, str] = {}
    async with context.session() as session:
        forecasts: dict[str, ForecastOut | None] = {}
        for name in COLOURS:
            try:
                forecasts[name] = await get_forecast(
                    session=session, principal=user, settings=context.settings,
                    horizon="24h", now_ms=now, site_id=site_id, quantity=name,
                    weather=weather,
                )  # fmt: skip
            except GridpilotError as error:
                forecasts[name], problems[name] = None, error.message
        history = await load_history(
            session=session, site_id=site_id, start_ms=end - 2 * 86_400_000, end_ms=end,
            step_ms=QUARTER_MS, max_gap_s=context.settings.energy_max_gap_s,
        )  # fmt: skip
    for name, forecast in forecasts.items():
        if name in history.absent:
            continue  # nothing on the site consumes (or generates): no line of zeros
        found.append(Quantity(name, points(getattr(history, name)), forecast))
    return found, problems


_TOO_LITTLE = re.compile(
    r"too little history: (\d+) observed points at a (\d+) s step, at least (\d+) are needed"
)


def said(problem: str) -> str:
    """A forecast's refusal in a user's words: history in hours, not points and seconds."""

    def hours(match: re.Match[str]) -> str:
        have, step_s, need = (int(g) for g in match.groups())
        return (
            f"too little history: {have * step_s / 3600:,.0f} h measured, "
            f"{need * step_s / 3600:,.0f} h needed"
        )

    return _TOO_LITTLE.sub(hours, problem)


def register() -> None:
    @ui.page("/forecast")
    async def forecast_page(site: int | None = None) -> None:
        user = await require_login("/forecast")
        if user is None:
            return
        with frame(user, "Site forecast"):
            await painted()  # the frame answers at once; the sites follow
            async with current().session() as session:
                sites = await list_sites(session=session, principal=user)
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
            body = ui.column().classes("w-full gap-4").props("data-testid=forecast-body")
            with body:
                ui.spinner(size="lg")
        # the page answers first: forecasts made on demand take a while
        ui.timer(0.01, lambda: _fill(body, chosen.id, user, chosen.timezone), once=True)


async def _fill(body: ui.column, site_id: int, user: Any, timezone: str) -> None:
    """The forecasts' summaries and chart of a site, into ``body`` (the chart on the site's
    wall clock, whatever the browser's zone)."""
    try:
        quantities, problems = await _quantities(site_id, user)
    except GridpilotError as error:
        problems, quantities = {"site": error.message}, []
    body.clear()
    with body:
        if not any(q.forecast for q in quantities):
            text = "; ".join(f"{k}: {said(v)}" for k, v in problems.items()) or "nothing to show"
            ui.label(f"No forecast yet: {text}").classes("text-body2").props(
                "data-testid=forecast-problem"
            )
            if any(q.measured for q in quantities):  # what was measured, all the same
                ui.echart(on_site_clock(band_chart(quantities), timezone)).classes(
                    "w-full h-96"
                ).props("data-testid=forecast-chart")
            return
        with ui.column().classes("gap-1"):
            for quantity in quantities:
                ui.label(_summary(quantity, problems.get(quantity.name), timezone)).props(
                    f"data-testid=forecast-{quantity.name}"
                )
        ui.echart(on_site_clock(band_chart(quantities), timezone)).classes("w-full h-96").props(
            "data-testid=forecast-chart"
        )
