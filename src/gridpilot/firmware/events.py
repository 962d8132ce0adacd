"""Events of firmware roll-outs, published on the bus after the transaction committed.

The service notes each change in the session (``noted``: ``session.info``); the edge (routes,
the simulator's devices) takes them with ``take`` and publishes them once it committed:

- ``firmware_rollout.updated``: a roll-out started, paused, resumed, offered a wave, completed
  (with ``site_ids``, the sites of its devices);
- ``firmware_device.updated``: a device reported downloading, verified or failed;

Both are streamed on ``WS /api/v1/live`` (kinds ``firmware_rollouts``, ``firmware_devices``)
and followed by the ``/firmware`` pages.
- ``asset.changed`` (updated): a verified device's ``attributes.firmware_version`` changed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.timestamps import now_ms
from gridpilot.firmware.models import FirmwareRollout, FirmwareRolloutDevice

Event = tuple[str, dict[str, Any]]
_KEY = "gridpilot.firmware.events"


def noted(session: AsyncSession) -> list[Event]:
    """The events noted in this session and not taken yet."""
    found: list[Event] = session.info.setdefault(_KEY, [])
    return found


def take(session: AsyncSession) -> list[Event]:
    """The session's noted events, which are forgotten (publish them after the commit)."""
    return list(session.info.pop(_KEY, []))


async def rollout_changed(
    session: AsyncSession, rollout: FirmwareRollout, version: str, previous: str | None
) -> None:
    """Note the roll-out's change with ``site_ids``, the sites of its devices: who sees the
    roll-out (a principal of every one of them) may see the event (``live/client.py``)."""
    query = select(FirmwareRolloutDevice.site_id).where(
        FirmwareRolloutDevice.rollout_id == rollout.id
    )
    sites = sorted({int(s) for s in await session.scalars(query.distinct())})
    payload: catalogue.FirmwareRolloutUpdated = {
        "rollout_id": rollout.id,
        "site_ids": sites,
        "image_id": rollout.image_id,
        "version": version,
        "state": rollout.state,
        "previous": previous,
        "current_wave": rollout.current_wave,
        "paused_reason": rollout.paused_reason,
        "changed_ms": now_ms(),
    }
    noted(session).append((catalogue.FIRMWARE_ROLLOUT_UPDATED.name, dict(payload)))


def device_changed(session: AsyncSession, device: FirmwareRolloutDevice, previous: str) -> None:
    payload: catalogue.FirmwareDeviceUpdated = {
        "rollout_id": device.rollout_id,
        "asset_id": device.asset_id,
        "site_id": device.site_id,
        "wave": device.wave,
        "state": device.state,
        "previous": previous,
        "reported_version": device.reported_version,
        "error": device.error,
        "changed_ms": now_ms(),
    }
    noted(session).append((catalogue.FIRMWARE_DEVICE_UPDATED.name, dict(payload)))


def asset_changed(session: AsyncSession, asset_id: int) -> None:
    payload: catalogue.AssetChanged = {"asset_id": asset_id, "action": "updated"}
    noted(session).append((catalogue.ASSET_CHANGED.name, dict(payload)))


async def publish(bus: EventBus, events: list[Event]) -> None:
    for topic, payload in events:
        await bus.publish(topic, payload)
