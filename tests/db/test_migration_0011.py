"""Migration 0011 adds ``assets.plausibility`` in place: existing assets get ``reject``, and on
SQLite the table stays AUTOINCREMENT with its high-water mark (no deleted id is ever reused)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection
from tests.db.test_migrations import fresh_url  # noqa: F401  (fixture)

from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import alembic_config

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _run(url: str, fn: Callable[[Connection], Any]) -> Any:
    """``fn(connection)`` in one transaction on ``url`` (an async engine, as the app uses)."""

    async def go() -> Any:
        engine = make_engine(Settings(database_url=url))
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _migrate(url: str, action: str, revision: str) -> None:
    def migrate(connection: Connection) -> None:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        config = alembic_config(url)
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    _run(url, migrate)


def _seed(connection: Connection) -> None:
    """One site and two assets, the second deleted (SQLite's high-water mark is then 2)."""
    connection.execute(
        sa.text(
            "INSERT INTO sites (name, timezone, emission_factor_kg_per_kwh, created_at,"
            " updated_at) VALUES ('s', 'UTC', 0.45, :now, :now)"
        ),
        {"now": NOW},
    )
    for name in ("kept", "deleted"):
        connection.execute(
            sa.text(
                "INSERT INTO assets (site_id, name, kind, role, certifications, attributes,"
                " created_at, updated_at) SELECT id, :name, 'meter', 'consumer', '[]', '{}',"
                " :now, :now FROM sites"
            ),
            {"name": name, "now": NOW},
        )
    connection.execute(sa.text("DELETE FROM assets WHERE name = 'deleted'"))


@pytest.fixture
def url_at_0010(fresh_url: str) -> str:  # noqa: F811
    _migrate(fresh_url, "upgrade", "0010")
    _run(fresh_url, _seed)
    return fresh_url


def _state(url: str) -> tuple[list[dict[str, Any]], str, int | None]:
    """(the assets rows, the CREATE TABLE of assets, SQLite's high-water mark of assets)."""

    def read(connection: Connection) -> tuple[list[dict[str, Any]], str, int | None]:
        rows = [dict(r._mapping) for r in connection.execute(sa.text("SELECT * FROM assets"))]
        if connection.dialect.name != "sqlite":
            return rows, "", None
        ddl = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'assets'"
        ).scalar()
        seq = connection.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'assets'"
        ).scalar()
        return rows, str(ddl), seq

    result: tuple[list[dict[str, Any]], str, int | None] = _run(url, read)
    return result


def test_0011_adds_the_mode_with_reject_for_existing_assets_and_keeps_autoincrement(
    url_at_0010: str,
):
    before, ddl_before, seq_before = _state(url_at_0010)
    _migrate(url_at_0010, "upgrade", "0011")
    rows, ddl, seq = _state(url_at_0010)
    assert len(rows) == 1
    assert rows[0]["plausibility"] == "reject"
    if url_at_0010.startswith("sqlite"):
        assert "AUTOINCREMENT" in ddl_before and "AUTOINCREMENT" in ddl
        assert seq_before == seq == 2  # the deleted asset's id stays used
    _migrate(url_at_0010, "downgrade", "0010")
    rows, ddl, seq = _state(url_at_0010)
    assert rows == before
    if url_at_0010.startswith("sqlite"):
        assert "AUTOINCREMENT" in ddl and seq == 2
