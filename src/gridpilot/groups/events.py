"""``group.changed`` (``{"group_id", "action": created|updated|deleted}``), published by the
routes after the commit: alert evaluators reload the members of rules on groups. Members are
read live otherwise, so a dynamic group follows ``asset.changed`` by construction.

``group_users(app)``: what may target a group (``usage.GroupUsers``), as the app was built
with them (``app.state.group_users``; none when absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gridpilot.core import events as catalogue
from gridpilot.groups.usage import Event, GroupUsers


def group_users(app: Any) -> tuple[GroupUsers, ...]:
    return tuple(getattr(app.state, "group_users", ()))


async def publish_group_changed(
    app: Any, group_id: int, action: str, before: Sequence[Event] = ()
) -> None:
    """Publish ``before`` (the changes a forced delete made to the group's users), then
    ``group.changed``."""
    for topic, body in before:
        await app.state.bus.publish(topic, body)
    payload: catalogue.GroupChanged = {"group_id": group_id, "action": action}
    await app.state.bus.publish(catalogue.GROUP_CHANGED.name, dict(payload))
