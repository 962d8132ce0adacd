"""``/settings/notifications`` (every user, as ``/api/v1/me/notification-preferences``): which
alerts reach me by e-mail, webhook and on the dashboard, of which kinds and sites, and my quiet
hours. Saving builds the API's ``Preferences`` and calls the same service, so a refusal (a site
out of scope, an unknown time zone) appears beside its field as the API words it.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import preference_service
from gridpilot.alerts.kinds import KIND_NAMES
from gridpilot.alerts.preference_schemas import MEDIA, Preferences
from gridpilot.assets import service as assets
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act, section
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.settings_view import back_link

PATH = "/settings/notifications"
MEDIUM_LABELS = {"email": "E-mail", "webhook": "Webhook (channels you created)", "in_app": "In-app"}
#: Kinds offered besides the rule kinds: alerts the system raises itself (demand response).
SYSTEM_KINDS = ("dr_under_target", "dr_manual_intervention")
SEVERITIES = ["info", "warning", "critical"]


async def _load(user: Principal) -> tuple[Preferences, bool, dict[int, str], str]:
    async with current().session() as session:
        stored = await preference_service.my_preferences(session=session, principal=user)
        sites = await assets.list_sites(session=session, principal=user, limit=1000, offset=0)
    zone = next((s.timezone for s in sites), "UTC")
    return stored.preferences, stored.updated_at is not None, {s.id: s.name for s in sites}, zone


def _medium_fields(prefs: Preferences) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for medium in MEDIA:
        chosen = prefs.medium(medium)
        with ui.row().classes("w-full items-center gap-4"):
            fields[f"{medium}.enabled"] = ui.switch(MEDIUM_LABELS[medium], value=chosen.enabled)
            fields[f"{medium}.severities"] = (
                ui.select(SEVERITIES, value=list(chosen.severities), multiple=True)
                .props("label=Severities use-chips")
                .classes("min-w-[16rem] grow")
            )
    return fields


def _quiet_fields(prefs: Preferences, zone: str) -> dict[str, Any]:
    quiet = prefs.quiet_hours
    fields: dict[str, Any] = {"quiet": ui.switch("Quiet hours", value=quiet is not None)}
    with ui.row().classes("w-full items-start gap-4") as row:
        fields["quiet_hours.start"] = ui.input("From", value=quiet.start if quiet else "22:00")
        fields["quiet_hours.end"] = ui.input("Until", value=quiet.end if quiet else "07:00")
        fields["quiet_hours.time_zone"] = ui.input(
            "Time zone", value=quiet.time_zone if quiet else zone
        )
        fields["quiet_hours.during"] = ui.select(
            {"hold": "hold e-mail and webhooks until the end", "drop": "drop them"},
            value=quiet.during if quiet else "hold",
        ).props("label='In quiet hours'")
        fields["quiet_hours.critical_override"] = ui.switch(
            "Critical alerts at once", value=quiet.critical_override if quiet else True
        )
    row.bind_visibility_from(fields["quiet"], "value")
    return fields


def _body(fields: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        medium: {
            "enabled": bool(fields[f"{medium}.enabled"].value),
            "severities": list(fields[f"{medium}.severities"].value or []),
        }
        for medium in MEDIA
    }
    body["kinds"] = list(fields["kinds"].value or []) or None
    body["site_ids"] = list(fields["site_ids"].value or []) or None
    if fields["quiet"].value:
        body["quiet_hours"] = {
            name: fields[f"quiet_hours.{name}"].value
            for name in ("start", "end", "time_zone", "during", "critical_override")
        }
    return body


async def _page(user: Principal) -> None:
    prefs, customized, sites, zone = await _load(user)
    back_link("/settings", "Settings")
    section(
        "What reaches me",
        "E-mail: channels listing your address; webhook: channels you created; in-app: the "
        "dashboard's pop-ups. Empty kinds or sites: all of them.",
    )
    fields = _medium_fields(prefs)
    kinds = [*KIND_NAMES, *SYSTEM_KINDS]
    fields["kinds"] = ui.select(kinds, value=list(prefs.kinds or []), multiple=True)
    fields["kinds"].props("label='Alert kinds (empty: all)' use-chips clearable")
    fields["site_ids"] = ui.select(sites, value=list(prefs.site_ids or []), multiple=True)
    fields["site_ids"].props("label='Sites (empty: all yours)' use-chips clearable")
    section("Quiet hours", "Local times; in-app pop-ups are never silenced by quiet hours.")
    fields.update(_quiet_fields(prefs, zone))
    for name, element in fields.items():
        element.props(f"data-testid=prefs-{name.replace('.', '-')}")
    fields["kinds"].classes("w-full")
    fields["site_ids"].classes("w-full")
    form = Form(fields, "prefs")
    state = ui.label("Your own preferences" if customized else "Defaults: everything reaches you")
    state.classes("text-caption text-grey-7").props("data-testid=prefs-state")

    async def save() -> None:
        async def action(session: AsyncSession, fresh: Principal) -> object:
            data = Preferences.model_validate(_body(fields))
            return await preference_service.save_preferences(
                session=session, principal=fresh, data=data
            )

        if await act(action, need=Permission.READ, form=form, done="Preferences saved"):
            state.set_text("Your own preferences")

    async def reset() -> None:
        async def action(session: AsyncSession, fresh: Principal) -> bool:
            await preference_service.reset_preferences(session=session, principal=fresh)
            return True

        if await act(action, need=Permission.READ, done="Back to the defaults"):
            ui.navigate.to(PATH)

    with ui.row().classes("gap-2"):
        ui.button("Save", on_click=save).props("unelevated color=primary data-testid=prefs-save")
        ui.button("Reset to defaults", on_click=reset).props("flat data-testid=prefs-reset")


def register() -> None:
    @ui.page(PATH)
    async def notifications_page() -> None:
        user = await require_login(PATH)
        if user is None:
            return
        with frame(user, "Notifications"):
            if user.user_id is None:
                ui.label("Notification preferences belong to users.")
                return
            await painted()
            await _page(user)
