"""Which asset a device topic names: the resolver of the MQTT worker.

The device segment of a topic (``{asset}``, ``{deviceId}``, ``{device_id}``) names an asset as
HTTP ingest does (numeric id or WIA sourceId, through the telemetry lookup caches) or, failing
that, by ``assets.attributes["device_id"]``. For the gridpilot and fleet families a numeric
site segment must be the asset's site; the CER ``plant_id`` is informational.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.catalogue import SOURCE_ID_PATTERN
from gridpilot.assets.service import find_asset_by_device_id
from gridpilot.ingest.mqtt_topics import TopicRef
from gridpilot.telemetry.lookups import Lookups
from gridpilot.telemetry.validation import AssetTarget

#: Seconds an unknown device segment is not looked up again (unless an asset changes).
UNKNOWN_TTL_S = 5.0
_MAX_CACHE = 100_000
_SOURCE_ID = re.compile(SOURCE_ID_PATTERN)


class DeviceResolver:
    """Topic device segment -> ``AssetTarget`` (cached; evicted on ``asset.changed``)."""

    def __init__(self, lookups: Lookups, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.lookups = lookups
        self.sessions = sessions
        self._by_device_id: dict[str, AssetTarget] = {}
        self._unknown: dict[str, float] = {}
        #: Changes whenever an asset changes: caches of resolved topics compare it.
        self.version = 0

    async def on_asset_changed(self, topic: str, payload: dict[str, Any]) -> None:
        self._by_device_id.clear()
        self._unknown.clear()
        self.version += 1

    async def resolve(self, ref: TopicRef) -> AssetTarget | str:
        """The asset ``ref`` names, or the reason why none (a dead-letter reason)."""
        target = await self._find(ref.device)
        if target is None:
            return f"unknown device {ref.device!r}"
        site = ref.site
        if (
            ref.family != "cer"
            and site.isascii()
            and site.isdigit()
            and int(site) != target.site_id
        ):
            return f"asset {ref.device!r} does not belong to site {ref.site}"
        return target

    async def _find(self, device: str) -> AssetTarget | None:
        lookups = self.lookups
        target = lookups.assets.get(device)
        if target is not None:
            return target
        found = self._by_device_id.get(device)
        if found is not None:
            return found
        expiry = self._unknown.get(device)
        if expiry is not None and expiry > time.monotonic():
            return None
        if (device.isascii() and device.isdigit()) or _SOURCE_ID.match(device):
            await lookups.resolve_missing([device], [])
            target = lookups.assets.get(device)
            if target is not None:
                return target
        target = await self._by_attribute(device)
        if len(self._by_device_id) >= _MAX_CACHE or len(self._unknown) >= _MAX_CACHE:
            self._by_device_id.clear()
            self._unknown.clear()
        if target is None:
            self._unknown[device] = time.monotonic() + UNKNOWN_TTL_S
        else:
            self._by_device_id[device] = target
        return target

    async def _by_attribute(self, device: str) -> AssetTarget | None:
        async with self.sessions() as session:
            ref = await find_asset_by_device_id(session=session, device_id=device)
        return None if ref is None else AssetTarget(ref.id, ref.site_id, ref.source_id)
