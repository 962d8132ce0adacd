"""``/settings/sites``: every site you may see, with edit and delete (configure), and
``/settings/sites/{id}``: the site's assets with create, edit and delete.

The forms build the API's own bodies (``SiteCreate``/``SiteUpdate``, ``AssetCreate``/
``AssetUpdate``) and call the services the routes call, so a value the API refuses is refused
here with the same reason, shown beside its field.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets import service as assets
from gridpilot.assets.catalogue import ASSET_KINDS, ASSET_ROLES
from gridpilot.assets.events import publish_assets_changed
from gridpilot.assets.models import Asset, Site
from gridpilot.assets.schemas import AssetCreate, AssetUpdate, SiteCreate, SiteUpdate
from gridpilot.auth import service as auth
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import NotFound
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act, blank, confirm, dialog_card
from gridpilot.web.layout import frame, painted, require_login, retitle
from gridpilot.web.numbers import number, power
from gridpilot.web.settings_view import back_link, empty_note, item_row

SITE_FIELDS = (
    "name",
    "timezone",
    "latitude",
    "longitude",
    "contract_demand_kw",
    "emission_factor_kg_per_kwh",
    "country",
)


def site_caption(site: Site, asset_count: int) -> str:
    """``Europe/Rome · contract 500.0 kW · 0.45 kg CO₂/kWh · 3 assets``."""
    parts = [site.timezone]
    if site.contract_demand_kw is not None:
        parts.append(f"contract {power(site.contract_demand_kw)}")
    parts.append(f"{number(site.emission_factor_kg_per_kwh, 'kg CO₂/kWh', 2)}")
    parts.append(f"{asset_count:,} asset{'s' if asset_count != 1 else ''}")
    return " · ".join(parts)


def _site_values(site: Site | None) -> dict[str, Any]:
    if site is None:
        return {"timezone": "UTC", "emission_factor_kg_per_kwh": 0.45}
    return {name: getattr(site, name) for name in SITE_FIELDS}


def _site_body(fields: dict[str, Any]) -> dict[str, Any]:
    body = {name: blank(element.value) for name, element in fields.items()}
    if isinstance(body.get("name"), str):
        body["name"] = body["name"].strip()
    if isinstance(body.get("country"), str):
        body["country"] = body["country"].strip().upper() or None
    return body


def site_dialog(site: Site | None, on_saved: Any) -> None:
    """The form of a new site (``site`` None) or of ``site``'s changes, in a dialog."""
    values = _site_values(site)
    from zoneinfo import available_timezones

    zones = sorted(available_timezones())
    dialog, card = dialog_card()
    with card:
        ui.label("New site" if site is None else f"Edit {site.name}").classes("text-h6")
        with ui.column().classes("w-full gap-1"):
            fields: dict[str, Any] = {
                "name": ui.input("Name", value=values.get("name") or ""),
                "timezone": ui.input(
                    "Time zone (IANA)", value=values["timezone"], autocomplete=zones
                ),
                "latitude": ui.number("Latitude [°]", value=values.get("latitude")),
                "longitude": ui.number("Longitude [°]", value=values.get("longitude")),
                "contract_demand_kw": ui.number(
                    "Contract demand [kW]", value=values.get("contract_demand_kw")
                ),
                "emission_factor_kg_per_kwh": ui.number(
                    "Grid emission factor [kg CO₂/kWh]",
                    value=values["emission_factor_kg_per_kwh"],
                ),
                "country": ui.input(
                    "Country (ISO code, e.g. IT)", value=values.get("country") or ""
                ),
            }
            for name, element in fields.items():
                element.classes("w-full").props(f"data-testid=site-{name}")
            form = Form(fields, "site")

        async def save() -> None:
            body = _site_body(fields)

            async def action(session: AsyncSession, user: Principal) -> Site:
                if site is None:
                    return await assets.create_site(
                        session=session, principal=user, data=SiteCreate.model_validate(body)
                    )
                changes = SiteUpdate.model_validate(body)
                return await assets.update_site(
                    session=session, site_id=site.id, principal=user, changes=changes
                )

            saved = await act(action, need=Permission.CONFIGURE, form=form)
            if saved is not None:
                dialog.close()
                ui.notify(f"Site {saved.name} saved", type="positive")
                await on_saved()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", on_click=save).props("unelevated data-testid=site-save")
    dialog.open()


async def ask_delete_site(user: Principal, site: Site, on_done: Any) -> None:
    async with current().session() as session:
        found = await assets.list_assets(session=session, principal=user, site_id=site.id)
    names = [a.name for a in found]
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")
    goes = (
        f"its {len(names):,} asset{'s' if len(names) != 1 else ''} ({listed}), their device keys "
        "and every reading they stored"
        if names
        else "no assets (the site has none)"
    )
    text = (
        f"Deleting {site.name} also deletes {goes}, its tariff versions, the alert rules and "
        "alerts of the site, its forecasts and baselines. Child sites are kept. This cannot be "
        "undone."
    )

    async def go() -> None:
        async def action(session: AsyncSession, user: Principal) -> list[int]:
            return await assets.delete_site(session=session, site_id=site.id, principal=user)

        gone = await act(action, need=Permission.CONFIGURE, done=f"Site {site.name} deleted")
        if gone is not None:
            await publish_assets_changed(current().bus, gone, "deleted")
            await on_done()

    confirm(f"Delete {site.name}?", text, go, "Delete site")


async def _sites_list(user: Principal, holder: ui.column) -> None:
    async with current().session() as session:
        sites = await assets.list_sites(session=session, principal=user)
        counts = Counter(
            a.site_id for a in await assets.list_assets(session=session, principal=user)
        )
    can_edit = user.has(Permission.CONFIGURE)

    async def refresh() -> None:
        holder.clear()
        with holder:
            await _sites_list(user, holder)

    if can_edit and user.site_ids is None:
        ui.button(
            "Add site", icon="add_location_alt", on_click=lambda: site_dialog(None, refresh)
        ).props("unelevated data-testid=add-site")
    if not sites:
        empty_note("No sites yet.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for site in sites:
            actions = []
            if can_edit:
                actions = [
                    ("edit", "Edit", lambda s=site: site_dialog(s, refresh)),
                    ("delete", "Delete", lambda s=site: ask_delete_site(user, s, refresh)),
                ]
            item_row(
                site.name,
                site_caption(site, counts.get(site.id, 0)),
                f"/settings/sites/{site.id}",
                f"site-{site.id}",
                actions,
                icon="location_on",
            )


def asset_caption(asset: Asset) -> str:
    """``solar pv · producer · 60.0 kW rated · SOLAR-PV-ITA-00001``."""
    parts = [asset.kind.replace("_", " "), asset.role.replace("_", " ")]
    if asset.rated_capacity_kw is not None:
        parts.append(f"{power(asset.rated_capacity_kw)} rated")
    if asset.source_id:
        parts.append(asset.source_id)
    return " · ".join(parts)


ASSET_FIELDS = ("name", "kind", "role", "rated_capacity_kw", "source_id", "expected_interval_s")


def _asset_body(fields: dict[str, Any], site_id: int, new: bool) -> dict[str, Any]:
    body = {name: blank(element.value) for name, element in fields.items()}
    if isinstance(body.get("name"), str):
        body["name"] = body["name"].strip()
    if isinstance(body.get("source_id"), str):
        body["source_id"] = body["source_id"].strip() or None
    if new:
        body["site_id"] = site_id
        return {k: v for k, v in body.items() if v is not None or k in ("name", "kind")}
    if body.get("role") is None:
        body.pop("role", None)
    return body


def asset_dialog(site: Site, asset: Asset | None, on_saved: Any) -> None:
    """The form of a new asset of ``site`` or of ``asset``'s changes."""
    values: dict[str, Any] = (
        {name: getattr(asset, name) for name in ASSET_FIELDS} if asset else {"kind": "meter"}
    )
    dialog, card = dialog_card()
    with card:
        ui.label(f"New asset of {site.name}" if asset is None else f"Edit {asset.name}").classes(
            "text-h6"
        )
        fields: dict[str, Any] = {
            "name": ui.input("Name", value=values.get("name") or ""),
            "kind": ui.select(sorted(ASSET_KINDS), value=values.get("kind"), label="Kind"),
            "role": ui.select(
                list(ASSET_ROLES),
                value=values.get("role"),
                label="Role (empty: the kind's usual role)",
                clearable=True,
            ),
            "rated_capacity_kw": ui.number(
                "Rated capacity [kW] (kWp for PV)", value=values.get("rated_capacity_kw")
            ),
            "source_id": ui.input(
                "WIA sourceId (e.g. SOLAR-PV-ITA-00001)", value=values.get("source_id") or ""
            ),
            "expected_interval_s": ui.number(
                "Expected interval between readings [s]", value=values.get("expected_interval_s")
            ),
        }
        for name, element in fields.items():
            element.classes("w-full").props(f"data-testid=asset-{name}")
        form = Form(fields, "asset")

        async def save() -> None:
            body = _asset_body(fields, site.id, asset is None)

            async def action(session: AsyncSession, user: Principal) -> Asset:
                if asset is None:
                    data = AssetCreate.model_validate(body)
                    return await assets.create_asset(session=session, principal=user, data=data)
                changes = AssetUpdate.model_validate(body)
                return await assets.update_asset(
                    session=session, asset_id=asset.id, principal=user, changes=changes
                )

            saved = await act(action, need=Permission.CONFIGURE, form=form)
            if saved is not None:
                dialog.close()
                verb = "created" if asset is None else "updated"
                await publish_assets_changed(current().bus, [saved.id], verb)
                ui.notify(f"Asset {saved.name} saved", type="positive")
                await on_saved()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", on_click=save).props("unelevated data-testid=asset-save")
    dialog.open()


async def ask_delete_asset(asset: Asset, on_done: Any) -> None:
    async with current().session() as session:
        keys = len(
            await auth.list_api_keys(session=session, asset_id=asset.id, include_revoked=False)
        )
    goes = f"its {keys:,} device key{'s' if keys != 1 else ''}" if keys else "no device keys"
    text = (
        f"Deleting {asset.name} also deletes every reading it stored, {goes} and its alerts. "
        "This cannot be undone."
    )

    async def go() -> None:
        async def action(session: AsyncSession, user: Principal) -> bool:
            await assets.delete_asset(session=session, asset_id=asset.id, principal=user)
            return True

        if await act(action, need=Permission.CONFIGURE, done=f"Asset {asset.name} deleted"):
            await publish_assets_changed(current().bus, [asset.id], "deleted")
            await on_done()

    confirm(f"Delete {asset.name}?", text, go, "Delete asset")


async def _assets_list(user: Principal, site: Site, holder: ui.column) -> None:
    async with current().session() as session:
        found = await assets.list_assets(session=session, principal=user, site_id=site.id)
    can_edit = user.has(Permission.CONFIGURE)

    async def refresh() -> None:
        holder.clear()
        with holder:
            await _assets_list(user, site, holder)

    if can_edit:
        ui.button(
            "Add asset", icon="add", on_click=lambda: asset_dialog(site, None, refresh)
        ).props("unelevated data-testid=add-asset")
    if not found:
        empty_note("This site has no assets yet.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for asset in found:
            actions = []
            if can_edit:
                actions = [
                    ("edit", "Edit", lambda a=asset: asset_dialog(site, a, refresh)),
                    ("delete", "Delete", lambda a=asset: ask_delete_asset(a, refresh)),
                ]
            item_row(
                asset.name,
                asset_caption(asset),
                f"/settings/assets/{asset.id}",
                f"asset-{asset.id}",
                actions,
                icon="memory",
            )


def register() -> None:
    @ui.page("/settings/sites")
    async def sites_settings() -> None:
        user = await require_login("/settings/sites")
        if user is None:
            return
        with frame(user, "Sites and assets"):
            back_link("/settings", "Settings")
            holder = ui.column().classes("w-full gap-3").props("data-testid=sites-settings")
            await painted()
            with holder:
                await _sites_list(user, holder)

    @ui.page("/settings/sites/{site_id}")
    async def site_settings(site_id: int) -> None:
        path = f"/settings/sites/{site_id}"
        user = await require_login(path)
        if user is None:
            return
        with frame(user, "Site") as heading:
            await painted()  # the frame answers at once; the site's assets follow
            try:
                async with current().session() as session:
                    site = await assets.get_site(session=session, site_id=site_id, principal=user)
            except NotFound:
                retitle(heading, "Site not found")
                ui.label(f"There is no site {site_id} you may see.")
                return
            retitle(heading, f"{site.name}: assets")
            back_link("/settings/sites", "Sites and assets")
            holder = ui.column().classes("w-full gap-3").props("data-testid=assets-settings")
            with holder:
                await _assets_list(user, site, holder)
