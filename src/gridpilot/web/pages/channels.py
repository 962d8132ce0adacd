"""``/settings/channels`` (configure, as ``/api/v1/notification-channels``): list, create (e-mail,
webhook), edit (name, target, severity, events, on/off) and delete notification channels, send
a test through the notifier and watch its outcome, and read each channel's delivery log (state,
attempts, last error, local time).

The form builds the API's own ``ChannelCreate`` and calls ``create_channel`` with the server's
SSRF guard, so a webhook URL the API refuses is refused here with the same reason, beside it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import channels as channel_service
from gridpilot.alerts import outbox, webhook_target
from gridpilot.alerts.events import publish_all
from gridpilot.alerts.models import NotificationChannel, NotificationDelivery
from gridpilot.alerts.schemas import ChannelCreate, ChannelUpdate
from gridpilot.assets import service as assets
from gridpilot.auth import audit
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.web.context import current
from gridpilot.web.forms import Form, act, blank, confirm, dialog_card
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.numbers import local_datetime
from gridpilot.web.settings_view import Action, back_link, empty_note, item_row

SHOWN_DELIVERIES = 20
STATE_COLOURS = {"delivered": "positive", "pending": "warning", "failed": "negative"}
#: Checks of a test send's outcome, one a second (the notifier's first attempt is immediate).
OUTCOME_CHECKS = 30


class ChannelForm(Form):
    """The service's refusals of a target (``webhook url ...``, ``webhook host ...``, the SSRF
    guard's) beside the URL or recipients field, the rest as ``Form`` places them."""

    def show(self, error: Exception) -> None:
        message = str(error)
        field = (
            "url"
            if message.startswith(("webhook url", "webhook host", "webhook port", "a webhook"))
            else "recipients"
            if "recipient" in message
            else None
        )
        if field is None or getattr(error, "details", None):
            super().show(error)
            return
        self.clear()
        self.beside(self.fields[field], message)


def channel_caption(channel: NotificationChannel, sites: dict[int, str]) -> str:
    """``webhook · https://hooks.example.org/x · warning and worse · raised, resolved · Plant``."""
    target = channel.url if channel.kind == "webhook" else ", ".join(channel.recipients)
    scope = (
        sites.get(channel.site_id, f"site {channel.site_id}") if channel.site_id else "all sites"
    )
    parts = [
        "e-mail" if channel.kind == "email" else "webhook",
        target or "",
        f"{channel.min_severity} and worse" if channel.min_severity != "critical" else "critical",
        ", ".join(channel.events),
        scope,
    ]
    if not channel.enabled:
        parts.append("disabled")
    return " · ".join(p for p in parts if p)


def delivery_text(row: NotificationDelivery, timezone: str) -> str:
    """``alert.test · 2026-12-04 22:10 CET · 1 attempt · SMTP is not configured ...``."""
    when = local_datetime(int(row.created_at.timestamp() * 1000), timezone)
    tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
    parts = [row.event, when, tries]
    if row.last_error:
        parts.append(row.last_error)
    if row.recipients:
        parts.append("to " + ", ".join(row.recipients))
    if row.note:
        parts.append(row.note)
    return " · ".join(parts)


def outcome(row: NotificationDelivery | None) -> str | None:
    """The test's outcome once the notifier has tried (None: not yet)."""
    if row is None:
        return "the test is gone (the channel was deleted)"
    if row.state == "delivered":
        return "Delivered"
    if row.state == "pending" and row.attempts == 0:
        return None
    if row.state == "pending":
        return f"Attempt {row.attempts} failed, retrying: {row.last_error}"
    return f"{row.state.capitalize()}: {row.last_error or 'no reason given'}"


async def _deliveries(user: Principal, channel_id: int) -> list[NotificationDelivery]:
    async with current().session() as session:
        await channel_service.get_channel(session=session, channel_id=channel_id, principal=user)
        return await outbox.list_deliveries(
            session=session, channel_id=channel_id, limit=SHOWN_DELIVERIES, offset=0
        )


async def log_dialog(
    user: Principal, channel: NotificationChannel, timezone: str, test_id: int | None = None
) -> None:
    """The channel's recent deliveries; after a test send, its outcome as the notifier settles."""
    dialog, card = dialog_card(40)
    with card:
        ui.label(f"Deliveries of {channel.name}").classes("text-h6")
        result = ui.label().classes("text-body2 text-weight-medium").props("data-testid=outcome")
        result.set_visibility(test_id is not None)
        result.set_text("Test queued: waiting for the notifier ...")
        listing = ui.column().classes("w-full gap-1").props("data-testid=delivery-log")
        ui.button("Close", on_click=dialog.close).props("flat").classes("self-end")

    async def draw() -> bool:
        rows = await _deliveries(user, channel.id)
        listing.clear()
        with listing:
            if not rows:
                empty_note("Nothing sent through this channel yet.")
            for row in rows:
                with ui.row().classes("w-full items-start gap-2 no-wrap"):
                    ui.badge(row.state, color=STATE_COLOURS.get(row.state, "grey"))
                    ui.label(delivery_text(row, timezone)).classes("text-caption break-words")
        if test_id is None:
            return True
        said = outcome(next((r for r in rows if r.id == test_id), None))
        if said is not None:
            result.set_text(f"Test: {said}")
        return said is not None

    checks: list[int] = []

    async def tick() -> None:
        checks.append(1)
        if await draw() or len(checks) >= OUTCOME_CHECKS:
            timer.cancel()

    timer = ui.timer(1.0, tick, active=test_id is not None)
    await draw()
    dialog.on("hide", timer.cancel)
    dialog.open()


async def _send_test(channel: NotificationChannel, timezone: str) -> None:
    async def action(session: AsyncSession, user: Principal) -> tuple[int, Principal]:
        delivery = await channel_service.queue_test(
            session=session, channel_id=channel.id, principal=user
        )
        return delivery.id, user

    queued = await act(action, need=Permission.CONFIGURE)
    if queued is not None:
        await publish_all(current().app, [])  # wakes the notifier, as the API's test does
        await log_dialog(queued[1], channel, timezone, test_id=queued[0])


def channel_dialog(
    sites: dict[int, str], done: Any, channel: NotificationChannel | None = None
) -> None:
    """A new channel, or ``channel`` edited (its kind and site fixed, as the API's PATCH)."""
    dialog, card = dialog_card(36)
    with card:
        title = "New notification channel" if channel is None else f"Edit {channel.name}"
        ui.label(title).classes("text-h6")
        fields: dict[str, Any] = {
            "name": ui.input("Name", value=channel.name if channel else ""),
            "kind": ui.select(
                {"email": "e-mail", "webhook": "webhook"},
                value=channel.kind if channel else "email",
            ),
            "recipients": ui.input(
                "Recipients", value=", ".join(channel.recipients) if channel else ""
            ).props("hint='e-mail addresses, comma separated'"),
            "url": ui.input("Webhook URL", value=(channel.url or "") if channel else "").props(
                "hint='https://..., checked before it is saved'"
            ),
            "min_severity": ui.select(
                ["info", "warning", "critical"],
                value=channel.min_severity if channel else "warning",
            ),
            "events": ui.select(
                ["raised", "acknowledged", "resolved"],
                value=list(channel.events) if channel else ["raised", "resolved"],
                multiple=True,
            ),
            "site_id": ui.select(sites, value=channel.site_id if channel else None),
        }
        if channel is not None:
            fields["kind"].disable()
            fields["site_id"].disable()
            fields["enabled"] = ui.switch("Sends notifications", value=channel.enabled)
        fields["kind"].props("label=Kind")
        fields["min_severity"].props("label='Send from severity'")
        fields["events"].props("label=Events use-chips")
        fields["site_id"].props("label='Site (empty: all sites)' clearable")
        for name, element in fields.items():
            element.classes("w-full").props(f"data-testid=channel-{name}")
        fields["url"].bind_visibility_from(fields["kind"], "value", value="webhook")
        fields["recipients"].bind_visibility_from(fields["kind"], "value", value="email")
        form = ChannelForm(fields, "channel")

        def body() -> dict[str, Any]:
            values = {k: blank(e.value) for k, e in fields.items()}
            text = values.pop("recipients") or ""
            values["recipients"] = [r.strip() for r in text.split(",") if r.strip()]
            values["name"] = (values["name"] or "").strip()
            values["events"] = list(values["events"] or [])
            if values["kind"] == "email":
                values.pop("url")
            else:
                values.pop("recipients")
            return values

        async def save() -> None:
            data = body()
            if channel is not None:
                await _save_changes(channel, data, form, dialog, done)
                return

            async def action(session: AsyncSession, user: Principal) -> tuple[str, str | None]:
                made = await channel_service.create_channel(
                    session=session,
                    principal=user,
                    data=ChannelCreate.model_validate(data),
                    guard=webhook_target.Guard.from_settings(current().settings),
                )
                await audit.record(
                    session,
                    action="alert_channel.create",
                    actor=user,
                    target=f"channel:{made.id}",
                    detail={"kind": made.kind, "name": made.name},
                )
                return made.name, made.secret

            saved = await act(action, need=Permission.CONFIGURE, form=form)
            if saved is not None:
                dialog.close()
                ui.notify(f"Channel {saved[0]} created", type="positive")
                if saved[1]:
                    _show_secret(saved[1])
                await done()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", on_click=save).props("unelevated data-testid=channel-save")
    dialog.open()


async def _save_changes(
    channel: NotificationChannel, data: dict[str, Any], form: Form, dialog: ui.dialog, done: Any
) -> None:
    """``channel`` changed as ``PATCH .../notification-channels/{id}`` does (the service
    checks the target with the SSRF guard and records the change in the audit logs)."""
    editable = {"name", "enabled", "min_severity", "events", "url", "recipients"}

    async def action(session: AsyncSession, user: Principal) -> NotificationChannel:
        changes = ChannelUpdate.model_validate({k: v for k, v in data.items() if k in editable})
        return await channel_service.update_channel(
            session=session,
            channel_id=channel.id,
            principal=user,
            changes=changes,
            guard=webhook_target.Guard.from_settings(current().settings),
        )

    saved = await act(action, need=Permission.CONFIGURE, form=form)
    if saved is not None:
        dialog.close()
        ui.notify(f"Channel {saved.name} saved", type="positive")
        await done()


def _show_secret(secret: str) -> None:
    """The webhook's signing secret: shown once, as the API answers it once."""
    dialog, card = dialog_card(36)
    with card:
        ui.label("Webhook signing secret").classes("text-h6")
        ui.label("Shown only now: give it to the receiver to check signatures.").classes(
            "text-body2"
        )
        ui.label(secret).classes("text-body2 break-all font-mono").props("data-testid=secret")
        ui.button("Done", on_click=dialog.close).props("unelevated").classes("self-end")
    dialog.open()


def _ask_delete(channel: NotificationChannel, done: Any) -> None:
    async def go() -> None:
        async def action(session: AsyncSession, user: Principal) -> bool:
            await channel_service.delete_channel(
                session=session, channel_id=channel.id, principal=user
            )
            await audit.record(
                session, action="alert_channel.delete", actor=user, target=f"channel:{channel.id}"
            )
            return True

        if await act(action, need=Permission.CONFIGURE, done=f"Channel {channel.name} deleted"):
            await done()

    confirm(
        f"Delete {channel.name}?",
        "Its delivery log goes with it; rules that used it keep their other channels.",
        go,
        "Delete channel",
    )


async def _channel_list(user: Principal, holder: ui.column) -> None:
    async with current().session() as session:
        found = await channel_service.list_channels(
            session=session, principal=user, limit=1000, offset=0
        )
        site_rows = await assets.list_sites(session=session, principal=user)
    sites = {s.id: s.name for s in site_rows}
    zones = {s.id: s.timezone for s in site_rows}

    async def refresh() -> None:
        holder.clear()
        with holder:
            await _channel_list(user, holder)

    ui.button("Add channel", icon="add", on_click=lambda: channel_dialog(sites, refresh)).props(
        "unelevated data-testid=add-channel"
    )
    if not found:
        empty_note("No notification channels yet.")
        return
    with ui.list().props("bordered separator").classes("w-full rounded-borders"):
        for channel in found:
            zone = zones.get(channel.site_id or 0, "UTC")
            actions: list[Action] = [
                ("send", "Send a test", partial(_send_test, channel, zone)),
                ("history", "Delivery log", partial(log_dialog, user, channel, zone)),
                ("edit", "Edit", partial(channel_dialog, sites, refresh, channel)),
                ("delete", "Delete", partial(_ask_delete, channel, refresh)),
            ]
            item_row(
                channel.name,
                channel_caption(channel, sites),
                None,
                f"channel-{channel.id}",
                actions,
                icon="mail" if channel.kind == "email" else "webhook",
            )


def register() -> None:
    @ui.page("/settings/channels")
    async def channels_page() -> None:
        user = await require_login("/settings/channels")
        if user is None:
            return
        with frame(user, "Notification channels"):
            back_link("/settings", "Settings")
            if not user.has(Permission.CONFIGURE):
                ui.label("Notification channels are managed by operators and administrators.")
                return
            holder = ui.column().classes("w-full gap-3").props("data-testid=channels-settings")
            await painted()
            with holder:
                await _channel_list(user, holder)
