"""``group.changed`` (``{"group_id", "action": created|updated|deleted}``), published by the
routes after the commit: alert evaluators reload the members of rules on groups. Members are
read live otherwise, so a dynamic group follows ``asset.changed`` by construction."""

from __future__ import annotations

from fastapi import FastAPI

from gridpilot.core import events as catalogue


async def publish_group_changed(app: FastAPI, group_id: int, action: str) -> None:
    payload: catalogue.GroupChanged = {"group_id": group_id, "action": action}
    await app.state.bus.publish(catalogue.GROUP_CHANGED.name, dict(payload))
