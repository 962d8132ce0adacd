"""The batched writer: group commit, backpressure, failure isolation, drain on stop."""

from __future__ import annotations

import asyncio

import pytest

from gridpilot.auth.permissions import Role
from gridpilot.core.bus import InProcessBus
from gridpilot.core.errors import Unavailable
from gridpilot.core.metrics import Metrics
from gridpilot.core.timestamps import MS_PER_HOUR, now_ms
from gridpilot.telemetry.reading_store import SeriesStat, series_stats
from gridpilot.telemetry.writer import ReadingWriter


class RecordingStore:
    """A store that keeps batches in memory; ``gate`` lets a test hold a write open."""

    def __init__(self, fail_when=None, journal=None):
        self.journal = journal if journal is not None else []
        self.batches: list[dict] = []
        self.table: dict = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_when = fail_when
        self.closed = False

    async def write(self, rows):
        await self.gate.wait()
        if self.fail_when is not None and self.fail_when(rows):
            raise ConnectionError("database went away")
        self.batches.append(dict(rows))
        self.journal.append(dict(rows))
        self.table.update(rows)
        return series_stats(rows)[0]

    async def close(self):
        self.closed = True


def rows_for(asset, n, start=0, value=1.0):
    return {(asset, 1, start + i): value for i in range(n)}


async def test_concurrent_producers_are_grouped_into_few_batches():
    store = RecordingStore()
    writer = ReadingWriter(store, batch_size=5_000, max_queue=100_000)
    writer.start()
    store.gate.clear()  # the first batch blocks, the others pile up behind it
    first = asyncio.create_task(writer.write(rows_for(0, 10)))
    await asyncio.sleep(0)
    others = [asyncio.create_task(writer.write(rows_for(a, 1_000))) for a in range(1, 21)]
    await asyncio.sleep(0.01)
    store.gate.set()
    await asyncio.gather(first, *others)
    assert len(store.table) == 10 + 20_000
    assert [len(b) for b in store.batches] == [10, 5_000, 5_000, 5_000, 5_000]
    await writer.stop()
    assert store.closed


async def test_write_returns_only_after_the_rows_are_committed():
    store = RecordingStore()
    writer = ReadingWriter(store, batch_size=100, max_queue=1_000)
    writer.start()
    store.gate.clear()
    task = asyncio.create_task(writer.write(rows_for(1, 5)))
    await asyncio.sleep(0.01)
    assert not task.done() and store.table == {}
    store.gate.set()
    await task
    assert len(store.table) == 5
    await writer.stop()


async def test_last_write_wins_across_producers_in_one_batch():
    store = RecordingStore()
    writer = ReadingWriter(store, batch_size=1_000, max_queue=10_000)
    writer.start()
    store.gate.clear()
    blocker = asyncio.create_task(writer.write(rows_for(9, 1)))
    await asyncio.sleep(0)
    first = asyncio.create_task(writer.write({(1, 1, 0): 1.0, (1, 1, 1): 1.0}))
    second = asyncio.create_task(writer.write({(1, 1, 0): 2.0}))
    await asyncio.sleep(0.01)
    store.gate.set()
    await asyncio.gather(blocker, first, second)
    assert store.batches[1] == {(1, 1, 0): 2.0, (1, 1, 1): 1.0}
    await writer.stop()


async def test_two_stores_write_at_once_but_a_repeated_key_waits_for_its_first_write():
    journal: list[dict] = []
    first, second = RecordingStore(journal=journal), RecordingStore(journal=journal)
    writer = ReadingWriter([first, second], batch_size=1, max_queue=1_000)
    writer.start()
    first.gate.clear()
    second.gate.clear()
    key = (1, 1, 0)
    a = asyncio.create_task(writer.write({key: 1.0}))
    await asyncio.sleep(0.01)  # a is being written by `second` (the free stores are a stack)
    b = asyncio.create_task(writer.write({(2, 1, 0): 2.0}))
    await asyncio.sleep(0.01)  # b is being written by `first`, at the same time
    c = asyncio.create_task(writer.write({key: 3.0}))
    await asyncio.sleep(0.01)
    first.gate.set()  # b commits; c gets `first` but must wait for a
    await asyncio.sleep(0.01)
    assert b.done() and not a.done() and not c.done()
    second.gate.set()
    await asyncio.gather(a, c)
    assert journal == [{(2, 1, 0): 2.0}, {key: 1.0}, {key: 3.0}]
    await writer.stop()


async def test_small_chunks_gather_behind_a_busy_store_until_a_full_batch_waits():
    journal: list[dict] = []
    first, second = RecordingStore(journal=journal), RecordingStore(journal=journal)
    writer = ReadingWriter([first, second], batch_size=300, max_queue=10_000)
    writer.start()
    first.gate.clear()
    second.gate.clear()
    busy = asyncio.create_task(writer.write(rows_for(0, 100)))  # taken by `second`
    await asyncio.sleep(0.01)
    small = [asyncio.create_task(writer.write(rows_for(a, 100))) for a in (1, 2)]
    await asyncio.sleep(0.01)
    assert writer.queued == 200  # held back: the free store does not take a small batch
    more = [asyncio.create_task(writer.write(rows_for(a, 100))) for a in (3, 4)]
    await asyncio.sleep(0.01)
    assert writer.queued == 100  # a full batch waited: it went to the free store at once
    first.gate.set()
    second.gate.set()
    await asyncio.gather(busy, *small, *more)
    assert sorted(len(batch) for batch in journal) == [100, 100, 300]  # 5 chunks, 3 COPYs
    assert len(first.table) + len(second.table) == 500
    await writer.stop()


async def test_backpressure_bounds_the_queue():
    store = RecordingStore()
    writer = ReadingWriter(store, batch_size=100, max_queue=250)
    writer.start()
    store.gate.clear()
    tasks = [asyncio.create_task(writer.write(rows_for(a, 100))) for a in range(10)]
    await asyncio.sleep(0.01)
    assert writer.queued <= 250  # 100 in flight, at most 200 waiting, the rest blocked
    store.gate.set()
    await asyncio.gather(*tasks)
    assert len(store.table) == 1_000
    await writer.stop()


async def test_a_failing_batch_fails_only_its_producers():
    store = RecordingStore(fail_when=lambda rows: any(key[0] == 13 for key in rows))
    writer = ReadingWriter(store, batch_size=10, max_queue=1_000)
    writer.start()
    results = await asyncio.gather(
        writer.write(rows_for(1, 10)),
        writer.write(rows_for(13, 10)),
        writer.write(rows_for(2, 10)),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Unavailable)
    assert "storage unavailable" in results[1].message
    assert {key[0] for key in store.table} == {1, 2}
    await writer.stop()


async def test_stop_writes_what_is_queued():
    store = RecordingStore()
    writer = ReadingWriter(store, batch_size=10, max_queue=1_000)
    writer.start()
    tasks = [asyncio.create_task(writer.write(rows_for(a, 10))) for a in range(5)]
    await asyncio.sleep(0)
    await writer.stop()
    await asyncio.gather(*tasks)
    assert len(store.table) == 50
    with pytest.raises(Unavailable):
        await writer.write(rows_for(1, 1))


async def test_metrics_and_stored_event():
    store = RecordingStore()
    bus = InProcessBus()
    events = []

    async def on_stored(topic, payload):
        events.append(payload)

    bus.subscribe("readings.stored", on_stored)
    metrics = Metrics()
    writer = ReadingWriter(
        store,
        batch_size=100,
        max_queue=1_000,
        bus=bus,
        metrics=metrics,
        metric_keys={1: "power_kw"},
    )
    writer.start()
    await writer.write({(4, 1, 10): 1.0, (4, 1, 30): 3.0, (4, 1, 20): 2.0})
    await writer.stop()
    assert events == [
        {
            "count": 3,
            "assets": [
                {
                    "asset_id": 4,
                    "count": 3,
                    "newest_ts": 30,
                    "latest": {"power_kw": {"ts": 30, "value": 3.0}},
                }
            ],
        }
    ]
    assert metrics.registry.get_sample_value("gridpilot_writer_batch_rows_sum") == 3
    assert metrics.registry.get_sample_value("gridpilot_writer_queue_depth") == 0


def test_series_stats_tracks_range_count_and_newest():
    stats, ranges = series_stats(
        {(1, 1, 50): 5.0, (1, 1, 10): 1.0, (1, 1, 90): 9.0, (2, 1, 7): 7.0}
    )
    assert sorted(stats, key=lambda s: s.asset_id) == [
        SeriesStat(1, 1, 3, 90, 9.0),
        SeriesStat(2, 1, 1, 7, 7.0),
    ]
    assert ranges == {(1, 1): [10, 90], (2, 1): [7, 7]}


async def test_lost_database_connection_is_a_503_then_recovers(client, auth_headers, app, backend):
    """PostgreSQL: the writer's connection is killed; that batch fails, the next one works."""
    if backend != "postgresql":
        pytest.skip("the writer keeps a dedicated connection only on PostgreSQL")
    operator = await auth_headers(Role.OPERATOR)
    site = await client.post(
        "/api/v1/sites", json={"name": "W", "timezone": "UTC"}, headers=operator
    )
    body = {"site_id": site.json()["id"], "name": "M", "kind": "meter"}
    meter = (await client.post("/api/v1/assets", json=body, headers=operator)).json()["id"]
    t0 = now_ms() - MS_PER_HOUR

    def batch(i):
        return [{"asset": meter, "metric": "power_kw", "ts": t0 + i, "value": 1.0}]

    url = "/api/v1/telemetry"
    assert (await client.post(url, json=batch(0), headers=operator)).status_code == 200
    connected = [s for s in app.state.telemetry.writer.stores if s._raw is not None]
    async with app.state.engine.connect() as conn:
        for store in connected:
            pid = store._raw.get_server_pid()
            await conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
    failed = await client.post(url, json=batch(1), headers=operator)
    assert failed.status_code == 503
    assert "storage unavailable" in failed.json()["message"]
    assert (await client.post(url, json=batch(2), headers=operator)).status_code == 200
