"""Migration 0026 (both back ends): existing site reports keep their rows and site; a report
then has exactly one target (the CHECK refuses none and two); on SQLite the rebuilt tables stay
AUTOINCREMENT with their high-water marks; the downgrade keeps the site reports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from tests.db.test_migration_0011 import _migrate, _run
from tests.db.test_migrations import fresh_url  # noqa: F401  (fixture)

NOW = datetime(2026, 12, 5, tzinfo=UTC)
DEFINITION = (
    "INSERT INTO report_definitions (site_id, name, kind, params, formats, schedule, recipients,"
    " enabled, created_by, created_at, updated_at) SELECT id, :name, 'site_energy', '{}',"
    " '[\"csv\"]', 'none', '[]', :on, 'test', :now, :now FROM sites"
)


def _seed(connection: Connection) -> None:
    """A site, two definitions (the second deleted: SQLite's high-water mark is 2) and a run."""
    connection.execute(
        sa.text(
            "INSERT INTO sites (name, timezone, emission_factor_kg_per_kwh, created_at,"
            " updated_at) VALUES ('s', 'UTC', 0.45, :now, :now)"
        ),
        {"now": NOW},
    )
    for name in ("kept", "deleted"):
        connection.execute(sa.text(DEFINITION), {"name": name, "now": NOW, "on": True})
    connection.execute(sa.text("DELETE FROM report_definitions WHERE name = 'deleted'"))
    connection.execute(
        sa.text(
            "INSERT INTO report_runs (definition_id, site_id, kind, start_ms, end_ms, trigger,"
            " status, delivery, created_ms, created_by) SELECT id, site_id, kind, 0, 1,"
            " 'manual', 'done', '[]', 0, 'test' FROM report_definitions"
        )
    )


@pytest.fixture
def url_at_0025(fresh_url: str) -> str:  # noqa: F811
    _migrate(fresh_url, "upgrade", "0025")
    _run(fresh_url, _seed)
    return fresh_url


def _state(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int | None]:
    def read(connection: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
        definitions = [
            dict(r._mapping)
            for r in connection.execute(sa.text("SELECT id, site_id, name FROM report_definitions"))
        ]
        runs = [
            dict(r._mapping)
            for r in connection.execute(
                sa.text("SELECT id, definition_id, site_id FROM report_runs")
            )
        ]
        seq = None
        if connection.dialect.name == "sqlite":
            seq = connection.exec_driver_sql(
                "SELECT seq FROM sqlite_sequence WHERE name = 'report_definitions'"
            ).scalar()
        return definitions, runs, seq

    result: tuple[list[dict[str, Any]], list[dict[str, Any]], int | None] = _run(url, read)
    return result


def _insert(url: str, target: str) -> None:
    def insert(connection: Connection) -> None:
        connection.execute(
            sa.text(
                "INSERT INTO report_definitions (site_id, group_id, community_id, name, kind,"
                " params, formats, schedule, recipients, enabled, created_by, created_at,"
                f" updated_at) VALUES ({target}, 'x', 'site_energy', '{{}}', '[]', 'none', '[]',"
                " :on, 't', :now, :now)"
            ),
            {"now": NOW, "on": True},
        )

    _run(url, insert)


def test_0026_keeps_site_reports_and_allows_exactly_one_target(url_at_0025: str):
    before = _state(url_at_0025)
    _migrate(url_at_0025, "upgrade", "0026")
    definitions, runs, seq = _state(url_at_0025)
    assert (definitions, runs) == before[:2]
    assert definitions[0]["site_id"] is not None
    if url_at_0025.startswith("sqlite"):
        assert seq == before[2] == 2  # the deleted definition's id stays used
    site = definitions[0]["site_id"]
    group = _run(url_at_0025, _group)
    _insert(url_at_0025, f"NULL, {group}, NULL")  # one target: fine
    for none_or_two in ("NULL, NULL, NULL", f"{site}, {group}, NULL"):
        with pytest.raises(IntegrityError, match="one_target"):
            _insert(url_at_0025, none_or_two)
    # a group that a report is of cannot be deleted
    with pytest.raises(IntegrityError):
        _run(url_at_0025, lambda c: c.execute(sa.text("DELETE FROM device_groups")))
    _migrate(url_at_0025, "downgrade", "0025")  # the group's report goes
    definitions, runs, _ = _state(url_at_0025)
    assert definitions == before[0] and runs == before[1]


def _group(connection: Connection) -> int:
    connection.execute(
        sa.text(
            "INSERT INTO device_groups (name, kind, filter, created_by, created_at, updated_at)"
            " VALUES ('g', 'static', '{}', 't', :now, :now)"
        ),
        {"now": NOW},
    )
    return int(connection.execute(sa.text("SELECT id FROM device_groups")).scalar_one())
