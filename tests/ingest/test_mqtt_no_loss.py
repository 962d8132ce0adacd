"""No loss at QoS 1 and scale-out, with real ``gridpilot ingest`` processes and a private
Mosquitto running the shipped ``deploy/mosquitto/mosquitto.conf``.

* 20,000 readings published at QoS 1 while the worker is SIGKILLed and restarted in the
  middle: every reading is stored exactly once (count and checksum per reading).
* Two workers in one ``$share`` group: both take part, every message is processed exactly
  once (their reported message counts add up to what was published), nothing is lost.
* Scaling down: a worker retired with SIGUSR1 leaves the group; what is published afterwards
  all goes to the remaining worker (none stays queued for the retired session).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import paho.mqtt.client as paho
import pytest
from sqlalchemy import text
from tests.ingest.broker import private_broker
from tests.ingest.conftest import HOUR_AGO_MS, count_readings, wait_for
from tests.ingest.workers import WorkerProcess, worker_env

pytestmark = pytest.mark.slow

READINGS = 20_000
PER_MESSAGE = 10


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}  # no in-process worker: the workers are separate processes


def messages_for(prefix: str, site: int, asset: int, count: int, per_message: int):
    """``count`` readings as QoS 1 messages; reading i has ts = T0 + i s and value i."""
    for start in range(0, count, per_message):
        values = [
            {"ts": HOUR_AGO_MS - 3_000_000 + i * 100, "values": {"power_kw": float(i)}}
            for i in range(start, min(start + per_message, count))
        ]
        yield f"{prefix}gridpilot/{site}/{asset}/telemetry", json.dumps(values)


def publish_paced(port: int, messages, *, chunk: int, pause_s: float, done: threading.Event) -> int:
    """Publish at QoS 1 in chunks, waiting for every PUBACK; returns how many were sent."""
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=f"gp-pub-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )  # fmt: skip
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    try:
        batch = []
        for topic, payload in messages:
            batch.append(client.publish(topic, payload, qos=1))
            if len(batch) == chunk:
                for info in batch:
                    info.wait_for_publish(30)
                    assert info.is_published()
                sent += len(batch)
                batch = []
                time.sleep(pause_s)
        for info in batch:
            info.wait_for_publish(30)
            assert info.is_published()
        sent += len(batch)
    finally:
        client.loop_stop()
        client.disconnect()
        done.set()
    return sent


async def create_asset(client, operator) -> tuple[int, int]:
    site = await client.post(
        "/api/v1/sites", json={"name": "No loss", "timezone": "UTC"}, headers=operator
    )
    body = {"site_id": site.json()["id"], "name": "Meter", "kind": "meter"}
    asset = await client.post("/api/v1/assets", json=body, headers=operator)
    assert asset.status_code == 201, asset.text
    return site.json()["id"], asset.json()["id"]


async def check_exactly_once(sessions, asset: int, count: int) -> None:
    async with sessions() as session:
        rows = (
            await session.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT ts), SUM(value) FROM readings"
                     " WHERE asset_id = :a"), {"a": asset},
            )
        ).one()  # fmt: skip
        mismatched = await session.scalar(
            text(
                "SELECT COUNT(*) FROM readings WHERE asset_id = :a AND value <> (ts - :t0) / 100.0"
            ),
            {"a": asset, "t0": HOUR_AGO_MS - 3_000_000},
        )
    assert rows[0] == rows[1] == count
    assert rows[2] == count * (count - 1) / 2
    assert mismatched == 0


async def test_no_loss_at_qos1_when_the_worker_is_killed_and_restarted(
    app, client, sessions, auth_headers, database_url, tmp_path
):
    operator = await auth_headers("operator")
    site, asset = await create_asset(client, operator)
    prefix = f"t{uuid.uuid4().hex[:8]}/"
    with private_broker(tmp_path / "broker") as port:
        env = worker_env(
            database_url=database_url,
            mqtt_url=f"mqtt://127.0.0.1:{port}",
            prefix=prefix,
            data_dir=tmp_path,
            share_group="gridpilot",
        )
        first = WorkerProcess(env, "gp-ingest-1", tmp_path)
        second = None
        try:
            await first.ready()
            published_all = threading.Event()
            publishing = asyncio.create_task(
                asyncio.to_thread(
                    publish_paced,
                    port,
                    messages_for(prefix, site, asset, READINGS, PER_MESSAGE),
                    chunk=50,
                    pause_s=0.05,
                    done=published_all,
                )
            )

            async def some_stored():
                return await count_readings(sessions, asset) >= 3000

            await wait_for(some_stored, timeout_s=60)
            first.kill()  # SIGKILL: no goodbye, unacknowledged messages stay with the broker
            killed_at = await count_readings(sessions, asset)
            assert not published_all.is_set(), "the kill must happen while publishing"
            await asyncio.sleep(0.5)  # messages queue at the broker meanwhile
            second = WorkerProcess(env, "gp-ingest-1", tmp_path)  # same client id: same session
            await second.ready()
            assert await publishing == READINGS // PER_MESSAGE

            async def all_stored():
                return await count_readings(sessions, asset) >= READINGS

            await wait_for(all_stored, timeout_s=120)
            messages, _, rejects = await second.stop()
            assert rejects == 0
            assert messages > 0 and killed_at < READINGS
            await check_exactly_once(sessions, asset, READINGS)
        finally:
            first.ensure_dead()
            if second is not None:
                second.ensure_dead()


async def test_two_workers_share_the_load_without_loss_or_duplicates(
    app, client, sessions, auth_headers, database_url, tmp_path
):
    operator = await auth_headers("operator")
    site, asset = await create_asset(client, operator)
    prefix = f"t{uuid.uuid4().hex[:8]}/"
    count, per_message = 10_000, 5
    with private_broker(tmp_path / "broker") as port:
        env = worker_env(
            database_url=database_url,
            mqtt_url=f"mqtt://127.0.0.1:{port}",
            prefix=prefix,
            data_dir=tmp_path,
            share_group="gridpilot",
        )
        workers = [WorkerProcess(env, f"gp-share-{n}", tmp_path) for n in (1, 2)]
        try:
            await asyncio.gather(*(w.ready() for w in workers))
            done = threading.Event()
            sent = await asyncio.to_thread(
                publish_paced,
                port,
                messages_for(prefix, site, asset, count, per_message),
                chunk=200,
                pause_s=0.0,
                done=done,
            )
            assert sent == count // per_message

            async def all_stored():
                return await count_readings(sessions, asset) >= count

            await wait_for(all_stored, timeout_s=120)
            totals = [await w.stop() for w in workers]
            handled = [messages for messages, _, _ in totals]
            assert all(n > 0 for n in handled), f"both workers take part: {handled}"
            assert sum(handled) == sent, f"each message handled exactly once: {handled}"
            assert sum(stored for _, stored, _ in totals) == count
            await check_exactly_once(sessions, asset, count)
        finally:
            for worker in workers:
                worker.ensure_dead()


async def test_a_retired_worker_leaves_the_group_and_nothing_stays_queued_for_it(
    app, client, sessions, auth_headers, database_url, tmp_path
):
    operator = await auth_headers("operator")
    site, asset = await create_asset(client, operator)
    prefix = f"t{uuid.uuid4().hex[:8]}/"
    per_message = 5
    with private_broker(tmp_path / "broker") as port:
        env = worker_env(
            database_url=database_url,
            mqtt_url=f"mqtt://127.0.0.1:{port}",
            prefix=prefix,
            data_dir=tmp_path,
            share_group="gridpilot",
        )
        stays, leaves = (WorkerProcess(env, f"gp-scale-{n}", tmp_path) for n in (1, 2))
        try:
            await asyncio.gather(stays.ready(), leaves.ready())
            every = list(messages_for(prefix, site, asset, 4_000, per_message))
            first, second = every[:400], every[400:]
            done = threading.Event()
            await asyncio.to_thread(publish_paced, port, first, chunk=100, pause_s=0, done=done)

            async def first_stored():
                return await count_readings(sessions, asset) >= len(first) * per_message

            await wait_for(first_stored, timeout_s=60)
            retired = await leaves.stop(retire=True)
            done = threading.Event()
            await asyncio.to_thread(publish_paced, port, second, chunk=100, pause_s=0, done=done)

            async def all_stored():
                return await count_readings(sessions, asset) >= len(every) * per_message

            await wait_for(all_stored, timeout_s=60)
            remaining = await stays.stop()
            assert retired[0] > 0 and remaining[0] > 0
            assert retired[0] + remaining[0] == len(every)
            await check_exactly_once(sessions, asset, len(every) * per_message)
        finally:
            stays.ensure_dead()
            leaves.ensure_dead()
