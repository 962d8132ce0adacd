"""``gridpilot ingest`` worker processes for the tests (started, killed, stopped for real)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TEST_JWT_SECRET

_TOTALS = re.compile(r"stopped after (\d+) messages, (\d+) readings stored, (\d+) dead letters")


def worker_env(
    *, database_url: str, mqtt_url: str, prefix: str, data_dir: Path, share_group: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPILOT_")}
    env.update(
        GRIDPILOT_DATABASE_URL=database_url,
        GRIDPILOT_MQTT_URL=mqtt_url,
        GRIDPILOT_MQTT_TOPIC_PREFIX=prefix,
        GRIDPILOT_MQTT_SHARE_GROUP=share_group,
        GRIDPILOT_MQTT_SESSION_EXPIRY_S="300",
        GRIDPILOT_DATA_DIR=str(data_dir),
        GRIDPILOT_JWT_SECRET=TEST_JWT_SECRET,
        GRIDPILOT_AUTO_MIGRATE="false",
        GRIDPILOT_LOG_JSON="false",
        GRIDPILOT_LOG_LEVEL="WARNING",
    )
    return env


class WorkerProcess:
    """One ``gridpilot ingest --client-id ID`` subprocess; its stderr goes to a file."""

    def __init__(self, env: dict[str, str], client_id: str, logdir: Path) -> None:
        self.client_id = client_id
        self.log_path = logdir / f"{client_id}-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gridpilot.cli", "ingest", "--client-id", client_id],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def ready(self, timeout_s: float = 30) -> None:
        """Wait until the worker reports its subscription."""
        deadline = time.monotonic() + timeout_s
        while "subscribed as" not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {self.client_id} did not start:\n{self.output()}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    async def stop(self, timeout_s: float = 30, *, retire: bool = False) -> tuple[int, int, int]:
        """SIGTERM (SIGUSR1 to retire), wait, and return (messages, readings stored,
        dead letters) it reported."""
        self.process.send_signal(signal.SIGUSR1 if retire else signal.SIGTERM)
        await asyncio.to_thread(self.process.wait, timeout_s)
        self._log.close()
        found = _TOTALS.search(self.output())
        assert found, f"no totals from {self.client_id}:\n{self.output()}"
        messages, stored, rejects = (int(g) for g in found.groups())
        return messages, stored, rejects

    def ensure_dead(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if not self._log.closed:
            self._log.close()
