"""`gridpilot demo` on the embedded default: four simulated scenarios with history, the admin
password printed once, the API serving data while the simulation runs live; reruns reuse."""

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


def wait_for_health(base_url: str, process: subprocess.Popen, timeout_s: float = 90) -> None:
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


def test_demo_seeds_serves_simulates_and_reuses_data(tmp_path: Path):
    env = demo_env(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [*GRIDPILOT, "demo", "--port", str(port), "--days", "1", "--step", "15m"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        banner = ""
        while "own view" not in banner and process.poll() is None:
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
        assets = httpx.get(f"{base_url}/api/v1/assets", headers=headers).json()
        kinds = {a["kind"] for a in assets}
        assert {
            "compressor",
            "hvac",
            "motor",
            "pump",
            "injection_molding",
            "solar_pv",
            "wind_onshore",
            "battery",
            "ev_charger",
            "household",
            "lighting",
        } <= kinds
        cer = httpx.get(f"{base_url}/api/cer", headers=headers).json()["data"]
        (community,) = [c for c in cer if c["code"] == "CER-BARI-SIM"]
        assert community["members_count"] == 20 and community["plants_count"] == 20
        settlements = httpx.get(
            f"{base_url}/api/v1/communities/{community['id']}/settlements", headers=headers
        ).json()
        assert len(settlements) == 1 and "community member (own view)" in banner
        # a finished settlement whatever --days: the last complete month, closed, its ledger
        assert settlements[0]["status"] == "closed", settlements[0]["status"]
        ledger = httpx.get(
            f"{base_url}/api/economic/transactions",
            params={"community": community["id"]},
            headers=headers,
        ).json()
        assert {t["status"] for t in ledger["data"]} == {"PENDING"} and ledger["meta"]["total"]
        # flexibility: the portfolio's battery under the MPC, with a first schedule
        sites = httpx.get(f"{base_url}/api/v1/sites", headers=headers).json()
        solar = next(s["id"] for s in sites if s["name"] == "Sim solar park (Ravenna)")
        flex = httpx.get(f"{base_url}/api/v1/sites/{solar}/flex-resources", headers=headers)
        battery = next(r for r in flex.json() if r["kind"] == "battery")
        assert battery["auto_dispatch"] and battery["params"]["capacity_kwh"] == 1000.0
        plan = httpx.get(f"{base_url}/api/v1/sites/{solar}/schedule", headers=headers).json()
        assert plan["status"] == "optimal" and plan["horizon_steps"] == 96, plan
        assert "Sim solar park (Ravenna): optimal" in banner
        # the community's batteries too: the office has two behind its POD, each its own asset
        office = next(s["id"] for s in sites if s["name"] == "CER Bari: Office 3")
        flex = httpx.get(f"{base_url}/api/v1/sites/{office}/flex-resources", headers=headers)
        batteries = {r["name"]: r for r in flex.json() if r["kind"] == "battery"}
        assert sorted(batteries) == ["Office 3 battery A", "Office 3 battery B"], flex.text
        assert all(r["auto_dispatch"] and r["asset_id"] for r in batteries.values())
        compressor = next(a for a in assets if a["kind"] == "compressor")
        series = httpx.get(
            f"{base_url}/api/v1/assets/{compressor['id']}/series",
            params={"metric": "power_kw", "resolution": "1h", "agg": "avg"},
            headers=headers,
        )
        assert series.status_code == 200, series.text
        values = [p["value"] for p in series.json()["points"] if p["value"] is not None]
        assert len(values) >= 20 and all(15 <= v <= 75 for v in values)

        deadline = time.monotonic() + 30
        status: dict = {}
        while time.monotonic() < deadline:  # the live simulation writes through ingest
            status = httpx.get(f"{base_url}/api/v1/simulator/status", headers=headers).json()
            if status["stored"] > 0:
                break
            time.sleep(0.5)
        assert status["running"] and status["stored"] > 0 and status["rejected"] == 0, status
        # firmware: the gateways' roll-out, moved on by the simulated devices
        assert "firmware: roll-out 'Edge gateways 3.2.0' to 40 devices in 6 waves" in banner
        rollout: dict = {}
        while time.monotonic() < deadline + 30 and rollout.get("state") != "paused":
            rollouts = httpx.get(f"{base_url}/api/v1/firmware/rollouts", headers=headers).json()
            (rollout,) = [r for r in rollouts if r["name"] == "Edge gateways 3.2.0"]
            time.sleep(0.5)
        assert [w["devices"] for w in rollout["waves"]] == [4, 8, 8, 8, 8, 4], rollout
        # seed 42 fails 2 of wave 1's 8 devices: 25 % > 20 % pauses it, for the page to show
        assert rollout["waves"][0]["states"] == {"verified": 4}, rollout
        assert rollout["paused_reason"] == "wave 1: 25 % failed (threshold 20 %)", rollout
    finally:
        process.terminate()
        process.wait(timeout=30)

    again = subprocess.run(
        [*GRIDPILOT, "demo", "--no-serve", "--days", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    assert "exists" in again.stdout and "password:" not in again.stdout
    assert f"{len(assets)} simulated assets" in again.stdout
    assert "energy community: 20 members, 20 PODs" in again.stdout
    assert "firmware: roll-out 'Edge gateways 3.2.0' to 40 devices" in again.stdout


def test_demo_no_serve_seeds_quietly_and_names_no_url(tmp_path: Path):
    """A first seed only: no dashboard URL (nothing is served), no traceback on the way."""
    seeded = subprocess.run(
        [*GRIDPILOT, "demo", "--no-serve", "--days", "0.2"],
        env=demo_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "password:" in seeded.stdout
    assert "http://" not in seeded.stdout and "dashboard:" not in seeded.stdout
    assert "Traceback" not in seeded.stderr and "CancelledError" not in seeded.stderr
