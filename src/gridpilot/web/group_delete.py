"""Deleting a device group from the dashboard (``web/pages/groups.py``): after a confirmation,
a group that alert rules, command schedules or reports use is refused in words, naming them,
with the choice to disable them and delete it anyway (``groups.service.delete_group``, as
``DELETE /api/v1/groups/{id}?force=``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from nicegui import ui

from gridpilot.auth.permissions import Permission
from gridpilot.core.errors import GridpilotError
from gridpilot.groups import service as groups_service
from gridpilot.groups.events import group_users, publish_group_changed
from gridpilot.groups.usage import GroupInUse
from gridpilot.web.context import current
from gridpilot.web.forms import confirm, dialog_card, fresh_rights

Refresh = Callable[[], Awaitable[None]]


def _in_use_text(error: GroupInUse) -> tuple[str, list[str]]:
    """The refusal in words: what uses the group, one line each."""
    uses = error.details if isinstance(error.details, list) else []
    lines = [
        f"{u['kind'].replace('_', ' ')} \u201c{u['name']}\u201d (#{u['id']}, "
        f"{'enabled' if u['enabled'] else 'disabled'}"
        f"{'' if u.get('releasable', True) else ', keeps the group: delete it first'})"
        for u in uses
    ]
    counts = Counter(u["kind"] for u in uses)
    said = " and ".join(
        f"{n} {kind.replace('_', ' ')}{'s' if n > 1 else ''}" for kind, n in sorted(counts.items())
    )
    return f"It is used by {said}:", lines


async def _delete_group(group_id: int, force: bool) -> bool | GroupInUse:
    """Delete with the user's rights read again: True when done, the refusal when in use."""
    user = await fresh_rights(Permission.CONFIGURE)
    if user is None:
        return False
    app = current().app
    try:
        async with current().session() as session:
            released = await groups_service.delete_group(
                session=session, principal=user, group_id=group_id,
                users=group_users(app), force=force,
            )  # fmt: skip
    except GroupInUse as refused:
        return refused
    except GridpilotError as error:
        ui.notify(error.message, type="negative", multi_line=True)
        return False
    await publish_group_changed(app, group_id, "deleted", released)
    return True


def _in_use_dialog(name: str, group_id: int, refused: GroupInUse, after: Refresh) -> None:
    dialog, card = dialog_card(36)
    intro, lines = _in_use_text(refused)
    with card.props("data-testid=group-in-use"):
        ui.label(f"Group \u201c{name}\u201d is in use").classes("text-h6")
        ui.label(intro).classes("text-body2")
        with ui.column().classes("gap-0 q-pl-md").props("data-testid=group-users"):
            for line in lines:
                ui.label(f"\u2022 {line}").classes("text-body2")
        uses = refused.details if isinstance(refused.details, list) else []
        releasable = all(u.get("releasable", True) for u in uses)
        ui.label(
            "Retarget or delete them first, or delete the group anyway: the rules and schedules "
            "above are then disabled (their history is kept) and cannot run again on it."
            if releasable
            else "Retarget or delete them first: not all of them can be released from it."
        ).classes("text-body2")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep the group", on_click=dialog.close).props("flat data-testid=group-keep")

            if releasable:
                _force_button(name, group_id, dialog, after)
    dialog.open()


def _force_button(name: str, group_id: int, dialog: ui.dialog, after: Refresh) -> None:
    async def force() -> None:
        dialog.close()
        if await _delete_group(group_id, force=True) is True:
            ui.notify(f"Group {name} deleted; its rules and schedules are disabled")
            await after()

    ui.button("Disable them and delete", on_click=force).props(
        "color=negative unelevated data-testid=group-force"
    )


def ask_delete(group_id: int, name: str, after: Refresh) -> None:
    """Confirm, then delete; a group in use opens the dialog naming its users."""

    async def go() -> None:
        done = await _delete_group(group_id, force=False)
        if isinstance(done, GroupInUse):
            _in_use_dialog(name, group_id, done, after)
        elif done:
            ui.notify(f"Group {name} deleted", type="positive")
            await after()

    confirm(f"Delete the group \u201c{name}\u201d?",
            "Its devices are not changed. A group that rules or schedules use is not "
            "deleted without asking again.", go, "Delete")  # fmt: skip
