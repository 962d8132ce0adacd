"""``/settings/assets/{id}``: an asset's metrics (newest value with unit and local time) and its
device keys (configure: create, shown once; revoke), as ``/api/v1/assets/{id}/keys`` does."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets import service as assets
from gridpilot.assets.catalogue import metric_name
from gridpilot.assets.models import Asset
from gridpilot.auth import service as auth
from gridpilot.auth.dependencies import api_key_cache
from gridpilot.auth.models import ApiKey
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.auth.revocation import rights_cache
from gridpilot.core.errors import NotFound
from gridpilot.telemetry.service import latest_values
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act, confirm, dialog_card, section
from gridpilot.web.layout import frame, painted, require_login, retitle
from gridpilot.web.numbers import local_datetime, measured
from gridpilot.web.settings_view import back_link, empty_note, item_row


async def _metrics(asset: Asset, timezone: str) -> None:
    async with current().session() as session:
        latest = await latest_values(session=session, asset_id=asset.id)
        units = {m.key: m.unit for m in await assets.list_metrics(session=session)}
    section("Metrics", "The newest reading of every metric this asset has reported.")
    if not latest:
        empty_note("No readings yet.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for key, reading in sorted(latest.items()):
            item_row(
                metric_name(key),
                f"{key} · {measured(reading.value, units.get(key, ''))} at "
                f"{local_datetime(reading.ts_ms, timezone)}",
                None,
                f"metric-{key}",
                icon="speed",
            )


def key_caption(key: ApiKey, timezone: str) -> str:
    """``gpk_1a2b…_… · created 2026-12-04 14:05 CET · last used …``."""
    parts = [f"gpk_{key.key_id}_…"]
    if key.created_at is not None:
        parts.append(f"created {local_datetime(int(key.created_at.timestamp() * 1000), timezone)}")
    used = key.last_used_at
    parts.append(
        f"last used {local_datetime(int(used.timestamp() * 1000), timezone)}"
        if used
        else "never used"
    )
    return " · ".join(parts)


def _show_key(raw: str) -> None:
    ui.add_css(".new-key pre { white-space: pre-wrap; word-break: break-all; }")
    dialog, card = dialog_card(44)
    with card:
        ui.label("Copy the key now: it is shown only once.").classes("text-subtitle1")
        ui.label("The device sends it as X-API-Key, or as its MQTT password.").classes(
            "text-caption"
        )
        ui.code(raw).classes("w-full new-key").props("data-testid=new-device-key")
        ui.button("Done", on_click=dialog.close).props("unelevated data-testid=key-done")
    dialog.open()


async def _keys(user: Principal, asset: Asset, timezone: str, holder: ui.column) -> None:
    async with current().session() as session:
        keys = await auth.list_api_keys(session=session, asset_id=asset.id)

    async def refresh() -> None:
        holder.clear()
        with holder:
            await _keys(user, asset, timezone, holder)

    section("Device keys", "A device key may send data for this asset only.")
    with ui.row().classes("w-full items-start gap-3"):
        name = ui.input("Key name", value=f"device {asset.name}").classes("grow min-w-[12rem]")
        name.props("data-testid=device-key-name")
        form = Form({"name": name}, "device-key")

        async def create() -> None:
            async def action(session: AsyncSession, actor: Principal) -> str:
                found = await assets.get_asset(session=session, asset_id=asset.id, principal=actor)
                _row, raw = await auth.create_api_key(
                    session=session,
                    name=name.value or "",
                    role=Role.SERVICE,
                    asset_id=found.id,
                    site_id=found.site_id,
                    created_by=actor.user_id,
                )
                return raw

            raw = await act(action, need=Permission.CONFIGURE, form=form)
            if raw is not None:
                _show_key(raw)
                await refresh()

        ui.button("Create key", icon="key", on_click=create).props(
            "unelevated data-testid=create-device-key"
        )
    if not keys:
        empty_note("No device keys.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for key in keys:
            revoked = key.revoked_at is not None
            actions = [] if revoked else [("block", "Revoke", lambda k=key: _revoke(k, refresh))]
            item_row(
                key.name,
                key_caption(key, timezone),
                None,
                f"key-{key.key_id}",
                actions,
                icon="key",
                badge=("revoked", "grey") if revoked else ("active", "positive"),
            )


def _revoke(key: ApiKey, refresh: Any) -> None:
    async def go() -> None:
        async def action(session: AsyncSession, actor: Principal) -> int:
            asset_id = key.asset_id or 0
            await assets.get_asset(session=session, asset_id=asset_id, principal=actor)
            revoked = await auth.revoke_api_key(
                session=session, key_id=key.key_id, cache=api_key_cache(current().app)
            )
            return revoked.id

        revoked_id = await act(action, need=Permission.CONFIGURE, done=f"Key {key.name} revoked")
        if revoked_id is not None:
            rights_cache(current().app).forget_key(revoked_id)
            await refresh()

    confirm(
        f"Revoke {key.name}?",
        "The device using this key can no longer send data or log in to the broker; "
        "its tokens end within seconds. A revoked key cannot be restored.",
        go,
        "Revoke key",
    )


def register() -> None:
    @ui.page("/settings/assets/{asset_id}")
    async def asset_settings(asset_id: int) -> None:
        user = await require_login(f"/settings/assets/{asset_id}")
        if user is None:
            return
        with frame(user, "Asset") as heading:
            await painted()  # the frame answers at once; the asset's settings follow
            try:
                async with current().session() as session:
                    asset = await assets.get_asset(
                        session=session, asset_id=asset_id, principal=user
                    )
                    site = await assets.get_site(
                        session=session, site_id=asset.site_id, principal=user
                    )
            except NotFound:
                retitle(heading, "Asset not found")
                ui.label(f"There is no asset {asset_id} you may see.")
                return
            retitle(heading, asset.name)
            back_link(f"/settings/sites/{site.id}", f"{site.name}: assets")
            with ui.row().classes("items-center gap-3"):
                ui.label(f"{asset.kind.replace('_', ' ')} of {site.name}").classes("text-body2")
                ui.link("Live data and commands", f"/assets/{asset.id}")
            await _metrics(asset, site.timezone)
            if user.has(Permission.CONFIGURE):
                holder = ui.column().classes("w-full gap-3").props("data-testid=device-keys")
                with holder:
                    await _keys(user, asset, site.timezone, holder)
