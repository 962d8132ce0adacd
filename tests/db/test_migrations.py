"""`gridpilot migrate` creates the schema on a fresh database of either back end; it is idempotent
and the migration matches the models."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _pg_admin, _service_missing
from typer.testing import CliRunner

from gridpilot.cli.main import app as cli
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.metadata import target_metadata
from gridpilot.db.migrate import current_revision, head_revision


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    name = f"gridpilot_mig_{uuid.uuid4().hex[:8]}"
    try:
        admin = await _pg_admin()
    except (OSError, asyncpg.PostgresError) as exc:
        _service_missing("PostgreSQL", exc)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_migrate_command_builds_the_schema_the_models_describe(fresh_url, monkeypatch):
    monkeypatch.setenv("GRIDPILOT_DATABASE_URL", fresh_url)
    runner = CliRunner()
    for _ in range(2):  # a second run is a no-op
        result = runner.invoke(cli, ["migrate"])
        assert result.exit_code == 0, result.output
    assert asyncio.run(schema_differences(fresh_url)) == []


async def schema_differences(url: str) -> list:
    engine = make_engine(Settings(database_url=url))
    try:
        assert await current_revision(engine) == head_revision()

        def diff(connection):
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            ignorable = {"readings"}  # partitioned by hand on PostgreSQL
            return [
                d for d in compare_metadata(context, target_metadata())
                if not (isinstance(d, tuple) and getattr(d[1], "name", "") in ignorable)
            ]  # fmt: skip

        async with engine.connect() as connection:
            return await connection.run_sync(diff)
    finally:
        await engine.dispose()
