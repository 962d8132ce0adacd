"""The production topology without containers (#20 item 8): two ``gridpilot serve`` processes
on PostgreSQL with the Redis bus, two ``gridpilot ingest`` workers in one MQTT share group on a
private Mosquitto running the shipped configuration. Readings arrive over MQTT and over HTTP
(alternating between the two APIs); midway one API and one worker are SIGKILLed and started
again. Every reading is stored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from tests.api.test_logging import free_port
from tests.ingest.broker import private_broker
from tests.ingest.conftest import HOUR_AGO_MS, count_readings, wait_for
from tests.ingest.test_mqtt_no_loss import check_exactly_once, create_asset, publish_paced
from tests.ingest.workers import WorkerProcess, worker_env

pytestmark = pytest.mark.slow

MQTT_READINGS, HTTP_READINGS, PER_BATCH = 4_000, 2_000, 20
T0 = HOUR_AGO_MS - 3_000_000  # reading i: ts = T0 + 100 i ms, value i (check_exactly_once)


@pytest.fixture
def backend() -> str:
    return "postgresql"  # two processes writing one database: the production back end


class Api:
    """One ``gridpilot serve`` process on its own port; output to a file."""

    def __init__(self, env: dict[str, str], name: str, logdir: Path) -> None:
        self.env, self.name, self.port = env, name, free_port()
        self.log = (logdir / f"{name}.log").open("ab")
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "gridpilot.cli", "serve", "--port", str(self.port)]
        return subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def ready(self, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    return
            alive = self.process.poll() is None
            assert alive and time.monotonic() < deadline, (
                f"{self.name} did not start: {self.output()}"
            )
            time.sleep(0.2)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def kill_and_restart(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self.process = self._start()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.log.close()


def post_all(apis: list[Api], headers: dict[str, str], asset: int, killed: threading.Event) -> int:
    """Readings 4,000.. over HTTP in batches, alternating APIs; a batch whose answer is lost
    (connection refused or reset by the kill) is sent again to the other API."""
    sent, targets = 0, itertools.cycle(apis)
    with httpx.Client(timeout=30, headers=headers) as http:
        for start in range(MQTT_READINGS, MQTT_READINGS + HTTP_READINGS, PER_BATCH):
            batch = [
                {"asset": asset, "metric": "power_kw", "ts": T0 + 100 * i, "value": float(i)}
                for i in range(start, start + PER_BATCH)
            ]
            for _ in range(200):
                api = next(targets)
                try:
                    url = f"http://127.0.0.1:{api.port}/api/v1/telemetry"
                    if http.post(url, json={"readings": batch}).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise AssertionError(f"batch at {start} never accepted")
            sent += PER_BATCH
            if sent == HTTP_READINGS // 2:
                killed.wait(60)  # the second half goes on while a process is down
    return sent


def mqtt_messages(prefix: str, site: int, asset: int):
    for start in range(0, MQTT_READINGS, PER_BATCH):
        values = [
            {"ts": T0 + 100 * i, "values": {"power_kw": float(i)}}
            for i in range(start, start + PER_BATCH)
        ]
        yield f"{prefix}gridpilot/{site}/{asset}/telemetry", json.dumps(values)


async def test_two_apis_and_two_workers_store_every_reading_once_across_kills(
    app, client, sessions, auth_headers, database_url, redis_url, tmp_path
):
    operator = await auth_headers("operator")
    site, asset = await create_asset(client, operator)
    prefix = f"t{uuid.uuid4().hex[:8]}/"
    with private_broker(tmp_path / "broker") as port:
        env = worker_env(
            database_url=database_url, mqtt_url=f"mqtt://127.0.0.1:{port}", prefix=prefix,
            data_dir=tmp_path, share_group="gridpilot",
        )  # fmt: skip
        api_env = {k: v for k, v in env.items() if k != "GRIDPILOT_MQTT_URL"} | {
            "GRIDPILOT_REDIS_URL": redis_url,
            "GRIDPILOT_API_RATE_LIMIT_PER_MIN": "0",
            "GRIDPILOT_WEB_ENABLED": "false",
            "GRIDPILOT_LOG_LEVEL": "INFO",
        }
        apis = [Api(api_env, f"api-{n}", tmp_path) for n in (1, 2)]
        workers = [WorkerProcess(env, f"gp-ingest-{n}", tmp_path) for n in (1, 2)]
        try:
            await asyncio.gather(*(asyncio.to_thread(a.ready) for a in apis))
            await asyncio.gather(*(w.ready() for w in workers))
            published, killed = threading.Event(), threading.Event()
            mqtt = asyncio.to_thread(
                publish_paced, port, mqtt_messages(prefix, site, asset),
                chunk=20, pause_s=0.05, done=published,
            )  # fmt: skip
            http = asyncio.to_thread(post_all, apis, operator, asset, killed)
            sending = asyncio.gather(mqtt, http)
            await wait_for(lambda: _at_least(sessions, asset, 2_000), timeout_s=120)
            apis[0].kill_and_restart()
            workers[0].kill()
            workers[0] = WorkerProcess(env, "gp-ingest-1", tmp_path)  # its session resumes
            killed.set()
            sent_mqtt, sent_http = await sending
            assert (sent_mqtt, sent_http) == (MQTT_READINGS // PER_BATCH, HTTP_READINGS)
            await asyncio.to_thread(apis[0].ready)
            total = MQTT_READINGS + HTTP_READINGS
            await wait_for(lambda: _at_least(sessions, asset, total), timeout_s=180)
            await check_exactly_once(sessions, asset, total)
        finally:
            for api in apis:
                api.stop()
            for worker in workers:
                worker.ensure_dead()


async def _at_least(sessions, asset: int, count: int) -> bool:
    return await count_readings(sessions, asset) >= count
