"""``/groups``: device groups (docs/fleet-operations.md), what commands, command schedules,
alert rules, reports and firmware roll-outs can target.

Each group the user sees with its members now, by name (a static group's devices; a dynamic
group's filter in words, its site ids as site names, and how many devices meet it now), read
through the same services as ``/api/v1/groups``. Operators and administrators create a group
(``web/group_form.py``) and delete one (``web/group_delete.py``).
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.groups import service as groups_service
from gridpilot.web.context import current
from gridpilot.web.forms import section
from gridpilot.web.group_delete import ask_delete
from gridpilot.web.group_form import CRITERIA, Offer, group_form, kind_label, load_offer
from gridpilot.web.layout import frame, painted, require_login

#: Members named on a group's line; the rest are counted.
NAMED = 5
LABELS = dict(CRITERIA)


def names_text(names: list[str]) -> str:
    """``BESS 0, BESS 1 and 3 more``; ``none yet``."""
    if not names:
        return "none yet"
    shown = ", ".join(names[:NAMED])
    return shown + (f" and {len(names) - NAMED} more" if len(names) > NAMED else "")


def filter_text(criteria: dict[str, Any], offered: Offer) -> str:
    """``Kinds: Battery · Sites: Roma``: a filter in words, ids written as names."""
    parts = []
    for key, values in criteria.items():
        known = offered.values.get(key, {})
        shown = [kind_label(v) if key == "kinds" else known.get(v, str(v)) for v in values]
        parts.append(f"{LABELS.get(key, key)}: {', '.join(shown)}")
    return " \u00b7 ".join(parts)


async def _members(user: Principal, views: list[groups_service.GroupView]) -> dict[int, list[str]]:
    """Each group's members now that the user sees, by name."""
    found: dict[int, list[str]] = {}
    async with current().session() as session:
        for view in views:
            assets = await groups_service.member_assets(
                session=session, group=view.group, principal=user
            )
            found[view.group.id] = [a.name for a in assets]
    return found


def _listing(
    user: Principal,
    views: list[groups_service.GroupView],
    members: dict[int, list[str]],
    offered: Offer,
    after: Any,
) -> None:
    section("Device groups", "What commands, schedules, alert rules, reports and roll-outs target")
    if not views:
        ui.label("No device group yet.").props("data-testid=groups-empty")
        return
    with ui.column().classes("w-full gap-2").props("data-testid=groups"):
        for view in views:
            group, names = view.group, members[view.group.id]
            row = ui.row().classes("w-full items-center gap-x-3 gap-y-0 no-wrap")
            with row.props(f"data-testid=group-{group.id}"), ui.column().classes("gap-0 grow"):
                ui.label(group.name).classes("text-weight-medium")
                if group.description:
                    ui.label(group.description).classes("text-caption")
                if view.asset_ids is not None:
                    said = f"Picked devices: {names_text(names)}"
                else:
                    count = f"{len(names)} device{'s' if len(names) != 1 else ''} now"
                    said = f"Filter: {filter_text(group.filter, offered)} \u00b7 {count}"
                if not view.complete:
                    said += " (only those on your sites)"
                ui.label(said).classes("text-caption text-grey-7")
            if user.has(Permission.CONFIGURE):
                with row:
                    ui.button(
                        icon="delete", on_click=lambda g=group: ask_delete(g.id, g.name, after)
                    ).props(
                        f"flat dense round aria-label=Delete data-testid=group-delete-{group.id}"
                    ).tooltip("Delete the group")


def register() -> None:
    @ui.page("/groups")
    async def groups_page() -> None:
        user = await require_login("/groups")
        if user is None:
            return
        with frame(user, "Groups"):
            await painted()  # the frame answers at once; the groups follow
            offered = await load_offer(user)
            listing = ui.column().classes("w-full gap-2")

            async def draw() -> None:
                async with current().session() as session:
                    views = await groups_service.list_groups(
                        session=session, principal=user, limit=1000
                    )
                members = await _members(user, views)
                listing.clear()
                with listing:
                    _listing(user, views, members, offered, draw)

            async def saved(name: str) -> None:
                ui.notify(f"Group {name} created", type="positive")
                await draw()

            if user.has(Permission.CONFIGURE):
                group_form(offered, saved)
            listing.move(target_index=-1)
            await draw()
