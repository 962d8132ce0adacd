"""``/alerts``: alerts with filters; acknowledge or resolve with a comment (operator+).

Same service and checks as ``/api/v1/alerts`` (a site-limited user sees its sites' alerts only);
the list follows ``alert.*`` events.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from nicegui import ui

from gridpilot.alerts import lifecycle
from gridpilot.alerts.events import alert_events, publish_all
from gridpilot.alerts.models import Alert
from gridpilot.assets.service import sites_by_id
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.auth.service import subject_names
from gridpilot.core import events as catalogue
from gridpilot.core.errors import GridpilotError
from gridpilot.web.context import current
from gridpilot.web.layout import frame, require_login
from gridpilot.web.numbers import local_datetime

STATES = ["active", "acknowledged", "resolved"]
SEVERITIES = ["critical", "warning", "info"]
SEVERITY_COLOR = {"critical": "negative", "warning": "warning", "info": "info"}
PAGE = 200


async def _alerts(
    user: Principal, states: list[str], severities: list[str]
) -> tuple[list[Alert], dict[int, str], dict[str, str]]:
    """The alerts, their sites' time zones and who acknowledged them, by name."""
    where = lifecycle.AlertFilter(states=states or None, severities=severities or None)
    async with current().session() as session:
        alerts = await lifecycle.list_alerts(
            session=session, principal=user, where=where, limit=PAGE, offset=0
        )
        sites = await sites_by_id(session=session, site_ids=sorted({a.site_id for a in alerts}))
        actors = {a.acknowledged_by for a in alerts if a.acknowledged_by}
        names = await subject_names(session=session, subjects=actors)
    return alerts, {i: site.timezone for i, site in sites.items()}, names


async def _act(user: Principal, alert_id: int, action: str, comment: str) -> bool:
    """Acknowledge or resolve as ``POST /alerts/{id}/{action}`` does; notify the outcome."""
    context = current()
    change = lifecycle.acknowledge if action == "acknowledge" else lifecycle.resolve_by_hand
    try:
        user.require(Permission.ALERTS_ACK)
        async with context.session() as session:
            alert = await change(
                session=session, alert_id=alert_id, principal=user, comment=comment or None
            )
    except GridpilotError as error:
        ui.notify(str(error), type="negative")
        return False
    # the toast first: publishing refreshes this page's list, which deletes the card (and the
    # button slot this handler runs in) before a later ui.notify could find its parent
    ui.notify(f"Alert {alert_id} {alert.state}: {alert.title}", type="positive")
    acked, resolved = catalogue.ALERT_ACKNOWLEDGED.name, catalogue.ALERT_RESOLVED.name
    topic = acked if action == "acknowledge" else resolved
    await publish_all(context.app, alert_events(topic, [alert]))
    return True


def _alert_card(
    user: Principal, alert: Alert, refresh: Any, timezone: str, names: dict[str, str]
) -> None:
    with ui.card().classes("w-full").props(f"data-testid=alert-{alert.id}"):
        with ui.row().classes("w-full items-center gap-3"):
            ui.badge(alert.severity, color=SEVERITY_COLOR.get(alert.severity, "grey"))
            ui.label(alert.title).classes("text-weight-medium")
            ui.badge(alert.state, color="grey-7").props(f"data-testid=alert-{alert.id}-state")
            raised_ms = int(alert.raised_at.replace(tzinfo=UTC).timestamp() * 1000)
            ui.label(local_datetime(raised_ms, timezone)).classes("text-caption").props(
                f"data-testid=alert-{alert.id}-raised"
            )
        ui.label(alert.message).classes("text-body2")
        if alert.acknowledged_by:
            comment = f": {alert.ack_comment}" if alert.ack_comment else ""
            who = names.get(alert.acknowledged_by, alert.acknowledged_by)
            ui.label(f"acknowledged by {who}{comment}").classes("text-caption")
        if alert.state == "resolved" or not user.has(Permission.ALERTS_ACK):
            return
        with ui.row().classes("items-end gap-2"):
            comment_box = ui.input("Comment").props(f"data-testid=alert-{alert.id}-comment")

            async def run(action: str) -> None:
                if await _act(user, alert.id, action, comment_box.value):
                    await refresh()

            if alert.state == "active":
                ui.button("Acknowledge", on_click=lambda: run("acknowledge")).props(
                    f"data-testid=alert-{alert.id}-ack"
                )
            ui.button("Resolve", on_click=lambda: run("resolve")).props("flat")


def register() -> None:
    @ui.page("/alerts")
    async def alerts_page() -> None:
        user = await require_login("/alerts")
        if user is None:
            return
        with frame(user, "Alerts"):
            with ui.row().classes("items-end gap-4"):
                states = ui.select(STATES, value=["active", "acknowledged"], multiple=True,
                                   label="State").classes("w-72")  # fmt: skip
                severities = ui.select(SEVERITIES, value=[], multiple=True,
                                       label="Severity (all)").classes("w-64")  # fmt: skip
            listing = ui.column().classes("w-full gap-2").props("data-testid=alert-list")

            async def refresh() -> None:
                alerts, zones, names = await _alerts(user, states.value, severities.value)
                listing.clear()
                with listing:
                    if not alerts:
                        ui.label("No alerts.")
                    for alert in alerts:
                        zone = zones.get(alert.site_id, "UTC")
                        _alert_card(user, alert, refresh, zone, names)

            states.on_value_change(refresh)
            severities.on_value_change(refresh)
            ui.timer(0.01, refresh, once=True)  # the page answers first; the alerts follow

        async def on_alert(_topic: str, payload: dict[str, Any]) -> None:
            if user.can_see_site(int(payload.get("site_id") or 0)):
                await refresh()

        unsubscribe = current().bus.subscribe("alert.*", on_alert)
        ui.context.client.on_delete(unsubscribe)
