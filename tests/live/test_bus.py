"""The event bus across processes: ``make_bus`` and ``RedisBus`` against the real Redis."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tests.api.live_server import free_port

from gridpilot.core.bus import InProcessBus
from gridpilot.core.settings import Settings
from gridpilot.live.redis_bus import RedisBus, make_bus

WAIT_S = 10.0


class Recorder:
    """A handler that records (topic, payload) and lets tests wait for a condition."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = asyncio.Event()

    async def __call__(self, topic: str, payload: dict[str, Any]) -> None:
        self.events.append((topic, payload))
        self._changed.set()

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    def payloads(self, topic: str) -> list[dict[str, Any]]:
        return [payload for t, payload in self.events if t == topic]


@pytest.fixture
async def buses(redis_url: str, channel_prefix: str) -> AsyncIterator[list[RedisBus]]:
    """Two started buses on one channel prefix (like two processes) and one on another."""
    started = [
        RedisBus(redis_url, channel_prefix),
        RedisBus(redis_url, channel_prefix),
        RedisBus(redis_url, channel_prefix + "other"),
    ]
    for bus in started:
        await bus.start()
        assert bus.connected
    yield started
    await asyncio.gather(*(bus.stop() for bus in started))


def test_make_bus_picks_the_implementation(tmp_path):
    assert isinstance(make_bus(Settings(data_dir=tmp_path)), InProcessBus)
    bus = make_bus(Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0"))
    assert isinstance(bus, RedisBus)
    assert bus.channel_prefix == "gridpilot"


async def test_every_process_gets_each_event_once(buses):
    a, _, other = buses
    got = [Recorder(), Recorder(), Recorder()]
    for bus, recorder in zip(buses, got, strict=True):
        bus.subscribe("readings.*", recorder)
    payload = {"count": 2, "assets": [{"asset_id": 1, "site_id": 3, "latest": {"p": 1.5}}]}
    await a.publish("readings.stored", payload)
    await a.publish("asset.changed", {"asset_id": 1})  # no handler for this topic
    await a.publish("readings.marker", {"n": 1})  # published last: arrives last
    for recorder in got[:2]:
        await recorder.wait_for(lambda r=recorder: bool(r.payloads("readings.marker")))
        assert recorder.events == [("readings.stored", payload), ("readings.marker", {"n": 1})]
    assert other.connected
    await other.publish("readings.marker", {"n": 2})
    await got[2].wait_for(lambda: bool(got[2].events))
    assert got[2].events == [("readings.marker", {"n": 2})]  # other prefix: nothing else


async def test_handlers_never_block_the_publisher(buses):
    a, b, _ = buses
    release = asyncio.Event()

    async def stuck(topic: str, payload: dict[str, Any]) -> None:
        await release.wait()

    a.subscribe("*", stuck)
    remote = Recorder()
    b.subscribe("alert.*", remote)
    async with asyncio.timeout(WAIT_S):  # the publisher returns although a handler hangs
        for i in range(100):
            await a.publish("alert.raised", {"alert_id": i, "title": "Überlast ⚡", "value": 1e-3})
    await remote.wait_for(lambda: len(remote.events) == 100)
    assert [p["alert_id"] for p in remote.payloads("alert.raised")] == list(range(100))
    assert remote.events[0][1] == {"alert_id": 0, "title": "Überlast ⚡", "value": 1e-3}
    release.set()


async def test_a_payload_that_is_not_json_is_delivered_locally_only(buses, caplog):
    a, b, _ = buses
    local, remote = Recorder(), Recorder()
    a.subscribe("*", local)
    b.subscribe("*", remote)
    await a.publish("odd.event", {"ids": {1, 2}})  # a set: not JSON
    await a.publish("fine.event", {"ids": [1, 2]})
    await remote.wait_for(lambda: bool(remote.events))
    await local.wait_for(lambda: len(local.events) == 2)
    assert local.events == [("odd.event", {"ids": {1, 2}}), ("fine.event", {"ids": [1, 2]})]
    assert remote.events == [("fine.event", {"ids": [1, 2]})]
    assert "not JSON-serialisable" in caplog.text


async def test_channel_prefix_with_glob_characters_is_exact(redis_url, channel_prefix):
    plain = RedisBus(redis_url, channel_prefix)
    starred = RedisBus(redis_url, channel_prefix + "*")
    got_plain, got_starred = Recorder(), Recorder()
    plain.subscribe("*", got_plain)
    starred.subscribe("*", got_starred)
    await plain.start()
    await starred.start()
    try:
        await RedisBus(redis_url, "unused").stop()  # a bus never started stops cleanly
        raw = Redis.from_url(redis_url)
        await raw.publish(f"{channel_prefix}x.t", b'{"o": "z", "t": "t", "p": {"n": 0}}')
        await raw.publish(f"{channel_prefix}*.t", b'{"o": "z", "t": "t", "p": {"n": 1}}')
        await raw.publish(f"{channel_prefix}.t", b"not json")  # logged and ignored
        await raw.publish(f"{channel_prefix}.t", b'{"o": "z", "t": "t", "p": {"n": 2}}')
        await raw.aclose()
        await got_plain.wait_for(lambda: bool(got_plain.events))
        await got_starred.wait_for(lambda: bool(got_starred.events))
        assert got_plain.events == [("t", {"n": 2})]
        assert got_starred.events == [("t", {"n": 1})]
    finally:
        await plain.stop()
        await starred.stop()


class RedisServer:
    """A private redis-server on a free port, to restart under the buses."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            async with asyncio.timeout(WAIT_S):
                while True:
                    try:
                        await client.ping()
                        return
                    except (RedisError, OSError):  # refused, loading...
                        await asyncio.sleep(0.05)
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=WAIT_S)
            self.process = None


async def test_buses_reconnect_after_a_redis_restart(tmp_path, redis_url, channel_prefix):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    await server.start()
    a, b = RedisBus(server.url, channel_prefix), RedisBus(server.url, channel_prefix)
    got = Recorder()
    b.subscribe("command.*", got)
    try:
        await a.start()
        await b.start()
        await a.publish("command.updated", {"n": 0})
        await got.wait_for(lambda: len(got.events) == 1)

        server.stop()
        async with asyncio.timeout(WAIT_S):
            while a.connected or b.connected:
                await asyncio.sleep(0.05)
        await server.start()
        assert await a.wait_connected(WAIT_S)
        assert await b.wait_connected(WAIT_S)
        # events published at once after the reconnection are delivered
        for n in range(1, 4):
            await a.publish("command.updated", {"n": n})
        await a.publish("command.marker", {"n": 99})
        await got.wait_for(lambda: bool(got.payloads("command.marker")))
        assert got.payloads("command.updated") == [{"n": n} for n in range(4)]
    finally:
        await a.stop()
        await b.stop()
        server.stop()
