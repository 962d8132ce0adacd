"""Several processes see the same readings: each status change is recorded and announced once."""

from __future__ import annotations

import asyncio

from gridpilot.control import status
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


async def test_a_backfill_records_the_first_status_once_then_only_fresh_data_counts(
    app, sessions, battery
):
    """Old data of an asset recorded offline is not recorded again batch after batch (only its
    last-seen time moves, saved by ``flush``); fresh data brings it online."""
    policy = StatusPolicy(factor=3, default_interval_s=300)
    bus = InProcessBus()
    seen: list[dict] = []

    async def record(topic: str, payload: dict) -> None:
        seen.append(payload)

    bus.subscribe("asset.status", record)
    tracker = StatusTracker(sessions, bus, policy)
    now = now_ms()

    def batch(ts: int) -> dict:
        entry = {"asset_id": battery["id"], "site_id": battery["site_id"], "count": 1}
        entry |= {"newest_ts": ts, "latest": {"power_kw": {"ts": ts, "value": 1.0}}}
        return {"count": 1, "assets": [entry]}

    day_ago = now - 86_400_000
    await tracker.on_readings_stored("readings.stored", batch(day_ago))
    await tracker.process_pending()
    assert [(e["status"], e["reason"], e["previous"]) for e in seen] == [
        ("offline", "stale", None)]  # fmt: skip
    for step in range(1, 4):  # later, still old data: nothing to record
        await tracker.on_readings_stored("readings.stored", batch(day_ago + step * 60_000))
        assert not tracker._pending  # no status transaction queued
        assert await tracker.process_pending() == []
    assert tracker.last_seen(battery["id"]) == day_ago + 3 * 60_000
    await tracker.flush()
    async with sessions() as session:
        stored = await status.stored_status(session=session, asset_id=battery["id"])
    assert stored is not None and stored.last_seen_ms == day_ago + 3 * 60_000

    await tracker.on_readings_stored("readings.stored", batch(now - 1000))
    changes = await tracker.process_pending()
    assert [(c.previous, c.status, c.reason) for c in changes] == [("offline", "online", "data")]
    assert [e["status"] for e in seen] == ["offline", "online"]


async def test_staleness_never_comes_sooner_than_the_floor(app, sessions, battery):
    """The battery expects data every 60 s (3 x 60 s = 180 s), the floor says 10 minutes."""
    policy = StatusPolicy(factor=3, default_interval_s=300, min_stale_s=600)
    tracker = StatusTracker(sessions, InProcessBus(), policy)
    reading_ms = now_ms() - 1000
    entry = {"asset_id": battery["id"], "site_id": battery["site_id"], "count": 1}
    entry |= {"newest_ts": reading_ms, "latest": {"power_kw": {"ts": reading_ms, "value": 1.0}}}
    await tracker.on_readings_stored("readings.stored", {"count": 1, "assets": [entry]})
    assert [c.status for c in await tracker.process_pending()] == ["online"]
    assert await tracker.check_staleness(reading_ms + 181_000) == []
    assert await tracker.check_staleness(reading_ms + 599_000) == []
    [change] = await tracker.check_staleness(reading_ms + 601_000)
    assert (change.status, change.reason) == ("offline", "stale")
