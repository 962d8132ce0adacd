"""``gridpilot import FILE.csv`` on both back ends: streams, validates, reports rejects."""

from __future__ import annotations

import asyncio
import csv

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gridpilot.auth.permissions import Role
from gridpilot.cli.main import app as cli
from gridpilot.core.timestamps import MS_PER_HOUR, iso, now_ms

START = now_ms() // 1000 * 1000 - 2 * 24 * MS_PER_HOUR


@pytest.fixture
async def meter(client, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site = await client.post(
        "/api/v1/sites", json={"name": "Import site", "timezone": "UTC"}, headers=operator
    )
    body = {"site_id": site.json()["id"], "name": "History meter", "kind": "meter"}
    response = await client.post("/api/v1/assets", json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def cli_env(settings) -> dict[str, str]:
    return {
        "GRIDPILOT_DATABASE_URL": settings.database_url,
        "GRIDPILOT_DATA_DIR": str(settings.data_dir),
        "GRIDPILOT_JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "GRIDPILOT_LOG_JSON": "false",
    }


async def invoke(args, settings):
    runner = CliRunner()
    return await asyncio.to_thread(runner.invoke, cli, args, env=cli_env(settings))


async def series(sessions, asset_id):
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT ts, value FROM readings WHERE asset_id = :a ORDER BY ts"), {"a": asset_id}
        )
        return [(int(ts), float(value)) for ts, value in rows]


async def test_import_of_a_generated_csv(tmp_path, app, sessions, meter):
    path = tmp_path / "history.csv"
    count = 12_000
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["asset", "metric", "ts", "value", "unit"])
        for i in range(count):
            out.writerow([meter, "power_kw", iso(START + i * 10_000), i * 1000, "W"])
        out.writerow([meter, "power_kw", iso(START), "oops", "kW"])  # row 12001: rejected
        out.writerow([999_999, "power_kw", iso(START), 1, "kW"])  # row 12002: unknown asset
    rejects = tmp_path / "rejects.csv"

    result = await invoke(
        ["import", str(path), "--rejects", str(rejects), "--chunk-size", "2500"], app.state.settings
    )

    assert result.exit_code == 1, result.output
    assert "12,000 readings stored, 2 rejected" in result.output
    stored = await series(sessions, meter)
    assert len(stored) == count
    assert stored[0] == (START, 0.0) and stored[-1] == (START + (count - 1) * 10_000, count - 1.0)
    with rejects.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["12001", "12002"]
    assert "number" in rows[0]["reason"] and "unknown asset" in rows[1]["reason"]
    async with sessions() as session:
        pending = await session.scalar(
            text("SELECT COUNT(*) FROM rollup_pending WHERE asset_id = :a"), {"a": meter}
        )
    assert pending == 0  # the import waits for the rollups of what it imported


async def test_two_column_file_with_asset_and_metric_options(tmp_path, app, sessions, meter):
    path = tmp_path / "ts_value.csv"
    lines = ["ts,value", f"{START},1.5", f"{START + 60_000},2.5", ""]
    path.write_text("\n".join(lines))
    result = await invoke(
        ["import", str(path), "--asset", str(meter), "--metric", "power_kw"], app.state.settings
    )
    assert result.exit_code == 0, result.output
    assert await series(sessions, meter) == [(START, 1.5), (START + 60_000, 2.5)]


async def test_file_without_the_required_columns_fails_clearly(tmp_path, app):
    path = tmp_path / "bad.csv"
    path.write_text("when,how much\n1,2\n")
    result = await invoke(["import", str(path)], app.state.settings)
    assert result.exit_code == 2
    assert "asset,metric,ts,value" in result.output
