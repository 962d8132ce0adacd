"""Events the assets domain publishes on the bus (telemetry evicts its lookup caches on them).

``asset.changed``: ``{"asset_id": id, "action": "created" | "updated" | "deleted"}``;
``metric.changed``: ``{"metric_id": id, "key": key, "action": "created"}``.
Routes publish them after the request's transaction committed (as a background task).
"""

from __future__ import annotations

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus

ASSET_CHANGED = catalogue.ASSET_CHANGED.name
METRIC_CHANGED = catalogue.METRIC_CHANGED.name


async def publish_assets_changed(bus: EventBus, asset_ids: list[int], action: str) -> None:
    for asset_id in asset_ids:
        await bus.publish(ASSET_CHANGED, {"asset_id": asset_id, "action": action})


async def publish_metric_changed(bus: EventBus, metric_id: int, key: str, action: str) -> None:
    await bus.publish(METRIC_CHANGED, {"metric_id": metric_id, "key": key, "action": action})
