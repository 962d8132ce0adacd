"""The INSERT construct of the session's back end (both have ``on_conflict_do_nothing`` and
``on_conflict_do_update``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession) -> Any:
    """PostgreSQL's or SQLite's ``insert``, whichever the session is bound to."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
