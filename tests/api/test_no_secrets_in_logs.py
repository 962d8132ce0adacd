"""Nothing secret reaches the logs: a real ``gridpilot serve`` at DEBUG, driven through every
path that handles a secret (password log-in and a failed one, refresh, API key, webhook channel,
DR utility, TOTP enrolment), then its whole output grepped for each secret (#20 item 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import IO

import httpx
from tests.api.test_logging import free_port

PASSWORD = "correct horse battery staple 42"
HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _serve(env: dict[str, str], port: int, log: IO[str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "gridpilot.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health")
            return server
        except httpx.TransportError:
            assert server.poll() is None and time.monotonic() < deadline, "serve died"
            time.sleep(0.2)


def _exercise(api: httpx.Client) -> list[str]:
    """Every secret-handling path once; returns the secrets seen in the answers."""
    login = {"grant_type": "password", "username": "root", "password": PASSWORD}
    assert api.post("/auth/token", data=login | {"password": "wrong-" + PASSWORD}).is_error
    tokens = api.post("/auth/token", data=login).json()
    refreshed = api.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    ).json()
    api.headers["Authorization"] = f"Bearer {refreshed['access_token']}"
    key = api.post("/api-keys", json={"name": "scada"}).json()["key"]
    channel = {"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/h"}
    made = api.post("/notification-channels", json=channel | {"secret": HOOK_SECRET})
    assert made.status_code == 201, made.text
    utility = api.post("/dr-utilities", json={"name": "utility"}).json()["secret"]
    totp = api.post("/users/me/mfa").json()["secret"]
    return [
        PASSWORD, tokens["access_token"], tokens["refresh_token"], refreshed["access_token"],
        refreshed["refresh_token"], key, key.split("_", 2)[2], HOOK_SECRET, utility, totp,
    ]  # fmt: skip


def test_a_full_run_logs_no_secret(tmp_path):
    env = os.environ | {
        "GRIDPILOT_DATA_DIR": str(tmp_path),
        "GRIDPILOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "GRIDPILOT_LOG_LEVEL": "DEBUG",
        "GRIDPILOT_API_RATE_LIMIT_PER_MIN": "0",
        "GRIDPILOT_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    create = [sys.executable, "-m", "gridpilot.cli", "user", "create", "root"]
    subprocess.run(
        [*create, "--role", "administrator", "--password-stdin"],
        input=PASSWORD + "\n", env=env, check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    port, log_path = free_port(), tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = _serve(env, port, log)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as api:
                secrets = _exercise(api)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    output = log_path.read_text()
    assert '"route":"/users/me/mfa"' in output and '"level":"DEBUG"' in output
    keys = (tmp_path / "secrets.key").read_text().split()
    stored = [*keys, (tmp_path / "jwt-secret").read_text().strip()]
    leaked = [s[:12] + "..." for s in secrets + stored if s in output]
    assert not leaked, leaked
