"""``group.changed`` (``{"group_id", "action": created|updated|deleted}``), published by the
routes after the commit: alert evaluators reload the members of rules on groups. Members are
read live otherwise, so a dynamic group follows ``asset.changed`` by construction.

``group_users(app)``: what may target a group (``usage.GroupUsers``), as the app was built
with them (the runtime's ``usage.GROUP_USERS``; none when absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gridpilot.core import events as catalogue
from gridpilot.core.runtime import runtime_of
from gridpilot.groups.usage import GROUP_USERS, Event, GroupUsers


def group_users(app: Any) -> tuple[GroupUsers, ...]:
    found = runtime_of(app).get(GROUP_USERS)
    return tuple(found) if found is not None else ()


async def publish_group_changed(
    app: Any, group_id: int, action: str, before: Sequence[Event] = ()
) -> None:
    """Publish ``before`` (the changes a forced delete made to the group's users), then
    ``group.changed``."""
    for topic, body in before:
        await runtime_of(app).bus.publish(topic, body)
    payload: catalogue.GroupChanged = {"group_id": group_id, "action": action}
    await runtime_of(app).bus.publish(catalogue.GROUP_CHANGED.name, dict(payload))
