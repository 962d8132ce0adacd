"""``/admin`` (administrator): users and roles, API keys (shown once), sites and assets.

Every action goes through the same service functions as the API, after the same permission
check; errors are shown as the API would word them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import ASSET_KINDS, ASSET_ROLES
from gridpilot.assets.schemas import AssetCreate, SiteCreate
from gridpilot.assets.service import create_asset, create_site, list_sites
from gridpilot.auth import service as auth
from gridpilot.auth.dependencies import api_key_cache
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.auth.revocation import rights_cache
from gridpilot.core.errors import GridpilotError
from gridpilot.web.context import current
from gridpilot.web.dashboard_auth import principal as session_principal
from gridpilot.web.layout import frame, painted, require_login

ROLES = [r.value for r in Role]
KEY_ROLES = [Role.SERVICE.value, Role.VIEWER.value]


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
    return str(error)


async def _act(action: Callable[[AsyncSession], Awaitable[str | None]]) -> bool:
    """Run ``action`` in one transaction; notify its message or the error. True on success.

    The rights are read again first: a page opened before its user was disabled, demoted or
    logged out elsewhere acts no more (the actions' own checks use the service's scope rules).
    """
    fresh = await session_principal()
    if fresh is None or not fresh.has(Permission.USERS_MANAGE):
        ui.notify("Your rights have changed: sign in again.", type="negative")
        ui.navigate.to("/login")
        return False
    try:
        async with current().session() as session:
            message = await action(session)
    except (GridpilotError, ValidationError) as error:
        ui.notify(_problem(error), type="negative", multi_line=True)
        return False
    if message:
        ui.notify(message, type="positive")
    return True


def _blank(value: Any) -> Any:
    return None if value in ("", None) else value


async def _users_rows(actor: Principal) -> list[dict[str, Any]]:
    async with current().session() as session:
        users = await auth.list_users(session=session, actor=actor)
        sites = await auth.site_ids_of(session=session, users=users)
    return [
        {
            "id": u.id,
            "username": u.username,
            "role": u.role,
            "sites": "all" if sites[u.id] is None else ", ".join(map(str, sites[u.id] or [])),
            "state": "disabled" if u.disabled else "active",
        }
        for u in users
    ]


async def _users_tab(actor: Principal, site_names: dict[int, str]) -> None:
    with ui.row().classes("w-full items-end gap-3"):
        username = ui.input("Username").props("data-testid=new-username")
        role = ui.select(ROLES, value=Role.VIEWER.value, label="Role").classes("w-40")
        password = ui.input("Password", password=True).props("data-testid=new-password")
        sites_label = "Sites (empty: all)" if actor.site_ids is None else "Sites"
        sites = ui.select(site_names, multiple=True, label=sites_label).classes("w-56")

        async def add() -> None:
            async def action(session: AsyncSession) -> str:
                user = await auth.create_user(
                    session=session,
                    username=username.value.strip(),
                    password=password.value,
                    role=role.value,
                    site_ids=list(sites.value) or None,
                    actor=actor,
                )
                return f"user {user.username!r} created"

            if await _act(action):
                username.set_value("")
                password.set_value("")
                table.rows[:] = await _users_rows(actor)
                table.update()

        ui.button("Add user", icon="person_add", on_click=add).props("data-testid=add-user")
    table = ui.table(
        columns=[
            {"name": n, "label": n.capitalize(), "field": n, "align": "left"}
            for n in ("username", "role", "sites", "state")
        ],
        rows=await _users_rows(actor),
        row_key="id",
    ).classes("w-full")
    table.props('data-testid=users-table :grid="window.innerWidth < 600"')  # cards on a phone


async def _keys_list(actor: Principal, refresh: Callable[[], Awaitable[None]]) -> None:
    async with current().session() as session:
        keys = await auth.list_api_keys(session=session, actor=actor)
    with ui.column().classes("w-full gap-1"):
        for key in keys:
            with ui.row().classes("w-full items-center gap-3"):
                ui.label(key.name).classes("text-weight-medium")
                ui.label(f"{key.role} · gpk_{key.key_id}_…").classes("text-caption")
                if key.asset_id is not None:
                    ui.label(f"device of asset {key.asset_id}").classes("text-caption")
                if key.revoked_at is not None:
                    ui.badge("revoked", color="grey")
                    continue

                async def revoke(api_key_id: int = key.id) -> None:
                    async def action(session: AsyncSession) -> str:
                        await auth.revoke_api_key(
                            session=session,
                            api_key_id=api_key_id,
                            cache=api_key_cache(current().app),
                            actor=actor,
                        )
                        rights_cache(current().app).forget_key(api_key_id)
                        return "key revoked"

                    if await _act(action):
                        await refresh()

                ui.button("Revoke", on_click=revoke).props("flat dense color=negative")


async def _keys_tab(user: Principal, site_names: dict[int, str]) -> None:
    with ui.row().classes("w-full items-end gap-3"):
        name = ui.input("Key name").props("data-testid=new-key-name")
        role = ui.select(KEY_ROLES, value=Role.SERVICE.value, label="Role").classes("w-32")
        choices = {0: "all sites", **site_names} if user.site_ids is None else dict(site_names)
        site = ui.select(choices, value=next(iter(choices), None), label="Site").classes("w-48")

        async def add() -> None:
            created: dict[str, str] = {}

            async def action(session: AsyncSession) -> str:
                site_id = site.value or None
                if site_id is not None:
                    user.check_site(site_id)
                _key, raw = await auth.create_api_key(
                    session=session,
                    name=name.value,
                    role=role.value,
                    site_id=site_id,
                    created_by=user.user_id,
                    actor=user,
                )
                created["raw"] = raw
                return "key created"

            if await _act(action):
                # wide enough for the whole key, wrapped on a phone; never cut off
                ui.add_css(".new-key pre { white-space: pre-wrap; word-break: break-all; }")
                card_style = "width: min(44rem, 92vw); max-width: 92vw"  # Quasar caps at 560px
                with ui.dialog() as dialog, ui.card().style(card_style):
                    ui.label("Copy the key now: it is shown only once.")
                    ui.code(created["raw"]).classes("w-full new-key").props(
                        "data-testid=new-key-value"
                    )
                    ui.button("Done", on_click=dialog.close)
                dialog.open()
                name.set_value("")
                await refresh()

        ui.button("Create key", icon="key", on_click=add).props("data-testid=add-key")
    listing = ui.column().classes("w-full").props("data-testid=keys-list")

    async def refresh() -> None:
        listing.clear()
        with listing:
            await _keys_list(user, refresh)

    await refresh()


def _sites_tab(user: Principal, site_names: dict[int, str]) -> None:
    ui.label("New site").classes("text-subtitle1")
    with ui.row().classes("w-full items-end gap-3"):
        site_name = ui.input("Name").props("data-testid=new-site-name")
        timezone = ui.input("Timezone", value="UTC")
        latitude = ui.number("Latitude")
        longitude = ui.number("Longitude")
        contract = ui.number("Contract demand kW")

        async def add_site() -> None:
            async def action(session: AsyncSession) -> str:
                data = SiteCreate(
                    name=site_name.value,
                    timezone=timezone.value,
                    latitude=_blank(latitude.value),
                    longitude=_blank(longitude.value),
                    contract_demand_kw=_blank(contract.value),
                )
                site = await create_site(session=session, principal=user, data=data)
                site_names[site.id] = site.name
                return f"site {site.name!r} created"

            if await _act(action):
                site_name.set_value("")
                asset_site.set_options(site_names)

        ui.button("Add site", icon="add_location", on_click=add_site).props("data-testid=add-site")
    ui.label("New asset").classes("text-subtitle1")
    with ui.row().classes("w-full items-end gap-3"):
        asset_site = ui.select(site_names, label="Site").classes("w-48")
        asset_name = ui.input("Name")
        kind = ui.select(sorted(ASSET_KINDS), value="meter", label="Kind").classes("w-40")
        role = ui.select(list(ASSET_ROLES), label="Role (default by kind)", clearable=True)
        rated = ui.number("Rated kW")

        async def add_asset() -> None:
            async def action(session: AsyncSession) -> str:
                data = AssetCreate(
                    site_id=asset_site.value,
                    name=asset_name.value,
                    kind=kind.value,
                    role=_blank(role.value),
                    rated_capacity_kw=_blank(rated.value),
                )
                asset = await create_asset(session=session, principal=user, data=data)
                return f"asset {asset.name!r} created"

            if await _act(action):
                asset_name.set_value("")

        ui.button("Add asset", icon="add", on_click=add_asset)


def register() -> None:
    @ui.page("/admin")
    async def admin_page() -> None:
        user = await require_login("/admin")
        if user is None:
            return
        if not user.has(Permission.USERS_MANAGE):
            with frame(user, "Administration"):
                ui.label("Only administrators may open this page.")
            return
        with frame(user, "Administration"):
            await painted()  # the frame answers at once; users and sites follow
            async with current().session() as session:
                sites = await list_sites(session=session, principal=user)
            site_names = {s.id: s.name for s in sites}
            with ui.tabs() as tabs:
                users_tab = ui.tab("Users")
                keys_tab = ui.tab("API keys")
                sites_tab = ui.tab("Sites and assets")
            with ui.tab_panels(tabs, value=users_tab).classes("w-full"):
                with ui.tab_panel(users_tab):
                    await _users_tab(user, site_names)
                with ui.tab_panel(keys_tab):
                    await _keys_tab(user, site_names)
                with ui.tab_panel(sites_tab):
                    _sites_tab(user, site_names)
