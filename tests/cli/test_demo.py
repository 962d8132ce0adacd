"""`gridpilot demo` on the embedded default: seeds, prints the admin password once, serves data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.api.live_server import free_port

GRIDPILOT = [sys.executable, "-m", "gridpilot.cli"]


def demo_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPILOT_")}
    env.update({"GRIDPILOT_DATA_DIR": str(data_dir), "COLUMNS": "200"})
    return env


def wait_for_health(base_url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo server exited early"
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the demo server did not answer /health in time")


def test_demo_seeds_serves_and_reuses_data(tmp_path: Path):
    env = demo_env(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [*GRIDPILOT, "demo", "--port", str(port), "--days", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        banner = ""
        while "password" not in banner and process.poll() is None:
            banner += process.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"admin\s+password:\s+(\S+)", banner)
        assert match, banner
        wait_for_health(base_url, process)

        token = httpx.post(
            f"{base_url}/api/v1/auth/token",
            data={"grant_type": "password", "username": "admin", "password": match.group(1)},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        sources = httpx.get(f"{base_url}/api/v1/sources", headers=headers).json()
        assert "SOLAR-PV-ITA-00001" in [s["sourceId"] for s in sources]
        meter = next(
            a for a in httpx.get(f"{base_url}/api/v1/assets", headers=headers).json()
            if a["kind"] == "meter"
        )  # fmt: skip
        series = httpx.get(
            f"{base_url}/api/v1/assets/{meter['id']}/series",
            params={"metric": "power_kw", "resolution": "1h", "agg": "avg"},
            headers=headers,
        )
        assert series.status_code == 200, series.text
        values = [p["value"] for p in series.json()["points"] if p["value"] is not None]
        assert len(values) >= 20 and all(150 < v < 900 for v in values)
    finally:
        process.terminate()
        process.wait(timeout=30)

    again = subprocess.run(
        [*GRIDPILOT, "demo", "--no-serve", "--days", "1"],
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert "exists" in again.stdout and "password:" not in again.stdout
