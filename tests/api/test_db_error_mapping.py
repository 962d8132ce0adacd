"""A value the database refuses is the client's error (422/409), an outage alone is 503.

Before, any driver error other than an integrity error answered 503 "database unavailable",
e.g. a NUL character in a name on PostgreSQL (issue #13, finding 10).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from gridpilot.api.errors import _database_unavailable

CASES = [
    ("SELECT CAST(:v AS text)", {"v": "a\x00b"}, 422),  # 22021: NUL in a string
    ("SELECT CAST(:v AS integer)", {"v": "12x"}, 422),  # 22P02: invalid text representation
    ("SELECT 1 / 0", {}, 422),  # 22012: division by zero
]


@pytest.mark.parametrize(("sql", "params", "status"), CASES)
async def test_data_exceptions_are_422(postgres_url, sql, params, status):
    engine = create_async_engine(postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(text(sql), params)
    finally:
        await engine.dispose()
    response = await _database_unavailable(None, caught.value)  # type: ignore[arg-type]
    assert response.status_code == status
    assert json.loads(response.body)["error"] == "validation_failed"
