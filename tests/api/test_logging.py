"""Logs are JSON lines in the WIA-ENE-004 format, with the request's id and caller as context."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest
from tests.api.ops_probe import PROBE_TEMPLATE, add_probe_route
from websockets.sync.client import connect as ws_connect

from gridpilot.core.logging import WiaJsonFormatter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything gridpilot logs at INFO during the test, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(WiaJsonFormatter("gridpilot"))
    logger = logging.getLogger("gridpilot")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def parsed(stream: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


async def test_request_logs_json_lines_with_request_and_user(app, client, auth_headers, log_lines):
    add_probe_route(app)
    headers = await auth_headers("viewer") | {"X-Request-ID": "req-42"}
    response = await client.get("/api/v1/ops-probe/7", headers=headers)
    assert response.status_code == 200
    caller = response.json()["caller"]

    lines = [line for line in parsed(log_lines) if line["context"]["requestId"] == "req-42"]
    inside, access = (
        next(line for line in lines if line["logger"] == name)
        for name in ("gridpilot.tests.probe", "gridpilot.access")
    )
    for line in (inside, access):
        assert {"timestamp", "level", "service", "message", "context"} <= line.keys()
        assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
        assert line["level"] == "INFO"
        assert line["service"] == "gridpilot"
        assert line["context"]["userId"] == caller
    assert inside["message"] == "probe 7"
    assert access["context"] | {"durationMs": 0} == {
        "requestId": "req-42",
        "userId": caller,
        "sourceId": None,
        "method": "GET",
        "route": PROBE_TEMPLATE,
        "status": 200,
        "durationMs": 0,
        "client": "127.0.0.1",
    }
    assert access["context"]["durationMs"] > 0


async def test_wia_source_requests_carry_the_source_id(client, auth_headers, log_lines):
    await client.get("/api/v1/sources/SOLAR-PV-ITA-00001", headers=await auth_headers("viewer"))
    access = [line for line in parsed(log_lines) if line["logger"] == "gridpilot.access"]
    assert access[-1]["context"]["sourceId"] == "SOLAR-PV-ITA-00001"


async def test_anonymous_request_logs_null_user(client, log_lines):
    await client.get("/health", headers={"X-Request-ID": "anon-1"})
    (access,) = [line for line in parsed(log_lines) if line["logger"] == "gridpilot.access"]
    assert access["context"]["requestId"] == "anon-1"
    assert access["context"]["userId"] is None
    assert access["message"] == "GET /health 200 " + f"{access['context']['durationMs']:.2f} ms"


def test_gridpilot_serve_logs_json_lines_including_uvicorn(tmp_path):
    """A real ``gridpilot serve``: uvicorn's start-up lines and our access lines are all JSON."""
    port = free_port()
    env = os.environ | {
        "GRIDPILOT_DATA_DIR": str(tmp_path),
        "GRIDPILOT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "GRIDPILOT_LOG_JSON": "true",
        "GRIDPILOT_LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-c", "from gridpilot.cli.main import app; app()"]
    command += ["serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "serve-1"}
                )
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "serve died"
                time.sleep(0.2)
        assert response.status_code == 200
        # the dashboard's transport: a socket.io poll and its WebSocket (every page view)
        poll = httpx.get(f"http://127.0.0.1:{port}/_nicegui_ws/socket.io/?EIO=4&transport=polling")
        assert poll.status_code == 200
        with ws_connect(f"ws://127.0.0.1:{port}/_nicegui_ws/socket.io/?EIO=4&transport=websocket"):
            pass
        httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "serve-2"})
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=30)
    not_json = [line for line in stderr.splitlines() if line.strip() and not _is_json(line)]
    assert not not_json, not_json  # every line JSON: name the ones that are not
    lines = [orjson.loads(line) for line in stderr.splitlines() if line.strip()]
    messages = [line["message"] for line in lines]
    assert any(message.startswith("Uvicorn running on") for message in messages), messages
    access = [line for line in lines if line["logger"] == "gridpilot.access"]
    assert [line["context"]["requestId"] for line in access] == ["serve-1", "serve-2"]
    chatter = {"connection open", "connection closed"}
    assert not [m for m in messages if m in chatter or "[accepted]" in m], messages
    assert all(line["service"] == "gridpilot" for line in lines)


def _is_json(line: str) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True
