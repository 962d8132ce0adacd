"""Schemathesis generates requests from our OpenAPI document: no operation may answer 5xx.

Runs the schemathesis CLI against a real uvicorn server, as an administrator (so requests get past
authentication and reach the handlers), on both back ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.api.live_server import live_server

pytestmark = pytest.mark.slow

MAX_EXAMPLES = os.environ.get("GRIDPILOT_FUZZ_EXAMPLES", "30")


async def test_no_operation_answers_5xx(app, settings, auth_headers, client, tmp_path: Path):
    headers = await auth_headers("administrator")
    site = await client.post(
        "/api/v1/sites", json={"name": "Fuzz", "timezone": "UTC"}, headers=headers
    )
    assert site.status_code == 201
    with live_server(settings) as base_url:
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json",
            "--checks", "not_a_server_error",
            "--max-examples", MAX_EXAMPLES,
            "--seed", "20261123",
            "--header", f"Authorization:{headers['Authorization']}",
            "--request-timeout", "20",
            "--suppress-health-check", "all",
            "--report", "junit", "--report-dir", str(tmp_path),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    output = result.stdout[-20000:] + result.stderr[-5000:]
    assert result.returncode == 0, output
