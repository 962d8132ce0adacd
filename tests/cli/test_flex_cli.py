"""`gridpilot flex ...` on both back ends: resources added, listed and removed, a site planned
and its schedule shown in local time, refusals with their reason and code 1, help texts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.flex.schedule_data import plan_site
from typer.testing import CliRunner

from gridpilot.auth.permissions import Role
from gridpilot.cli.main import app as cli

runner = CliRunner()
BATTERY = '{"capacity_kwh": 100, "charge_max_kw": 50, "discharge_max_kw": 50}'


async def flex(database_url: str, data_dir: Path, *args: str):
    """The CLI calls asyncio.run, so it runs in a thread beside the test's event loop."""
    env = {"GRIDPILOT_DATABASE_URL": database_url, "GRIDPILOT_DATA_DIR": str(data_dir),
           "COLUMNS": "250"}  # fmt: skip
    return await asyncio.to_thread(runner.invoke, cli, ["flex", *args], env=env)


async def test_resources_plan_and_schedule(client, sessions, auth_headers, database_url, tmp_path):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await plan_site(client, sessions, admin, "CLI site")  # 30 kW, ToU tariff, UTC
    run = lambda *a: flex(database_url, tmp_path, *a)  # noqa: E731

    empty = await run("list", str(site))
    assert empty.exit_code == 0 and "no flexible resources" in empty.output
    added = await run("add", str(site), "--kind", "battery", "--name", "BESS", "--params", BATTERY)
    assert added.exit_code == 0, added.output
    resource = int(added.stdout.strip().splitlines()[-1])
    listed = await run("list", str(site))
    assert listed.exit_code == 0 and "BESS" in listed.stdout
    assert "capacity_kwh=100" in listed.stdout and "soc_min_pct=10" in listed.stdout
    seen = (await client.get(f"/api/v1/sites/{site}/flex-resources", headers=admin)).json()
    assert [r["name"] for r in seen] == ["BESS"]

    planned = await run("plan", str(site), "--steps", "4")
    assert planned.exit_code == 0, planned.output
    assert "optimal (optimal)" in planned.output and "vs no battery" in planned.output
    assert "BESS SOC %" in planned.stdout
    rows = [line for line in planned.stdout.splitlines() if " 30.0 " in line]
    assert len(rows) == 4  # the 30 kW load in each of the 4 steps shown
    stored = (await client.get(f"/api/v1/sites/{site}/schedule", headers=admin)).json()
    assert stored["created_by"] == "cli"
    shown = await run("schedule", str(site), "--steps", "2")
    assert shown.exit_code == 0 and f"schedule {stored['id']} of site {site}" in shown.output
    assert "time (UTC)" in shown.stdout

    removed = await run("remove", str(site), str(resource))
    assert removed.exit_code == 0, removed.output
    assert (await client.get(f"/api/v1/sites/{site}/flex-resources", headers=admin)).json() == []


async def test_refusals_name_the_reason(client, auth_headers, database_url, tmp_path):
    admin = await auth_headers(Role.ADMINISTRATOR)
    made = await client.post("/api/v1/sites", json={"name": "Bare", "timezone": "UTC"},
                             headers=admin)  # fmt: skip
    site = made.json()["id"]
    run = lambda *a: flex(database_url, tmp_path, *a)  # noqa: E731
    bad = await run("add", str(site), "--kind", "battery", "--name", "B", "--params",
                    '{"capacity_kwh": 100, "charge_max_kw": 50, "discharge_max_kw": 50, '
                    '"soc_min_pct": 95}')  # fmt: skip
    assert bad.exit_code == 1 and "soc_min_pct must not exceed soc_max_pct" in bad.output
    not_json = await run("add", str(site), "--kind", "battery", "--name", "B", "--params", "{")
    assert not_json.exit_code == 2 and "not JSON" in not_json.output
    unknown = await run("add", str(site), "--kind", "rocket", "--name", "R", "--params", "{}")
    assert unknown.exit_code == 1 and "kind" in unknown.output
    missing = await run("plan", str(site))
    assert missing.exit_code == 1 and "missing consumption forecast" in missing.output
    nothing = await run("schedule", str(site))
    assert nothing.exit_code == 1 and "no schedule yet" in nothing.output
    gone = await run("remove", str(site), "999")
    assert gone.exit_code == 1 and "not found" in gone.output


@pytest.mark.parametrize("command", ["list", "add", "remove", "schedule", "plan"])
def test_every_command_has_help(command):
    shown = runner.invoke(cli, ["flex", command, "--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0
    assert shown.output.split("Usage:")[1].strip().splitlines()[2].strip()  # a description
