"""Fixtures of the community tests: the domain's tables emptied, users acting as members."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from tests.conftest import UserFactory

from gridpilot.auth.dependencies import token_config
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import encode_access_token

TABLES = (
    "community_transaction_events", "community_transactions", "community_settlements",
    "community_plants",
    "community_memberships", "community_members", "communities", "community_parameters",
    "community_zonal_prices",
)  # fmt: skip


@pytest.fixture
async def app(app):
    """The shared app, with the community tables emptied too."""
    async with app.state.sessions() as session, session.begin():
        for table in TABLES:
            await session.execute(text(f"DELETE FROM {table}"))
    return app


@pytest.fixture
def person(app, make_user: UserFactory):
    """``await person(Role.OPERATOR)`` -> (user id, bearer headers) of a new user."""

    async def factory(role: Role = Role.VIEWER) -> tuple[int, dict[str, str]]:
        user = await make_user(f"{role.value}-{uuid.uuid4().hex[:8]}", role)
        token = encode_access_token(
            token_config(app.state.settings),
            f"user:{user.id}",
            {"role": user.role, "name": user.username, "sites": None},
        )
        return user.id, {"Authorization": f"Bearer {token}"}

    return factory


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)
