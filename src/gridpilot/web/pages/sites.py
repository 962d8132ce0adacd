"""``/sites`` and ``/sites/{id}``: the site list; a site's assets, live values and history."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from nicegui import ui

from gridpilot.assets.models import Asset
from gridpilot.assets.service import get_site, list_assets, list_sites
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.data import load_site_series
from gridpilot.telemetry.service import last_seen, latest_values
from gridpilot.web.charts import points, time_chart
from gridpilot.web.context import current
from gridpilot.web.figures import CONSUMING, PRODUCING, since_label, statuses
from gridpilot.web.layout import frame, require_login

#: Time-range choices: label -> span in hours.
RANGES = {"24 hours": 24, "7 days": 24 * 7, "30 days": 24 * 30}
#: Resolution choices: label -> bucket in ms.
RESOLUTIONS = {"15 min": 15 * 60_000, "1 hour": 3_600_000, "1 day": 86_400_000}


def _asset_rows(
    assets: list[Asset],
    seen: dict[int, int | None],
    power: dict[int, float],
    status: dict[int, str],
) -> list[dict[str, Any]]:
    return [
        {
            "id": a.id,
            "status": status.get(a.id, "unknown"),
            "name": a.name,
            "kind": a.kind,
            "role": a.role,
            "rated_kw": a.rated_capacity_kw,
            "power_kw": None if a.id not in power else round(power[a.id], 2),
            "last_seen": since_label(seen.get(a.id)),
        }
        for a in assets
    ]


async def _history(user: Principal, site_id: int, hours: int, step_ms: int) -> pd.DataFrame:
    end = now_ms()
    end += step_ms - end % step_ms
    start = end - hours * 3_600_000
    async with current().session() as session:
        frame_ = {
            name: await load_site_series(
                session=session,
                site_id=site_id,
                metric="power_kw",
                start_ms=start,
                end_ms=end,
                step_ms=step_ms,
                roles=roles,
                principal=user,
            )
            for name, roles in (("consumption_kw", CONSUMING), ("generation_kw", PRODUCING))
        }
    return pd.DataFrame(frame_)


def _csv(history: pd.DataFrame) -> bytes:
    out = io.StringIO()
    history.rename_axis("ts").to_csv(out, date_format="%Y-%m-%dT%H:%M:%SZ")
    return out.getvalue().encode()


def register() -> None:
    @ui.page("/sites")
    async def sites_page() -> None:
        user = await require_login("/sites")
        if user is None:
            return
        async with current().session() as session:
            sites = await list_sites(session=session, principal=user)
        with frame(user, "Sites"):
            if not sites:
                ui.label("No sites yet.")
            with ui.row().classes("w-full gap-3"):
                for site in sites:
                    with (
                        ui.card()
                        .classes("min-w-[14rem] grow cursor-pointer")
                        .on("click", lambda s=site: ui.navigate.to(f"/sites/{s.id}"))
                    ):
                        ui.link(site.name, f"/sites/{site.id}").classes("text-h6")
                        ui.label(site.timezone).classes("text-caption")
                        if site.contract_demand_kw:
                            ui.label(f"Contract demand {site.contract_demand_kw:,.0f} kW")

    @ui.page("/sites/{site_id}")
    async def site_page(site_id: int) -> None:
        user = await require_login(f"/sites/{site_id}")
        if user is None:
            return
        async with current().session() as session:
            try:
                site = await get_site(session=session, site_id=site_id, principal=user)
            except NotFound:
                site = None
            assets = (
                []
                if site is None
                else await list_assets(session=session, principal=user, site_id=site_id)
            )
            seen = await last_seen(session=session, asset_ids=[a.id for a in assets])
            power: dict[int, float] = {}
            for asset in assets:
                values = await latest_values(
                    session=session, asset_id=asset.id, metric_keys=["power_kw"]
                )
                if "power_kw" in values:
                    power[asset.id] = values["power_kw"].value
        status = {a: view.status for a, view in (await statuses(assets)).items()}
        if site is None:
            with frame(user, "Site not found"):
                ui.label(f"There is no site {site_id} you may see.")
            return
        with frame(user, site.name):
            table = (
                ui.table(
                    columns=[
                        {"align": "left", "name": "status", "label": "Status", "field": "status"},
                        {
                            "align": "left",
                            "name": "name",
                            "label": "Asset",
                            "field": "name",
                            "sortable": True,
                        },
                        {
                            "align": "left",
                            "name": "kind",
                            "label": "Kind",
                            "field": "kind",
                            "sortable": True,
                        },
                        {"align": "left", "name": "role", "label": "Role", "field": "role"},
                        {"name": "rated_kw", "label": "Rated kW", "field": "rated_kw"},
                        {"name": "power_kw", "label": "Power kW", "field": "power_kw"},
                        {
                            "align": "left",
                            "name": "last_seen",
                            "label": "Last seen",
                            "field": "last_seen",
                        },
                    ],
                    rows=_asset_rows(assets, seen, power, status),
                    row_key="id",
                )
                .classes("w-full")
                .props("data-testid=asset-table")
            )
            table.on("rowClick", lambda e: ui.navigate.to(f"/assets/{e.args[1]['id']}"))
            with ui.card().classes("w-full"):
                with ui.row().classes("w-full items-center gap-4"):
                    ui.label("History").classes("text-subtitle1")
                    span = ui.select(list(RANGES), value="24 hours", label="Range").props(
                        "data-testid=range"
                    )
                    step = ui.select(list(RESOLUTIONS), value="15 min", label="Resolution").props(
                        "data-testid=resolution"
                    )
                    export = (
                        ui.button("CSV", icon="download")
                        .props("flat")
                        .props("data-testid=csv-export")
                    )
                chart = (
                    ui.echart(time_chart({}))
                    .classes("w-full h-80")
                    .props("data-testid=history-chart")
                )
                ui.label("Energy per interval").classes("text-subtitle2")
                bars = (
                    ui.echart(time_chart({}, unit="kWh", kind="bar"))
                    .classes("w-full h-56")
                    .props("data-testid=energy-bars")
                )
            shown: dict[str, pd.DataFrame] = {}

            async def redraw() -> None:
                history = await _history(user, site_id, RANGES[span.value], RESOLUTIONS[step.value])
                shown["data"] = history
                chart.options.update(
                    time_chart(
                        {
                            "Consumption": points(history["consumption_kw"]),
                            "Generation": points(history["generation_kw"]),
                        }
                    )
                )
                chart.update()
                hours = RESOLUTIONS[step.value] / 3_600_000
                energy = {
                    "Consumption": points(history["consumption_kw"] * hours),
                    "Generation": points(history["generation_kw"] * hours),
                }
                bars.options.update(time_chart(energy, unit="kWh", kind="bar"))
                bars.update()

            span.on_value_change(redraw)
            step.on_value_change(redraw)
            export.on_click(
                lambda: ui.download.content(
                    _csv(shown["data"]), f"site-{site_id}-power.csv", "text/csv"
                )
            )
            await redraw()

        visible = {a.id for a in assets}

        async def on_stored(_topic: str, payload: dict[str, Any]) -> None:
            changed = False
            for entry in payload.get("assets", []):
                asset_id = entry.get("asset_id")
                value = entry.get("latest", {}).get("power_kw")
                if asset_id in visible and value is not None:
                    power[asset_id] = float(value["value"])
                    seen[asset_id] = int(value["ts"])
                    changed = True
            if changed:
                table.rows[:] = _asset_rows(assets, seen, power, status)
                table.update()

        async def on_status(_topic: str, payload: dict[str, Any]) -> None:
            if payload.get("asset_id") in visible:
                status[payload["asset_id"]] = str(payload.get("status"))
                table.rows[:] = _asset_rows(assets, seen, power, status)
                table.update()

        bus = current().bus
        for unsubscribe in (
            bus.subscribe("readings.stored", on_stored),
            bus.subscribe("asset.status", on_status),
        ):
            ui.context.client.on_delete(unsubscribe)
