"""A real ``gridpilot serve`` process on the embedded default, for browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.api.live_server import free_port

PASSWORD = "correct horse battery staple"


@dataclass
class Dashboard:
    url: str
    env: dict[str, str]

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "gridpilot.cli", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def add_user(self, name: str, role: str, sites: str | None = None) -> None:
        extra = ["--sites", sites] if sites else []
        self.cli("user", "create", name, "--role", role, "--password-stdin", *extra, stdin=PASSWORD)

    def token(self, name: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/token",
            data={"grant_type": "password", "username": name, "password": PASSWORD},
            timeout=60,  # hashing the password took over httpx's 5 s default at load 18
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@contextmanager
def dashboard_server(data_dir: Path, **settings: str) -> Iterator[Dashboard]:
    """Serve the API and dashboard from ``data_dir`` (SQLite) on a free port.

    ``settings``: further ``GRIDPILOT_*`` variables by lower-case name (``mqtt_url=...``).
    """
    port = free_port()
    env = {
        **os.environ,
        "GRIDPILOT_DATA_DIR": str(data_dir),
        "GRIDPILOT_PORT": str(port),
        "GRIDPILOT_LOG_JSON": "false",
        "GRIDPILOT_ROLLUP_INTERVAL_S": "0.5",
        "GRIDPILOT_LOGIN_RATE_LIMIT_PER_MIN": "1000",  # the tests log in often from one address
        "GRIDPILOT_API_RATE_LIMIT_PER_MIN": "0",
    }
    for name in ("GRIDPILOT_DATABASE_URL", "GRIDPILOT_MQTT_URL", "GRIDPILOT_REDIS_URL"):
        env.pop(name, None)
    env.update({f"GRIDPILOT_{name.upper()}": value for name, value in settings.items()})
    log = (data_dir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gridpilot.cli", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded 2-core machine took 70 s
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "serve.log").read_text())
            time.sleep(0.2)
        yield Dashboard(url, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
