"""Several processes see the same readings: each status change is recorded and announced once."""

from __future__ import annotations

import asyncio

from gridpilot.control.status import StatusPolicy
from gridpilot.control.tracker import StatusTracker
from gridpilot.core.bus import InProcessBus
from gridpilot.core.timestamps import now_ms


async def test_two_trackers_announce_each_change_once(app, sessions, battery):
    policy = StatusPolicy(factor=3, default_interval_s=300)
    buses = [InProcessBus(), InProcessBus()]
    seen: list[dict] = []

    async def record(topic: str, payload: dict) -> None:
        seen.append(payload)

    for bus in buses:
        bus.subscribe("asset.status", record)
    trackers = [StatusTracker(sessions, bus, policy) for bus in buses]
    reading_ms = now_ms() - 1000
    event = {"count": 1, "assets": [{"asset_id": battery["id"], "site_id": battery["site_id"],
             "count": 1, "latest": {"power_kw": {"ts": reading_ms, "value": 3.0}}}]}  # fmt: skip
    for tracker in trackers:
        await tracker.on_readings_stored("readings.stored", event)
    await asyncio.gather(*(t.process_pending() for t in trackers))
    assert [(e["status"], e["reason"], e["last_seen_ms"]) for e in seen] == [
        ("online", "data", reading_ms)]  # fmt: skip

    stale_at = reading_ms + 3 * 60 * 1000 + 1  # battery: expected every 60 s
    await asyncio.gather(*(t.check_staleness(stale_at) for t in trackers))
    assert [(e["previous"], e["status"], e["reason"]) for e in seen[1:]] == [
        ("online", "offline", "stale")]  # fmt: skip
    assert seen[1]["site_id"] == battery["site_id"]
