"""Database errors never show a statement's values: the integrity-error log line of a duplicate
user names the table and columns, not the user name or its password hash (both back ends)."""

from __future__ import annotations

import logging

from gridpilot.auth.models import User

PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$bm90LWEtcmVhbC1oYXNoLWJ1dC1sb29rcw"


async def test_integrity_error_log_line_has_no_sql_parameters(app, client, caplog):
    async def duplicate_user() -> None:
        async with app.state.sessions() as session, session.begin():
            for _ in range(2):
                session.add(
                    User(
                        username="twin-0f3a9c", password_hash=PASSWORD_HASH, role="viewer",
                        disabled=False, site_restricted=False,
                    )
                )  # fmt: skip
                await session.flush()

    app.add_api_route("/test/duplicate-user", duplicate_user, methods=["POST"])
    with caplog.at_level(logging.INFO, logger="gridpilot.api.errors"):
        response = await client.post("/test/duplicate-user")
    assert response.status_code == 409
    [line] = [r.getMessage() for r in caplog.records if "integrity error" in r.getMessage()]
    assert "INSERT INTO users" in line  # the statement is still there to debug with
    assert PASSWORD_HASH not in line and "twin-0f3a9c" not in line, line
    assert "parameters hidden" in line, line
