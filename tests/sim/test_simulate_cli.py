"""`gridpilot simulate` as a subprocess: backfill past the raw retention, reruns, live MQTT."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import aiomqtt
from tests.cli.test_demo import demo_env
from tests.conftest import _service_missing

GRIDPILOT = [sys.executable, "-m", "gridpilot.cli"]


def simulate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GRIDPILOT, "simulate", *args], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


def test_backfill_raises_the_retention_for_its_run_and_reruns_fill_only_the_gap(tmp_path: Path):
    env = demo_env(tmp_path)
    first = simulate(env, "--scenario", "factory", "--backfill", "32d", "--step", "1h")
    assert first.returncode == 0, first.stderr
    assert "raw retention is 30 days" in first.stderr
    stored = int(first.stderr.split(" readings stored")[0].split()[-1].replace(",", ""))
    assert stored > 6 * 32 * 24 * 3 and "0 rejected" in first.stderr

    again = simulate(env, "--scenario", "factory", "--backfill", "32d", "--step", "1h")
    assert again.returncode == 0, again.stderr
    restored = int(again.stderr.split(" readings stored")[0].split()[-1].replace(",", ""))
    assert restored < stored / 100

    bad = simulate(env, "--scenario", "spaceship", "--backfill", "1d")
    assert bad.returncode == 2 and "unknown scenario" in bad.stderr
    worse = simulate(env, "--backfill", "ninety days")
    assert worse.returncode == 2 and "not a duration" in worse.stderr


async def test_live_mqtt_mode_publishes_on_the_seed_topics(tmp_path: Path):
    prefix = f"t{uuid.uuid4().hex[:10]}/"
    try:
        observer = aiomqtt.Client("127.0.0.1", 1883, identifier=f"obs-{uuid.uuid4().hex[:8]}")
        await observer.__aenter__()
    except aiomqtt.MqttError as exc:
        _service_missing("Mosquitto", exc)
    try:
        await observer.subscribe(f"{prefix}#", qos=1)
        env = demo_env(tmp_path)
        env.update({"GRIDPILOT_MQTT_URL": "mqtt://127.0.0.1:1883",
                    "GRIDPILOT_MQTT_TOPIC_PREFIX": prefix})  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *GRIDPILOT, "simulate", "--scenario", "community", "--via", "mqtt",
            "--duration", "90s", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        topics: set[str] = set()
        try:

            async def watch() -> None:
                async for message in observer.messages:
                    topics.add(str(message.topic))
                    if any(t.endswith("/measurements") for t in topics):
                        return

            await asyncio.wait_for(watch(), 60)
        finally:
            process.terminate()
            await process.wait()
        assert any(t.startswith(f"{prefix}energy/plant/") and t.endswith("/status") for t in topics)
        assert any("/device/CER-DEV-" in t and t.endswith("/measurements") for t in topics)
    finally:
        await observer.__aexit__(None, None, None)


def test_live_ingest_mode_writes_into_the_database(tmp_path: Path):
    env = demo_env(tmp_path)
    run = simulate(env, "--scenario", "building", "--duration", "4s")
    assert run.returncode == 0, run.stderr
    assert "simulating 6 assets (building) via ingest" in run.stderr
    sent = int(run.stderr.split(" samples sent")[0].split()[-1].replace(",", ""))
    assert sent >= 6
    missing = simulate(env, "--scenario", "building", "--via", "http", "--duration", "1s")
    assert missing.returncode != 0 and "--url and --api-key" in missing.stderr
